// The conformance suite: every registered dtype (embtab::all_dtypes(), nothing listed by hand)
// x every ISA path this CPU runs x dim tails x every kind of table (owning; a packed view at
// an odd, an even and a 24-byte offset; a view with a padded odd stride), against the scalar
// reference of tests/reference.hpp. A registered dtype the reference does not know fails here.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "embtab/embtab.hpp"
#include "isa_param.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

namespace {

using embtab::dtype;
using embtab::table;
using embtab::test::refusal;

// Loop tails of every vector width, in values; block dtypes take multiples of their block.
std::vector<std::size_t> dims_for(dtype type) {
  const std::size_t b = embtab::info(type).block_values;
  if (b == 1) return {1, 3, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 4097};
  return {b, 2 * b, 3 * b, 7 * b, 17 * b};
}

using param = std::tuple<std::string, dtype, std::size_t>;
std::vector<param> all_params() {
  std::vector<param> out;
  for (const auto& isa : embtab::test::isa_names())
    for (const dtype type : embtab::all_dtypes())
      for (const std::size_t dim : dims_for(type)) out.emplace_back(isa, type, dim);
  return out;
}

// Random stored rows of `type` and the values they hold, by the reference.
struct rows_and_values {
  std::vector<std::uint8_t> packed;  // rows x row_bytes
  std::vector<float> values;         // rows x dim
};

rows_and_values make_rows(dtype type, std::size_t rows, std::size_t dim, std::uint32_t seed) {
  rows_and_values r;
  const auto rb = embtab::ref::stored_row_bytes(type, dim);
  if (!rb) return r;
  std::mt19937 gen(seed);
  r.packed.resize(rows * *rb);
  for (std::size_t i = 0; i < rows; ++i) {
    if (!embtab::ref::random_row(type, dim, gen, i, r.packed.data() + i * *rb)) return {};
    const auto v = embtab::ref::decode_row(type, r.packed.data() + i * *rb, dim);
    if (!v) return {};
    r.values.insert(r.values.end(), v->begin(), v->end());
  }
  return r;
}

bool same(float got, float want, bool nan_exact) {
  if (std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(want)) return true;
  return !nan_exact && std::isnan(got) && std::isnan(want);
}

class Conformance : public embtab::test::isa_test<param> {};

TEST_P(Conformance, RegistryRowBytesMatchTheReference) {
  const auto [isa, type, dim] = GetParam();
  const auto want = embtab::ref::stored_row_bytes(type, dim);
  ASSERT_TRUE(want.has_value()) << "tests/reference.hpp has no reference for registered dtype "
                                << embtab::to_string(type);
  EXPECT_EQ(embtab::row_bytes(type, dim), *want);
}

TEST_P(Conformance, EveryKindOfTableMatchesTheReference) {
  // Named variables, not structured bindings: clang 14 (the tsan preset) cannot capture those.
  const std::string isa = std::get<0>(GetParam());
  const dtype type = std::get<1>(GetParam());
  const std::size_t dim = std::get<2>(GetParam());
  const std::size_t rows = 29;
  const rows_and_values made = make_rows(type, rows, dim, static_cast<std::uint32_t>(dim * 131 + 7));
  const std::vector<std::uint8_t>& packed = made.packed;
  const std::vector<float>& values = made.values;
  ASSERT_FALSE(packed.empty()) << "tests/reference.hpp cannot build rows of registered dtype "
                               << embtab::to_string(type);
  const std::size_t rb = packed.size() / rows;
  const bool nan_exact = embtab::ref::nan_payloads_exact(type);

  // Views live in heap buffers of exactly the bytes they may read, so ASan catches a kernel
  // that reads past the last row.
  struct kind {
    std::string name;
    std::unique_ptr<std::uint8_t[]> memory;
    table t;
  };
  std::vector<kind> kinds;
  const auto add_view = [&](const std::string& name, std::size_t offset, std::size_t stride) {
    const std::size_t bytes = offset + (rows - 1) * stride + rb;
    auto memory = std::make_unique<std::uint8_t[]>(bytes);
    for (std::size_t r = 0; r < rows; ++r)
      std::memcpy(memory.get() + offset + r * stride, packed.data() + r * rb, rb);
    table t = table::wrap(std::as_bytes(std::span<const std::uint8_t>(memory.get() + offset, bytes - offset)),
                          rows, dim, type, stride == rb ? 0 : stride);
    kinds.push_back({name, std::move(memory), std::move(t)});
  };
  add_view("packed view at offset 1", 1, rb);
  add_view("packed view at offset 2", 2, rb);
  add_view("packed view at offset 24", 24, rb);
  add_view("view with stride row_bytes + 5", 3, rb + 5);
  kinds.push_back({"owning copy", nullptr, kinds[0].t.copy()});

  std::vector<std::int64_t> ids = {0, 28, 28, 3, 0};
  for (std::int64_t r = 0; r < 60; ++r) ids.push_back((r * 11 + 5) % 29);
  for (const auto& k : kinds) {
    ASSERT_EQ(k.t.type(), type);
    ASSERT_EQ(k.t.row_bytes(), rb);
    for (const int threads : {1, 2}) {
      std::vector<float> buffer(ids.size() * dim + 1, -777.0f);
      const std::span<float> out(buffer.data(), ids.size() * dim);
      const auto s = embtab::lookup(k.t, ids, out, {.threads = threads});
      ASSERT_TRUE(s.ok()) << s.message();
      ASSERT_EQ(buffer.back(), -777.0f) << k.name << ": wrote past out";
      for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = 0; j < dim; ++j) {
          const float want = values[static_cast<std::size_t>(ids[i]) * dim + j];
          const float got = out[i * dim + j];
          ASSERT_TRUE(same(got, want, nan_exact))
              << isa << " " << embtab::to_string(type) << " " << k.name << " id " << ids[i]
              << " col " << j << ": got 0x" << std::hex << std::bit_cast<std::uint32_t>(got)
              << ", want 0x" << std::bit_cast<std::uint32_t>(want);
        }
    }
    // int32 ids take the same rows.
    const std::vector<std::int32_t> ids32(ids.begin(), ids.begin() + 5);
    std::vector<float> out32(ids32.size() * dim);
    ASSERT_TRUE(embtab::lookup(k.t, ids32, out32).ok());
    for (std::size_t i = 0; i < ids32.size(); ++i)
      for (std::size_t j = 0; j < dim; ++j)
        ASSERT_TRUE(same(out32[i * dim + j], values[static_cast<std::size_t>(ids32[i]) * dim + j], nan_exact))
            << k.name << " int32 id " << ids32[i];
  }
}

