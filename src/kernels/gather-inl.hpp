// Row-gather kernels, written once over xsimd batches and instantiated per ISA by
// gather_<isa>.cpp. Included only by those files: everything here is either templated on
// Arch or in an anonymous namespace, so no function compiled with one ISA's flags can be
// picked by the linker for another's callers.
//
// A kernel is the loop below plus a decoder (one per dtype, in <dtype>-inl.hpp) that turns
// stored values into fp32 batches.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>

#include "../dispatch.hpp"

namespace embtab::detail {
namespace {

// Values handled per step: one 64-byte line of fp32 output.
constexpr std::size_t step_values = 16;

template <class Arch, dtype Type>
struct decoder;
template <class Arch>
struct int8_fma_decoder;
bool int8_float_fma_exact(float scale, float bias) noexcept;

// f32: the bits as they are.
template <class Arch>
struct decoder<Arch, dtype::f32> {
  using batch = xsimd::batch<float, Arch>;
  static constexpr std::size_t value_bytes = 4;
  const float* row;
  decoder(const std::byte* r, std::size_t /*stride*/) noexcept
      : row(reinterpret_cast<const float*>(r)) {}
  // j is a multiple of batch::size: the row is 64-byte aligned.
  batch load_aligned(std::size_t j) const noexcept { return batch::load_aligned(row + j); }
  batch load_unaligned(std::size_t j) const noexcept { return batch::load_unaligned(row + j); }
  float at(std::size_t j) const noexcept { return row[j]; }
};

// How many rows ahead to prefetch: far enough that ~4 KiB of upcoming rows are in flight,
// so short rows (d = 768 fp32 is 3 KiB) still hide DRAM latency; long rows need one.
inline std::size_t prefetch_distance(std::size_t row_bytes) noexcept {
  const std::size_t d = (4096 + row_bytes - 1) / row_bytes;
  return d < 1 ? 1 : (d > 16 ? 16 : d);
}

// Decodes one row into dst (any alignment), prefetching `next` (another row, or null) one
// line per line of this row, so the prefetches spread over the copy instead of bursting.
template <class Decoder>
inline void copy_row(const Decoder& src, const std::byte* next, float* dst,
                     std::size_t dim) noexcept {
  using batch = typename Decoder::batch;
  constexpr std::size_t w = batch::size;
  std::size_t j = 0;
  for (; j + step_values <= dim; j += step_values) {
    if (next != nullptr) __builtin_prefetch(next + j * Decoder::value_bytes, 0, 3);
    for (std::size_t k = 0; k < step_values; k += w)
      src.load_aligned(j + k).store_unaligned(dst + j + k);
  }
  if (j == dim) return;
  if (next != nullptr) __builtin_prefetch(next + j * Decoder::value_bytes, 0, 3);
  for (; j + w <= dim; j += w) src.load_aligned(j).store_unaligned(dst + j);
  if (j == dim) return;
  if (dim >= w) {
    // Overlap the last full batch with what is already written: same values, no mask.
    src.load_unaligned(dim - w).store_unaligned(dst + dim - w);
  } else {
    for (; j < dim; ++j) dst[j] = src.at(j);
  }
}

template <class Arch, dtype Type, class Id>
void gather(const table_view& t, const Id* ids, std::size_t n, float* out) noexcept {
  using dec = decoder<Arch, Type>;
  const std::size_t dim = t.dim;
  const std::size_t ahead = prefetch_distance(dim * dec::value_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* row = t.data + static_cast<std::size_t>(ids[i]) * t.stride;
    const std::byte* next =
        i + ahead < n ? t.data + static_cast<std::size_t>(ids[i + ahead]) * t.stride : nullptr;
    const dec d(row, t.stride);
    if constexpr (Type == dtype::int8_rowwise) {
      if (int8_float_fma_exact(d.scale, d.bias)) {
        copy_row(int8_fma_decoder<Arch>(row, t.stride), next, out + i * dim, dim);
        continue;
      }
    }
    copy_row(d, next, out + i * dim, dim);
  }
}

template <class Arch>
constexpr kernel_set make_kernel_set(std::string_view name) noexcept {
  return kernel_set{name,
                    {&gather<Arch, dtype::f32, std::int32_t>, &gather<Arch, dtype::f16, std::int32_t>,
                     &gather<Arch, dtype::bf16, std::int32_t>,
                     &gather<Arch, dtype::int8_rowwise, std::int32_t>},
                    {&gather<Arch, dtype::f32, std::int64_t>, &gather<Arch, dtype::f16, std::int64_t>,
                     &gather<Arch, dtype::bf16, std::int64_t>,
                     &gather<Arch, dtype::int8_rowwise, std::int64_t>}};
}

}  // namespace
}  // namespace embtab::detail
