// int8_rowwise rows (PyTorch's embedding_bag_byte_prepack layout): dim uint8 codes, then the
// row's fp32 scale and fp32 bias, little-endian, at byte offsets dim and dim + 4 (any
// alignment). value = dequantize_int8(code, scale, bias); see convert.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "codec.hpp"
#include "convert.hpp"

namespace embtab::detail {

template <>
struct codec<dtype::int8_rowwise> {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept {
    float scale, bias;
    std::memcpy(&scale, row + dim, 4);
    std::memcpy(&bias, row + dim + 4, 4);
    const auto* codes = reinterpret_cast<const std::uint8_t*>(row);
    for (std::size_t j = 0; j < dim; ++j) out[j] = dequantize_int8(codes[j], scale, bias);
  }

  // Finite values and a finite range: max - min overflowing to inf (e.g. [-3e38, 3e38])
  // would give scale = inf and NaN on every lookup.
  static void check(const float* w, std::size_t dim, std::size_t r) {
    if (!row_is_finite(w, dim))
      table_error("row " + std::to_string(r) + " holds NaN or inf; int8_rowwise needs finite rows");
    float lo = w[0], hi = w[0];
    for (std::size_t j = 1; j < dim; ++j) {
      lo = w[j] < lo ? w[j] : lo;
      hi = w[j] > hi ? w[j] : hi;
    }
    if (std::isinf(hi - lo))
      table_error("row " + std::to_string(r) + " spans [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "], a range that overflows float; int8_rowwise cannot hold it");
  }

  static void encode(const float* w, std::size_t dim, std::byte* row, std::size_t r) {
    auto* codes = reinterpret_cast<std::uint8_t*>(row);
    const rowwise_int8_params p = quantize_row_int8(w, dim, codes);
    // A finite row near +-FLT_MAX can still dequantize past it (scale * 255 + bias rounds up
    // to inf): the table would return inf for a finite weight, so refuse the row.
    for (std::size_t j = 0; j < dim; ++j)
      if (std::isinf(dequantize_int8(codes[j], p.scale, p.bias)))
        table_error("row " + std::to_string(r) + " dequantizes to inf at column " +
                    std::to_string(j) + " (values too close to the float limit for int8_rowwise)");
    std::memcpy(row + dim, &p.scale, 4);
    std::memcpy(row + dim + 4, &p.bias, 4);
  }
};

}  // namespace embtab::detail
