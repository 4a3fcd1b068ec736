// Scalar conversions; see convert.hpp for the contracts. Integer arithmetic on the bit
// patterns wherever possible, so that FTZ/DAZ and the rounding mode cannot change a result.
#include "convert.hpp"

#include <bit>
#include <cmath>
#include <cstdint>

namespace embtab::detail {

namespace {

constexpr std::uint32_t abs_mask = 0x7FFF'FFFFu;
constexpr std::uint32_t f32_inf = 0x7F80'0000u;

}  // namespace

std::uint16_t f32_to_f16_bits(float x) noexcept {
  const std::uint32_t w = std::bit_cast<std::uint32_t>(x);
  const auto sign = static_cast<std::uint16_t>((w >> 16) & 0x8000u);
  const std::uint32_t a = w & abs_mask;

  if (a > f32_inf) return sign | 0x7E00u;  // NaN: torch keeps only the sign
  // 65520 = 0x1.FFEp15 is the tie between 65504 (odd mantissa) and 2^16: it and all above
  // round to inf.
  if (a >= 0x477F'F000u) return sign | 0x7C00u;
  if (a >= 0x3880'0000u) {  // >= 2^-14: f16 normal; rebias the exponent (127 - 15 = 112)
    std::uint32_t r = a - (112u << 23);
    r += 0x0FFFu + ((r >> 13) & 1u);  // round to nearest even at bit 13; may carry into exp
    return static_cast<std::uint16_t>(sign | (r >> 13));
  }
  // f16 subnormal range, in units of 2^-24. Up to 2^-25 (the tie with 0) gives 0.
  if (a <= 0x3300'0000u) return sign;
  const std::uint32_t e = a >> 23;  // 102 .. 112
  const std::uint32_t m = (a & 0x007F'FFFFu) | 0x0080'0000u;
  const std::uint32_t shift = 126u - e;  // 14 .. 24
  std::uint32_t q = m >> shift;
  const std::uint32_t rem = m & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u) != 0)) ++q;  // 0x400 is the smallest normal
  return static_cast<std::uint16_t>(sign | q);
}

std::uint16_t f32_to_bf16_bits(float x) noexcept {
  const std::uint32_t w = std::bit_cast<std::uint32_t>(x);
  if ((w & abs_mask) > f32_inf) return 0x7FC0u;
  const std::uint32_t rounding = 0x7FFFu + ((w >> 16) & 1u);  // max float carries into inf
  return static_cast<std::uint16_t>((w + rounding) >> 16);
}

float f16_bits_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1Fu;
  const std::uint32_t m = h & 0x03FFu;
  std::uint32_t w;
  if (e == 0x1Fu) {
    w = f32_inf | (m << 13) | (m != 0 ? 0x0040'0000u : 0u);  // inf, or NaN made quiet
  } else if (e != 0) {
    w = ((e + 112u) << 23) | (m << 13);
  } else if (m != 0) {
    // m * 2^-24 with m's top bit at 2^(width - 25): exponent field width + 102.
    const auto width = static_cast<std::uint32_t>(std::bit_width(m));
    w = ((width + 102u) << 23) | ((m << (24u - width)) & 0x007F'FFFFu);
  } else {
    w = 0;
  }
  return std::bit_cast<float>(sign | w);
}

float bf16_bits_to_f32(std::uint16_t b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

rowwise_int8_params quantize_row_int8(const float* row, std::size_t dim,
                                      std::uint8_t* codes) noexcept {
  float lo = row[0];
  float hi = row[0];
  for (std::size_t i = 1; i < dim; ++i) {
    if (row[i] < lo) lo = row[i];
    if (hi < row[i]) hi = row[i];
  }
  const float range = hi - lo;
  const float inverse_scale = 255.0f / (range + 1e-8f);
  for (std::size_t i = 0; i < dim; ++i) {
    // In [0, 255.00003] for finite rows; NaN only when range overflowed (inf * 0), where
    // torch's lrintf yields the x86 "integer indefinite" whose low byte is 0.
    const float v = (row[i] - lo) * inverse_scale;
    codes[i] = std::isnan(v) ? std::uint8_t{0} : static_cast<std::uint8_t>(std::lrint(v));
  }
  return {range / 255.0f, lo};
}

float dequantize_int8(std::uint8_t code, float scale, float bias) noexcept {
  // 24-bit by 8-bit product: exact in double, so contraction into an fma cannot change it.
  return static_cast<float>(static_cast<double>(scale) * code + static_cast<double>(bias));
}

bool row_is_finite(const float* row, std::size_t dim) noexcept {
  std::uint32_t bad = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    const std::uint32_t a = std::bit_cast<std::uint32_t>(row[i]) & abs_mask;
    bad |= static_cast<std::uint32_t>(a >= f32_inf);
  }
  return bad == 0;
}

}  // namespace embtab::detail
