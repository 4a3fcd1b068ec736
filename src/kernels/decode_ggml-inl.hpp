// SIMD decoders of ggml's block formats (q8_0, q4_0, q4_k, q6_k), on the AVX2 and AVX-512
// paths (256-bit AVX2 + F16C operations serve both: these formats are bound by the bytes they
// read, not by vector width). The SSE2 path uses the scalar codecs (src/dtypes/ggml.hpp).
//
// Bit-identical to the codecs, and so to ggml's dequantize_row_* and gguf.quants.dequantize:
// the same products in the same order, each rounded to float (this file's objects are built
// with -ffp-contract=off). For finite scales every product is exact (at most 24 significant
// bits) and q4_k's final subtraction is the only rounding; the order matters only for which
// NaN a non-finite scale produces, and it is the codecs' order here too.
//
// A block decoder writes whole blocks: block_values floats per block(b, dst) call.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "gather-inl.hpp"

namespace embtab::detail {
namespace {

#if defined(__AVX2__) && defined(__F16C__)

// The fp16 at p (any alignment), widened exactly (vcvtph2ps).
inline float ggml_half(const std::byte* p) noexcept {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

// Bytes [8k, 8k + 8) of v, zero- or sign-extended to 8 int32 lanes and converted to float.
inline __m256 ggml_u8x8(__m128i v) noexcept { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
inline __m256 ggml_i8x8(__m128i v) noexcept { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v)); }
inline __m128i ggml_high8(__m128i v) noexcept { return _mm_srli_si128(v, 8); }

// Stores scale * (16 unsigned byte codes of v minus `offset`) at dst.
inline void ggml_store16(float* dst, __m128i v, int offset, __m256 scale) noexcept {
  const __m256 off = _mm256_set1_ps(static_cast<float>(offset));
  _mm256_storeu_ps(dst, _mm256_mul_ps(_mm256_sub_ps(ggml_u8x8(v), off), scale));
  _mm256_storeu_ps(dst + 8, _mm256_mul_ps(_mm256_sub_ps(ggml_u8x8(ggml_high8(v)), off), scale));
}

struct ggml_block_base {
  const std::byte* row;
  ggml_block_base(const std::byte* r, std::size_t /*dim*/) noexcept : row(r) {}
};

// q8_0: 34 bytes per 32 values: fp16 d, 32 int8 codes; value = code * d.
struct q8_0_avx2 : ggml_block_base {
  using ggml_block_base::ggml_block_base;
  static constexpr std::size_t block_values = 32;
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = row + 34 * b;
    const __m256 d = _mm256_set1_ps(ggml_half(p));
    const auto* q = reinterpret_cast<const __m128i*>(p + 2);
    const __m128i lo = _mm_loadu_si128(q), hi = _mm_loadu_si128(q + 1);
    _mm256_storeu_ps(dst, _mm256_mul_ps(ggml_i8x8(lo), d));
    _mm256_storeu_ps(dst + 8, _mm256_mul_ps(ggml_i8x8(ggml_high8(lo)), d));
    _mm256_storeu_ps(dst + 16, _mm256_mul_ps(ggml_i8x8(hi), d));
    _mm256_storeu_ps(dst + 24, _mm256_mul_ps(ggml_i8x8(ggml_high8(hi)), d));
  }
};

// q4_0: 18 bytes per 32 values: fp16 d, 16 bytes whose low nibbles are values 0-15 and high
// nibbles values 16-31; value = (nibble - 8) * d.
struct q4_0_avx2 : ggml_block_base {
  using ggml_block_base::ggml_block_base;
  static constexpr std::size_t block_values = 32;
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = row + 18 * b;
    const __m256 d = _mm256_set1_ps(ggml_half(p));
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2));
    const __m128i nibble = _mm_set1_epi8(0x0F);
    ggml_store16(dst, _mm_and_si128(q, nibble), 8, d);
    ggml_store16(dst + 16, _mm_and_si128(_mm_srli_epi16(q, 4), nibble), 8, d);
  }
};

