// embtab/lookup.hpp: gather rows of a table by token id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "embtab/status.hpp"
#include "embtab/table.hpp"

namespace embtab {

struct lookup_options {
  // 0: OpenMP's default team size; 1: serial on the caller's thread; n > 1: at most n threads.
  // Capped at OpenMP's team size, and small batches run serially whatever the value (a fork
  // costs more than they do). Negative values are rejected with errc::invalid_argument.
  int threads = 0;
};

// Writes ids.size() rows of t.dim() floats into out, row-major and contiguous: out[i * dim + j]
// = value j of row ids[i], converted to fp32 (exact for f32 tables: the bits are copied).
//
// Checks everything before writing anything: if out.size() != ids.size() * t.dim()
// (errc::size_mismatch), if any id is < 0 or >= t.rows() (errc::id_out_of_range, position()
// = the first such index), or if options are invalid (errc::invalid_argument), out is left
// untouched. Empty ids with empty out is ok. Any alignment of out works.
//
// Does not allocate and does not throw. Safe to call concurrently on one table from any
// number of threads (each call writing its own out). Reads each looked-up row once and writes
// out once; rows are prefetched a few ids ahead.
[[nodiscard]] status lookup(const table& t, std::span<const std::int32_t> ids, std::span<float> out,
                            const lookup_options& options = {}) noexcept;
[[nodiscard]] status lookup(const table& t, std::span<const std::int64_t> ids, std::span<float> out,
                            const lookup_options& options = {}) noexcept;

// The number of threads lookup() runs a call of n ids of a dim-value table on with these
// options: 1 below 256 KiB of output or when options.threads == 1, otherwise at most
// options.threads (0: OpenMP's team size), at most n, and at least 128 KiB of output each.
// The benchmarks call it to give their baselines the same team. Does not allocate.
int lookup_threads(std::size_t n, std::size_t dim, const lookup_options& options = {}) noexcept;

}  // namespace embtab
