// embtab's own pool (src/parallel.cpp), white-box: every task runs once, each told truly which
// task its thread runs next; a helper that stalls in the middle of a task makes the pool sit
// out the next call (run serially on the calling thread), after which it uses its threads again.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "parallel.hpp"

namespace {

using namespace std::chrono_literals;

// What the tasks of one call did. Every task takes `work` on any thread; a helper's first task
// also stalls for `stall` (a helper descheduled mid-task, as on a busy machine).
struct record {
  explicit record(std::size_t tasks, std::chrono::microseconds stall_for)
      : runs(std::make_unique<std::atomic<int>[]>(tasks)), count(tasks), stall(stall_for) {}
  std::thread::id caller = std::this_thread::get_id();
  std::unique_ptr<std::atomic<int>[]> runs;
  std::size_t count;
  std::chrono::microseconds stall;
  std::chrono::microseconds work = 100us;
  std::atomic<int> on_helpers{0};

  bool each_ran_once() const {
    for (std::size_t i = 0; i < count; ++i)
      if (runs[i].load() != 1) return false;
    return true;
  }
};

void task(void* context, std::size_t i, std::size_t /*next*/) {
  auto& r = *static_cast<record*>(context);
  r.runs[i].fetch_add(1);
  if (std::this_thread::get_id() != r.caller && r.on_helpers.fetch_add(1) == 0)
    std::this_thread::sleep_for(r.stall);
  std::this_thread::sleep_for(r.work);
}

// Per thread, the (task, next) pairs in the order the thread ran them.
struct sequences {
  std::mutex m;
  std::map<std::thread::id, std::vector<std::pair<std::size_t, std::size_t>>> by_thread;
};

void record_order(void* context, std::size_t i, std::size_t next) {
  auto& r = *static_cast<sequences*>(context);
  std::this_thread::sleep_for(20us);
  const std::lock_guard<std::mutex> lock(r.m);
  r.by_thread[std::this_thread::get_id()].emplace_back(i, next);
}

TEST(OwnPoolOrder, EachTaskRunsOnceAndItsNextIsWhatItsThreadRunsNext) {
  ASSERT_TRUE(embtab::detail::forget_pool_measurements());
  constexpr std::size_t tasks = 200;
  for (int round = 0; round < 20; ++round) {
    sequences r;
    ASSERT_TRUE(embtab::detail::run_on_pool(tasks, 2, &record_order, &r));
    std::vector<int> runs(tasks, 0);
    for (const auto& [thread, seq] : r.by_thread) {
      for (std::size_t k = 0; k < seq.size(); ++k) {
        ASSERT_LT(seq[k].first, tasks);
        ++runs[seq[k].first];
        const std::size_t want = k + 1 < seq.size() ? seq[k + 1].first : embtab::detail::no_task;
        ASSERT_EQ(seq[k].second, want) << "round " << round << ", task " << seq[k].first;
      }
    }
    ASSERT_EQ(runs, std::vector<int>(tasks, 1)) << "round " << round;
  }
}

TEST(OwnPoolPolicy, SitsOutTheCallAfterAHelperStalledMidTaskThenComesBack) {
  if (embtab::detail::default_team() < 2)
    GTEST_SKIP() << "this build's pool has no threads (EMBTAB_OPENMP=OFF or one CPU)";
  // What earlier calls in this process taught the pool (a run of the whole suite, or a slow
  // emulated CPU, can leave it sitting out calls) would decide this test instead.
  ASSERT_TRUE(embtab::detail::forget_pool_measurements());
  constexpr std::size_t tasks = 16;
  bool sat_out = false;
  // A stall is only seen when a helper woke in time to claim a task and the caller then
  // waited for it (the caller itself may be descheduled instead): try a few times.
  for (int attempt = 0; attempt < 8 && !sat_out; ++attempt) {
    record stalled(tasks, 5ms);
    ASSERT_TRUE(embtab::detail::run_on_pool(tasks, 2, &task, &stalled));
    ASSERT_TRUE(stalled.each_ran_once());
    if (stalled.on_helpers.load() == 0) continue;
    // The pool sits this one out: 16 tasks of 100 us all on the caller (with the pool, the
    // helper would claim some: it wakes within microseconds).
    record next(tasks, 0us);
    ASSERT_TRUE(embtab::detail::run_on_pool(tasks, 2, &task, &next));
    ASSERT_TRUE(next.each_ran_once());
    sat_out = next.on_helpers.load() == 0;
  }
  EXPECT_TRUE(sat_out) << "after a helper stalled 5 ms mid-task, the next call still used the pool";
  // Then the pool comes back: a call whose helper takes a share.
  bool back = false;
  for (int call = 0; call < 8 && !back; ++call) {
    record r(tasks, 0us);
    ASSERT_TRUE(embtab::detail::run_on_pool(tasks, 2, &task, &r));
    ASSERT_TRUE(r.each_ran_once());
    back = r.on_helpers.load() > 0;
  }
  EXPECT_TRUE(back) << "the pool sat out 8 calls after one stall";
}

}  // namespace
