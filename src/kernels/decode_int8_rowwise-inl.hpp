// int8 rowwise decoders: value = float(double(scale) * code + double(bias)), bit-identical to
// detail::dequantize_int8 and to PyTorch's embedding_bag_byte_rowwise_offsets. The product of
// a float and an 8-bit code is exact in double, so mul + add (SSE2) and fma (AVX2, AVX-512)
// both round once to double, then once to float: every path gives the same bits.
//
// Most rows take a faster float path: when scale * code + bias is exact in double for every
// code (int8_float_fma_exact), rounding it to double changes nothing, and one float fma (one
// rounding to float of the exact value) gives the same bits at twice the lanes and without
// the double conversions. Rows whose bias is tiny next to scale * 255 (or vice versa) keep
// the double path, where the two differ (see tests/convert_test.cpp).
//
#pragma once

#include <immintrin.h>

#include <cstring>

#include "../dtypes/convert.hpp"
#include "gather-inl.hpp"

namespace embtab::detail {
namespace {

// Whether x = scale * c + bias is exactly representable in double for every c in [0, 255].
// With E(v) the binary exponent of v (-126 for subnormals) and ulp(v) = 2^(E(v) - 23): x is a
// multiple of 2^(min(Es, Eb) - 23) and |x| < 2^(max(Es + 9, Eb + 1) + 1), so it needs at most
// max(Es + 9, Eb + 1) - min(Es, Eb) + 24 significant bits; double has 53.
inline bool int8_float_fma_exact(float scale, float bias) noexcept {
  std::uint32_t s_bits, b_bits;
  std::memcpy(&s_bits, &scale, 4);
  std::memcpy(&b_bits, &bias, 4);
  const int es_field = static_cast<int>((s_bits >> 23) & 0xFF);
  const int eb_field = static_cast<int>((b_bits >> 23) & 0xFF);
  if (es_field == 0xFF || eb_field == 0xFF) return false;  // inf/NaN: the exact path decides
  if ((s_bits & 0x7FFFFFFF) == 0 || (b_bits & 0x7FFFFFFF) == 0) return true;  // x = one term
  const int es = (es_field == 0 ? 1 : es_field) - 127, eb = (eb_field == 0 ? 1 : eb_field) - 127;
  const int hi = es + 9 > eb + 1 ? es + 9 : eb + 1;
  const int lo = es < eb ? es : eb;
  return hi - lo <= 29;
}

// Codes, scale and bias of one row (layout in table.hpp: scale and bias right after the
// codes, any alignment), and the scalar tail.
template <class Arch>
struct int8_base {
  using batch = xsimd::batch<float, Arch>;
  const std::uint8_t* codes;
  float scale, bias;
  int8_base(const std::uint8_t* c, float s, float b) noexcept : codes(c), scale(s), bias(b) {}
  float at(std::size_t j) const noexcept { return dequantize_int8(codes[j], scale, bias); }
};

// The exact path: double(scale) * code + double(bias), rounded to float.
template <class Arch>
struct int8_exact;
// The float path (see the top of this file): codes widened to fp32 (exact), one float fma.
// Defined only where the ISA has fma.
template <class Arch>
struct int8_fma;

#if defined(__AVX512F__)
template <>
struct int8_exact<xsimd::avx512bw> : int8_base<xsimd::avx512bw> {
  __m512d s, b;
  int8_exact(const std::uint8_t* c, float sc, float bi) noexcept
      : int8_base(c, sc, bi), s(_mm512_set1_pd(sc)), b(_mm512_set1_pd(bi)) {}
  __m256 eight(const std::uint8_t* p) const noexcept {
    const __m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    return _mm512_cvtpd_ps(_mm512_fmadd_pd(s, _mm512_cvtepi32_pd(c), b));
  }
  batch load(std::size_t j) const noexcept {
    const __m512 lo = _mm512_castps256_ps512(eight(codes + j));
    return _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castps_pd(lo), _mm256_castps_pd(eight(codes + j + 8)), 1));
  }
};

