// Row-gather kernels, written once over xsimd batches and instantiated per ISA by
// gather_<isa>.cpp. Included only by those files: everything here is either templated on
// Arch or in an anonymous namespace, so no function compiled with one ISA's flags can be
// picked by the linker for another's callers.
//
// A kernel is the loop below plus a decoder (one per dtype and ISA, decode_<dtype>-inl.hpp)
// that turns stored values into fp32 batches. A dtype without a decoder for some ISA still
// works there: its rows go through the scalar codec (codec_of, compiled for the baseline).
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <concepts>
#include <cstdint>
#include <utility>

#include "../dispatch.hpp"
#include "../dtypes/codec.hpp"
#include "prefetch-inl.hpp"

namespace embtab::detail {
namespace {

// Values handled per step: one 64-byte line of fp32 output.
constexpr std::size_t step_values = 16;

// decoder<Arch, Type>: a SIMD decoder of one row, specialised in decode_<dtype>-inl.hpp as
//   using batch = xsimd::batch<float, Arch>;
//   decoder(const std::byte* row, std::size_t dim) noexcept;  // row: any alignment
//   batch load(std::size_t j) const noexcept;   // values j .. j + batch::size, j + size <= dim
//   float at(std::size_t j) const noexcept;     // value j (the tail of rows shorter than a batch)
// and optionally a static visit(row, dim, f) that calls f with the decoder to use for this
// row (int8_rowwise picks its float or double path per row). No specialisation: no SIMD.
template <class Arch, dtype Type>
struct decoder {};

template <class Dec>
concept simd_decoder = requires { typename Dec::batch; };

// A block decoder (ggml's formats, decode_ggml-inl.hpp) writes whole blocks instead:
//   static constexpr std::size_t block_values;
//   decoder(const std::byte* row, std::size_t dim) noexcept;
//   void block(std::size_t b, float* dst) const noexcept;  // values of block b to dst
template <class Dec>
concept block_decoder = requires(const Dec& d, float* dst) {
  { Dec::block_values } -> std::convertible_to<std::size_t>;
  d.block(std::size_t{0}, dst);
};

template <class Dec, class F>
inline void visit(const std::byte* row, std::size_t dim, F&& f) noexcept {
  if constexpr (requires { Dec::visit(row, dim, f); })
    Dec::visit(row, dim, std::forward<F>(f));
  else
    f(Dec(row, dim));
}

// Decodes one row into dst (any alignment), prefetching the next row a line at a time.
template <class Decoder>
inline void copy_row(const Decoder& src, row_prefetch& prefetch, float* dst,
                     std::size_t dim) noexcept {
  using batch = typename Decoder::batch;
  constexpr std::size_t w = batch::size;
  std::size_t j = 0;
  for (; j + step_values <= dim; j += step_values) {
    prefetch.step();
    for (std::size_t k = 0; k < step_values; k += w) src.load(j + k).store_unaligned(dst + j + k);
  }
  prefetch.finish();
  if (j == dim) return;
  for (; j + w <= dim; j += w) src.load(j).store_unaligned(dst + j);
  if (j == dim) return;
  if (dim >= w) {
    // Overlap the last full batch with what is already written: same values, no mask.
    src.load(dim - w).store_unaligned(dst + dim - w);
  } else {
    for (; j < dim; ++j) dst[j] = src.at(j);
  }
}

// Decodes one row of whole blocks into dst, one prefetch step per 16 values.
template <class Decoder>
inline void copy_blocks(const Decoder& src, row_prefetch& prefetch, float* dst,
                        std::size_t dim) noexcept {
  constexpr std::size_t bv = Decoder::block_values;
  for (std::size_t b = 0, j = 0; j < dim; ++b, j += bv) {
    for (std::size_t k = 0; k < bv; k += step_values) prefetch.step();
    src.block(b, dst + j);
  }
  prefetch.finish();
}

template <class Arch, dtype Type, class Id>
void gather(const table_view& t, const Id* ids, std::size_t n, float* out) noexcept {
  using dec = decoder<Arch, Type>;
  const std::size_t dim = t.dim;
  const std::size_t ahead = prefetch_distance(t.row_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* row = t.data + static_cast<std::size_t>(ids[i]) * t.stride;
    const std::byte* next =
        i + ahead < n ? t.data + static_cast<std::size_t>(ids[i + ahead]) * t.stride : nullptr;
    row_prefetch prefetch(next, t.row_bytes);
    float* dst = out + i * dim;
    if constexpr (block_decoder<dec>) {
      copy_blocks(dec(row, dim), prefetch, dst, dim);
    } else if constexpr (simd_decoder<dec>) {
      visit<dec>(row, dim, [&](const auto& d) { copy_row(d, prefetch, dst, dim); });
    } else {
      prefetch.finish();
      codec_of(Type).decode(row, dim, dst);
    }
  }
}

template <class Arch, std::size_t... I>
constexpr kernel_set make_kernel_set(std::string_view name, std::index_sequence<I...>) noexcept {
  return kernel_set{name,
                    {&gather<Arch, registry[I].type, std::int32_t>...},
                    {&gather<Arch, registry[I].type, std::int64_t>...}};
}

// The kernel set of one ISA: a gather for every registered dtype and both id widths.
template <class Arch>
constexpr kernel_set make_kernel_set(std::string_view name) noexcept {
  return make_kernel_set<Arch>(name, std::make_index_sequence<dtype_count>());
}

}  // namespace
}  // namespace embtab::detail
