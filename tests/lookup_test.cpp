#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdint>
#include <cmath>
#include <functional>
#include <random>
#include <limits>
#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "dispatch.hpp"
#include "embtab/embtab.hpp"
#include "isa_param.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

namespace {

using embtab::errc;
using embtab::lookup_options;
using embtab::table;

using embtab::test::same_bits;
using embtab::test::sentinel;

// Looks ids up through embtab and through the reference; expects identical bits.
template <class Id>
void expect_matches_reference(const table& t, const std::vector<float>& w, const std::vector<Id>& ids,
                              const lookup_options& options = {}, std::size_t out_offset = 0) {
  const std::size_t dim = t.dim();
  std::vector<float> buffer(out_offset + ids.size() * dim + 1, sentinel);
  const std::span<float> out(buffer.data() + out_offset, ids.size() * dim);
  const auto s = embtab::lookup(t, std::span<const Id>(ids), out, options);
  ASSERT_TRUE(s.ok()) << s.message();
  const auto want = embtab::ref::lookup_f32(w, t.rows(), dim, ids);
  ASSERT_TRUE(want.has_value());
  ASSERT_TRUE(same_bits(out.data(), want->data(), want->size()))
      << "dim " << dim << ", " << ids.size() << " ids, offset " << out_offset;
  for (std::size_t i = 0; i < out_offset; ++i) ASSERT_EQ(buffer[i], sentinel) << "wrote before out";
  ASSERT_EQ(buffer.back(), sentinel) << "wrote past out";
}

// Expects the call to fail with `code` and leave every byte of out as it was.
template <class Id>
embtab::status expect_rejected(const table& t, const std::vector<Id>& ids, std::size_t out_size,
                               errc code, const lookup_options& options = {}) {
  std::vector<float> out(out_size, sentinel);
  const auto s = embtab::lookup(t, std::span<const Id>(ids), std::span<float>(out), options);
  EXPECT_EQ(s.code(), code) << s.message();
  EXPECT_FALSE(s.ok());
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i], sentinel) << "out[" << i << "] written on error";
    if (out[i] != sentinel) break;
  }
  return s;
}

// Every loop tail of every vector width: 1, 3, 7 ... 4097.
const std::vector<std::size_t> dims = {1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 4097};

class LookupByDim : public embtab::test::isa_test<std::tuple<std::string, std::size_t>> {};

TEST_P(LookupByDim, MatchesReferenceBitForBit) {
  const std::size_t dim = std::get<1>(GetParam());
  const std::size_t rows = 37;
  const auto w = embtab::ref::random_weights(rows, dim, static_cast<std::uint32_t>(dim));
  const auto t = table::from_f32(w, rows, dim);
  const std::vector<std::int32_t> edges = {0, 36, 0, 36, 5, 5, 5, 17};  // first, last, duplicates
  expect_matches_reference(t, w, edges);
  expect_matches_reference(t, w, std::vector<std::int64_t>(edges.begin(), edges.end()));
  for (const std::size_t n : {1, 2, 3, 5, 31, 300})
    expect_matches_reference(t, w, embtab::ref::random_ids<std::int32_t>(n, rows, 11));
  // Any alignment of out: every float offset within a cache line.
  for (std::size_t offset = 1; offset < 16; ++offset)
    expect_matches_reference(t, w, embtab::ref::random_ids<std::int64_t>(9, rows, 5), {}, offset);
}

INSTANTIATE_TEST_SUITE_P(Isa, LookupByDim,
                         ::testing::Combine(::testing::ValuesIn(embtab::test::isa_names()),
                                            ::testing::ValuesIn(dims)),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_dim" +
                                  std::to_string(std::get<1>(p.param));
                         });

class Lookup : public embtab::test::isa_test<std::string> {
 protected:
  static constexpr std::size_t rows = 100, dim = 33;
  std::vector<float> w = embtab::ref::random_weights(rows, dim, 3);
  table t = table::from_f32(w, rows, dim);
};

TEST_P(Lookup, EmptyIdsWithEmptyOutIsOk) {
  EXPECT_TRUE(embtab::lookup(t, std::span<const std::int32_t>{}, std::span<float>{}).ok());
  EXPECT_TRUE(embtab::lookup(t, std::span<const std::int64_t>{}, std::span<float>{}).ok());
  expect_rejected(t, std::vector<std::int32_t>{}, 1, errc::size_mismatch);
}

