// Internal: the per-ISA kernel sets and the choice among them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dtypes/registry.hpp"

namespace embtab::detail {

// What a kernel needs of a table (owning or a view: any alignment, any stride).
struct table_view {
  const std::byte* data;  // row 0
  std::size_t stride;     // bytes from one row to the next, >= row_bytes
  std::size_t dim;        // values per row
  std::size_t row_bytes;  // bytes of one stored row, metadata included (the registry's)
};

// Copies rows ids[0..n) of `t` (already validated) to out[0 .. n * dim), converted to fp32.
template <class Id>
using gather_fn = void (*)(const table_view& t, const Id* ids, std::size_t n, float* out) noexcept;

struct kernel_set {
  std::string_view name;
  gather_fn<std::int32_t> gather32[dtype_count];
  gather_fn<std::int64_t> gather64[dtype_count];
};

// Defined in src/kernels/gather_<isa>.cpp.
extern const kernel_set k_scalar;
extern const kernel_set k_sse2;
extern const kernel_set k_avx2;
extern const kernel_set k_avx512bw;

// The kernel set every lookup uses now; chosen once (EMBTAB_ISA honoured), see isa.hpp.
const kernel_set& active_kernels() noexcept;

}  // namespace embtab::detail
