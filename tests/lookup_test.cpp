#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <tuple>
#include <vector>

#include "embtab/embtab.hpp"
#include "isa_param.hpp"
#include "reference.hpp"

namespace {

using embtab::errc;
using embtab::lookup_options;
using embtab::table;

constexpr float sentinel = -12345.678f;

bool same_bits(const float* a, const float* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

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

}  // namespace
