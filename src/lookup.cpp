// lookup(): validation, then the active kernel over contiguous stretches of out: serially, on
// the caller's pool (lookup_options::parallel) or on embtab's own (src/parallel.cpp). Every
// threading decision is made here. Built with baseline flags.
#include "embtab/lookup.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "dispatch.hpp"
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

template <class Id>
status validate(const table& t, std::span<const Id> ids, std::span<float> out,
                const lookup_options& options) noexcept {
  std::size_t need = 0;
  if (__builtin_mul_overflow(ids.size(), t.dim(), &need) || out.size() != need)
    return status::size_mismatch(out.size(), ids.size(), t.dim());
  if (options.threads < 0) return status::invalid_threads(options.threads);
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
  if (!bad) return {};
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (outside(ids[i])) return status::id_out_of_range(ids[i], i, limit);
  return {};
}

// One validated call, shared by every thread that runs a stretch of it.
template <class Id>
struct job {
  detail::gather_fn<Id> gather;
  detail::table_view view;
  const Id* ids;
  float* out;
  std::size_t n, dim, rows_per_task;
  std::int64_t begin, end;  // shard rows; sharded = false: every id is a row
  bool sharded;
};

template <class Id>
void gather_range(const job<Id>& j, std::size_t first, std::size_t last) noexcept {
  const std::size_t dim = j.dim;
  if (!j.sharded) {
    j.gather(j.view, j.ids + first, last - first, j.out + first * dim);
    return;
  }
  const auto in_shard = [&](Id id) {
    return static_cast<std::int64_t>(id) >= j.begin && static_cast<std::int64_t>(id) < j.end;
  };
  Id rebased[shard_batch];
  for (std::size_t i = first; i < last;) {
    std::size_t k = i;
    while (k < last && !in_shard(j.ids[k])) ++k;
    if (k > i) std::memset(j.out + i * dim, 0, (k - i) * dim * sizeof(float));
    i = k;
    std::size_t m = 0;
    for (; i + m < last && m < shard_batch && in_shard(j.ids[i + m]); ++m)
      rebased[m] = static_cast<Id>(static_cast<std::int64_t>(j.ids[i + m]) - j.begin);
    if (m > 0) j.gather(j.view, rebased, m, j.out + i * dim);
    i += m;
  }
}

template <class Id>
void run_task(void* context, std::size_t i) noexcept {
  const auto& j = *static_cast<const job<Id>*>(context);
  const std::size_t first = i * j.rows_per_task;
  gather_range(j, first, std::min(j.n, first + j.rows_per_task));
}

template <class Id>
status run(const table& t, std::span<const Id> ids, std::span<float> out,
           const lookup_options& options) noexcept {
  if (const status s = validate(t, ids, out, options); !s.ok()) return s;
  const std::size_t n = ids.size();
  if (n == 0) return {};
  const detail::kernel_set& k = detail::active_kernels();
  const auto gather = [&] {
    if constexpr (sizeof(Id) == 4)
      return k.gather32[static_cast<std::size_t>(t.type())];
    else
      return k.gather64[static_cast<std::size_t>(t.type())];
  }();
  const std::size_t dim = t.dim();
  job<Id> j{gather,
                  {t.data(), t.row_stride(), dim, t.row_bytes()},
                  ids.data(),
                  out.data(),
                  n,
                  dim,
                  rows_per_task(n, dim),
                  options.shard.begin,
                  options.shard.end,
                  options.shard.vocab != 0};
  const std::size_t tasks = lookup_tasks(n, dim, options);
  if (tasks > 1 && options.parallel.run != nullptr) {
    options.parallel.run(options.parallel.context, tasks, &run_task<Id>, &j);
    return {};
  }
  const int team = tasks > 1 ? lookup_threads(n, dim, options) : 1;
  if (team > 1 && detail::run_on_pool(tasks, team, &run_task<Id>, &j)) return {};
  gather_range(j, 0, n);
  return {};
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

status lookup(const table& t, std::span<const std::int32_t> ids, std::span<float> out,
              const lookup_options& options) noexcept {
  return run(t, ids, out, options);
}

status lookup(const table& t, std::span<const std::int64_t> ids, std::span<float> out,
              const lookup_options& options) noexcept {
  return run(t, ids, out, options);
}

}  // namespace embtab
