// Scalar codecs of ggml's block formats (ggml.hpp). The formulas are ggml's reference ones
// (ggml-quants.c, gguf.quants), evaluated in the same order with one IEEE binary32 rounding
// per operation.
//
// Built with -ffp-contract=off (CMakeLists.txt): g++ contracts a * b + c into an fma across
// statements by default, and here that would change results. In q4_0's quantizer
// trunc(x * id + 8.5f) gives other codes for some x when fused; in q4_k's decoder
// (d * sc) * q - dmin * m is exact up to the subtraction for finite scales, but a fused
// inf * 0 - NaN returns the NaN addend where gguf returns the default NaN.
//
// Facts the decoders rely on: fp16 significands have at most 11 bits, so d * q (q8_0, q4_0),
// d * sc, dmin * m, fl(d * sc) * q (q4_k) and fl(d * scale) * q (q6_k) are exact for finite
// scales, and the only rounding anywhere is q4_k's final subtraction.
#include "ggml.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "convert.hpp"

namespace embtab::detail {
namespace {

constexpr std::size_t q8_0_values = 32, q8_0_bytes = 34;
constexpr std::size_t q4_0_values = 32, q4_0_bytes = 18;
constexpr std::size_t k_values = 256, q4_k_bytes = 144, q6_k_bytes = 210;

float load_f16(const std::byte* p) noexcept {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_bits_to_f32(h);
}

void store_f16(std::byte* p, float x) noexcept {
  const std::uint16_t h = f32_to_f16_bits(x);
  std::memcpy(p, &h, 2);
}

void check_finite(const float* w, std::size_t dim, std::size_t r, const char* name) {
  // gguf's quantizers cast NaN and inf to integers there: no defined result to reproduce.
  if (!row_is_finite(w, dim))
    table_error("row " + std::to_string(r) + " holds NaN or inf; " + name + " needs finite rows");
}

// q4_k's 8 six-bit scales and mins of one block, from its 12 packed bytes: sub-blocks 0-3 in
// the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take their low 4 bits
// from bytes 8-11 (scale low nibble, min high nibble) and their top 2 bits from the top bits
// of bytes 0-3 (scales) and 4-7 (mins).
void q4_k_scales_mins(const std::uint8_t* s, int j, int& sc, int& m) noexcept {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

}  // namespace

void codec<dtype::q8_0>::decode(const std::byte* row, std::size_t dim, float* out) noexcept {
  for (std::size_t b = 0; b < dim / q8_0_values; ++b, row += q8_0_bytes, out += q8_0_values) {
    const float d = load_f16(row);
    const auto* q = reinterpret_cast<const std::int8_t*>(row + 2);
    for (std::size_t j = 0; j < q8_0_values; ++j) out[j] = static_cast<float>(q[j]) * d;
  }
}

void codec<dtype::q8_0>::check(const float* w, std::size_t dim, std::size_t r) {
  check_finite(w, dim, r, "q8_0");
}

// Per block: amax = max |x|, d = amax / 127, id = 1 / d (0 when d is 0),
// q = round_half_away(x * id); d is stored as fp16 (round to nearest even) but the codes
// use the fp32 d. A block with amax below about 3.7e-37 makes 1 / d overflow: gguf then
// casts inf and NaN to int8 (no defined result); its fp16 d is 0, so every code reads back
// as 0, and embtab stores code 0.
void codec<dtype::q8_0>::encode(const float* w, std::size_t dim, std::byte* row, std::size_t) {
  for (std::size_t b = 0; b < dim / q8_0_values; ++b, w += q8_0_values, row += q8_0_bytes) {
    float amax = 0.0f;
    for (std::size_t j = 0; j < q8_0_values; ++j) amax = std::fmax(amax, std::fabs(w[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(row, d);
    auto* q = reinterpret_cast<std::int8_t*>(row + 2);
    for (std::size_t j = 0; j < q8_0_values; ++j)
      q[j] = std::isinf(id) ? 0 : static_cast<std::int8_t>(std::round(w[j] * id));
  }
}

void codec<dtype::q4_0>::decode(const std::byte* row, std::size_t dim, float* out) noexcept {
  for (std::size_t b = 0; b < dim / q4_0_values; ++b, row += q4_0_bytes, out += q4_0_values) {
    const float d = load_f16(row);
    const auto* q = reinterpret_cast<const std::uint8_t*>(row + 2);
    for (std::size_t j = 0; j < q4_0_values / 2; ++j) {
      out[j] = static_cast<float>((q[j] & 0x0F) - 8) * d;
      out[j + 16] = static_cast<float>((q[j] >> 4) - 8) * d;
    }
  }
}

void codec<dtype::q4_0>::check(const float* w, std::size_t dim, std::size_t r) {
  check_finite(w, dim, r, "q4_0");
}

// Per block: max = the first value of largest |x| (signed), d = max / -8, id = 1 / d (0 when
// d is 0), code = min(15, trunc(fl(x * id) + 8.5f)); d stored as fp16. An all-zero block
// whose first value is -0.0 gets d = +0, as gguf (numpy argmax) gives. A block whose largest
// |x| is below about 2.4e-38 makes 1 / d overflow (gguf: no defined result); its fp16 d is 0
// and embtab stores code 8 (value 0).
void codec<dtype::q4_0>::encode(const float* w, std::size_t dim, std::byte* row, std::size_t) {
  for (std::size_t b = 0; b < dim / q4_0_values; ++b, w += q4_0_values, row += q4_0_bytes) {
    float amax = std::fabs(w[0]), max = w[0];
    for (std::size_t j = 1; j < q4_0_values; ++j)
      if (amax < std::fabs(w[j])) {
        amax = std::fabs(w[j]);
        max = w[j];
      }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_f16(row, d);
    std::uint8_t code[q4_0_values];
    for (std::size_t j = 0; j < q4_0_values; ++j) {
      const int c = std::isinf(id) ? 8 : static_cast<int>(w[j] * id + 8.5f);
      code[j] = static_cast<std::uint8_t>(c < 15 ? c : 15);
    }
    auto* q = reinterpret_cast<std::uint8_t*>(row + 2);
    for (std::size_t j = 0; j < q4_0_values / 2; ++j)
      q[j] = static_cast<std::uint8_t>(code[j] | (code[j + 16] << 4));
  }
}

// Block: fp16 d, fp16 dmin, 12 bytes of scales and mins, 128 bytes of nibbles. Sub-block s
// (values 32s .. 32s + 31) reads the low (s even) or high (s odd) nibbles of bytes
// 32 * (s / 2) .. + 31.
void codec<dtype::q4_k>::decode(const std::byte* row, std::size_t dim, float* out) noexcept {
  for (std::size_t b = 0; b < dim / k_values; ++b, row += q4_k_bytes, out += k_values) {
    const float d = load_f16(row);
    const float dmin = load_f16(row + 2);
    const auto* scales = reinterpret_cast<const std::uint8_t*>(row + 4);
    const auto* qs = reinterpret_cast<const std::uint8_t*>(row + 16);
    for (int s = 0; s < 8; ++s) {
      int sc, m;
      q4_k_scales_mins(scales, s, sc, m);
      const float ds = d * static_cast<float>(sc);
      const float ms = dmin * static_cast<float>(m);
      const std::uint8_t* q = qs + 32 * (s / 2);
      const int shift = 4 * (s % 2);
      for (int l = 0; l < 32; ++l)
        out[32 * s + l] = ds * static_cast<float>((q[l] >> shift) & 0x0F) - ms;
    }
  }
}

// Block: ql[128], qh[64], int8 scales[16], fp16 d. Half h (values 128h .. 128h + 127) reads
// ql[64h ..] and qh[32h ..]; for l < 32 its four values l, l + 32, l + 64, l + 96 take
// their low 4 bits from the low nibble of ql[l], of ql[l + 32], the high nibble of ql[l],
// of ql[l + 32], and their top 2 bits from bits 0-1, 2-3, 4-5, 6-7 of qh[l]. Value i of
// the block has scale index i / 16.
void codec<dtype::q6_k>::decode(const std::byte* row, std::size_t dim, float* out) noexcept {
  for (std::size_t b = 0; b < dim / k_values; ++b, row += q6_k_bytes, out += k_values) {
    const auto* ql = reinterpret_cast<const std::uint8_t*>(row);
    const auto* qh = ql + 128;
    const auto* sc = reinterpret_cast<const std::int8_t*>(row + 192);
    const float d = load_f16(row + 208);
    float ds[16];
    for (int s = 0; s < 16; ++s) ds[s] = d * static_cast<float>(sc[s]);
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* lo = ql + 64 * h;
      const std::uint8_t* hi = qh + 32 * h;
      float* y = out + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int q[4] = {(lo[l] & 0x0F) | ((hi[l] & 3) << 4),
                          (lo[l + 32] & 0x0F) | (((hi[l] >> 2) & 3) << 4),
                          (lo[l] >> 4) | (((hi[l] >> 4) & 3) << 4),
                          (lo[l + 32] >> 4) | (((hi[l] >> 6) & 3) << 4)};
        for (int k = 0; k < 4; ++k) {
          const int i = 32 * k + l;
          y[i] = ds[8 * h + i / 16] * static_cast<float>(q[k] - 32);
        }
      }
    }
  }
}

}  // namespace embtab::detail
