// The scalar kernel set: plain C++ for any CPU, and the path EMBTAB_ISA=scalar forces. Each
// row goes through its dtype's scalar codec (src/dtypes/), the definition the SIMD decoders
// reproduce, and the epilogue through the scalar conversions of convert.hpp, the definition
// the SIMD stores reproduce. Same prefetch schedule as the SIMD kernels (prefetch-inl.hpp):
// the row prefetch_distance ids ahead, every line of it, metadata included; here all of its
// lines are issued before the current row is decoded, since a codec decodes a row in one call.
// Never streams (streaming is a hint; the results are the same).
#include <cstring>
#include <type_traits>
#include <utility>

#include "../dispatch.hpp"
#include "../dtypes/codecs.hpp"
#include "../dtypes/convert.hpp"
#include "epilogue-inl.hpp"
#include "prefetch-inl.hpp"
#include "range-inl.hpp"

namespace embtab::detail {
namespace {

inline void store_one(float v, float* p) noexcept { *p = v; }
inline void store_one(float v, f16* p) noexcept { p->bits = f32_to_f16_bits(v); }
inline void store_one(float v, bf16* p) noexcept { p->bits = f32_to_bf16_bits(v); }

template <dtype Type, class Id, class Out>
void gather(const table_view& t, const Id* ids, std::size_t n, const Id* next_ids,
            std::size_t next_n, void* out_bytes, std::size_t out_stride, const epilogue& e) noexcept {
  Out* out = static_cast<Out*>(out_bytes);
  const std::size_t ahead = prefetch_distance(t.row_bytes);
  const std::size_t dim = t.dim;
  for (std::size_t i = 0; i < n; ++i) {
    if (const Id* next_id = id_at(ids, n, next_ids, next_n, i + ahead); next_id != nullptr)
      row_prefetch(t.data + static_cast<std::size_t>(*next_id) * t.stride, t.row_bytes).finish();
    const std::byte* row = t.data + static_cast<std::size_t>(ids[i]) * t.stride;
    Out* dst = out + i * out_stride;
    if constexpr (std::is_same_v<Out, float>) {
      if (plain(e)) {
        codec<Type>::decode(row, dim, dst);
        continue;
      }
    }
    if constexpr ((Type == dtype::f16 && std::is_same_v<Out, f16>) ||
                  (Type == dtype::bf16 && std::is_same_v<Out, bf16>)) {
      if (plain(e)) {
        std::memcpy(dst, row, 2 * dim);
        continue;
      }
    }
    const std::size_t position_row = e.positions != nullptr ? position(e, i) : 0;
    float values[chunk_values], pos[chunk_values];
    for (std::size_t begin = 0; begin < dim; begin += chunk_values) {
      const std::size_t count = dim - begin < chunk_values ? dim - begin : chunk_values;
      codec_range(Type, row, dim, begin, count, values);
      if (e.positions != nullptr) e.position_range(*e.positions, position_row, begin, count, pos);
      for (std::size_t k = 0; k < count; ++k) {
        float v = values[k];
        if (e.scaled) v = v * e.scale;
        if (e.positions != nullptr) v = v + pos[k];
        store_one(v, dst + begin + k);
      }
    }
  }
}

template <dtype Type>
void decode_range(const table_view& t, std::size_t row, std::size_t begin, std::size_t count,
                  float* dst) noexcept {
  codec_range(Type, t.data + row * t.stride, t.dim, begin, count, dst);
}

template <std::size_t... I>
constexpr kernel_set make_scalar_set(std::index_sequence<I...>) noexcept {
  return kernel_set{"scalar",
                    {{&gather<registry[I].type, std::int32_t, float>...},
                     {&gather<registry[I].type, std::int32_t, f16>...},
                     {&gather<registry[I].type, std::int32_t, bf16>...}},
                    {{&gather<registry[I].type, std::int64_t, float>...},
                     {&gather<registry[I].type, std::int64_t, f16>...},
                     {&gather<registry[I].type, std::int64_t, bf16>...}},
                    {&decode_range<registry[I].type>...}};
}

}  // namespace

const kernel_set k_scalar = make_scalar_set(std::make_index_sequence<dtype_count>());

}  // namespace embtab::detail