TEST_P(Conformance, BadIdsLeaveOutUntouched) {
  const auto [isa, type, dim] = GetParam();
  const auto [packed, values] = make_rows(type, 5, dim, 3);
  ASSERT_FALSE(packed.empty());
  const table t = table::wrap(std::as_bytes(std::span<const std::uint8_t>(packed)), 5, dim, type);
  const std::vector<std::int32_t> ids = {1, 2, 5};
  std::vector<float> out(ids.size() * dim, 9.0f);
  const auto s = embtab::lookup(t, ids, out);
  EXPECT_EQ(s.code(), embtab::errc::id_out_of_range);
  EXPECT_EQ(s.position(), 2u);
  for (const float x : out) ASSERT_EQ(x, 9.0f);
}

INSTANTIATE_TEST_SUITE_P(Registry, Conformance, ::testing::ValuesIn(all_params()), [](const auto& p) {
  return std::get<0>(p.param) + "_" + embtab::to_string(std::get<1>(p.param)) + "_dim" +
         std::to_string(std::get<2>(p.param));
});

// ---- The registry itself ----

TEST(Registry, EveryDtypeInEnumOrderWithItsOneName) {
  const auto all = embtab::all_dtypes();
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(all[i]), i);
    const embtab::dtype_info& d = embtab::info(all[i]);
    EXPECT_NE(d.name, "unknown");
    EXPECT_GT(d.block_values, 0u);
    EXPECT_GT(d.block_bytes, 0u);
    EXPECT_EQ(embtab::dtype_from_name(d.name), all[i]) << d.name;
    EXPECT_EQ(std::string(embtab::to_string(all[i])), d.name);
  }
  // The spellings the README and CLI use.
  EXPECT_EQ(embtab::info(dtype::f32).name, "f32");
  EXPECT_EQ(embtab::info(dtype::f16).name, "f16");
  EXPECT_EQ(embtab::info(dtype::bf16).name, "bf16");
  EXPECT_EQ(embtab::info(dtype::int8_rowwise).name, "int8_rowwise");
  EXPECT_EQ(embtab::info(dtype::int8_rowwise).row_meta_bytes, 8u);
  // Names are exact: no aliases, no case folding.
  for (const char* name : {"int8", "F32", "fp32", "float", "unknown", "", "q8_0 "})
    EXPECT_EQ(embtab::dtype_from_name(name), std::nullopt) << name;
}

TEST(Registry, RowBytesFollowBlocksAndMetadata) {
  EXPECT_EQ(embtab::row_bytes(dtype::f32, 4096), 16384u);
  EXPECT_EQ(embtab::row_bytes(dtype::f16, 3), 6u);
  EXPECT_EQ(embtab::row_bytes(dtype::int8_rowwise, 100), 108u);
  EXPECT_EQ(embtab::row_bytes(dtype::int8_rowwise, 0), 8u);
  EXPECT_EQ(embtab::row_bytes(dtype::f32, 0), 0u);
  EXPECT_EQ(refusal([] { (void)embtab::row_bytes(dtype::f32, std::numeric_limits<std::size_t>::max() / 2); }),
            "embtab::row_bytes: a row of " + std::to_string(std::numeric_limits<std::size_t>::max() / 2) +
                " f32 values overflows size_t");
}

// A dtype value outside the registry is refused by every entry point that takes a dtype.
TEST(Registry, UnregisteredDtypeIsRefusedEverywhere) {
  for (const int raw : {static_cast<int>(embtab::all_dtypes().size()), 9, 200, 255}) {
    const auto bad = static_cast<dtype>(raw);
    const std::string n = std::to_string(raw);
    const embtab::dtype_info& d = embtab::info(bad);
    EXPECT_EQ(d.name, "unknown");
    EXPECT_EQ(d.block_values, 0u);
    EXPECT_EQ(d.block_bytes, 0u);
    EXPECT_EQ(d.row_meta_bytes, 0u);
    EXPECT_STREQ(embtab::to_string(bad), "unknown");
    for (const dtype t : embtab::all_dtypes()) EXPECT_NE(t, bad);
    EXPECT_EQ(refusal([&] { (void)embtab::row_bytes(bad, 4); }),
              "embtab::row_bytes: dtype " + n + " is not registered");
    const std::vector<float> w(8, 1.0f);
    EXPECT_EQ(refusal([&] { (void)table::from_f32(w, 2, 4, bad); }),
              "embtab::table: dtype " + n + " is not registered");
    const std::vector<std::byte> memory(4096);
    EXPECT_EQ(refusal([&] { (void)table::wrap(memory, 2, 4, bad); }),
              "embtab::table: dtype " + n + " is not registered");
    EXPECT_EQ(refusal([&] { (void)table::owning_stride(2, 4, bad); }),
              "embtab::table: dtype " + n + " is not registered");
  }
}

}  // namespace
