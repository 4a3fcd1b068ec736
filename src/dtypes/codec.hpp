// Internal: the scalar codec of each dtype, the plain-C++ definition of its row format.
//
// codec<T> is specialised once per dtype, in src/dtypes/<name>.hpp:
//   static void decode(const std::byte* row, std::size_t dim, float* out) noexcept;
//       Required. The fp32 values of one stored row (row_bytes(T, dim) bytes at any
//       alignment). The scalar kernels use it, and so does every SIMD path that has no decoder
//       of its own for T; the SIMD decoders must reproduce it bit for bit.
//   static void check(const float* weights, std::size_t dim, std::size_t r);
//       Optional. Throws std::invalid_argument (via table_error) if row r of the weights
//       cannot be stored as T. from_f32 checks every row before it allocates anything.
//   static void encode(const float* weights, std::size_t dim, std::byte* row, std::size_t r);
//       Optional: without it from_f32 refuses T. Writes row_bytes(T, dim) bytes; may throw
//       like check when only the stored result shows a row cannot be held.
// Built only into baseline-flag objects (registry.cpp, table.cpp, gather_scalar.cpp): the
// SIMD objects reach decode through codec_of() (see src/kernels/gather-inl.hpp).
#pragma once

#include <cstddef>
#include <string>

#include "embtab/dtype.hpp"

namespace embtab::detail {

template <dtype Type>
struct codec;

// Throws std::invalid_argument("embtab::table: " + what).
[[noreturn]] void table_error(const std::string& what);

// A registered dtype's codec, as function pointers (check and encode may be null).
struct codec_ops {
  void (*decode)(const std::byte* row, std::size_t dim, float* out) noexcept;
  void (*check)(const float* weights, std::size_t dim, std::size_t r);
  void (*encode)(const float* weights, std::size_t dim, std::byte* row, std::size_t r);
};
// `type` must be registered (tables only exist for registered dtypes).
const codec_ops& codec_of(dtype type) noexcept;

}  // namespace embtab::detail
