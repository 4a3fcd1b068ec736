// lookup(): validation, then the active kernel, serially or over an OpenMP team.
// The only file that uses OpenMP. Built with baseline flags.
#include "embtab/lookup.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "dispatch.hpp"

namespace embtab {
namespace {

// Below this many bytes of output a call stays on the caller's thread: waking a team costs
// a few microseconds, more than such a gather takes (bench: lookup threshold sweep).
constexpr std::size_t parallel_min_bytes = std::size_t{256} << 10;
// Each thread gets at least this many bytes of output, so a team is not over-split.
constexpr std::size_t per_thread_min_bytes = std::size_t{128} << 10;

template <class Id>
status validate(const table& t, std::span<const Id> ids, std::span<float> out,
                const lookup_options& options) noexcept {
  std::size_t need = 0;
  if (__builtin_mul_overflow(ids.size(), t.dim(), &need) || out.size() != need)
    return status::size_mismatch(out.size(), ids.size(), t.dim());
  if (options.threads < 0) return status::invalid_threads(options.threads);
  // One unsigned compare catches negative ids too. Branch-free scan first: the common case
  // is all valid, and this loop vectorises.
  using unsigned_id = std::make_unsigned_t<Id>;
  const auto rows = static_cast<std::uint64_t>(t.rows());
  bool bad = false;
  for (const Id id : ids) bad |= static_cast<std::uint64_t>(static_cast<unsigned_id>(id)) >= rows;
  if (!bad) return {};
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (static_cast<std::uint64_t>(static_cast<unsigned_id>(ids[i])) >= rows)
      return status::id_out_of_range(ids[i], i, t.rows());
  return {};
}

template <class Id>
status run(const table& t, std::span<const Id> ids, std::span<float> out,
           const lookup_options& options) noexcept {
  if (const status s = validate(t, ids, out, options); !s.ok()) return s;
  const std::size_t n = ids.size();
  if (n == 0) return {};
  const detail::table_view view{t.data(), t.row_stride(), t.dim(), t.row_bytes()};
  const detail::kernel_set& k = detail::active_kernels();
  const auto gather = [&] {
    if constexpr (sizeof(Id) == 4)
      return k.gather32[static_cast<std::size_t>(t.type())];
    else
      return k.gather64[static_cast<std::size_t>(t.type())];
  }();
  const std::size_t dim = t.dim();
  const int threads = lookup_threads(n, dim, options);
  if (threads == 1) {
    gather(view, ids.data(), n, out.data());
    return {};
  }
  // Contiguous chunks: each thread writes one stretch of out and reads its ids in order.
#pragma omp parallel num_threads(threads)
  {
    const auto team = static_cast<std::size_t>(omp_get_num_threads());
    const auto me = static_cast<std::size_t>(omp_get_thread_num());
    const std::size_t begin = n * me / team, end = n * (me + 1) / team;
    if (begin < end) gather(view, ids.data() + begin, end - begin, out.data() + begin * dim);
  }
  return {};
}

}  // namespace

int lookup_threads(std::size_t n, std::size_t dim, const lookup_options& options) noexcept {
  if (options.threads == 1 || n < 2) return 1;
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(n, dim, &bytes) || __builtin_mul_overflow(bytes, sizeof(float), &bytes))
    bytes = SIZE_MAX;
  if (bytes < parallel_min_bytes) return 1;
  std::size_t threads = static_cast<std::size_t>(omp_get_max_threads());
  if (options.threads > 0) threads = std::min(threads, static_cast<std::size_t>(options.threads));
  threads = std::min({threads, bytes / per_thread_min_bytes, n});
  return static_cast<int>(std::max<std::size_t>(threads, 1));
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
