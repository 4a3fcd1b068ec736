// The store side of a kernel: fp32 batches rounded to the output type (float, f16, bf16)
// bit-identically to convert.hpp's f32_to_f16_bits / f32_to_bf16_bits (PyTorch's .half() /
// .bfloat16()), and non-temporal copies of staged output. Per-ISA specialisations, like the
// decoders; everything has internal linkage or takes the Arch tag.
#pragma once

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../dtypes/convert.hpp"
#include "embtab/dtype.hpp"

namespace embtab::detail {
namespace {

inline void store_one(float v, float* p) noexcept { *p = v; }
inline void store_one(float v, f16* p) noexcept { p->bits = f32_to_f16_bits(v); }
inline void store_one(float v, bf16* p) noexcept { p->bits = f32_to_bf16_bits(v); }

// out_store<Arch, Out>::store(batch, Out*): one batch to any alignment. The generic form
// converts lane by lane with the scalar rules (SSE2 has no half conversion).
template <class Arch, class Out>
struct out_store {
  using batch = xsimd::batch<float, Arch>;
  static void store(batch v, Out* p) noexcept {
    alignas(64) float lanes[batch::size];
    v.store_aligned(lanes);
    for (std::size_t k = 0; k < batch::size; ++k) store_one(lanes[k], p + k);
  }
};

template <class Arch>
struct out_store<Arch, float> {
  static void store(xsimd::batch<float, Arch> v, float* p) noexcept { v.store_unaligned(p); }
};

// bf16: round to nearest even on the bits, w + 0x7FFF + (bit 16 of w), then the top half;
// every NaN becomes 0x7FC0 (the addition could carry a NaN into the sign).
template <>
struct out_store<xsimd::sse2, bf16> {
  static void store(xsimd::batch<float, xsimd::sse2> v, bf16* p) noexcept {
    const __m128i w = _mm_castps_si128(v);
    const __m128i odd = _mm_and_si128(_mm_srli_epi32(w, 16), _mm_set1_epi32(1));
    __m128i r = _mm_srli_epi32(_mm_add_epi32(w, _mm_add_epi32(odd, _mm_set1_epi32(0x7FFF))), 16);
    const __m128i nan = _mm_castps_si128(_mm_cmpunord_ps(v, v));
    r = _mm_or_si128(_mm_and_si128(nan, _mm_set1_epi32(0x7FC0)), _mm_andnot_si128(nan, r));
    // Sign-extend the 16-bit values so the signed saturating pack keeps them as they are.
    r = _mm_srai_epi32(_mm_slli_epi32(r, 16), 16);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi32(r, r));
  }
};

inline void stream_copy_tail(std::byte* d, const std::byte* s, std::size_t bytes) noexcept {
  std::memcpy(d, s, bytes);
}

// Copies bytes from s to d (any alignments) with non-temporal stores of Arch's vector width
// for every whole aligned vector of d, plain stores for the unaligned head and the tail.
template <class Arch, class Vec, void (*Stream)(Vec*, Vec) noexcept, Vec (*Load)(const Vec*) noexcept>
inline void stream_copy_with(void* dst, const void* src, std::size_t bytes) noexcept {
  auto* d = static_cast<std::byte*>(dst);
  const auto* s = static_cast<const std::byte*>(src);
  constexpr std::size_t a = sizeof(Vec);
  std::size_t head = (a - (reinterpret_cast<std::uintptr_t>(d) & (a - 1))) & (a - 1);
  if (head > bytes) head = bytes;
  stream_copy_tail(d, s, head);
  std::size_t i = head;
  for (; i + a <= bytes; i += a)
    Stream(reinterpret_cast<Vec*>(d + i), Load(reinterpret_cast<const Vec*>(s + i)));
  stream_copy_tail(d + i, s + i, bytes - i);
}

inline void stream128(__m128i* p, __m128i v) noexcept { _mm_stream_si128(p, v); }
inline __m128i load128(const __m128i* p) noexcept { return _mm_loadu_si128(p); }

template <class Arch>
inline void stream_copy(void* dst, const void* src, std::size_t bytes) noexcept {
  stream_copy_with<Arch, __m128i, stream128, load128>(dst, src, bytes);
}

// stream_batch<Arch>(p, batch): one fp32 batch to p (aligned to the batch's width) with a
// non-temporal store.
template <class Arch>
inline void stream_batch(float* p, xsimd::batch<float, Arch> v) noexcept {
  static_assert(std::is_same_v<Arch, xsimd::sse2>, "a stream_batch for this ISA");
  _mm_stream_ps(p, v);
}

// Streams a kernel's output rows, handed over as consecutive pieces (each row's staged
// chunks): start(dst) before a row, put() for each piece, finish() after the last row. Here
// each piece is streamed on its own (stream_copy); the AVX-512 specialisation below carries
// lines across pieces and packed rows.
template <class Arch>
class nt_rows {
 public:
  void start(void* dst) noexcept { d_ = static_cast<std::byte*>(dst); }
  void put(const void* src, std::size_t bytes) noexcept {
    stream_copy<Arch>(d_, src, bytes);
    d_ += bytes;
  }
  void finish() noexcept {}

