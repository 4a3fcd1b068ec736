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

// The output element types: float, embtab::f16, embtab::bf16 (index into kernel_set::gather*).
enum class out_type : std::uint8_t { f32, f16, bf16 };
inline constexpr std::size_t out_type_count = 3;

// Decodes values [begin, begin + count) of row `row` of t into dst (fp32, any alignment), as a
// lookup of that row would. begin is a multiple of chunk_values; count is chunk_values or the
// rest of the row.
using range_fn = void (*)(const table_view& t, std::size_t row, std::size_t begin,
                          std::size_t count, float* dst) noexcept;
// Values a kernel's epilogue handles at a time (a multiple of every dtype's block).
inline constexpr std::size_t chunk_values = 256;

// What happens to a decoded row before it is stored (lookup.hpp has the arithmetic).
struct epilogue {
  float scale = 1.0f;
  bool scaled = false;                     // scale != 1
  const table_view* positions = nullptr;   // null: no position rows
  range_fn position_range = nullptr;       // the active set's range decoder of their dtype
  bool positions_f32 = false;              // fp32 position rows: read in place, not decoded
  const std::int64_t* position_ids = nullptr;  // position of out row i, when not null
  std::int64_t position_start = 0;         // otherwise position_start + i
  bool streaming = false;                  // non-temporal stores, sfence at the end

  // (The kernels' questions about it, plain() and position(), are free functions with
  // internal linkage in src/kernels/epilogue-inl.hpp: an inline member compiled into a per-ISA
  // object could be picked by the linker for every caller.)
  // The epilogue of the ids from `begin` on (a thread's share). Used by lookup.cpp only.
  epilogue from(std::size_t begin) const noexcept {
    epilogue e = *this;
    if (position_ids != nullptr)
      e.position_ids += begin;
    else
      e.position_start += static_cast<std::int64_t>(begin);
    return e;
  }
};

// Writes rows ids[0..n) of `t` (ids and positions already validated) to out: row i at element
// i * out_stride of out (float, f16 or bf16 by the kernel's out_type), through the epilogue.
// next_ids[0 .. next_n) (valid ids too, or none) are only prefetched: the rows this thread
// gathers next (the next task it runs of the call), so that they are in flight when it starts.
template <class Id>
using gather_fn = void (*)(const table_view& t, const Id* ids, std::size_t n, const Id* next_ids,
                           std::size_t next_n, void* out, std::size_t out_stride,
                           const epilogue& e) noexcept;

struct kernel_set {
  std::string_view name;  // a string literal (active_isa() promises NUL termination)
  gather_fn<std::int32_t> gather32[out_type_count][dtype_count];
  gather_fn<std::int64_t> gather64[out_type_count][dtype_count];
  range_fn decode_range[dtype_count];
};

// Defined in src/kernels/gather_<isa>.cpp.
extern const kernel_set k_scalar;
extern const kernel_set k_sse2;
extern const kernel_set k_avx2;
extern const kernel_set k_avx512bw;

// The kernel set every lookup uses now; chosen once (EMBTAB_ISA honoured), see isa.hpp.
const kernel_set& active_kernels() noexcept;

}  // namespace embtab::detail