TEST_P(Lookup, OutOfRangeIdsAreRejectedBeforeAnyWrite) {
  // The bad id sits late, after valid ones that a careless kernel would already have copied.
  std::vector<std::int32_t> ids32 = embtab::ref::random_ids<std::int32_t>(5000, rows, 9);
  for (const std::int64_t bad : {std::int64_t{-1}, std::int64_t{100}, std::int64_t{101},
                                 std::int64_t{std::numeric_limits<std::int32_t>::min()},
                                 std::int64_t{std::numeric_limits<std::int32_t>::max()}}) {
    ids32[4321] = static_cast<std::int32_t>(bad);
    ids32[4999] = -7;  // a second bad id: the first one is reported
    const auto s = expect_rejected(t, ids32, ids32.size() * dim, errc::id_out_of_range);
    EXPECT_EQ(s.position(), 4321u);
    EXPECT_EQ(s.message(), "id " + std::to_string(bad) + " at position 4321 is out of range [0, 100)");
    ids32[4999] = 1;
  }
  std::vector<std::int64_t> ids64 = {3, 4, 0};
  for (const std::int64_t bad : {std::numeric_limits<std::int64_t>::min(),
                                 std::numeric_limits<std::int64_t>::max(),
                                 std::int64_t{1} << 32, std::int64_t{-1}, std::int64_t{100}}) {
    ids64[2] = bad;
    const auto s = expect_rejected(t, ids64, ids64.size() * dim, errc::id_out_of_range);
    EXPECT_EQ(s.position(), 2u);
    EXPECT_EQ(s.message(), "id " + std::to_string(bad) + " at position 2 is out of range [0, 100)");
    EXPECT_EQ(embtab::ref::first_bad_id(ids64, rows), std::optional<std::size_t>(2));
  }
}

TEST_P(Lookup, SizeMismatchIsRejectedBeforeAnyWrite) {
  const std::vector<std::int32_t> ids = {1, 2, 3};
  for (const std::size_t size : {std::size_t{0}, 3 * dim - 1, 3 * dim + 1, 2 * dim}) {
    const auto s = expect_rejected(t, ids, size, errc::size_mismatch);
    EXPECT_EQ(s.message(), "output holds " + std::to_string(size) + " floats but 3 ids x dim 33 need 99");
  }
  // A mismatch wins over a bad id: the output is unusable either way.
  expect_rejected(t, std::vector<std::int64_t>{-1}, dim + 1, errc::size_mismatch);
}

TEST_P(Lookup, IdsTimesDimOverflowIsASizeMismatch) {
  // ids.size() * dim overflows size_t: no out can match. The span claims more ids than it
  // holds; the size check comes first and reads none of them.
  const std::int64_t one = 0;
  const std::size_t n = std::numeric_limits<std::size_t>::max() / 4;
  std::vector<float> out(dim, sentinel);
  const auto s = embtab::lookup(t, std::span<const std::int64_t>(&one, n), out);
  EXPECT_EQ(s.code(), errc::size_mismatch);
  EXPECT_EQ(s.message(), "output holds 33 floats but " + std::to_string(n) +
                             " ids x dim 33 need more than size_t can count");
  for (const float x : out) ASSERT_EQ(x, sentinel);
}

TEST_P(Lookup, NegativeThreadsAreRejected) {
  const std::vector<std::int32_t> ids = {1};
  const auto s = expect_rejected(t, ids, dim, errc::invalid_argument, {.threads = -2});
  EXPECT_EQ(s.message(), "lookup_options::threads is -2, expected >= 0");
}

TEST_P(Lookup, AnyThreadCountGivesTheSameBits) {
  // Big enough to cross the parallel threshold.
  const auto ids = embtab::ref::random_ids<std::int32_t>(20000, rows, 4);
  for (const int threads : {0, 1, 2, 3, 64, 100000})
    expect_matches_reference(t, w, ids, {.threads = threads});
  for (const int threads : {0, 2, 1000})
    expect_matches_reference(t, w, embtab::ref::random_ids<std::int64_t>(7, rows, 4), {.threads = threads});
}