 private:
  std::byte* d_ = nullptr;
};

#if defined(__AVX2__) && defined(__F16C__)
using avx2_arch = xsimd::fma3<xsimd::avx2>;

// f16: vcvtps2ph rounding to nearest even (the immediate, not MXCSR) equals f32_to_f16_bits
// for every non-NaN input; it keeps NaN payloads, so NaN lanes become the fp32 quiet NaN of
// their sign first, which it narrows to 0x7E00 / 0xFE00 as torch does.
template <>
struct out_store<avx2_arch, f16> {
  static void store(xsimd::batch<float, avx2_arch> v, f16* p) noexcept {
    const __m256 x = v;
    const __m256 canonical = _mm256_or_ps(_mm256_and_ps(x, _mm256_set1_ps(-0.0f)),
                                          _mm256_castsi256_ps(_mm256_set1_epi32(0x7FC00000)));
    const __m256 y = _mm256_blendv_ps(x, canonical, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm256_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

template <>
struct out_store<avx2_arch, bf16> {
  static void store(xsimd::batch<float, avx2_arch> v, bf16* p) noexcept {
    const __m256i w = _mm256_castps_si256(v);
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(w, 16), _mm256_set1_epi32(1));
    __m256i r = _mm256_srli_epi32(_mm256_add_epi32(w, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF))), 16);
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    r = _mm256_blendv_epi8(r, _mm256_set1_epi32(0x7FC0), nan);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)));
  }
};

template <>
inline void stream_batch<avx2_arch>(float* p, xsimd::batch<float, avx2_arch> v) noexcept {
  _mm256_stream_ps(p, v);
}

inline void stream256(__m256i* p, __m256i v) noexcept { _mm256_stream_si256(p, v); }
inline __m256i load256(const __m256i* p) noexcept { return _mm256_loadu_si256(p); }
template <>
inline void stream_copy<avx2_arch>(void* dst, const void* src, std::size_t bytes) noexcept {
  stream_copy_with<avx2_arch, __m256i, stream256, load256>(dst, src, bytes);
}
#endif

#if defined(__AVX512F__) && defined(__AVX512BW__)
template <>
struct out_store<xsimd::avx512bw, f16> {
  static void store(xsimd::batch<float, xsimd::avx512bw> v, f16* p) noexcept {
    const __m512 x = v;
    const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    const __m512 canonical = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)),
        _mm512_set1_epi32(0x7FC00000)));
    const __m512 y = _mm512_mask_blend_ps(nan, x, canonical);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm512_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

template <>
struct out_store<xsimd::avx512bw, bf16> {
  static void store(xsimd::batch<float, xsimd::avx512bw> v, bf16* p) noexcept {
    const __m512i w = _mm512_castps_si512(v);
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(w, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(w, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7FFF))), 16);
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_set1_epi32(0x7FC0));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm512_cvtepi32_epi16(r));
  }
};

