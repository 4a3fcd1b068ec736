// Internal: embtab's own threads, a small persistent pool whose callers never wait for a
// thread that has not started its share (src/parallel.cpp).
#pragma once

#include <cstddef>

namespace embtab::detail {

// A task of a pool job: runs task i, told which task `next` the same thread runs right after
// it (no_task: none), so it can prefetch for it.
inline constexpr std::size_t no_task = static_cast<std::size_t>(-1);
using task_fn = void (*)(void* context, std::size_t i, std::size_t next);

// The team lookup_threads() allows at most: omp_get_max_threads() at the first call in a build
// with OpenMP (EMBTAB_OPENMP=ON), 1 without. Does not allocate.
int default_team() noexcept;

// Runs task(context, i, next) for every i in [0, tasks) on the calling thread and at most
// team - 1 of the pool's threads, which claim indices from a shared counter, each one ahead of
// the one it runs (next); returns when all have returned. The caller claims indices too and
// never waits for a thread that has not claimed one. Starts the pool (default_team() - 1
// threads) at the first call. While the pool sits out (it measured that it does not pay: a
// busy machine, src/parallel.cpp) runs every task on the calling thread. Returns false,
// having run nothing, when another call holds the pool; the caller then runs the tasks
// itself. 2 <= tasks < 2^20.
bool run_on_pool(std::size_t tasks, int team, task_fn task, void* context) noexcept;

// For tests: makes the pool forget what it measured (pending sit-outs, backoff, the serial
// times per size class), as in a new process. False, having changed nothing, while a call
// holds the pool.
bool forget_pool_measurements() noexcept;

}  // namespace embtab::detail
