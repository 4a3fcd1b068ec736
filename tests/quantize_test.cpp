// f16, bf16 and int8_rowwise tables: construction, layout, every ISA's lookup against the
// scalar reference, and PyTorch's numbers through the public API.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "embtab/embtab.hpp"
#include "isa_param.hpp"
#include "quant_fixtures.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

namespace {

using embtab::dtype;
using embtab::table;
using embtab::test::refusal;

bool same_or_both_nan(float a, float b) {
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

std::vector<float> lookup_all(const table& t, const std::vector<std::int64_t>& ids) {
  std::vector<float> out(ids.size() * t.dim(), -777.0f);
  const auto s = embtab::lookup(t, ids, out);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// The rows with a tiny bias (reference.hpp's random_row, kind 1) are where a float fma alone
// would be wrong: the conformance suite can only catch a kernel that takes its float path too
// often if such values exist.
TEST(StoredTypesSensitivity, TinyBiasRowsHaveValuesWhereFloatFmaDiffers) {
  std::mt19937 gen(99);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::size_t differing = 0;
  for (int r = 0; r < 200; ++r) {
    const float scale = std::fabs(normal(gen)) + 1e-6f, bias = normal(gen) * 1e-19f;
    for (int c = 0; c < 256; ++c) {
      const auto code = static_cast<std::uint8_t>(c);
      differing += std::fma(scale, float(code), bias) != embtab::ref::dequantize(code, scale, bias);
    }
  }
  EXPECT_GT(differing, 0u);
}

class TorchFixtures : public embtab::test::isa_test<std::string> {};

// from_f32(w, f16|bf16) stores PyTorch's w.half() / w.bfloat16() bits; lookup widens them.
TEST_P(TorchFixtures, HalfTablesStoreTorchsRounding) {
  const auto& c = embtab::test::convert_data();
  const std::size_t n = c.f32.size();
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = std::bit_cast<float>(c.f32[i]);
  std::vector<std::int64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::int64_t>(i);
  for (const dtype type : {dtype::f16, dtype::bf16}) {
    const table t = table::from_f32(w, n, 1, type);
    const auto out = lookup_all(t, ids);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t stored;
      std::memcpy(&stored, t.data() + i * t.row_stride(), 2);
      const std::uint16_t torch = type == dtype::f16 ? c.f16[i] : c.bf16[i];
      ASSERT_EQ(stored, torch) << embtab::to_string(type) << " of f32 bits 0x" << std::hex << c.f32[i];
      const float want = type == dtype::f16 ? embtab::ref::f16_to_f32(torch) : embtab::ref::bf16_to_f32(torch);
      ASSERT_EQ(std::bit_cast<std::uint32_t>(out[i]), std::bit_cast<std::uint32_t>(want));
    }
  }
}

// Packed rows from embedding_bag_byte_prepack import as they are, and lookups equal
// embedding_bag_byte_rowwise_offsets; from_f32(w, int8_rowwise) produces the same bytes.
TEST_P(TorchFixtures, Int8MatchesTorchPrepackAndLookup) {
  const auto& all = embtab::test::int8_data();
  ASSERT_GE(all.size(), 10u);
  for (const auto& f : all) {
    const std::size_t rows = f.rows, dim = f.dim;
    const table imported = table::from_rowwise_int8(f.packed, rows, dim);
    std::vector<std::int64_t> ids(rows);
    for (std::size_t r = 0; r < rows; ++r) ids[r] = static_cast<std::int64_t>(r);
    const auto out = lookup_all(imported, ids);
    for (std::size_t i = 0; i < rows * dim; ++i)
      ASSERT_TRUE(same_or_both_nan(out[i], std::bit_cast<float>(f.out[i])))
          << f.name << " value " << i << ": " << out[i] << " vs torch " << std::bit_cast<float>(f.out[i]);
    // Quantizing the fp32 weights ourselves gives torch's bytes, row by row (rows whose
    // range overflows float are rejected instead, naming the row).
    for (std::size_t r = 0; r < rows; ++r) {
      std::vector<float> w(dim);
      for (std::size_t j = 0; j < dim; ++j) w[j] = std::bit_cast<float>(f.weights[r * dim + j]);
      const float lo = *std::min_element(w.begin(), w.end()), hi = *std::max_element(w.begin(), w.end());
      if (std::isinf(hi - lo)) {
        EXPECT_THROW((void)table::from_f32(w, 1, dim, dtype::int8_rowwise), std::invalid_argument);
        continue;
      }
      const table t = table::from_f32(w, 1, dim, dtype::int8_rowwise);
      const std::uint8_t* packed = f.packed.data() + r * (dim + 8);
      ASSERT_EQ(std::memcmp(t.data(), packed, dim), 0) << f.name << " row " << r << " codes";
      ASSERT_EQ(std::memcmp(t.data() + dim, packed + dim, 8), 0)
          << f.name << " row " << r << " scale and bias";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, TorchFixtures, ::testing::ValuesIn(embtab::test::isa_names()),
                         [](const auto& p) { return p.param; });

TEST(QuantizedTable, LayoutAndBytes) {
  const std::vector<float> w(3 * 100, 0.5f);
  const table f16 = table::from_f32(w, 3, 100, dtype::f16);
  EXPECT_EQ(f16.row_stride(), 256u);  // 200 bytes -> 256
  EXPECT_EQ(f16.bytes(), 3u * 256u);
  const table i8 = table::from_f32(w, 3, 100, dtype::int8_rowwise);
  EXPECT_EQ(i8.row_bytes(), 108u);   // 100 codes, then scale and bias
  EXPECT_EQ(i8.row_stride(), 128u);  // 108 -> 128
  EXPECT_EQ(i8.bytes(), 3u * 128u);
  const table i8b = table::from_f32(std::vector<float>(2 * 56, 1.0f), 2, 56, dtype::int8_rowwise);
  EXPECT_EQ(i8b.row_stride(), 64u);  // 56 + 8 fits one line exactly
  const table i8c = table::from_f32(std::vector<float>(2 * 57, 1.0f), 2, 57, dtype::int8_rowwise);
  EXPECT_EQ(i8c.row_stride(), 128u);
  for (std::size_t r = 0; r < 3; ++r) {  // scale (1/255 of a zero range: 0) and bias 0.5 right
    float scale, bias;                    // after the codes, then zero padding
    std::memcpy(&scale, i8.data() + r * 128 + 100, 4);
    std::memcpy(&bias, i8.data() + r * 128 + 104, 4);
    EXPECT_EQ(scale, 0.0f);
    EXPECT_EQ(bias, 0.5f);
    for (std::size_t b = 108; b < 128; ++b) ASSERT_EQ(i8.data()[r * 128 + b], std::byte{0});
  }
  EXPECT_EQ(table::from_f32(w, 3, 100, dtype::bf16).type(), dtype::bf16);
}

TEST(QuantizedTable, NonFiniteRowsAreRejectedNamingTheRow) {
  for (const float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> w(4 * 5, 1.0f);
    w[2 * 5 + 3] = bad;
    const std::string said = refusal([&] { (void)table::from_f32(w, 4, 5, dtype::int8_rowwise); });
    EXPECT_NE(said.find("row 2 holds NaN or inf"), std::string::npos) << bad << ": " << said;
    // Half-precision tables keep non-finite values.
    EXPECT_NO_THROW((void)table::from_f32(w, 4, 5, dtype::f16));
  }
  std::vector<float> huge = {-3e38f, 3e38f, 0.0f, 1.0f};
  const std::string said = refusal([&] { (void)table::from_f32(huge, 2, 2, dtype::int8_rowwise); });
  EXPECT_NE(said.find("row 0 spans"), std::string::npos) << said;
}

TEST(QuantizedTable, ImportsRejectWrongSizes) {
  EXPECT_THROW((void)table::from_f16_bits(std::vector<std::uint16_t>(11), 3, 4), std::invalid_argument);
  EXPECT_THROW((void)table::from_bf16_bits(std::vector<std::uint16_t>(13), 3, 4), std::invalid_argument);
  EXPECT_THROW((void)table::from_rowwise_int8(std::vector<std::uint8_t>(3 * 4), 3, 4), std::invalid_argument);
  EXPECT_THROW((void)table::from_rowwise_int8(std::vector<std::uint8_t>(3 * 12 + 1), 3, 4), std::invalid_argument);
  EXPECT_THROW((void)table::from_rowwise_int8({}, 0, 4), std::invalid_argument);
  EXPECT_NO_THROW((void)table::from_rowwise_int8(std::vector<std::uint8_t>(3 * 12), 3, 4));
  EXPECT_THROW((void)table::from_f32(std::vector<float>(4), 2, 2, static_cast<dtype>(9)), std::invalid_argument);
}

// A case small enough to compute by hand: row [0, 0.25, 0.75, 1] has min 0, range 1, so
// scale = fl(1/255) and codes round(x * 255 / (1 + 1e-8)): 63.75 -> 64, 191.25 -> 191,
// 255 -> 255. The errors are 64/255 - 0.25 and 0.75 - 191/255, both 0.25/255 up to float
// rounding; the other row is constant and exact.
TEST(QuantizedTable, MeasureQuantizationHandComputed) {
  const std::vector<float> w = {0.0f, 0.25f, 0.75f, 1.0f, 5.0f, 5.0f, 5.0f, 5.0f};
  const table t = table::from_f32(w, 2, 4, dtype::int8_rowwise);
  EXPECT_EQ(std::to_integer<int>(t.data()[1]), 64);
  EXPECT_EQ(std::to_integer<int>(t.data()[2]), 191);
  EXPECT_EQ(std::to_integer<int>(t.data()[3]), 255);
  const auto out = lookup_all(t, {0, 1});
  EXPECT_EQ(out[1], embtab::ref::dequantize(64, 1.0f / 255.0f, 0.0f));
  EXPECT_EQ(out[4], 5.0f);  // a constant row is exact: code 0, bias 5
  const auto report = embtab::measure_quantization(t, w);
  EXPECT_NEAR(report.max_abs_error, 0.25 / 255, 1e-7);
  // Squared errors: two of 0.25/255 in row 0 (the 1.0 is exact up to fl(1/255) * 255), over 8.
  EXPECT_NEAR(report.rms_error, std::sqrt(2 * (0.25 / 255) * (0.25 / 255) / 8), 1e-7);
  EXPECT_NEAR(report.max_error_over_row_range, 0.25 / 255, 1e-7);  // range 1
  EXPECT_EQ(report.worst_row, 0u);
  // An f32 table loses nothing; a wrong weights size is an error.
  const auto exact = embtab::measure_quantization(table::from_f32(w, 2, 4), w);
  EXPECT_EQ(exact.max_abs_error, 0.0);
  EXPECT_EQ(exact.rms_error, 0.0);
  EXPECT_THROW((void)embtab::measure_quantization(t, std::vector<float>(7)), std::invalid_argument);
}

}  // namespace
