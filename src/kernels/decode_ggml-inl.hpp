// SIMD decoders of ggml's block formats (q8_0, q4_0, q4_k, q6_k), on the AVX2 path (256-bit
// vectors) and the AVX-512 path (512-bit), sharing the unpacking of each format. The SSE2 path
// uses the scalar codecs (src/dtypes/ggml.hpp).
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

// 16 values from 16 bytes of codes, stored to dst (any alignment), by vector width: two
// 256-bit halves (AVX2) or one 512-bit vector (AVX-512). Each value is one of
//   i8:         code (int8) * d
//   u8:         (code (uint8) - offset) * d       (the subtraction is exact)
//   u8_mul_sub: ds * code (uint8) - ms            (two roundings, ggml's order)
struct vec16_avx2 {
  static __m256 lo_u8(__m128i v) noexcept { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }
  static __m256 hi_u8(__m128i v) noexcept { return lo_u8(_mm_srli_si128(v, 8)); }
  static void i8(float* dst, __m128i q, float d) noexcept {
    const __m256 vd = _mm256_set1_ps(d);
    _mm256_storeu_ps(dst, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), vd));
    _mm256_storeu_ps(dst + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8))), vd));
  }
  static void u8(float* dst, __m128i q, float offset, float d) noexcept {
    const __m256 vd = _mm256_set1_ps(d), off = _mm256_set1_ps(offset);
    _mm256_storeu_ps(dst, _mm256_mul_ps(_mm256_sub_ps(lo_u8(q), off), vd));
    _mm256_storeu_ps(dst + 8, _mm256_mul_ps(_mm256_sub_ps(hi_u8(q), off), vd));
  }
  static void u8_mul_sub(float* dst, __m128i q, float ds, float ms) noexcept {
    const __m256 vds = _mm256_set1_ps(ds), vms = _mm256_set1_ps(ms);
    _mm256_storeu_ps(dst, _mm256_sub_ps(_mm256_mul_ps(vds, lo_u8(q)), vms));
    _mm256_storeu_ps(dst + 8, _mm256_sub_ps(_mm256_mul_ps(vds, hi_u8(q)), vms));
  }
  // nibbles: codes 0-15, each value ds * code - ms (as u8_mul_sub) or (code - offset) * d
  // (as u8), by the map's kind.
  struct mul_sub {
    float ds, ms;
  };
  struct offset_mul {
    float offset, d;
  };
  static mul_sub mul_sub_map(float ds, float ms) noexcept { return {ds, ms}; }
  static offset_mul offset_mul_map(float offset, float d) noexcept { return {offset, d}; }
  static void nibbles(float* dst, __m128i q, const mul_sub& m) noexcept { u8_mul_sub(dst, q, m.ds, m.ms); }
  static void nibbles(float* dst, __m128i q, const offset_mul& m) noexcept { u8(dst, q, m.offset, m.d); }
};

#if defined(__AVX512F__)
struct vec16_avx512 {
  static __m512 all_u8(__m128i v) noexcept { return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v)); }
  static void i8(float* dst, __m128i q, float d) noexcept {
    _mm512_storeu_ps(dst, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), _mm512_set1_ps(d)));
  }
  static void u8(float* dst, __m128i q, float offset, float d) noexcept {
    _mm512_storeu_ps(dst, _mm512_mul_ps(_mm512_sub_ps(all_u8(q), _mm512_set1_ps(offset)), _mm512_set1_ps(d)));
  }
  static void u8_mul_sub(float* dst, __m128i q, float ds, float ms) noexcept {
    _mm512_storeu_ps(dst, _mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(ds), all_u8(q)), _mm512_set1_ps(ms)));
  }
  // nibbles: codes 0-15, each value ds * code - ms or (code - offset) * d, looked up in the 16
  // values of that expression for codes 0-15 (computed by the same operations, so the same
  // bits) with one permute per 16 values instead of a convert and two arithmetic operations.
  struct nibble_map {
    __m512 values;
  };
  static __m512 codes() noexcept { return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
  static nibble_map mul_sub_map(float ds, float ms) noexcept {
    return {_mm512_sub_ps(_mm512_mul_ps(_mm512_set1_ps(ds), codes()), _mm512_set1_ps(ms))};
  }
  static nibble_map offset_mul_map(float offset, float d) noexcept {
    return {_mm512_mul_ps(_mm512_sub_ps(codes(), _mm512_set1_ps(offset)), _mm512_set1_ps(d))};
  }
  static void nibbles(float* dst, __m128i q, const nibble_map& m) noexcept {
    _mm512_storeu_ps(dst, _mm512_permutexvar_ps(_mm512_cvtepu8_epi32(q), m.values));
  }
};
#endif

struct ggml_block_base {
  const std::byte* row;
  ggml_block_base(const std::byte* r, std::size_t /*dim*/) noexcept : row(r) {}
  static __m128i load16(const std::byte* p) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  }
};

