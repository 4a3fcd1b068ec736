// bf16 decoders: a bfloat16 is the top half of an fp32, so widening is a 16-bit shift
// (NaN payloads kept), bit-identical to detail::bf16_bits_to_f32. Unaligned loads throughout.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "../dtypes/convert.hpp"
#include "decode_f16-inl.hpp"
#include "gather-inl.hpp"

namespace embtab::detail {
namespace {

template <class Arch>
using bf16_base = half_base<Arch, bf16_bits_to_f32>;

#if defined(__AVX512BW__)
template <>
struct decoder<xsimd::avx512bw, dtype::bf16> : bf16_base<xsimd::avx512bw> {
  using half_base::half_base;
  batch load(std::size_t j) const noexcept {
    const __m256i v = _mm256_loadu_si256(at_bytes<__m256i>(j));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
  }
};
#endif

#if defined(__AVX2__)
template <>
struct decoder<xsimd::fma3<xsimd::avx2>, dtype::bf16> : bf16_base<xsimd::fma3<xsimd::avx2>> {
  using half_base::half_base;
  batch load(std::size_t j) const noexcept {
    const __m128i v = _mm_loadu_si128(at_bytes<__m128i>(j));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
  }
};
#endif

// SSE2: interleaving zeros below each value is the shift.
template <>
struct decoder<xsimd::sse2, dtype::bf16> : bf16_base<xsimd::sse2> {
  using half_base::half_base;
  batch load(std::size_t j) const noexcept {
    const __m128i v = _mm_loadl_epi64(at_bytes<__m128i>(j));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), v));
  }
};

}  // namespace
}  // namespace embtab::detail
