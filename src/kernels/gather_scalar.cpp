// The scalar kernel set: plain C++ for any CPU, and the path EMBTAB_ISA=scalar forces. Each
// row goes through its dtype's scalar codec (src/dtypes/), the definition the SIMD decoders
// reproduce. Same prefetch schedule as the SIMD kernels (prefetch-inl.hpp): the row
// prefetch_distance ids ahead, every line of it, metadata included; here all of its lines are
// issued before the current row is decoded, since a codec decodes a row in one call.
#include <utility>

#include "../dispatch.hpp"
#include "../dtypes/codecs.hpp"
#include "prefetch-inl.hpp"

namespace embtab::detail {
namespace {

template <dtype Type, class Id>
void gather(const table_view& t, const Id* ids, std::size_t n, float* out) noexcept {
  const std::size_t ahead = prefetch_distance(t.row_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    if (i + ahead < n)
      row_prefetch(t.data + static_cast<std::size_t>(ids[i + ahead]) * t.stride, t.row_bytes).finish();
    codec<Type>::decode(t.data + static_cast<std::size_t>(ids[i]) * t.stride, t.dim,
                        out + i * t.dim);
  }
}

template <std::size_t... I>
constexpr kernel_set make_scalar_set(std::index_sequence<I...>) noexcept {
  return kernel_set{"scalar",
                    {&gather<registry[I].type, std::int32_t>...},
                    {&gather<registry[I].type, std::int64_t>...}};
}

}  // namespace

const kernel_set k_scalar = make_scalar_set(std::make_index_sequence<dtype_count>());

}  // namespace embtab::detail