// The K-quants' per-sub-block scales (Count floats per block, computed with vector multiplies
// and stored to a buffer, then read back one at a time as broadcasts), computed one block
// ahead: block b's scales were stored while block b - 1 was decoded. Computed and read back
// within the same block, each block's first broadcast waited for that store to retire behind
// the previous block's output stores. Hot q4_k rows, D = 4096: in a driver of the row decode
// alone (output in L1, quiet machine) 227 -> 176 ns, a memset of the row 146; through lookup()
// (embtab_vs_ggml hot back to back, old and new builds alternating on a busier machine)
// 345-361 -> 321-346 ns (bench/results/2026-12-02-epyc-avx512.md).
// Derived has compute_scales(b, float* out); block(b) in any order works (held says which
// block each of the two slots holds), in order it never waits.
template <class Derived, std::size_t Count>
struct scales_ahead : ggml_block_base {
  std::size_t blocks;
  alignas(64) mutable float slot[2][Count];
  mutable std::size_t held[2] = {~std::size_t{0}, ~std::size_t{0}};
  scales_ahead(const std::byte* r, std::size_t dim) noexcept
      : ggml_block_base(r, dim), blocks(dim / Derived::block_values) {}
  const float* scales(std::size_t b) const noexcept {
    if (held[b & 1] != b) fill(b);
    if (b + 1 < blocks) fill(b + 1);
    return slot[b & 1];
  }
  void fill(std::size_t b) const noexcept {
    static_cast<const Derived*>(this)->compute_scales(b, slot[b & 1]);
    held[b & 1] = b;
  }
};

// q8_0: 34 bytes per 32 values: fp16 d, 32 int8 codes; value = code * d.
template <class V>
struct q8_0_simd : ggml_block_base {
  using ggml_block_base::ggml_block_base;
  static constexpr std::size_t block_values = 32;
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = row + 34 * b;
    const float d = ggml_half(p);
    V::i8(dst, load16(p + 2), d);
    V::i8(dst + 16, load16(p + 18), d);
  }
};

// q4_0: 18 bytes per 32 values: fp16 d, 16 bytes whose low nibbles are values 0-15 and high
// nibbles values 16-31; value = (nibble - 8) * d.
template <class V>
struct q4_0_simd : ggml_block_base {
  using ggml_block_base::ggml_block_base;
  static constexpr std::size_t block_values = 32;
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = row + 18 * b;
    const float d = ggml_half(p);
    const __m128i q = load16(p + 2), nibble = _mm_set1_epi8(0x0F);
    const auto map = V::offset_mul_map(8.0f, d);
    V::nibbles(dst, _mm_and_si128(q, nibble), map);
    V::nibbles(dst + 16, _mm_and_si128(_mm_srli_epi16(q, 4), nibble), map);
  }
};

// Eight fp32 products fl(x * float(u8 lane k)), k < 8, of the 8 bytes lo (bytes 0-3) and hi
// (bytes 4-7), to out[0..8): one vector multiply instead of eight scalar ones.
inline void scale8_u8(std::uint32_t lo, std::uint32_t hi, float x, float* out) noexcept {
  const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_set_epi32(0, 0, static_cast<int>(hi), static_cast<int>(lo))));
  _mm256_storeu_ps(out, _mm256_mul_ps(v, _mm256_set1_ps(x)));
}

// q4_k: 144 bytes per 256 values: fp16 d, fp16 dmin, 12 bytes of packed 6-bit scales and mins
// (8 sub-blocks of 32), 128 bytes of nibbles: byte l of chunk c (32 bytes) holds value
// 64c + l (low nibble, sub-block 2c) and 64c + 32 + l (high nibble, sub-block 2c + 1).
// value = fl(fl(d * sc) * q) - fl(dmin * m), each step rounded as ggml does (no fma).
// The 12 scale bytes as words w0, w1, w2: sub-block j < 4 has sc = byte j of w0 & 63 and
// m = byte j of w1 & 63; j >= 4 takes the low (sc) or high (m) nibble of byte j - 4 of w2,
// with bits 6-7 of byte j - 4 of w0 (sc) or w1 (m) on top. Unpacked for all 8 sub-blocks at
// once, a byte per lane.
template <class V>
struct q4_k_simd : scales_ahead<q4_k_simd<V>, 16> {
  using base = scales_ahead<q4_k_simd<V>, 16>;
  using base::base;
  static constexpr std::size_t block_values = 256;
  // out[j] = fl(d * sc_j), out[8 + j] = fl(dmin * m_j), j < 8.
  void compute_scales(std::size_t b, float* out) const noexcept {
    const std::byte* p = this->row + 144 * b;
    const float d = ggml_half(p), dmin = ggml_half(p + 2);
    std::uint32_t w[3];
    std::memcpy(w, p + 4, 12);
    scale8_u8(w[0] & 0x3F3F3F3Fu, (w[2] & 0x0F0F0F0Fu) | ((w[0] >> 2) & 0x30303030u), d, out);
    scale8_u8(w[1] & 0x3F3F3F3Fu, ((w[2] >> 4) & 0x0F0F0F0Fu) | ((w[1] >> 2) & 0x30303030u), dmin, out + 8);
  }
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = this->row + 144 * b;
    const float* ds = this->scales(b);
    const float* ms = ds + 8;
    const __m128i nibble = _mm_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {  // chunk c: sub-blocks 2c (low nibbles) and 2c + 1 (high)
      const std::byte* q = p + 16 + 32 * c;
      const __m128i a = base::load16(q), e = base::load16(q + 16);
      float* out = dst + 64 * c;
      const auto low = V::mul_sub_map(ds[2 * c], ms[2 * c]);
      const auto high = V::mul_sub_map(ds[2 * c + 1], ms[2 * c + 1]);
      V::nibbles(out, _mm_and_si128(a, nibble), low);
      V::nibbles(out + 16, _mm_and_si128(e, nibble), low);
      V::nibbles(out + 32, _mm_and_si128(_mm_srli_epi16(a, 4), nibble), high);
      V::nibbles(out + 48, _mm_and_si128(_mm_srli_epi16(e, 4), nibble), high);
    }
  }
};

