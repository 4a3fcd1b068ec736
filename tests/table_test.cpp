#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <vector>

#include "embtab/embtab.hpp"
#include "reference.hpp"

namespace {

using embtab::dtype;
using embtab::table;

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
  const auto message_of = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no exception";
  };
  EXPECT_NE(message_of([&] { (void)table::from_f32(w, 5, 3); }).find("12"), std::string::npos);
  EXPECT_NE(message_of([&] { (void)table::from_f32(w, 0, 3); }).find("0 x 3"), std::string::npos);
  EXPECT_NE(message_of([&] { (void)table::from_f32(w, 12, 0); }).find("12 x 0"), std::string::npos);
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
  EXPECT_NE(message_of([&] { (void)table::from_f32(w, huge, 64); }).find("overflows"),
            std::string::npos);
  EXPECT_NE(message_of([&] { (void)table::from_f32(w, 1, huge); }).find("too large"),
            std::string::npos);
  EXPECT_THROW((void)table::from_f32(w, 4, 4), std::invalid_argument);
  EXPECT_THROW((void)table::from_f32({}, 0, 0), std::invalid_argument);
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
