// bf16 decoders: a bfloat16 is the top half of an fp32, so widening is a 16-bit shift
// (NaN payloads kept), bit-identical to detail::bf16_bits_to_f32.
#pragma once

#include <immintrin.h>

#include "../convert.hpp"
#include "gather-inl.hpp"

namespace embtab::detail {
namespace {

template <class Arch>
struct bf16_base {
  using batch = xsimd::batch<float, Arch>;
  static constexpr std::size_t value_bytes = 2;
  const std::uint16_t* row;
  bf16_base(const std::byte* r, std::size_t /*stride*/) noexcept
      : row(reinterpret_cast<const std::uint16_t*>(r)) {}
  float at(std::size_t j) const noexcept { return bf16_bits_to_f32(row[j]); }
};

#if defined(__AVX512BW__)
template <>
struct decoder<xsimd::avx512bw, dtype::bf16> : bf16_base<xsimd::avx512bw> {
  using bf16_base::bf16_base;
  static batch widen(__m256i v) noexcept {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
  }
  batch load_aligned(std::size_t j) const noexcept {
    return widen(_mm256_load_si256(reinterpret_cast<const __m256i*>(row + j)));
  }
  batch load_unaligned(std::size_t j) const noexcept {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + j)));
  }
};
#endif

#if defined(__AVX2__)
template <>
struct decoder<xsimd::fma3<xsimd::avx2>, dtype::bf16> : bf16_base<xsimd::fma3<xsimd::avx2>> {
  using bf16_base::bf16_base;
  static batch widen(__m128i v) noexcept {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(v), 16));
  }
  batch load_aligned(std::size_t j) const noexcept {
    return widen(_mm_load_si128(reinterpret_cast<const __m128i*>(row + j)));
  }
  batch load_unaligned(std::size_t j) const noexcept {
    return widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + j)));
  }
};
#endif

// SSE2: interleaving zeros below each value is the shift.
template <>
struct decoder<xsimd::sse2, dtype::bf16> : bf16_base<xsimd::sse2> {
  using bf16_base::bf16_base;
  batch load_aligned(std::size_t j) const noexcept {
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + j));
    return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), v));
  }
  batch load_unaligned(std::size_t j) const noexcept { return load_aligned(j); }
};

}  // namespace
}  // namespace embtab::detail
