// lookup(): validation, the epilogue's setup (output type, stride, scale, positions,
// streaming), then the active kernel over contiguous stretches of out: serially, on the
// caller's pool (lookup_options::parallel) or on embtab's own (src/parallel.cpp). Every
// threading decision is made here. Built with baseline flags.
#include "embtab/lookup.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "dispatch.hpp"
#include "kernels/epilogue-inl.hpp"
#include "parallel.hpp"

namespace embtab {
namespace {

// Below this many bytes of output a call stays on the caller's thread: waking threads costs
// a few microseconds, more than such a gather takes (bench: lookup threshold sweep).
constexpr std::size_t parallel_min_bytes = std::size_t{256} << 10;
// Each thread gets at least this many bytes of output, so a team is not over-split.
constexpr std::size_t per_thread_min_bytes = std::size_t{128} << 10;
// A task (a stretch of out that one thread claims) holds about this many bytes of output:
// small enough that the last one ends soon after the others, large enough that claiming it
// (one compare-exchange) and restarting the row prefetch are noise.
constexpr std::size_t task_bytes = std::size_t{64} << 10;
constexpr std::size_t max_tasks = (std::size_t{1} << 20) - 1;
// Out-of-shard rows are written as +0.0f; in-shard ids are rebased in batches of this many.
constexpr std::size_t shard_batch = 256;

std::size_t output_bytes(std::size_t n, std::size_t dim) noexcept {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(n, dim, &bytes) || __builtin_mul_overflow(bytes, sizeof(float), &bytes))
    return SIZE_MAX;
  return bytes;
}

std::size_t rows_per_task(std::size_t n, std::size_t dim) noexcept {
  const std::size_t rows = std::max<std::size_t>(1, task_bytes / sizeof(float) / std::max<std::size_t>(dim, 1));
  return std::max(rows, n / max_tasks + 1);
}

// Elements between output rows: the option, or dim for packed rows.
std::size_t out_stride(const table& t, const lookup_options& options) noexcept {
  return options.out_row_stride != 0 ? options.out_row_stride : t.dim();
}

template <class Id, class Out>
status validate(const table& t, std::span<const Id> ids, std::span<Out> out,
                const lookup_options& options) noexcept {
  const std::size_t n = ids.size(), dim = t.dim(), stride = options.out_row_stride;
  if (stride != 0 && stride < dim) return status::invalid_out_row_stride(stride, dim);
  if (stride == 0) {
    std::size_t need = 0;
    if (__builtin_mul_overflow(n, dim, &need) || out.size() != need)
      return status::size_mismatch(out.size(), n, dim);
  } else {
    // [(n - 1) * stride + dim, n * stride]: a trimmed or a whole [n x stride] buffer.
    std::size_t lo = 0, hi = 0;
    const bool overflow = n != 0 && (__builtin_mul_overflow(n - 1, stride, &lo) ||
                                     __builtin_add_overflow(lo, dim, &lo) ||
                                     __builtin_mul_overflow(n, stride, &hi));
    if (overflow || (n == 0 ? out.size() != 0 : out.size() < lo || out.size() > hi))
      return status::size_mismatch_strided(out.size(), n, dim, stride);
  }
  if (options.threads < 0) return status::invalid_threads(options.threads);
  if (!std::isfinite(options.scale)) return status::invalid_scale(options.scale);
  const table* positions = options.positions;
  if (positions != nullptr && positions->dim() != dim)
    return status::invalid_positions_dim(positions->dim(), dim);
  if (!options.position_ids.empty() && (positions == nullptr || options.position_ids.size() != n))
    return status::invalid_position_ids(options.position_ids.size(), n, positions != nullptr);
  auto limit = static_cast<std::uint64_t>(t.rows());
  if (const vocab_shard& s = options.shard; s.vocab != 0) {
    if (s.begin < 0 || s.begin > s.end || s.end > s.vocab ||
        static_cast<std::uint64_t>(s.end - s.begin) != t.rows())
      return status::invalid_shard(s.begin, s.end, s.vocab, t.rows());
    limit = static_cast<std::uint64_t>(s.vocab);
  }
  // One unsigned compare catches negative ids too: sign-extended to 64 bits they exceed any
  // limit <= INT64_MAX (a vocab may pass 2^32 even for int32 ids). Branch-free scan first: the
  // common case is all valid, and this loop vectorises.
  const auto outside = [limit](Id id) {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(id)) >= limit;
  };
  bool bad = false;
  for (const Id id : ids) bad |= outside(id);
  if (bad)
    for (std::size_t i = 0; i < n; ++i)
      if (outside(ids[i])) return status::id_out_of_range(ids[i], i, limit);
  if (positions == nullptr || n == 0) return {};
  const auto prows = static_cast<std::uint64_t>(positions->rows());
  if (!options.position_ids.empty()) {
    const std::span<const std::int64_t> p = options.position_ids;
    bad = false;
    for (const std::int64_t x : p) bad |= static_cast<std::uint64_t>(x) >= prows;
    if (bad)
      for (std::size_t i = 0; i < n; ++i)
        if (static_cast<std::uint64_t>(p[i]) >= prows)
          return status::position_out_of_range(p[i], i, positions->rows());
    return {};
  }
  // position_start + i for i < n: the first i outside [0, prows), if any.
  const std::int64_t start = options.position_start;
  if (start < 0 || static_cast<std::uint64_t>(start) >= prows)
    return status::position_out_of_range(start, 0, positions->rows());
  const std::uint64_t room = prows - static_cast<std::uint64_t>(start);  // valid i: [0, room)
  if (n > room)
    return status::position_out_of_range(start + static_cast<std::int64_t>(room),
                                         static_cast<std::size_t>(room), positions->rows());
  return {};
}

