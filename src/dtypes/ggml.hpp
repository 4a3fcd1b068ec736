// ggml's block formats q8_0, q4_0, q4_k and q6_k (layouts in include/embtab/dtype.hpp): rows
// are dim / block_values blocks, packed as in a GGUF tensor, so a row is the blocks ggml
// stores for those values. The four share fp16 scales and one arithmetic rule, so they share
// a file; the bodies live in ggml.cpp, the one object built with -ffp-contract=off (see there).
//
// decode: exactly gguf.quants.dequantize (the gguf Python package, float32 numpy), NaN
// payloads included on x86-64. encode (q8_0, q4_0): exactly gguf.quants.quantize's bytes.
// q4_k and q6_k have no encoder: from_f32 refuses them and points to table::from_blocks.
#pragma once

#include "codec.hpp"

namespace embtab::detail {

template <>
struct codec<dtype::q8_0> {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept;
  static void check(const float* weights, std::size_t dim, std::size_t r);
  static void encode(const float* weights, std::size_t dim, std::byte* row, std::size_t r);
};

template <>
struct codec<dtype::q4_0> {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept;
  static void check(const float* weights, std::size_t dim, std::size_t r);
  static void encode(const float* weights, std::size_t dim, std::byte* row, std::size_t r);
};

template <>
struct codec<dtype::q4_k> {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept;
};

template <>
struct codec<dtype::q6_k> {
  static void decode(const std::byte* row, std::size_t dim, float* out) noexcept;
};

}  // namespace embtab::detail
