// The scalar kernel set: plain C++ for any CPU, and the path EMBTAB_ISA=scalar forces.
// Deliberately simple: one value at a time through the conversions of convert.hpp, same
// prefetch schedule as the SIMD kernels.
#include <cstring>

#include "../convert.hpp"
#include "../dispatch.hpp"

namespace embtab::detail {
namespace {

template <dtype Type>
void decode_row(const std::byte* row, std::size_t stride, std::size_t dim, float* dst) noexcept {
  if constexpr (Type == dtype::f32) {
    std::memcpy(dst, row, dim * sizeof(float));
  } else if constexpr (Type == dtype::f16 || Type == dtype::bf16) {
    for (std::size_t j = 0; j < dim; ++j) {
      std::uint16_t h;
      std::memcpy(&h, row + 2 * j, 2);
      dst[j] = Type == dtype::f16 ? f16_bits_to_f32(h) : bf16_bits_to_f32(h);
    }
  } else {
    float scale, bias;
    std::memcpy(&scale, row + stride - 8, 4);
    std::memcpy(&bias, row + stride - 4, 4);
    const auto* codes = reinterpret_cast<const std::uint8_t*>(row);
    for (std::size_t j = 0; j < dim; ++j) dst[j] = dequantize_int8(codes[j], scale, bias);
  }
}

template <dtype Type, class Id>
void gather(const table_view& t, const Id* ids, std::size_t n, float* out) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 1 < n) {
      const std::byte* next = t.data + static_cast<std::size_t>(ids[i + 1]) * t.stride;
      for (std::size_t b = 0; b < t.stride; b += 64) __builtin_prefetch(next + b, 0, 3);
    }
    decode_row<Type>(t.data + static_cast<std::size_t>(ids[i]) * t.stride, t.stride, t.dim,
                     out + i * t.dim);
  }
}

}  // namespace

const kernel_set k_scalar = {
    "scalar",
    {&gather<dtype::f32, std::int32_t>, &gather<dtype::f16, std::int32_t>,
     &gather<dtype::bf16, std::int32_t>, &gather<dtype::int8_rowwise, std::int32_t>},
    {&gather<dtype::f32, std::int64_t>, &gather<dtype::f16, std::int64_t>,
     &gather<dtype::bf16, std::int64_t>, &gather<dtype::int8_rowwise, std::int64_t>}};

}  // namespace embtab::detail