template <class Out>
constexpr detail::out_type out_type_of() noexcept {
  if constexpr (std::is_same_v<Out, f16>) return detail::out_type::f16;
  if constexpr (std::is_same_v<Out, bf16>) return detail::out_type::bf16;
  return detail::out_type::f32;
}

// One validated call, shared by every thread that runs a stretch of it.
template <class Id, class Out>
struct job {
  detail::gather_fn<Id> gather;
  detail::table_view view;
  const Id* ids;
  Out* out;
  std::size_t n, dim, stride, rows_per_task;
  detail::epilogue ep;
  std::int64_t begin, end;  // shard rows; sharded = false: every id is a row
  bool sharded;
};

// Rows [first, last) of the call: the kernel on their ids, with the epilogue of output row
// `first` on (positions advance with the row), prefetching on into rows [next, next_last),
// the ones this thread does next. Sharded: ids outside the shard write a row of dim zeros
// (+0.0 in every output type; no scale or position is applied to it).
template <class Id, class Out>
void gather_range(const job<Id, Out>& j, std::size_t first, std::size_t last, std::size_t next,
                  std::size_t next_last) noexcept {
  const std::size_t dim = j.dim, stride = j.stride;
  if (!j.sharded) {
    j.gather(j.view, j.ids + first, last - first, j.ids + next, next_last - next,
             j.out + first * stride, stride, j.ep.from(first));
    return;
  }
  const auto in_shard = [&](Id id) {
    return static_cast<std::int64_t>(id) >= j.begin && static_cast<std::int64_t>(id) < j.end;
  };
  Id rebased[shard_batch];
  for (std::size_t i = first; i < last;) {
    std::size_t k = i;
    while (k < last && !in_shard(j.ids[k])) ++k;
    for (; i < k; ++i) std::memset(j.out + i * stride, 0, dim * sizeof(Out));
    i = k;
    std::size_t m = 0;
    for (; i + m < last && m < shard_batch && in_shard(j.ids[i + m]); ++m)
      rebased[m] = static_cast<Id>(static_cast<std::int64_t>(j.ids[i + m]) - j.begin);
    if (m > 0) j.gather(j.view, rebased, m, nullptr, 0, j.out + i * stride, stride, j.ep.from(i));
    i += m;
  }
}