// q6_k: 210 bytes per 256 values: 128 bytes of low 4 bits (ql), 64 bytes of high 2 bits (qh),
// 16 int8 scales (one per 16 values), fp16 d last. In half h (128 values), for l < 32:
// values l, l + 32, l + 64, l + 96 are ql[l] & 15, ql[l + 32] & 15, ql[l] >> 4, ql[l + 32] >> 4
// with bits 0-1, 2-3, 4-5, 6-7 of qh[l] on top, minus 32; value = fl(fl(d * sc) * q).
template <class V>
struct q6_k_simd : scales_ahead<q6_k_simd<V>, 16> {
  using base = scales_ahead<q6_k_simd<V>, 16>;
  using base::base;
  static constexpr std::size_t block_values = 256;
  // The 16 sub-block scales fl(d * sc), two vector multiplies.
  void compute_scales(std::size_t b, float* ds) const noexcept {
    const std::byte* p = this->row + 210 * b;
    const float d = ggml_half(p + 208);
    const __m128i sc = base::load16(p + 192);
    const __m256 vd = _mm256_set1_ps(d);
    _mm256_storeu_ps(ds, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)), vd));
    _mm256_storeu_ps(ds + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))), vd));
  }
  void block(std::size_t b, float* dst) const noexcept {
    const std::byte* p = this->row + 210 * b;
    const float* ds = this->scales(b);
    // The codes of a half, 32 bytes at a time (AVX2 integer ops on both paths), minus 32 as
    // int8 (exact: the codes are 0-63), then V::i8 per 16 values: fl(fl(d * sc) * (q - 32)).
    const __m256i low4 = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x03), off = _mm256_set1_epi8(32);
    const auto load32 = [](const std::byte* a) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a)); };
    const auto high2 = [&](__m256i hb, int shift) {  // bits shift, shift + 1 of each byte, moved to bits 4-5
      return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, shift), two), 4);
    };
    for (int h = 0; h < 2; ++h) {
      const __m256i a = load32(p + 64 * h), c = load32(p + 64 * h + 32), hb = load32(p + 128 + 32 * h);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(a, low4), high2(hb, 0)),
          _mm256_or_si256(_mm256_and_si256(c, low4), high2(hb, 2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), low4), high2(hb, 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), low4), high2(hb, 6))};
      for (int k = 0; k < 4; ++k) {  // values 128h + 32k + l: scale 8h + 2k (l < 16), 8h + 2k + 1
        const __m256i v = _mm256_sub_epi8(q[k], off);
        float* out = dst + 128 * h + 32 * k;
        V::i8(out, _mm256_castsi256_si128(v), ds[8 * h + 2 * k]);
        V::i8(out + 16, _mm256_extracti128_si256(v, 1), ds[8 * h + 2 * k + 1]);
      }
    }
  }
};

#define EMBTAB_GGML_DECODERS(ARCH, V)                                                          \
  template <>                                                                                  \
  struct decoder<ARCH, dtype::q8_0> : q8_0_simd<V> { using q8_0_simd<V>::q8_0_simd; };         \
  template <>                                                                                  \
  struct decoder<ARCH, dtype::q4_0> : q4_0_simd<V> { using q4_0_simd<V>::q4_0_simd; };         \
  template <>                                                                                  \
  struct decoder<ARCH, dtype::q4_k> : q4_k_simd<V> { using q4_k_simd<V>::q4_k_simd; };         \
  template <>                                                                                  \
  struct decoder<ARCH, dtype::q6_k> : q6_k_simd<V> { using q6_k_simd<V>::q6_k_simd; };
#if defined(__AVX512F__)
EMBTAB_GGML_DECODERS(xsimd::avx512bw, vec16_avx512)
#else
EMBTAB_GGML_DECODERS(xsimd::fma3<xsimd::avx2>, vec16_avx2)
#endif
#undef EMBTAB_GGML_DECODERS

#endif  // __AVX2__ && __F16C__

}  // namespace
}  // namespace embtab::detail
