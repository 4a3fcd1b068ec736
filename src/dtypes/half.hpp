// f16 and bf16 rows: dim 16-bit values, little-endian. Encoding rounds to nearest even as
// PyTorch's .half() / .bfloat16() do; decoding widens exactly (convert.hpp has the rules).
#pragma once

#include <cstdint>
#include <cstring>

#include "codec.hpp"
#include "convert.hpp"

namespace embtab::detail {

template <float (*Widen)(std::uint16_t) noexcept, std::uint16_t (*Narrow)(float) noexcept>
struct half_codec {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept {
    for (std::size_t j = 0; j < dim; ++j) {
      std::uint16_t h;
      std::memcpy(&h, row + 2 * j, 2);
      out[j] = Widen(h);
    }
  }
  static void encode(const float* weights, std::size_t dim, std::byte* row, std::size_t) {
    for (std::size_t j = 0; j < dim; ++j) {
      const std::uint16_t h = Narrow(weights[j]);
      std::memcpy(row + 2 * j, &h, 2);
    }
  }
};

template <>
struct codec<dtype::f16> : half_codec<f16_bits_to_f32, f32_to_f16_bits> {};
template <>
struct codec<dtype::bf16> : half_codec<bf16_bits_to_f32, f32_to_bf16_bits> {};

}  // namespace embtab::detail