// Task i of a call: rows [i * rows_per_task, ...), then (prefetched) the rows of task `next`
// (detail::no_task: none).
template <class Id, class Out>
void run_task_then(void* context, std::size_t i, std::size_t next) noexcept {
  const auto& j = *static_cast<const job<Id, Out>*>(context);
  const auto row = [&](std::size_t task) { return std::min(j.n, task * j.rows_per_task); };
  if (next == detail::no_task)
    gather_range(j, row(i), row(i + 1), 0, 0);
  else
    gather_range(j, row(i), row(i + 1), row(next), row(next + 1));
}

// Task i for a caller's pool (lookup_options::parallel), which does not say what a thread runs
// next: prefetching runs on into the following task, as when one thread runs them in order.
template <class Id, class Out>
void run_task(void* context, std::size_t i) noexcept {
  run_task_then<Id, Out>(context, i, i + 1);
}

template <class Id, class Out>
status run(const table& t, std::span<const Id> ids, std::span<Out> out,
           const lookup_options& options) noexcept {
  if (const status s = validate(t, ids, out, options); !s.ok()) return s;
  const std::size_t n = ids.size();
  if (n == 0) return {};
  const detail::kernel_set& k = detail::active_kernels();
  const auto o = static_cast<std::size_t>(out_type_of<Out>());
  const auto gather = [&] {
    if constexpr (sizeof(Id) == 4)
      return k.gather32[o][static_cast<std::size_t>(t.type())];
    else
      return k.gather64[o][static_cast<std::size_t>(t.type())];
  }();
  const std::size_t dim = t.dim();
  const std::size_t stride = out_stride(t, options);
  detail::table_view position_view{};
  detail::epilogue ep;
  ep.scale = options.scale;
  ep.scaled = options.scale != 1.0f;
  if (const table* p = options.positions) {
    position_view = {p->data(), p->row_stride(), p->dim(), p->row_bytes()};
    ep.positions = &position_view;
    ep.position_range = k.decode_range[static_cast<std::size_t>(p->type())];
    ep.positions_f32 = p->type() == dtype::f32;
    ep.position_ids = options.position_ids.empty() ? nullptr : options.position_ids.data();
    ep.position_start = options.position_start;
  }
  std::size_t out_bytes = 0;
  if (__builtin_mul_overflow(n, stride * sizeof(Out), &out_bytes)) out_bytes = SIZE_MAX;
  // The automatic rule covers the outputs that stream straight from the decoder: element
  // dtypes, and ggml's block formats into plain fp32 (blocks decoded into the L1, then
  // streamed: at N = 4096, D = 4096, q8_0 and q4_0 10-18% faster than without). Block formats
  // with an epilogue go through a second staging pass, which measured slower (q4_k 1.56x);
  // asked for explicitly, every output streams.
  const bool element_dtype = info(t.type()).block_values == 1;
  const bool plain_f32 = std::is_same_v<Out, float> && detail::plain(ep);
  ep.streaming = options.streaming_stores ||
                 ((element_dtype || plain_f32) && out_bytes >= streaming_min_bytes());
  job<Id, Out> j{gather,
                 {t.data(), t.row_stride(), dim, t.row_bytes()},
                 ids.data(),
                 out.data(),
                 n,
                 dim,
                 stride,
                 rows_per_task(n, dim),
                 ep,
                 options.shard.begin,
                 options.shard.end,
                 options.shard.vocab != 0};
  const std::size_t tasks = lookup_tasks(n, dim, options);
  if (tasks > 1 && options.parallel.run != nullptr) {
    options.parallel.run(options.parallel.context, tasks, &run_task<Id, Out>, &j);
    return {};
  }
  const int team = tasks > 1 ? lookup_threads(n, dim, options) : 1;
  if (team > 1 && detail::run_on_pool(tasks, team, &run_task_then<Id, Out>, &j)) return {};
  gather_range(j, 0, n, n, n);
  return {};
}