template <>
inline void stream_batch<xsimd::avx512bw>(float* p, xsimd::batch<float, xsimd::avx512bw> v) noexcept {
  _mm512_stream_ps(p, v);
}

inline void stream512(__m512i* p, __m512i v) noexcept { _mm512_stream_si512(p, v); }
inline __m512i load512(const __m512i* p) noexcept { return _mm512_loadu_si512(p); }
template <>
inline void stream_copy<xsimd::avx512bw>(void* dst, const void* src, std::size_t bytes) noexcept {
  stream_copy_with<xsimd::avx512bw, __m512i, stream512, load512>(dst, src, bytes);
}

// For an output that is not 64-byte aligned (a std::vector<float> is 16 bytes past), stream
// copies of each piece on their own cost 1.15-1.35x the time of the same lookup into an aligned
// buffer (D = 4096, f32 and q8_0, N = 512 and 4096): the line across every chunk boundary took
// plain stores (a read for ownership that holds up the stores queued behind it), and each
// 64-byte load straddled two of the staging stores, so it could not be forwarded from them and
// waited for them to reach L1 behind the queued non-temporal stores. Here, for 64-byte pieces
// from an aligned buffer, the staged lines are loaded as they were stored and shifted to the
// destination's grid in registers (vpermt2w); the last line's bytes stay in a register until
// the next piece (or the next packed row) completes the line, so only the first and last
// partial lines of a run of rows take plain stores. Anything else goes through stream_copy.
template <>
class nt_rows<xsimd::avx512bw> {
 public:
  void start(void* dst) noexcept {
    if (static_cast<std::byte*>(dst) == d_) return;  // packed rows: the run goes on
    finish();
    d_ = static_cast<std::byte*>(dst);
  }
  void put(const void* src, std::size_t bytes) noexcept {
    const auto* s = static_cast<const std::byte*>(src);
    const std::size_t into = reinterpret_cast<std::uintptr_t>(d_) & 63;  // d_: where src goes
    if (into == 0 || (into & 1) != 0 || (reinterpret_cast<std::uintptr_t>(s) & 63) != 0 || (bytes & 63) != 0 ||
        bytes == 0) {
      finish();
      stream_copy<xsimd::avx512bw>(d_, s, bytes);
      d_ += bytes;
      return;
    }
    const std::size_t head = 64 - into;  // bytes of a piece that finish the line d_ is in
    const __m512i idx = _mm512_add_epi16(
        _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
                         8, 7, 6, 5, 4, 3, 2, 1, 0),
        _mm512_set1_epi16(static_cast<short>(head / 2)));
    // The line at line: the last `into` bytes of lo, then the first `head` bytes of hi.
    std::byte* line = d_ - into;
    std::size_t k = 0;
    __m512i lo;
    if (held_) {
      lo = held_line_;
    } else {  // a run's first, partial line: plain stores
      std::memcpy(d_, s, head);
      lo = _mm512_load_si512(s);
      line += 64;
      k = 64;
    }
    for (; k < bytes; k += 64, line += 64) {
      const __m512i hi = _mm512_load_si512(s + k);
      _mm512_stream_si512(reinterpret_cast<__m512i*>(line), _mm512_permutex2var_epi16(lo, idx, hi));
      lo = hi;
    }
    held_line_ = lo;
    held_ = true;
    d_ += bytes;
  }
  // Writes the held bytes (the last, partial line of a run) with plain stores.
  void finish() noexcept {
    if (!held_) return;
    const std::size_t into = reinterpret_cast<std::uintptr_t>(d_) & 63;
    alignas(64) std::byte last[64];
    _mm512_store_si512(last, held_line_);
    std::memcpy(d_ - into, last + 64 - into, into);
    held_ = false;
  }

 private:
  std::byte* d_ = nullptr;
  bool held_ = false;
  __m512i held_line_;
};
#endif

}  // namespace
}  // namespace embtab::detail
