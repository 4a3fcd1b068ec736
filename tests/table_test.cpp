#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "embtab/embtab.hpp"
#include "embtab/torch.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

// Sanitizer runtimes abort on an allocation they cannot serve, even through the nothrow
// operator new, unless allocator_may_return_null is set; with it, embtab's documented
// std::bad_alloc comes through (TableLimits.*). Set here rather than in the environment so
// the binary behaves the same under ctest, by hand and under qemu.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBTAB_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define EMBTAB_TEST_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(EMBTAB_TEST_ASAN)
#define EMBTAB_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(EMBTAB_TEST_TSAN)
#define EMBTAB_TEST_TSAN 1
#endif
#ifdef EMBTAB_TEST_ASAN
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif
#ifdef EMBTAB_TEST_TSAN
extern "C" const char* __tsan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace {

using embtab::dtype;
using embtab::table;
using embtab::test::refusal;

TEST(Table, LayoutIsAlignedPaddedAndExact) {
  for (const std::size_t dim : {1, 3, 15, 16, 17, 64, 65, 4097}) {
    const std::size_t rows = 5;
    const auto w = embtab::ref::random_weights(rows, dim, 7);
    const auto t = table::from_f32(w, rows, dim);
    EXPECT_EQ(t.rows(), rows);
    EXPECT_EQ(t.dim(), dim);
    EXPECT_EQ(t.type(), dtype::f32);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.data()) % 64, 0u) << dim;
    EXPECT_EQ(t.row_stride() % 64, 0u);
    EXPECT_GE(t.row_stride(), dim * 4);
    EXPECT_LT(t.row_stride(), dim * 4 + 64);
    EXPECT_EQ(t.bytes(), rows * t.row_stride());
    for (std::size_t r = 0; r < rows; ++r) {
      const std::byte* row = t.data() + r * t.row_stride();
      EXPECT_EQ(std::memcmp(row, w.data() + r * dim, dim * 4), 0) << "row " << r;
      for (std::size_t b = dim * 4; b < t.row_stride(); ++b)
        ASSERT_EQ(row[b], std::byte{0}) << "padding byte " << b << " of row " << r;
    }
  }
}

TEST(Table, RejectsBadShapesNamingTheValues) {
  const std::vector<float> w(12, 1.0f);
  EXPECT_NE(refusal([&] { (void)table::from_f32(w, 5, 3); }).find("12"), std::string::npos);
  EXPECT_NE(refusal([&] { (void)table::from_f32(w, 0, 3); }).find("0 x 3"), std::string::npos);
  EXPECT_NE(refusal([&] { (void)table::from_f32(w, 12, 0); }).find("12 x 0"), std::string::npos);
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
  EXPECT_NE(refusal([&] { (void)table::from_f32(w, huge, 64); }).find("overflows"),
            std::string::npos);
  EXPECT_NE(refusal([&] { (void)table::from_f32(w, 1, huge); }).find("too large"),
            std::string::npos);
  EXPECT_THROW((void)table::from_f32(w, 4, 4), std::invalid_argument);
  EXPECT_THROW((void)table::from_f32({}, 0, 0), std::invalid_argument);
}

// Every public way to build a table, for a shape the caller claims. The input spans claim
// exactly the elements that shape needs but hold one: the checks and the allocation come
// before any read, so a correct library never touches what is not there.
struct constructor {
  std::string name;
  std::size_t block;        // values per block of its dtype: the dims it takes are multiples of it
  std::size_t block_bytes;  // bytes per block (per value for element dtypes)
  std::function<table(std::size_t rows, std::size_t dim)> make;
};

constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();

std::vector<constructor> every_constructor() {
  static const float f = 0.0f;
  static const std::uint16_t h = 0;
  static const std::uint8_t b = 0;
  static const std::byte raw{0};
  const auto claimed = [](std::size_t rows, std::size_t per_row) {
    std::size_t n = 0;
    return __builtin_mul_overflow(rows, per_row, &n) ? std::size_t{1} : n;
  };
  std::vector<constructor> all;
  for (const dtype type : embtab::all_dtypes()) {
    const std::string name = embtab::to_string(type);
    const std::size_t block = embtab::info(type).block_values, bb = embtab::info(type).block_bytes;
    all.push_back({"from_blocks/" + name, block, bb, [=](std::size_t rows, std::size_t dim) {
                     std::size_t rb = 1;  // a row that overflows: from_blocks must refuse before reading
                     try {
                       rb = embtab::row_bytes(type, dim);
                     } catch (const std::invalid_argument&) {
                     }
                     return table::from_blocks(std::span<const std::byte>(&raw, claimed(rows, rb)), rows, dim, type);
                   }});
    // q4_k, q6_k: refused before anything (ggml_blocks_test.cpp).
    if (!embtab::has_f32_encoder(type)) continue;
    all.push_back({"random_normal/" + name, block, bb, [type](std::size_t rows, std::size_t dim) {
                     return embtab::torch::random_normal(rows, dim, 1, type);
                   }});
    // from_f32 checks int8_rowwise, q8_0 and q4_0 rows (finite values) before allocating.
    if (type == dtype::int8_rowwise || type == dtype::q8_0 || type == dtype::q4_0) continue;
    all.push_back({"from_f32/" + name, block, bb, [=](std::size_t rows, std::size_t dim) {
                     return table::from_f32(std::span<const float>(&f, claimed(rows, dim)), rows, dim, type);
                   }});
  }
  all.push_back({"from_f16_bits", 1, 2, [=](std::size_t rows, std::size_t dim) {
                   return table::from_f16_bits(std::span<const std::uint16_t>(&h, claimed(rows, dim)), rows, dim);
                 }});
  all.push_back({"from_bf16_bits", 1, 2, [=](std::size_t rows, std::size_t dim) {
                   return table::from_bf16_bits(std::span<const std::uint16_t>(&h, claimed(rows, dim)), rows, dim);
                 }});
  all.push_back({"from_rowwise_int8", 1, 1, [=](std::size_t rows, std::size_t dim) {
                   return table::from_rowwise_int8(
                       std::span<const std::uint8_t>(&b, claimed(rows, dim + 8 < dim ? 1 : dim + 8)), rows, dim);
                 }});
  return all;
}