template <>
struct int8_fma<xsimd::avx512bw> : int8_base<xsimd::avx512bw> {
  batch s, b;
  int8_fma(const std::uint8_t* c, float sc, float bi) noexcept : int8_base(c, sc, bi), s(sc), b(bi) {}
  batch load(std::size_t j) const noexcept {
    const __m512i c = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes + j)));
    // The intrinsic, not xsimd::fma: built by clang 14, xsimd 8.1's fma for avx512bw is a
    // separate multiply and add (two roundings), which breaks exactness (found by fuzz_lookup).
    return _mm512_fmadd_ps(s, _mm512_cvtepi32_ps(c), b);
  }
};
#endif

#if defined(__AVX2__) && defined(__FMA__)
template <>
struct int8_exact<xsimd::fma3<xsimd::avx2>> : int8_base<xsimd::fma3<xsimd::avx2>> {
  __m256d s, b;
  int8_exact(const std::uint8_t* c, float sc, float bi) noexcept
      : int8_base(c, sc, bi), s(_mm256_set1_pd(sc)), b(_mm256_set1_pd(bi)) {}
  __m128 four(__m128i c) const noexcept {
    return _mm256_cvtpd_ps(_mm256_fmadd_pd(s, _mm256_cvtepi32_pd(c), b));
  }
  batch load(std::size_t j) const noexcept {
    const __m256i c =
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + j)));
    return _mm256_set_m128(four(_mm256_extracti128_si256(c, 1)),
                           four(_mm256_castsi256_si128(c)));
  }
};

template <>
struct int8_fma<xsimd::fma3<xsimd::avx2>> : int8_base<xsimd::fma3<xsimd::avx2>> {
  batch s, b;
  int8_fma(const std::uint8_t* c, float sc, float bi) noexcept : int8_base(c, sc, bi), s(sc), b(bi) {}
  batch load(std::size_t j) const noexcept {
    const __m256i c =
        _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + j)));
    return _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(c), b);
  }
};
#endif

// SSE2 has no fma: a float multiply and add would round twice, so it always takes the
// exact double path.
template <>
struct int8_exact<xsimd::sse2> : int8_base<xsimd::sse2> {
  __m128d s, b;
  int8_exact(const std::uint8_t* c, float sc, float bi) noexcept
      : int8_base(c, sc, bi), s(_mm_set1_pd(sc)), b(_mm_set1_pd(bi)) {}
  __m128 two(__m128i c) const noexcept {
    return _mm_cvtpd_ps(_mm_add_pd(_mm_mul_pd(s, _mm_cvtepi32_pd(c)), b));
  }
  batch load(std::size_t j) const noexcept {
    std::int32_t packed;
    std::memcpy(&packed, codes + j, 4);
    const __m128i zero = _mm_setzero_si128();
    const __m128i c = _mm_unpacklo_epi16(_mm_unpacklo_epi8(_mm_cvtsi32_si128(packed), zero), zero);
    return _mm_movelh_ps(two(c), two(_mm_shuffle_epi32(c, _MM_SHUFFLE(1, 0, 3, 2))));
  }
};

// The dtype's decoder: reads scale and bias once per row and hands the row to the float path
// when it is exact for this row (and the ISA has one), else to the double path.
template <class Arch>
struct decoder<Arch, dtype::int8_rowwise> {
  using batch = xsimd::batch<float, Arch>;
  template <class F>
  static void visit(const std::byte* row, std::size_t dim, F&& f) noexcept {
    float scale, bias;
    std::memcpy(&scale, row + dim, 4);
    std::memcpy(&bias, row + dim + 4, 4);
    const auto* codes = reinterpret_cast<const std::uint8_t*>(row);
    if constexpr (requires { int8_fma<Arch>(codes, scale, bias); }) {
      if (int8_float_fma_exact(scale, bias)) return f(int8_fma<Arch>(codes, scale, bias));
    }
    f(int8_exact<Arch>(codes, scale, bias));
  }
};

}  // namespace
}  // namespace embtab::detail
