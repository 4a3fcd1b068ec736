// embtab's own threads: a persistent pool. One job at a time: its tasks are claimed from one
// atomic word that also carries the job's generation and task count, so a helper that wakes
// late (descheduled, or still asleep) finds no task left and touches nothing, and the caller,
// which claims tasks too, only ever waits for tasks another thread holds: the one it runs and
// the one it claimed to run next (so that it can prefetch that one's rows).
//
// Why not an OpenMP team: `#pragma omp parallel` ends in a barrier that the calling thread
// cannot leave before every team member has arrived, so one descheduled thread holds up the
// call for a whole time slice (p90 of 15.6 us/token instead of 0.58 beside one busy process).
#include "parallel.hpp"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#ifdef EMBTAB_WITH_OPENMP
#include <omp.h>
#endif

namespace embtab::detail {
namespace {

// state_: generation (24 bits) | tasks (20 bits) | next unclaimed task (20 bits). A helper
// claims task `next` by compare-exchanging the whole word, so a claim succeeds only while its
// job is the current one and has tasks left. (A helper stalled between reading the word and
// its compare-exchange for exactly 2^24 jobs could misclaim; that is not a practical risk.)
constexpr unsigned count_bits = 20, gen_shift = 2 * count_bits;
constexpr std::uint64_t count_mask = (std::uint64_t{1} << count_bits) - 1;
constexpr std::uint64_t gen_mask = (std::uint64_t{1} << (64 - gen_shift)) - 1;

// The caller's wait for tasks that helpers hold: a short spin, then the futex.
constexpr int caller_spins = 256;
// Whether the pool pays, checked after every call it runs. It does not when
//  - the caller waited this long for a task a helper holds: the helper was descheduled
//    mid-task (a task takes ~2-30 us), so the machine is busy;
//  - or the call took more than `pays` x the time per task of the calls the pool sat out
//    (run serially by their caller; a moving average per size class, log2 of the task count):
//    with more runnable threads than CPUs the team shares CPUs, and beside one busy process on
//    2 vCPUs a pool call measured 1.25x slower than a serial one although no helper stalled.
// Then the pool sits out the next `backoff` calls (their callers run serially, timed),
// doubling up to max_backoff while it keeps happening and halving after each call that paid,
// so a quiet machine keeps its threads and a busy one stops paying for them.
constexpr double late_ns = 200e3;
constexpr double pays = 0.95;
constexpr std::uint32_t max_backoff = 64;
constexpr int size_classes = 20;  // tasks < 2^20

// A moving average (weight 1/4 for the newest value); 0: no value yet.
inline double blend(double average, double x) noexcept {
  return average == 0 ? x : average + (x - average) / 4;
}

double now_ns() noexcept {
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class pool {
 public:
  explicit pool(int size) {
    for (int k = 1; k < size; ++k) {
      try {
        helpers_.emplace_back([this, k] { helper_loop(static_cast<unsigned>(k)); });
      } catch (const std::system_error&) {
        break;  // fewer threads than asked: the callers do the rest
      }
      const std::string name = "embtab-" + std::to_string(k);
      pthread_setname_np(helpers_.back().native_handle(), name.c_str());
    }
  }
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
  ~pool() {
    stop_.store(true, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
    for (auto& h : helpers_) h.join();
  }

  // Forgets what the pool measured (sit-outs pending, backoff, serial times). False, having
  // changed nothing, while a call holds the pool.
  bool forget() noexcept {
    if (busy_.exchange(true, std::memory_order_acquire)) return false;
    backoff_ = sit_out_ = 0;
    std::fill(std::begin(serial_ns_), std::end(serial_ns_), 0.0);
    busy_.store(false, std::memory_order_release);
    return true;
  }

  bool run(std::size_t tasks, int team, task_fn task, void* context) noexcept {
    if (busy_.exchange(true, std::memory_order_acquire)) return false;
    // Owned by the busy_ holder: sit_out_, backoff_, serial_ns_.
    double& serial_ns = serial_ns_[std::bit_width(tasks) - 1];
    const double start = now_ns();
    if (sit_out_ > 0) {
      --sit_out_;
      for (std::size_t i = 0; i < tasks; ++i) task(context, i, i + 1 < tasks ? i + 1 : no_task);
      serial_ns = blend(serial_ns, (now_ns() - start) / static_cast<double>(tasks));
      busy_.store(false, std::memory_order_release);
      return true;
    }
    const std::uint64_t gen = ((state_.load(std::memory_order_relaxed) >> gen_shift) + 1) & gen_mask;
    task_.store(task, std::memory_order_relaxed);
    context_.store(context, std::memory_order_relaxed);
    team_.store(team, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    // Publishes the fields above to every helper that reads this generation.
    state_.store(gen << gen_shift | std::uint64_t{tasks} << count_bits, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
    work(0);
    const auto total = static_cast<std::uint32_t>(tasks);
    double blocked_at = 0;
    for (int spin = 0;; ++spin) {
      const std::uint32_t d = done_.load(std::memory_order_acquire);
      if (d == total) break;
      if (spin < caller_spins) {
        cpu_relax();
      } else {
        if (blocked_at == 0) blocked_at = now_ns();
        done_.wait(d, std::memory_order_acquire);
      }
    }
    const double end = now_ns();
    const bool late = blocked_at != 0 && end - blocked_at > late_ns;
    const bool no_gain = serial_ns != 0 && (end - start) / static_cast<double>(tasks) > pays * serial_ns;
    if (late || no_gain) {
      backoff_ = std::min(std::max<std::uint32_t>(2 * backoff_, 1), max_backoff);
      sit_out_ = backoff_;
    } else {
      backoff_ /= 2;
    }
    busy_.store(false, std::memory_order_release);
    return true;
  }

 private:
  // Claims and runs tasks of the current job until none is left, each claimed before the one
  // before it runs, so that one prefetches the rows of the next (a thread holds at most two
  // tasks, one of them running). Thread k (0: the caller) joins only if k < the job's team.
  void work(unsigned k) noexcept {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    const std::uint64_t gen = s >> gen_shift, tasks = (s >> count_bits) & count_mask;
    // Read after the acquire: this job's values or a later job's, and a later job can only
    // have started once every task of this one has run, so then no claim below succeeds.
    if (k >= static_cast<unsigned>(team_.load(std::memory_order_relaxed))) return;
    const task_fn task = task_.load(std::memory_order_relaxed);
    void* const context = context_.load(std::memory_order_relaxed);
    std::size_t current = claim(s, gen);
    while (current != no_task) {
      // While this thread holds `current` unrun, the job cannot end, so the claim is of it.
      const std::size_t next = claim(s, gen);
      task(context, current, next);
      // The caller returns once done_ reaches tasks: nothing of the job is touched after this
      // (it can only get there with no `next` held).
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) done_.notify_all();
      current = next;
    }
  }

  // The next unclaimed task of job `gen`, claimed (s: the last state seen), or no_task.
  std::size_t claim(std::uint64_t& s, std::uint64_t gen) noexcept {
    for (;;) {
      const std::uint64_t tasks = (s >> count_bits) & count_mask, next = s & count_mask;
      if (s >> gen_shift != gen || next >= tasks) return no_task;
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        ++s;
        return static_cast<std::size_t>(next);
      }
    }
  }

  void helper_loop(unsigned k) noexcept {
    std::uint32_t seen = 0;
    for (;;) {
      wake_.wait(seen, std::memory_order_acquire);
      seen = wake_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_acquire)) return;
      work(k);
    }
  }

  std::atomic<std::uint64_t> state_{0};
  std::atomic<task_fn> task_{nullptr};
  std::atomic<void*> context_{nullptr};
  std::atomic<int> team_{0};
  std::atomic<std::uint32_t> done_{0};
  std::atomic<std::uint32_t> wake_{0};
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
  // Read and written only by the busy_ holder.
  std::uint32_t backoff_ = 0, sit_out_ = 0;
  double serial_ns_[size_classes] = {};  // per task, of the calls sat out, by log2(tasks)
  std::vector<std::thread> helpers_;
};

}  // namespace

int default_team() noexcept {
#ifdef EMBTAB_WITH_OPENMP
  static const int team = std::max(omp_get_max_threads(), 1);
  return team;
#else
  return 1;
#endif
}

namespace {

// The process's pool: created at the first call, stopped (threads joined) at exit.
// Constructing it allocates; a failure to start threads leaves a smaller pool, never an
// exception; null when even that failed.
pool* shared_pool() noexcept {
  static pool* const shared = []() noexcept -> pool* {
    try {
      static pool p(default_team());
      return &p;
    } catch (...) {
      return nullptr;
    }
  }();
  return shared;
}

}  // namespace

bool run_on_pool(std::size_t tasks, int team, task_fn task, void* context) noexcept {
  pool* const shared = shared_pool();
  return shared != nullptr && shared->run(tasks, team, task, context);
}

bool forget_pool_measurements() noexcept {
  pool* const shared = shared_pool();
  return shared != nullptr && shared->forget();
}

}  // namespace embtab::detail
