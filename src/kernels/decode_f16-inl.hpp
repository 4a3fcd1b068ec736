// f16 decoders: exact widening of IEEE binary16 to fp32, bit-identical to
// detail::f16_bits_to_f32 (signalling NaNs come back quiet, as vcvtph2ps does). Unaligned
// loads throughout: a view's rows may start at any byte, odd ones included.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "../dtypes/convert.hpp"
#include "gather-inl.hpp"

namespace embtab::detail {
namespace {

// Shared by the f16 and bf16 decoders of every x86 path: the row, unaligned vector access
// to it, and the scalar tail through the exact widening `Widen`.
template <class Arch, float (*Widen)(std::uint16_t) noexcept>
struct half_base {
  using batch = xsimd::batch<float, Arch>;
  const std::byte* row;
  half_base(const std::byte* r, std::size_t /*dim*/) noexcept : row(r) {}
  float at(std::size_t j) const noexcept {
    std::uint16_t h;
    std::memcpy(&h, row + 2 * j, 2);
    return Widen(h);
  }
  template <class V>
  const V* at_bytes(std::size_t j) const noexcept {
    return reinterpret_cast<const V*>(row + 2 * j);
  }
};
template <class Arch>
using f16_base = half_base<Arch, f16_bits_to_f32>;

#if defined(__AVX512F__)
template <>
struct decoder<xsimd::avx512bw, dtype::f16> : f16_base<xsimd::avx512bw> {
  using half_base::half_base;
  batch load(std::size_t j) const noexcept {
    return _mm512_cvtph_ps(_mm256_loadu_si256(at_bytes<__m256i>(j)));
  }
};
#endif

#if defined(__AVX2__) && defined(__F16C__)
template <>
struct decoder<xsimd::fma3<xsimd::avx2>, dtype::f16> : f16_base<xsimd::fma3<xsimd::avx2>> {
  using half_base::half_base;
  batch load(std::size_t j) const noexcept {
    return _mm256_cvtph_ps(_mm_loadu_si128(at_bytes<__m128i>(j)));
  }
};
#endif

// SSE2 has no half conversion: rebuild the fp32 bits with integer ops. With w = h << 17 (the
// sign shifted out): a normal or inf/NaN half is (w >> 4) + (224 << 23) reinterpreted and
// scaled by 2^-112, which re-biases the exponent exactly and turns inf/NaN exponents into
// fp32's (quieting signalling NaNs like vcvtph2ps); a subnormal half m * 2^-24 is the fp32
// 2^-1 * (1 + m * 2^-23) minus 0.5, exact because both terms are representable.
template <>
struct decoder<xsimd::sse2, dtype::f16> : f16_base<xsimd::sse2> {
  using half_base::half_base;
  static batch widen(__m128i halves) noexcept {
    const __m128i h = _mm_unpacklo_epi16(halves, _mm_setzero_si128());
    const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
    const __m128i mag = _mm_and_si128(h, _mm_set1_epi32(0x7FFF));
    const __m128 normal = _mm_mul_ps(
        _mm_castsi128_ps(_mm_add_epi32(_mm_slli_epi32(mag, 13), _mm_set1_epi32(224 << 23))),
        _mm_set1_ps(0x1p-112f));
    const __m128 subnormal = _mm_sub_ps(
        _mm_castsi128_ps(_mm_or_si128(mag, _mm_set1_epi32(126 << 23))), _mm_set1_ps(0.5f));
    const __m128 is_sub = _mm_castsi128_ps(_mm_cmplt_epi32(mag, _mm_set1_epi32(0x400)));
    const __m128 value = _mm_or_ps(_mm_and_ps(is_sub, subnormal), _mm_andnot_ps(is_sub, normal));
    return _mm_or_ps(value, _mm_castsi128_ps(sign));
  }
  batch load(std::size_t j) const noexcept { return widen(_mm_loadl_epi64(at_bytes<__m128i>(j))); }
};

}  // namespace
}  // namespace embtab::detail
