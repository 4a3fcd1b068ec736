// Internal: THE table of dtypes. One line per dtype, in enum order; everything else (row
// sizes, kernel tables, codecs' dispatch, names) is derived from it. Usable at compile time,
// so the per-ISA kernel tables are instantiated from it too.
//
// Adding a dtype (README "Adding a dtype"): its enumerator in include/embtab/dtype.hpp, its
// line here, its scalar codec in src/dtypes/<name>.hpp (listed in codecs.hpp), optionally a
// SIMD decoder in src/kernels/decode_<name>-inl.hpp (listed in decoders-inl.hpp), and its
// reference decoder in tests/reference.hpp (the conformance suite fails without one).
#pragma once

#include <cstddef>
#include <iterator>

#include "embtab/dtype.hpp"

namespace embtab::detail {

struct registry_entry {
  dtype type;
  dtype_info info;
};

inline constexpr registry_entry registry[] = {
    //  type                {name,           block_values, block_bytes, row_meta_bytes}
    {dtype::f32,          {"f32",          1,            4,           0}},
    {dtype::f16,          {"f16",          1,            2,           0}},
    {dtype::bf16,         {"bf16",         1,            2,           0}},
    {dtype::int8_rowwise, {"int8_rowwise", 1,            1,           8}},
    {dtype::q8_0,         {"q8_0",         32,           34,          0}},
    {dtype::q4_0,         {"q4_0",         32,           18,          0}},
    {dtype::q4_k,         {"q4_k",         256,          144,         0}},
    {dtype::q6_k,         {"q6_k",         256,          210,         0}},
};

inline constexpr std::size_t dtype_count = std::size(registry);

constexpr bool registry_is_in_enum_order() noexcept {
  for (std::size_t i = 0; i < dtype_count; ++i)
    if (static_cast<std::size_t>(registry[i].type) != i || registry[i].info.block_values == 0 ||
        registry[i].info.block_bytes == 0)
      return false;
  return true;
}
static_assert(registry_is_in_enum_order(),
              "registry: one line per dtype, in enum order, with nonzero block sizes");

// The entry of `type`, or nullptr if it is not registered.
constexpr const dtype_info* find_info(dtype type) noexcept {
  const auto i = static_cast<std::size_t>(type);
  return i < dtype_count ? &registry[i].info : nullptr;
}

// row_bytes without exceptions: what went wrong, for callers that word their own message.
enum class row_error { none, unknown_dtype, not_block_multiple, overflow };
struct row_size {
  std::size_t bytes = 0;
  row_error error = row_error::none;
};
constexpr row_size row_size_of(dtype type, std::size_t dim) noexcept {
  const dtype_info* d = find_info(type);
  if (d == nullptr) return {0, row_error::unknown_dtype};
  if (dim % d->block_values != 0) return {0, row_error::not_block_multiple};
  std::size_t payload = 0, total = 0;
  if (__builtin_mul_overflow(dim / d->block_values, d->block_bytes, &payload) ||
      __builtin_add_overflow(payload, d->row_meta_bytes, &total))
    return {0, row_error::overflow};
  return {total, row_error::none};
}

}  // namespace embtab::detail