TEST_P(Lookup, ConcurrentCallersOnOneTable) {
  std::vector<std::thread> callers;
  std::vector<int> failures(4, 0);
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      for (int round = 0; round < 20; ++round) {
        const auto ids = embtab::ref::random_ids<std::int64_t>(
            round % 2 ? 5 : 9000, rows, static_cast<std::uint32_t>(c * 100 + round));
        std::vector<float> out(ids.size() * dim);
        const auto s = embtab::lookup(t, ids, out, {.threads = c % 3});
        const auto want = embtab::ref::lookup_f32(w, rows, dim, ids);
        if (!s.ok() || !same_bits(out.data(), want->data(), out.size())) ++failures[c];
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

INSTANTIATE_TEST_SUITE_P(Isa, Lookup, ::testing::ValuesIn(embtab::test::isa_names()),
                         [](const auto& p) { return p.param; });

// Ids past 2^31 and 2^32 on a table with that many rows. Such a table takes at least
// 2^32 x 64 bytes (a row is padded to a cache line), far more than a test machine has, so
// this drives each ISA's kernels (what lookup() calls once the ids are validated) over a
// sparse mapping of 2^32 + 256 rows of (usually) 64 bytes: only the rows under test are
// written, a few pages in all. Validation compares every id with rows() as uint64 (the out-of-range tests).
class LargeIds : public embtab::test::isa_test<std::tuple<std::string, embtab::dtype>> {};

TEST_P(LargeIds, KernelsAddressRowsPast32Bits) {
  using embtab::dtype;
  const dtype type = std::get<1>(GetParam());
  constexpr std::size_t rows = (std::size_t{1} << 32) + 256;
  // The widest row of whole blocks that fits 64 bytes (a vector part and a tail), or one
  // block for types whose block is larger; the stride is that rounded up to a cache line.
  const std::size_t block = embtab::info(type).block_values;
  std::size_t dim = block;
  while (embtab::ref::stored_row_bytes(type, dim + block).value_or(SIZE_MAX) <= 64) dim += block;
  const auto rb = embtab::ref::stored_row_bytes(type, dim);
  ASSERT_TRUE(rb.has_value()) << "no reference for " << embtab::to_string(type);
  const std::size_t stride = (*rb + 63) / 64 * 64;
  void* map = mmap(nullptr, rows * stride, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED) GTEST_FAIL() << "cannot reserve " << rows * stride << " bytes of address space";
  const std::unique_ptr<void, std::function<void(void*)>> unmap(map, [=](void* p) { munmap(p, rows * stride); });
  auto* base = static_cast<std::byte*>(map);

  const std::vector<std::int64_t> targets = {
      0, 1, (std::int64_t{1} << 31) - 1, std::int64_t{1} << 31, (std::int64_t{1} << 31) + 100,
      (std::int64_t{1} << 32) - 1, std::int64_t{1} << 32, (std::int64_t{1} << 32) + 100,
      static_cast<std::int64_t>(rows) - 1};
  std::vector<std::vector<float>> want;  // per target row: random contents, different per row
  std::mt19937 gen(7);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto* row = reinterpret_cast<std::uint8_t*>(base + static_cast<std::size_t>(targets[i]) * stride);
    ASSERT_TRUE(embtab::ref::random_row(type, dim, gen, i, row));
    want.push_back(*embtab::ref::decode_row(type, row, dim));
  }
  const bool nan_exact = embtab::ref::nan_payloads_exact(type);

  // Every target, then a long run of them (past the prefetch distance), in both id widths.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < targets.size(); ++i) order.push_back(i);
  for (std::size_t i = 0; i < 40; ++i) order.push_back((i * 5 + 3) % targets.size());
  const embtab::detail::table_view view{base, stride, dim, embtab::row_bytes(type, dim)};
  const auto& kernels = embtab::detail::active_kernels();
  const auto check = [&](const std::vector<float>& out, const std::vector<std::size_t>& picked, const char* width) {
    for (std::size_t i = 0; i < picked.size(); ++i)
      for (std::size_t j = 0; j < dim; ++j) {
        const float got = out[i * dim + j], expect = want[picked[i]][j];
        ASSERT_TRUE(same_bits(&got, &expect, 1) || (!nan_exact && std::isnan(got) && std::isnan(expect)))
            << width << " id " << targets[picked[i]] << " at position " << i << " col " << j;
      }
  };
  std::vector<std::int64_t> ids64;
  for (const std::size_t i : order) ids64.push_back(targets[i]);
  std::vector<float> out(ids64.size() * dim);
  kernels.gather64[0][static_cast<std::size_t>(type)](view, ids64.data(), ids64.size(), nullptr, 0, out.data(), dim, {});
  check(out, order, "int64");

  std::vector<std::size_t> small;  // the targets an int32 can name
  std::vector<std::int32_t> ids32;
  for (const std::size_t i : order)
    if (targets[i] <= std::numeric_limits<std::int32_t>::max()) {
      small.push_back(i);
      ids32.push_back(static_cast<std::int32_t>(targets[i]));
    }
  out.assign(ids32.size() * dim, 0.0f);
  kernels.gather32[0][static_cast<std::size_t>(type)](view, ids32.data(), ids32.size(), nullptr, 0, out.data(), dim, {});
  check(out, small, "int32");
}

INSTANTIATE_TEST_SUITE_P(Isa, LargeIds,
                         ::testing::Combine(::testing::ValuesIn(embtab::test::isa_names()),
                                            ::testing::ValuesIn(embtab::all_dtypes().begin(),
                                                                embtab::all_dtypes().end())),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_" + embtab::to_string(std::get<1>(p.param));
                         });

}  // namespace