// q4_k: 144 bytes per 256 values: fp16 d, fp16 dmin, 12 bytes of packed 6-bit scales and mins
// (8 sub-blocks of 32), 128 bytes of nibbles: byte l of chunk c (32 bytes) holds value
// 64c + l (low nibble, sub-block 2c) and 64c + 32 + l (high nibble, sub-block 2c + 1).
// value = fl(fl(d * sc) * q) - fl(dmin * m), two roundings as ggml (no fma).
struct q4_k_avx2 : ggml_block_base {
  using ggml_block_base::ggml_block_base;
  static constexpr std::size_t block_values = 256;
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = row + 144 * b;
    const float d = ggml_half(p), dmin = ggml_half(p + 2);
    std::uint8_t s[12];
    std::memcpy(s, p + 4, 12);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const auto* q = reinterpret_cast<const __m128i*>(p + 16 + 32 * c);
      const __m128i q0 = _mm_loadu_si128(q), q1 = _mm_loadu_si128(q + 1);
      for (int half = 0; half < 2; ++half) {
        const int j = 2 * c + half;  // sub-block
        const int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        const int m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        const __m256 ds = _mm256_set1_ps(d * static_cast<float>(sc));
        const __m256 ms = _mm256_set1_ps(dmin * static_cast<float>(m));
        const __m128i a = half == 0 ? _mm_and_si128(q0, nibble) : _mm_and_si128(_mm_srli_epi16(q0, 4), nibble);
        const __m128i bb = half == 0 ? _mm_and_si128(q1, nibble) : _mm_and_si128(_mm_srli_epi16(q1, 4), nibble);
        float* o = dst + 64 * c + 32 * half;
        _mm256_storeu_ps(o, _mm256_sub_ps(_mm256_mul_ps(ds, ggml_u8x8(a)), ms));
        _mm256_storeu_ps(o + 8, _mm256_sub_ps(_mm256_mul_ps(ds, ggml_u8x8(ggml_high8(a))), ms));
        _mm256_storeu_ps(o + 16, _mm256_sub_ps(_mm256_mul_ps(ds, ggml_u8x8(bb)), ms));
        _mm256_storeu_ps(o + 24, _mm256_sub_ps(_mm256_mul_ps(ds, ggml_u8x8(ggml_high8(bb))), ms));
      }
    }
  }
};

// q6_k: 210 bytes per 256 values: 128 bytes of low 4 bits (ql), 64 bytes of high 2 bits (qh),
// 16 int8 scales (one per 16 values), fp16 d last. In half h (128 values), for l < 32:
// values l, l + 32, l + 64, l + 96 are ql[l] & 15, ql[l + 32] & 15, ql[l] >> 4, ql[l + 32] >> 4
// with bits 0-1, 2-3, 4-5, 6-7 of qh[l] on top, minus 32; value = fl(fl(d * sc) * q).
struct q6_k_avx2 : ggml_block_base {
  using ggml_block_base::ggml_block_base;
  static constexpr std::size_t block_values = 256;
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = row + 210 * b;
    const float d = ggml_half(p + 208);
    std::int8_t sc[16];
    std::memcpy(sc, p + 192, 16);
    const __m128i low4 = _mm_set1_epi8(0x0F), two = _mm_set1_epi8(0x03);
    for (int h = 0; h < 2; ++h) {
      const std::byte* ql = p + 64 * h;
      const std::byte* qh = p + 128 + 32 * h;
      for (int g = 0; g < 2; ++g) {  // l in [16g, 16g + 16): one scale per quarter
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 16 * g));
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ql + 32 + 16 * g));
        const __m128i hb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qh + 16 * g));
        const __m128i q[4] = {
            _mm_or_si128(_mm_and_si128(a, low4), _mm_slli_epi16(_mm_and_si128(hb, two), 4)),
            _mm_or_si128(_mm_and_si128(c, low4),
                         _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hb, 2), two), 4)),
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16(a, 4), low4),
                         _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hb, 4), two), 4)),
            _mm_or_si128(_mm_and_si128(_mm_srli_epi16(c, 4), low4),
                         _mm_slli_epi16(_mm_and_si128(_mm_srli_epi16(hb, 6), two), 4))};
        for (int k = 0; k < 4; ++k) {
          const __m256 f = _mm256_set1_ps(d * static_cast<float>(sc[8 * h + g + 2 * k]));
          ggml_store16(dst + 128 * h + 32 * k + 16 * g, q[k], 32, f);
        }
      }
    }
  }
};

#define EMBTAB_GGML_DECODERS(ARCH)                                                   \
  template <>                                                                        \
  struct decoder<ARCH, dtype::q8_0> : q8_0_avx2 { using q8_0_avx2::q8_0_avx2; };     \
  template <>                                                                        \
  struct decoder<ARCH, dtype::q4_0> : q4_0_avx2 { using q4_0_avx2::q4_0_avx2; };     \
  template <>                                                                        \
  struct decoder<ARCH, dtype::q4_k> : q4_k_avx2 { using q4_k_avx2::q4_k_avx2; };     \
  template <>                                                                        \
  struct decoder<ARCH, dtype::q6_k> : q6_k_avx2 { using q6_k_avx2::q6_k_avx2; };
#if defined(__AVX512F__)
EMBTAB_GGML_DECODERS(xsimd::avx512bw)
#else
EMBTAB_GGML_DECODERS(xsimd::fma3<xsimd::avx2>)
#endif
#undef EMBTAB_GGML_DECODERS

#endif  // __AVX2__ && __F16C__

}  // namespace
}  // namespace embtab::detail