// The last-level cache of cpu0 as Linux reports it (sysfs; glibc's sysconf reports 10x the
// real L3 on some AMD VMs), else sysconf, else 32 MiB.
std::size_t detected_llc_bytes() noexcept {
  for (const char* path : {"/sys/devices/system/cpu/cpu0/cache/index3/size",
                           "/sys/devices/system/cpu/cpu0/cache/index2/size"}) {
    if (std::FILE* f = std::fopen(path, "r")) {
      unsigned long kib = 0;
      char unit = 0;
      const int got = std::fscanf(f, "%lu%c", &kib, &unit);
      std::fclose(f);
      if (got == 2 && unit == 'K' && kib > 0) return static_cast<std::size_t>(kib) << 10;
      if (got == 2 && unit == 'M' && kib > 0) return static_cast<std::size_t>(kib) << 20;
    }
  }
  for (const int level : {_SC_LEVEL3_CACHE_SIZE, _SC_LEVEL2_CACHE_SIZE}) {
    const long bytes = sysconf(level);
    if (bytes > 0) return static_cast<std::size_t>(bytes);
  }
  return std::size_t{32} << 20;
}

// Half the last-level cache: a lookup also reads about as many bytes of rows as it writes
// (fp32 rows), so from there the call's own traffic fills the cache and the output is evicted
// before its reader gets to it even if it was cached when the call began. Measured with
// embtab_bench outputs/streaming (D = 4096, 32 MiB L3; a lookup then a read of its output,
// time without streaming / time with): an output cached before the call (a buffer reused call
// after call) 0.83-0.84 at 4 MiB, 0.86-0.95 at 8 MiB, 1.26-1.28 at 16 MiB, 1.40-1.46 at 32
// and 64 MiB; an output evicted before the call (as after a pass over a model's weights)
// 1.24-1.37 at 4-8 MiB, 1.44-1.46 at 16 MiB. Below half the cache, streaming is the caller's
// call (lookup_options::streaming_stores): it knows whether its buffer is still cached.
std::atomic<std::size_t>& streaming_threshold() noexcept {
  static std::atomic<std::size_t> bytes{detected_llc_bytes() / 2};
  return bytes;
}

}  // namespace

int lookup_threads(std::size_t n, std::size_t dim, const lookup_options& options) noexcept {
  if (options.threads == 1 || n < 2) return 1;
  const std::size_t bytes = output_bytes(n, dim);
  if (bytes < parallel_min_bytes) return 1;
  auto threads = static_cast<std::size_t>(detail::default_team());
  if (options.threads > 0) threads = std::min(threads, static_cast<std::size_t>(options.threads));
  threads = std::min({threads, bytes / per_thread_min_bytes, n});
  return static_cast<int>(std::max<std::size_t>(threads, 1));
}

std::size_t lookup_tasks(std::size_t n, std::size_t dim, const lookup_options& options) noexcept {
  if (options.threads == 1 || n < 2 || output_bytes(n, dim) < parallel_min_bytes) return 1;
  const std::size_t rows = rows_per_task(n, dim);
  return n / rows + (n % rows != 0);
}

std::size_t last_level_cache_bytes() noexcept {
  static const std::size_t bytes = detected_llc_bytes();
  return bytes;
}

std::size_t streaming_min_bytes() noexcept {
  return streaming_threshold().load(std::memory_order_relaxed);
}
void set_streaming_min_bytes(std::size_t bytes) noexcept {
  streaming_threshold().store(bytes, std::memory_order_relaxed);
}

#define EMBTAB_LOOKUP(ID, OUT)                                                                 \
  status lookup(const table& t, std::span<const ID> ids, std::span<OUT> out,                   \
                const lookup_options& options) noexcept {                                      \
    return run(t, ids, out, options);                                                          \
  }
EMBTAB_LOOKUP(std::int32_t, float)
EMBTAB_LOOKUP(std::int64_t, float)
EMBTAB_LOOKUP(std::int32_t, f16)
EMBTAB_LOOKUP(std::int64_t, f16)
EMBTAB_LOOKUP(std::int32_t, bf16)
EMBTAB_LOOKUP(std::int64_t, bf16)
#undef EMBTAB_LOOKUP

}  // namespace embtab
