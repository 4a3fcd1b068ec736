// f32 rows: dim IEEE binary32 values, little-endian, stored and looked up as they are.
#pragma once

#include <cstring>

#include "codec.hpp"

namespace embtab::detail {

template <>
struct codec<dtype::f32> {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept {
    std::memcpy(out, row, dim * sizeof(float));
  }
  static void encode(const float* weights, std::size_t dim, std::byte* row, std::size_t) {
    std::memcpy(row, weights, dim * sizeof(float));
  }
};

}  // namespace embtab::detail
