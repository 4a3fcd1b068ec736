// src/convert.cpp against PyTorch 1.13, bit for bit, through the fixtures written by
// tests/fixtures/gen_quant_fixtures.py (formats documented there).
#include "dtypes/convert.hpp"
#include "quant_fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#ifndef EMBTAB_FIXTURE_DIR
#error "EMBTAB_FIXTURE_DIR must name the tests/fixtures folder"
#endif

namespace {

using namespace embtab::detail;
using namespace embtab::test;


std::uint32_t bits(float x) { return std::bit_cast<std::uint32_t>(x); }
bool is_nan_bits(std::uint32_t w) { return (w & 0x7FFF'FFFFu) > 0x7F80'0000u; }

TEST(Convert, F32ToF16MatchesTorch) {
  const auto& c = convert_data();
  std::size_t bad = 0;
  for (std::size_t i = 0; i < c.f32.size(); ++i) {
    const std::uint16_t got = f32_to_f16_bits(std::bit_cast<float>(c.f32[i]));
    if (got != c.f16[i] && ++bad <= 10)
      ADD_FAILURE() << std::hex << "f32 0x" << c.f32[i] << ": torch 0x" << c.f16[i] << ", got 0x"
                    << got;
  }
  EXPECT_EQ(bad, 0u) << "of " << c.f32.size();
}

TEST(Convert, F32ToBf16MatchesTorch) {
  const auto& c = convert_data();
  std::size_t bad = 0, nans = 0;
  for (std::size_t i = 0; i < c.f32.size(); ++i) {
    const std::uint16_t got = f32_to_bf16_bits(std::bit_cast<float>(c.f32[i]));
    nans += is_nan_bits(c.f32[i]);
    if (got != c.bf16[i] && ++bad <= 10)
      ADD_FAILURE() << std::hex << "f32 0x" << c.f32[i] << ": torch 0x" << c.bf16[i] << ", got 0x"
                    << got;
  }
  EXPECT_EQ(bad, 0u) << "of " << c.f32.size();
  EXPECT_GT(nans, 10u);
}

TEST(Convert, NamedEdgeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(f32_to_f16_bits(65504.0f), 0x7BFFu);
  EXPECT_EQ(f32_to_f16_bits(65519.0f), 0x7BFFu);
  EXPECT_EQ(f32_to_f16_bits(65520.0f), 0x7C00u);  // tie with an odd mantissa: up, to inf
  EXPECT_EQ(f32_to_f16_bits(-inf), 0xFC00u);
  EXPECT_EQ(f32_to_f16_bits(0x1p-24f), 0x0001u);
  EXPECT_EQ(f32_to_f16_bits(0x1p-25f), 0x0000u);       // tie: to even (zero)
  EXPECT_EQ(f32_to_f16_bits(0x1.8p-24f), 0x0002u);     // tie: to even (two)
  EXPECT_EQ(f32_to_f16_bits(-0x1.ffcp-15f), 0x8400u);  // tie 1023.5 ulps: smallest normal
  EXPECT_EQ(f32_to_f16_bits(std::bit_cast<float>(0x8000'0001u)), 0x8000u);
  EXPECT_EQ(f32_to_f16_bits(std::bit_cast<float>(0xFFC0'0001u)), 0xFE00u);
  EXPECT_EQ(f32_to_bf16_bits(std::bit_cast<float>(0x7F7F'8000u)), 0x7F80u);  // odd tie -> inf
  EXPECT_EQ(f32_to_bf16_bits(std::bit_cast<float>(0x3F80'8000u)), 0x3F80u);  // even tie: down
  EXPECT_EQ(f32_to_bf16_bits(std::bit_cast<float>(0x3F81'8000u)), 0x3F82u);  // odd tie: up
  EXPECT_EQ(f32_to_bf16_bits(std::bit_cast<float>(0xFFC0'0001u)), 0x7FC0u);
  EXPECT_EQ(bits(f16_bits_to_f32(0x0001u)), bits(0x1p-24f));
  EXPECT_EQ(bits(f16_bits_to_f32(0x7D00u)), 0x7FE0'0000u);  // signalling NaN made quiet
  EXPECT_EQ(bits(bf16_bits_to_f32(0xFF81u)), 0xFF81'0000u);
}

TEST(Convert, WideningMatchesTorch) {
  const auto& c = convert_data();
  for (std::size_t i = 0; i < c.w16_in.size(); ++i)
    ASSERT_EQ(bits(f16_bits_to_f32(c.w16_in[i])), c.w16_out[i]) << std::hex << c.w16_in[i];
  for (std::size_t i = 0; i < c.wbf_in.size(); ++i)
    ASSERT_EQ(bits(bf16_bits_to_f32(c.wbf_in[i])), c.wbf_out[i]) << std::hex << c.wbf_in[i];
  EXPECT_GT(c.w16_in.size(), 4096u);
  EXPECT_GT(c.wbf_in.size(), 512u);
}

// All 65536 patterns: exact value (checked independently with ldexp), and back to the same
// bits; a NaN stays a NaN of the same sign through both directions.
TEST(Convert, F16RoundTripsExhaustively) {
  for (std::uint32_t h = 0; h <= 0xFFFFu; ++h) {
    const auto h16 = static_cast<std::uint16_t>(h);
    const float x = f16_bits_to_f32(h16);
    const bool negative = (h & 0x8000u) != 0;
    const std::uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    ASSERT_EQ(std::signbit(x), negative) << std::hex << h;
    if (e == 0x1F && m != 0) {
      ASSERT_TRUE(std::isnan(x)) << std::hex << h;
      ASSERT_EQ(f32_to_f16_bits(x), negative ? 0xFE00u : 0x7E00u) << std::hex << h;
      continue;
    }
    const double magnitude = e == 0x1F ? HUGE_VAL
                             : e == 0  ? std::ldexp(double(m), -24)
                                       : std::ldexp(double(m | 0x400u), int(e) - 25);
    ASSERT_EQ(double(x), negative ? -magnitude : magnitude) << std::hex << h;
    ASSERT_EQ(f32_to_f16_bits(x), h16) << std::hex << h;
  }
}

TEST(Convert, Bf16RoundTripsExhaustively) {
  for (std::uint32_t b = 0; b <= 0xFFFFu; ++b) {
    const auto b16 = static_cast<std::uint16_t>(b);
    const float x = bf16_bits_to_f32(b16);
    const bool negative = (b & 0x8000u) != 0;
    const std::uint32_t e = (b >> 7) & 0xFFu, m = b & 0x7Fu;
    ASSERT_EQ(std::signbit(x), negative) << std::hex << b;
    if (e == 0xFF && m != 0) {
      ASSERT_TRUE(std::isnan(x)) << std::hex << b;
      ASSERT_EQ(f32_to_bf16_bits(x), 0x7FC0u) << std::hex << b;
      continue;
    }
    const double magnitude = e == 0xFF ? HUGE_VAL
                             : e == 0  ? std::ldexp(double(m), -133)
                                       : std::ldexp(double(m | 0x80u), int(e) - 134);
    ASSERT_EQ(double(x), negative ? -magnitude : magnitude) << std::hex << b;
    ASSERT_EQ(f32_to_bf16_bits(x), b16) << std::hex << b;
  }
}

TEST(Convert, Int8QuantizeMatchesTorchPrepack) {
  const auto& all = int8_data();
  ASSERT_GE(all.size(), 7u) << "int8 fixtures missing from " << quant_dir;
  std::size_t rows_checked = 0;
  for (const auto& f : all) {
    const std::size_t packed_cols = f.dim + 8;
    std::vector<float> row(f.dim);
    std::vector<std::uint8_t> codes(f.dim);
    std::size_t bad_rows = 0;
    for (std::size_t r = 0; r < f.rows; ++r) {
      for (std::size_t i = 0; i < f.dim; ++i)
        row[i] = std::bit_cast<float>(f.weights[r * f.dim + i]);
      const rowwise_int8_params p = quantize_row_int8(row.data(), f.dim, codes.data());
      const std::uint8_t* expect = f.packed.data() + r * packed_cols;
      const bool same = std::equal(codes.begin(), codes.end(), expect) &&
                        bits(p.scale) == le32_at(expect + f.dim) &&
                        bits(p.bias) == le32_at(expect + f.dim + 4);
      if (!same && ++bad_rows <= 5) {
        const auto first = std::mismatch(codes.begin(), codes.end(), expect).first - codes.begin();
        ADD_FAILURE() << f.name << " row " << r << std::hex << ": scale 0x" << bits(p.scale)
                      << " (torch 0x" << le32_at(expect + f.dim) << "), bias 0x" << bits(p.bias)
                      << " (torch 0x" << le32_at(expect + f.dim + 4) << ")" << std::dec
                      << ", first differing code at " << first;
      }
      ++rows_checked;
    }
    EXPECT_EQ(bad_rows, 0u) << f.name;
  }
  EXPECT_GT(rows_checked, 100u);
}

TEST(Convert, Int8DequantizeMatchesTorchLookup) {
  std::size_t values = 0;
  for (const auto& f : int8_data()) {
    const std::size_t packed_cols = f.dim + 8;
    std::size_t bad = 0;
    for (std::size_t r = 0; r < f.rows; ++r) {
      const std::uint8_t* packed = f.packed.data() + r * packed_cols;
      const float scale = std::bit_cast<float>(le32_at(packed + f.dim));
      const float bias = std::bit_cast<float>(le32_at(packed + f.dim + 4));
      for (std::size_t i = 0; i < f.dim; ++i, ++values) {
        const std::uint32_t got = bits(dequantize_int8(packed[i], scale, bias));
        const std::uint32_t want = f.out[r * f.dim + i];
        // Rows whose range overflowed give inf * 0: a NaN on both sides, its bits the CPU's.
        if (got != want && !(is_nan_bits(got) && is_nan_bits(want)) && ++bad <= 5)
          ADD_FAILURE() << f.name << " row " << r << " col " << i << std::hex << ": torch 0x"
                        << want << ", got 0x" << got;
      }
    }
    EXPECT_EQ(bad, 0u) << f.name;
  }
  EXPECT_GT(values, 10000u);
}

// Why dequantize_int8 works in double: torch's outputs contain values (the row
// tiny_min_double_rounding) that a float fmaf(scale, code, bias) does not reproduce.
TEST(Convert, Int8FloatFmafIsNotTorchsFormula) {
  std::size_t differ = 0;
  for (const auto& f : int8_data()) {
    for (std::size_t r = 0; r < f.rows; ++r) {
      const std::uint8_t* packed = f.packed.data() + r * (f.dim + 8);
      const float scale = std::bit_cast<float>(le32_at(packed + f.dim));
      const float bias = std::bit_cast<float>(le32_at(packed + f.dim + 4));
      for (std::size_t i = 0; i < f.dim; ++i) {
        const float fused = std::fma(scale, static_cast<float>(packed[i]), bias);
        differ += !std::isnan(fused) && bits(fused) != f.out[r * f.dim + i];
      }
    }
  }
  EXPECT_GT(differ, 0u);
}

// What dequantize_int8 promises besides the fixtures: one rounding in double, then float.
TEST(Convert, Int8DequantizeIsDoubleFmaRoundedToFloat) {
  const float scales[] = {0.0f, 1.0f, 1.0f / 255, 0x1.fffffep-3f, 3.3e-39f, 1.2e36f};
  const float biases[] = {0.0f, -0.0f, -1.0f, 0x1p-30f, -7.5e30f, 1.0f / 3};
  for (const float s : scales)
    for (const float b : biases)
      for (int c = 0; c < 256; ++c)
        ASSERT_EQ(bits(dequantize_int8(static_cast<std::uint8_t>(c), s, b)),
                  bits(static_cast<float>(std::fma(double(s), double(c), double(b)))))
            << s << " " << b << " " << c;
}

TEST(Convert, Int8EdgeRows) {
  std::uint8_t codes[4];
  const float one[] = {-2.5f};
  auto p = quantize_row_int8(one, 1, codes);
  EXPECT_EQ(codes[0], 0u);
  EXPECT_EQ(bits(p.scale), 0u);
  EXPECT_EQ(bits(p.bias), bits(-2.5f));
  // First minimum wins, as std::min_element: the bias keeps the sign of the first zero.
  const float zeros[] = {0.0f, -0.0f, 0.0f};
  p = quantize_row_int8(zeros, 3, codes);
  EXPECT_EQ(bits(p.bias), 0u);
  p = quantize_row_int8(zeros + 1, 2, codes);
  EXPECT_EQ(bits(p.bias), 0x8000'0000u);
  // range 255 makes the inverse scale exactly 1: x = k + 1/2 rounds half to even.
  const float ties[] = {0.0f, 255.0f, 2.5f, 3.5f};
  p = quantize_row_int8(ties, 4, codes);
  EXPECT_EQ(bits(p.scale), bits(1.0f));
  EXPECT_EQ(codes[1], 255u);
  EXPECT_EQ(codes[2], 2u);
  EXPECT_EQ(codes[3], 4u);
  // max - min overflows: torch's bytes (inf scale, codes 0), which the table must refuse.
  const float wide[] = {-3e38f, 3e38f, 1.0f};
  p = quantize_row_int8(wide, 3, codes);
  EXPECT_TRUE(std::isinf(p.scale));
  EXPECT_EQ(codes[0] | codes[1] | codes[2], 0);
}

TEST(Convert, RowIsFinite) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float max = std::numeric_limits<float>::max();
  std::vector<float> row(65, 1.0f);
  EXPECT_TRUE(row_is_finite(row.data(), row.size()));
  EXPECT_TRUE(row_is_finite(row.data(), 0));
  row[10] = max;
  row[11] = -max;
  row[12] = std::bit_cast<float>(0x8000'0001u);
  EXPECT_TRUE(row_is_finite(row.data(), row.size()));
  for (const float bad : {inf, -inf, nan, -nan, std::bit_cast<float>(0x7F80'0001u)}) {
    for (const std::size_t at : {std::size_t{0}, std::size_t{31}, std::size_t{64}}) {
      std::vector<float> r = row;
      r[at] = bad;
      EXPECT_FALSE(row_is_finite(r.data(), r.size())) << at;
      EXPECT_TRUE(row_is_finite(r.data(), at)) << at;
    }
  }
}

}  // namespace
