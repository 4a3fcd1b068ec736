// embtab/lookup.hpp: gather rows of a table by token id, straight into a runtime's activations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "embtab/dtype.hpp"
#include "embtab/export.h"
#include "embtab/status.hpp"
#include "embtab/table.hpp"

namespace embtab {

// A caller's thread pool, handed to lookup() through lookup_options::parallel. Plain C types,
// so a C API can pass one through.
struct parallel_for {
  // Runs task(task_context, i) once for every i in [0, tasks), on any threads, possibly
  // concurrently, and returns when all have returned. embtab calls it from lookup() (once per
  // call at most, with lookup_tasks() tasks; never for a call that runs serially) and does
  // not call it again until it returns. Each task gathers one contiguous stretch of the output
  // and does not throw; the order does not matter. A run that returns before every task has
  // run (or runs one twice) is the caller's bug: the rows of the tasks it skipped are left as
  // they were, and lookup() cannot tell. Must be safe to call from every thread that calls
  // lookup() with it.
  void (*run)(void* context, std::size_t tasks, void (*task)(void* task_context, std::size_t i),
              void* task_context) = nullptr;
  void* context = nullptr;
};

// This table holds rows [begin, end) of a vocab-row table (vocab-parallel / tensor-parallel
// embeddings, as Megatron's VocabParallelEmbedding). vocab == 0: not sharded.
struct vocab_shard {
  std::int64_t begin = 0, end = 0, vocab = 0;
};

struct lookup_options {
  // 0: embtab's default team (lookup_threads()); 1: serial on the caller's thread; n > 1: at
  // most n threads. Small batches run serially whatever the value (waking threads costs more
  // than they do). Negative values are rejected with errc::invalid_argument.
  int threads = 0;
  // When run is set, a call that is split runs its tasks through it and embtab's own threads
  // are not used (threads then only matters as 1: serial, run not called).
  parallel_for parallel{};
  // When vocab != 0: ids must be in [0, vocab) (else errc::id_out_of_range); ids in
  // [begin, end) read row id - begin of the table, other ids write a row of +0.0f. The table's
  // rows must equal end - begin and 0 <= begin <= end <= vocab (else errc::invalid_argument).
  // Summing the outputs of all shards of a table gives the unsharded lookup bit for bit (one
  // nonzero term per value), except that a stored -0.0 sums to +0.0.
  vocab_shard shard{};
  // Elements from one output row to the next; 0: dim (packed rows). Must be >= dim. The
  // elements between rows (and after the last row) are never written.
  std::size_t out_row_stride = 0;
  // out = scale * row. Must be finite. 1 (the default) multiplies by nothing.
  float scale = 1.0f;
  // When set: out = scale * row + row p of *positions, with p = position_start + i for output
  // row i, or p = position_ids[i] when position_ids is not empty (then it holds one position
  // per id). *positions must have the table's dim; it may have any dtype and is decoded
  // exactly as a lookup of it would be. GPT-2: wte(ids) + wpe(positions).
  const table* positions = nullptr;
  std::int64_t position_start = 0;
  std::span<const std::int64_t> position_ids = {};
  // Write the output with non-temporal (streaming) stores, bypassing the caches: faster when
  // the output is larger than the caches anyway, slower when the caller reads it right away
  // from cache. A hint: results are identical either way. Also on, whatever this says, when
  // the output is at least streaming_min_bytes() (by default half the last-level cache of this
  // CPU) and either the table's dtype is an element type (block_values 1: f32, f16, bf16,
  // int8_rowwise) or the output is plain fp32 (no scale, no positions; ggml's block formats
  // with those stage their output twice, where streaming costs more than it saves). The
  // scalar path (EMBTAB_ISA=scalar) never streams.
  bool streaming_stores = false;
};

// Writes ids.size() rows of t.dim() values into out: row i starts at out[i * stride], stride =
// options.out_row_stride or dim, and holds
//   v = value j of row ids[i], decoded to fp32 exactly as the fp32 lookup gives it
//   if scale != 1:  v = v * scale                       (fp32, one rounding)
//   if positions:   v = v + value j of position row p   (fp32, one rounding; no fused multiply-add)
//   out = v rounded to the output type: fp32 as is; f16 / bf16 to nearest even, bit-identical
//         to PyTorch's (emb(ids).float() * scale + pos(p).float()).to(torch.half / bfloat16)
//         (NaN: f16 0x7E00 with v's sign, bf16 0x7FC0; when both the row value and the
//         position value are NaN, the f16 NaN's sign may be either's).
// f16 -> f16 and bf16 -> bf16 with no scale and no positions copy the stored bits. With fp32
// output and a scale or positions, a NaN result is some NaN (its payload may vary by ISA).
//
// Sizes: with out_row_stride = 0, out.size() must be ids.size() * dim. With a stride, out.size()
// must be at least (ids.size() - 1) * stride + dim and at most ids.size() * stride (0 for no
// ids): a trimmed buffer and a whole [n x stride] buffer both work.
//
// Checks everything before writing anything; on any error out is left untouched:
//   errc::invalid_argument      threads < 0, 0 < out_row_stride < dim, a non-finite scale,
//                               positions of another dim, position_ids of a length other than
//                               ids.size() (or without positions)
//   errc::size_mismatch         out.size() outside the bounds above
//   errc::id_out_of_range       an id < 0 or >= t.rows(); position() = the first such index
//   errc::position_out_of_range a position < 0 or >= positions->rows(); position() = the first
//                               such index i into ids
// Empty ids with empty out is ok. Any alignment of out works.
//
// Does not allocate and does not throw; the first call that runs on embtab's own threads
// starts them (a persistent pool of lookup_threads({}) - 1 threads, created once per process
// and stopped at exit). Safe to call concurrently on one table from any number of threads (each
// call writing its own out); one call at a time uses the pool, a concurrent one runs serially.
// Reads each looked-up row once (and each position row once) and writes out once; rows are
// prefetched a few ids ahead.
//
// Threads: a split call cuts out into lookup_tasks() contiguous stretches that threads claim
// from a shared counter, each thread one ahead of the one it runs; the calling thread claims
// them too and returns when all are done. It never waits for a thread that has not claimed a
// stretch: a helper that wakes late finds nothing left. The pool checks after each call
// whether its threads paid (a helper descheduled mid-stretch, or no faster than the calls it
// ran serially); when not (a busy machine), the next calls run serially on the caller, 1, 2,
// 4 ... 64 of them, before it tries again. Without threads (fork's child, threads that could
// not be started) the caller does every stretch itself.
[[nodiscard]] EMBTAB_API status lookup(const table& t, std::span<const std::int32_t> ids, std::span<float> out,
                            const lookup_options& options = {}) noexcept;
[[nodiscard]] EMBTAB_API status lookup(const table& t, std::span<const std::int64_t> ids, std::span<float> out,
                            const lookup_options& options = {}) noexcept;
[[nodiscard]] EMBTAB_API status lookup(const table& t, std::span<const std::int32_t> ids, std::span<f16> out,
                            const lookup_options& options = {}) noexcept;
[[nodiscard]] EMBTAB_API status lookup(const table& t, std::span<const std::int64_t> ids, std::span<f16> out,
                            const lookup_options& options = {}) noexcept;
[[nodiscard]] EMBTAB_API status lookup(const table& t, std::span<const std::int32_t> ids, std::span<bf16> out,
                            const lookup_options& options = {}) noexcept;
[[nodiscard]] EMBTAB_API status lookup(const table& t, std::span<const std::int64_t> ids, std::span<bf16> out,
                            const lookup_options& options = {}) noexcept;

// The number of threads lookup() runs a call of n ids of a dim-value table on with these
// options when it uses its own threads: 1 below 256 KiB of output or when options.threads ==
// 1, otherwise at most options.threads (0: OpenMP's team size, omp_get_max_threads(), read at
// the first call), at most n, and at least 128 KiB of output each. 1 in a build without
// OpenMP (EMBTAB_OPENMP=OFF: embtab has no threads of its own, only options.parallel). The
// benchmarks call it to give their baselines the same team. Does not allocate.
EMBTAB_API int lookup_threads(std::size_t n, std::size_t dim, const lookup_options& options = {}) noexcept;

// The number of stretches a split call is cut into: 1 (serial: below 256 KiB of output, or
// options.threads == 1), else about 64 KiB of output each, ceil(n / max(1, 16384 / dim)) (more
// rows per stretch past 2^20 stretches). With options.parallel.run set, a call with more than
// one task hands exactly this many tasks to it. Does not allocate.
EMBTAB_API std::size_t lookup_tasks(std::size_t n, std::size_t dim, const lookup_options& options = {}) noexcept;

// The last-level cache size this CPU reports: cpu0's level-3 cache in sysfs, else its level 2,
// else sysconf (_SC_LEVEL3_CACHE_SIZE, then level 2), else 32 MiB. Detected once.
EMBTAB_API std::size_t last_level_cache_bytes() noexcept;

// Output bytes (ids.size() * stride * element size) from which every lookup streams its
// output (see lookup_options::streaming_stores). Default: last_level_cache_bytes() / 2. A
// lookup reads about as many bytes of rows as it writes, so from there the output does not
// stay cached for its reader even when it was cached before the call, and skipping the
// read-for-ownership saves a third of the memory traffic; below it, streaming pays only for an
// output that is cold when the call begins (measurements: README, "Output straight into a
// runtime's activations"). Below the threshold, set streaming_stores when your output buffer
// is cold (prefill after a pass over the weights).
// set_streaming_min_bytes changes it for the process (SIZE_MAX: only when asked); meant for
// benchmarks and tests.
EMBTAB_API std::size_t streaming_min_bytes() noexcept;
EMBTAB_API void set_streaming_min_bytes(std::size_t bytes) noexcept;

}  // namespace embtab