std::string outcome(const constructor& c, std::size_t rows, std::size_t dim) {
  try {
    (void)c.make(rows, dim);
  } catch (const std::invalid_argument& e) {
    return std::string("invalid_argument: ") + e.what();
  } catch (const std::bad_alloc&) {
    return "bad_alloc";
  }
  return "built";
}

TEST(TableLimits, OverflowingShapesAreRejectedByEveryConstructor) {
  // Each shape overflows size_t in rows x dim, in a row's bytes, or in rows x row_stride,
  // for every element dtype (row_stride >= 64 and >= dim x value bytes). A block dtype takes
  // dim blocks instead of dim values (at least 18 bytes where an f32 value has 4), or, where
  // that count overflows, the widest whole-block row twice (over half of size_t each).
  const std::pair<std::size_t, std::size_t> shapes[] = {
      {size_max / 64 + 1, 1},   {std::size_t{1} << 32, std::size_t{1} << 32},
      {size_max, size_max},     {1, size_max},
      {1, size_max - 7},        {2, size_max / 2 + 1},
      {3, size_max / 3},        {size_max / 128 + 1, 100},
      {std::size_t{1} << 58, 64}};
  for (const auto& c : every_constructor())
    for (auto [rows, dim] : shapes) {
      if (c.block > 1 && __builtin_mul_overflow(dim, c.block, &dim)) {
        dim = size_max / c.block * c.block;
        rows = std::max<std::size_t>(rows, 2);
      }
      const std::string got = outcome(c, rows, dim);
      const std::string name = c.name + " " + std::to_string(rows) + " x " + std::to_string(dim);
      EXPECT_EQ(got.rfind("invalid_argument: embtab::table: ", 0), 0u) << name << ": " << got;
      EXPECT_TRUE(got.find(" overflows size_t") != std::string::npos ||
                  got.find(" is too large for a row") != std::string::npos)
          << name << ": " << got;
    }
}

TEST(TableLimits, OverflowMessagesNameTheShape) {
  const auto all = every_constructor();
  const constructor& from_f32 = *std::find_if(all.begin(), all.end(), [](const auto& c) { return c.name == "from_f32/f32"; });
  EXPECT_EQ(outcome(from_f32, size_max / 64 + 1, 1),
            "invalid_argument: embtab::table: table of " + std::to_string(size_max / 64 + 1) +
                " x 1 with a row stride of 64 bytes overflows size_t");
  EXPECT_EQ(outcome(from_f32, 1, size_max),
            "invalid_argument: embtab::table: dim " + std::to_string(size_max) + " is too large for a row");
}

TEST(TableLimits, ShapesTooLargeToAllocateThrowBadAlloc) {
  // Shapes that pass every overflow check, whose bytes (2^56 and up, or the whole address
  // space) no machine can allocate: each constructor must throw std::bad_alloc, not crash.
  const std::pair<std::size_t, std::size_t> shapes[] = {
      {std::size_t{1} << 54, 1},      // 2^54 rows x 64-byte stride = 2^60 bytes
      {std::size_t{1} << 44, 1000},   // 2^44 x 1024..4032 bytes
      {1, (size_max - 72) / 4},       // the widest f32 row: rows x dim fit, the bytes do not
      {size_max / 64, 1}};            // rows x stride = 2^64 - 64
  for (const auto& c : every_constructor()) {
    if (c.block == 1) {
      for (const auto& [rows, dim] : shapes)
        EXPECT_EQ(outcome(c, rows, dim), "bad_alloc") << c.name << " " << rows << " x " << dim;
      continue;
    }
    // Block dtypes (34 to 210 bytes a block): the same four kinds of shape in whole blocks.
    const std::size_t block = c.block, block_bytes = c.block_bytes;
    const std::size_t stride = (block_bytes + 63) / 64 * 64;
    const std::size_t widest = std::min((size_max - 63) / block_bytes, size_max / block) * block;
    const std::pair<std::size_t, std::size_t> block_shapes[] = {
        {std::size_t{1} << 50, block},        // 2^50 rows x 64..256 bytes
        {std::size_t{1} << 40, 1000 * block}, // 2^40 x 18000..210000 bytes
        {1, widest},                          // the widest row
        {size_max / stride, block}};          // nearly the whole address space
    for (const auto& [rows, dim] : block_shapes)
      EXPECT_EQ(outcome(c, rows, dim), "bad_alloc") << c.name << " " << rows << " x " << dim;
  }
}

TEST(Table, MoveLeavesSourceEmpty) {
  const auto w = embtab::ref::random_weights(4, 8, 1);
  auto a = table::from_f32(w, 4, 8);
  const std::byte* data = a.data();
  table b = std::move(a);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.rows(), 4u);
  EXPECT_EQ(a.rows(), 0u);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(a.data(), nullptr);
  table c;
  c = std::move(b);
  EXPECT_EQ(c.data(), data);
  // A moved-from table rejects every id and accepts an empty lookup.
  std::vector<float> out(8, 0.0f);
  const std::vector<std::int32_t> ids = {0};
  EXPECT_EQ(embtab::lookup(b, ids, out).code(), embtab::errc::size_mismatch);
  EXPECT_TRUE(embtab::lookup(b, std::span<const std::int32_t>{}, std::span<float>{}).ok());
}

}  // namespace
