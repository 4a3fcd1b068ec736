// Threads and shards: lookup_options::parallel (the caller's pool) is called with
// lookup_tasks() tasks and gives the serial bits whatever the pool does; lookup_options::shard
// (vocab-parallel tables) against the unsharded lookup for random splits, every dtype, both id
// widths; embtab's own pool under concurrent callers (run this file under TSan too).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "embtab/embtab.hpp"
#include "isa_param.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

namespace {

using embtab::dtype;
using embtab::errc;
using embtab::lookup_options;
using embtab::parallel_for;
using embtab::table;
using embtab::vocab_shard;

using embtab::test::same_bits;
using embtab::test::sentinel;

// A caller's pool for the tests: `threads` threads (the calling one included) claim tasks from
// a counter, or the calling thread runs them in reverse order. Records every call.
struct test_pool {
  int threads = 1;
  bool reverse = false;
  std::mutex m{};
  std::vector<std::size_t> calls{};  // tasks of each call
  std::vector<int> runs{};           // how often each task of the last call ran

  static void run(void* context, std::size_t tasks, void (*task)(void*, std::size_t), void* task_context) {
    auto& p = *static_cast<test_pool*>(context);
    std::vector<std::atomic<int>> ran(tasks);
    if (p.reverse) {
      for (std::size_t i = tasks; i-- > 0;) {
        task(task_context, i);
        ++ran[i];
      }
    } else {
      std::atomic<std::size_t> next{0};
      const auto work = [&] {
        for (std::size_t i; (i = next.fetch_add(1)) < tasks;) {
          task(task_context, i);
          ++ran[i];
        }
      };
      std::vector<std::thread> helpers;
      for (int k = 1; k < p.threads; ++k) helpers.emplace_back(work);
      work();
      for (auto& h : helpers) h.join();
    }
    const std::lock_guard lock(p.m);
    p.calls.push_back(tasks);
    p.runs.assign(tasks, 0);
    for (std::size_t i = 0; i < tasks; ++i) p.runs[i] = ran[i].load();
  }
  parallel_for hook() { return {.run = &test_pool::run, .context = this}; }
};

// A table of any registered dtype: rows x dim random stored rows (inf, NaN, -0 included),
// wrapped over `packed`.
table random_table(dtype type, std::size_t rows, std::size_t dim, std::uint32_t seed,
                   std::vector<std::uint8_t>& packed) {
  const std::size_t rb = *embtab::ref::stored_row_bytes(type, dim);
  packed.assign(rows * rb, 0);
  std::mt19937 gen(seed);
  for (std::size_t r = 0; r < rows; ++r) embtab::ref::random_row(type, dim, gen, r, packed.data() + r * rb);
  return table::wrap(std::as_bytes(std::span<const std::uint8_t>(packed)), rows, dim, type);
}

std::size_t dim_for(dtype type) {
  const std::size_t b = embtab::info(type).block_values;
  return b == 1 ? 33 : 2 * b;
}

class ParallelHook : public embtab::test::isa_test<std::string> {};

TEST_P(ParallelHook, CalledWithTheTasksAndGivesTheSerialBits) {
  for (const dtype type : embtab::all_dtypes()) {
    const std::size_t rows = 300, dim = dim_for(type);
    std::vector<std::uint8_t> packed;
    const table t = random_table(type, rows, dim, 17, packed);
    // Past the 256 KiB threshold, and a tail task shorter than the others.
    const std::size_t n = (std::size_t{600} << 10) / (dim * sizeof(float)) + 3;
    const auto ids = embtab::ref::random_ids<std::int64_t>(n, rows, 5);
    std::vector<float> serial(n * dim);
    ASSERT_TRUE(embtab::lookup(t, ids, serial, {.threads = 1}).ok());
    const std::size_t tasks = embtab::lookup_tasks(n, dim);
    const std::size_t rows_per_task = std::max<std::size_t>(1, 16384 / dim);
    EXPECT_EQ(tasks, (n + rows_per_task - 1) / rows_per_task);
    ASSERT_GT(tasks, 1u);
    for (const int threads : {1, 2, 7}) {
      for (const bool reverse : {false, true}) {
        if (reverse && threads > 1) continue;
        test_pool pool{.threads = threads, .reverse = reverse};
        std::vector<float> out(n * dim, sentinel);
        ASSERT_TRUE(embtab::lookup(t, ids, out, {.parallel = pool.hook()}).ok());
        ASSERT_EQ(pool.calls, std::vector<std::size_t>{tasks}) << embtab::to_string(type);
        EXPECT_EQ(pool.runs, std::vector<int>(tasks, 1));
        EXPECT_TRUE(same_bits(out.data(), serial.data(), out.size()))
            << embtab::to_string(type) << ", " << threads << " threads" << (reverse ? ", reverse" : "");
        // int32 ids: the same rows.
        const std::vector<std::int32_t> ids32(ids.begin(), ids.end());
        std::fill(out.begin(), out.end(), sentinel);
        ASSERT_TRUE(embtab::lookup(t, ids32, out, {.threads = 5, .parallel = pool.hook()}).ok());
        EXPECT_EQ(pool.calls.size(), 2u);
        EXPECT_TRUE(same_bits(out.data(), serial.data(), out.size()));
      }
    }
  }
}

TEST_P(ParallelHook, NotCalledForSerialCalls) {
  const std::size_t rows = 50, dim = 64;
  const auto w = embtab::ref::random_weights(rows, dim, 3);
  const table t = table::from_f32(w, rows, dim);
  test_pool pool;
  // Under 256 KiB of output: serial, whatever the hook.
  const auto small = embtab::ref::random_ids<std::int32_t>(1000, rows, 1);
  std::vector<float> out(small.size() * dim);
  ASSERT_TRUE(embtab::lookup(t, small, out, {.parallel = pool.hook()}).ok());
  EXPECT_EQ(embtab::lookup_tasks(small.size(), dim), 1u);
  // threads = 1: serial on the caller's thread.
  const auto big = embtab::ref::random_ids<std::int32_t>(5000, rows, 1);
  out.assign(big.size() * dim, 0.0f);
  ASSERT_TRUE(embtab::lookup(t, big, out, {.threads = 1, .parallel = pool.hook()}).ok());
  EXPECT_EQ(embtab::lookup_tasks(big.size(), dim, {.threads = 1}), 1u);
  EXPECT_TRUE(pool.calls.empty());
  EXPECT_TRUE(embtab::lookup(t, big, out, {.parallel = pool.hook()}).ok());
  EXPECT_EQ(pool.calls, std::vector<std::size_t>{embtab::lookup_tasks(big.size(), dim)});
  // Errors are found before the hook could be called.
  std::vector<std::int32_t> bad = big;
  bad.back() = 50;
  EXPECT_EQ(embtab::lookup(t, bad, out, {.parallel = pool.hook()}).code(), errc::id_out_of_range);
  EXPECT_EQ(pool.calls.size(), 1u);
}

// The documented caller's bug: a run that runs nothing leaves out as it was, and lookup()
// cannot tell.
TEST_P(ParallelHook, AHookThatRunsNothingLeavesOutAsItWas) {
  const std::size_t rows = 50, dim = 64;
  const auto w = embtab::ref::random_weights(rows, dim, 3);
  const table t = table::from_f32(w, rows, dim);
  const auto ids = embtab::ref::random_ids<std::int32_t>(5000, rows, 1);
  std::vector<float> out(ids.size() * dim, sentinel);
  const parallel_for lazy{.run = [](void*, std::size_t, void (*)(void*, std::size_t), void*) {}};
  EXPECT_TRUE(embtab::lookup(t, ids, out, {.parallel = lazy}).ok());
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](float x) { return x == sentinel; }));
}

TEST_P(ParallelHook, TaskRuleAtTheEdges) {
  EXPECT_EQ(embtab::lookup_tasks(0, 4096), 1u);
  EXPECT_EQ(embtab::lookup_tasks(1, 1 << 20), 1u);           // one id: never split
  EXPECT_EQ(embtab::lookup_tasks(16, 4096), 4u);             // 256 KiB: 4 ids of 64 KiB each
  EXPECT_EQ(embtab::lookup_tasks(15, 4096), 1u);             // under 256 KiB
  EXPECT_EQ(embtab::lookup_tasks(512, 768), 25u);            // 21 rows per task
  EXPECT_EQ(embtab::lookup_tasks(16, 100000), 16u);          // rows wider than a task: one each
  // Past 2^20 tasks the tasks grow instead.
  const std::size_t huge = std::size_t{1} << 32;
  EXPECT_LT(embtab::lookup_tasks(huge, 1), std::size_t{1} << 20);
  EXPECT_EQ(embtab::lookup_tasks(std::numeric_limits<std::size_t>::max(), 2) < (std::size_t{1} << 20), true);
#if EMBTAB_TEST_OPENMP
  EXPECT_GE(embtab::lookup_threads(4096, 4096), 1);
#else
  // No threads of embtab's own without OpenMP: the caller's pool or serial.
  for (const int threads : {0, 2, 16}) EXPECT_EQ(embtab::lookup_threads(4096, 4096, {.threads = threads}), 1);
#endif
}

INSTANTIATE_TEST_SUITE_P(Isa, ParallelHook, ::testing::ValuesIn(embtab::test::isa_names()),
                         [](const auto& p) { return p.param; });

// ---- Vocab-parallel shards ----

// Random cut points of [0, vocab) into at most `parts` shards (a table has at least one row).
std::vector<std::int64_t> random_cuts(std::int64_t vocab, std::size_t parts, std::mt19937& gen) {
  std::vector<std::int64_t> cuts = {0, vocab};
  std::uniform_int_distribution<std::int64_t> pick(1, vocab - 1);
  for (std::size_t i = 1; i < parts; ++i) cuts.push_back(pick(gen));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  return cuts;
}

class Shard : public embtab::test::isa_test<std::tuple<std::string, dtype>> {};

template <class Id>
void check_shards(const table& full, const std::vector<std::uint8_t>& packed, const std::vector<Id>& ids,
                  const std::vector<std::int64_t>& cuts, const lookup_options& base) {
  const std::size_t dim = full.dim(), rb = full.row_bytes(), n = ids.size();
  const auto vocab = static_cast<std::int64_t>(full.rows());
  std::vector<float> want(n * dim);
  ASSERT_TRUE(embtab::lookup(full, ids, want, {.threads = 1}).ok());
  for (std::size_t s = 0; s + 1 < cuts.size(); ++s) {
    const std::int64_t begin = cuts[s], end = cuts[s + 1];
    const auto rows = static_cast<std::size_t>(end - begin);
    const table part = table::wrap(
        std::as_bytes(std::span<const std::uint8_t>(packed.data() + static_cast<std::size_t>(begin) * rb, rows * rb)),
        rows, dim, full.type());
    lookup_options options = base;
    options.shard = {.begin = begin, .end = end, .vocab = vocab};
    std::vector<float> buffer(n * dim + 1, sentinel);
    const auto st = embtab::lookup(part, ids, std::span<float>(buffer.data(), n * dim), options);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(buffer.back(), sentinel) << "wrote past out";
    for (std::size_t i = 0; i < n; ++i) {
      const float* got = buffer.data() + i * dim;
      if (ids[i] >= begin && ids[i] < end) {
        ASSERT_TRUE(same_bits(got, want.data() + i * dim, dim))
            << "shard [" << begin << ", " << end << ") id " << ids[i] << " at " << i;
      } else {
        for (std::size_t j = 0; j < dim; ++j)
          ASSERT_EQ(std::bit_cast<std::uint32_t>(got[j]), 0u)
              << "shard [" << begin << ", " << end << ") id " << ids[i] << " not +0.0f";
      }
    }
  }
}

TEST_P(Shard, RandomSplitsAgainstTheUnshardedLookup) {
  const dtype type = std::get<1>(GetParam());
  const std::size_t rows = 97, dim = dim_for(type);
  std::vector<std::uint8_t> packed;
  const table full = random_table(type, rows, dim, 41, packed);
  std::mt19937 gen(static_cast<std::uint32_t>(type) + 3);
  test_pool pool{.threads = 3};
  for (int round = 0; round < 6; ++round) {
    const auto cuts = random_cuts(static_cast<std::int64_t>(rows), 1 + round % 4, gen);
    const auto few = embtab::ref::random_ids<std::int64_t>(40, rows, static_cast<std::uint32_t>(round));
    check_shards(full, packed, few, cuts, {});
    check_shards(full, packed, std::vector<std::int32_t>(few.begin(), few.end()), cuts, {});
    // Long runs past the rebasing batch and the parallel threshold, on every kind of thread.
    const std::size_t n = (std::size_t{300} << 10) / (dim * sizeof(float)) + 7;
    auto many = embtab::ref::random_ids<std::int32_t>(n, rows, static_cast<std::uint32_t>(round + 100));
    std::sort(many.begin(), many.begin() + static_cast<std::ptrdiff_t>(n / 2));  // long in-shard runs
    check_shards(full, packed, many, cuts, {});
    check_shards(full, packed, many, cuts, {.threads = 1});
    check_shards(full, packed, std::vector<std::int64_t>(many.begin(), many.end()), cuts, {.parallel = pool.hook()});
  }
  // Sharded tables that are owning copies (64-byte aligned, padded stride) too.
  const table part = table::wrap(std::as_bytes(std::span<const std::uint8_t>(packed.data() + 10 * full.row_bytes(),
                                                                               20 * full.row_bytes())),
                                 20, dim, type)
                         .copy();
  const std::vector<std::int64_t> ids = {9, 10, 29, 30, 96, 0, 15};
  std::vector<float> want(ids.size() * dim), got(ids.size() * dim, sentinel);
  ASSERT_TRUE(embtab::lookup(full, ids, want).ok());
  ASSERT_TRUE(embtab::lookup(part, ids, got, {.shard = {.begin = 10, .end = 30, .vocab = 97}}).ok());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const bool in = ids[i] >= 10 && ids[i] < 30;
    for (std::size_t j = 0; j < dim; ++j)
      ASSERT_EQ(std::bit_cast<std::uint32_t>(got[i * dim + j]),
                in ? std::bit_cast<std::uint32_t>(want[i * dim + j]) : 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, Shard,
                         ::testing::Combine(::testing::ValuesIn(embtab::test::isa_names()),
                                            ::testing::ValuesIn(embtab::all_dtypes().begin(),
                                                                embtab::all_dtypes().end())),
                         [](const auto& p) {
                           return std::get<0>(p.param) + "_" + embtab::to_string(std::get<1>(p.param));
                         });

// Summing every shard's output gives the unsharded lookup bit for bit (one nonzero term per
// value): the all-reduce of a tensor-parallel runtime.
TEST(ShardSum, SumOfShardsIsTheUnshardedLookup) {
  const std::size_t rows = 1000, dim = 65;
  const auto w = embtab::ref::random_weights(rows, dim, 9);
  const table full = table::from_f32(w, rows, dim);
  const auto ids = embtab::ref::random_ids<std::int64_t>(3000, rows, 2);
  std::vector<float> want(ids.size() * dim), sum(ids.size() * dim, 0.0f), part_out(ids.size() * dim);
  ASSERT_TRUE(embtab::lookup(full, ids, want).ok());
  for (const std::int64_t cut : {std::int64_t{1}, std::int64_t{250}, std::int64_t{251}, std::int64_t{999}}) {
    std::fill(sum.begin(), sum.end(), 0.0f);
    for (const auto& [begin, end] : {std::pair{std::int64_t{0}, cut}, std::pair{cut, std::int64_t{1000}}}) {
      const table part = table::from_f32(std::span<const float>(w).subspan(static_cast<std::size_t>(begin) * dim,
                                                                           static_cast<std::size_t>(end - begin) * dim),
                                         static_cast<std::size_t>(end - begin), dim);
      ASSERT_TRUE(embtab::lookup(part, ids, part_out, {.shard = {.begin = begin, .end = end, .vocab = 1000}}).ok());
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += part_out[i];
    }
    EXPECT_TRUE(same_bits(sum.data(), want.data(), sum.size())) << "cut at " << cut;
  }
}

template <class Id>
void expect_rejected(const table& t, const std::vector<Id>& ids, const lookup_options& options, errc code,
                     const std::string& message, std::size_t position = 0) {
  std::vector<float> out(ids.size() * t.dim(), sentinel);
  const auto s = embtab::lookup(t, std::span<const Id>(ids), std::span<float>(out), options);
  EXPECT_EQ(s.code(), code) << s.message();
  EXPECT_EQ(s.message(), message);
  EXPECT_EQ(s.position(), position);
  EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](float x) { return x == sentinel; })) << "written on error";
}

TEST(ShardErrors, BadShardsAndIdsOutsideTheVocabWriteNothing) {
  const std::size_t rows = 10, dim = 8;
  const table t = table::from_f32(embtab::ref::random_weights(rows, dim, 1), rows, dim);
  const std::vector<std::int64_t> ok = {0, 5, 99};
  const auto shard = [](std::int64_t b, std::int64_t e, std::int64_t v) {
    return lookup_options{.shard = {.begin = b, .end = e, .vocab = v}};
  };
  EXPECT_TRUE([&] {
    std::vector<float> out(ok.size() * dim);
    return embtab::lookup(t, ok, out, shard(90, 100, 100)).ok();
  }());
  expect_rejected(t, ok, shard(0, 11, 100), errc::invalid_argument,
                  "lookup_options::shard [0, 11) of vocab 100 holds 11 rows but the table has 10");
  expect_rejected(t, ok, shard(-1, 9, 100), errc::invalid_argument,
                  "lookup_options::shard [-1, 9) of vocab 100 is not within [0, vocab): expected 0 <= begin <= end <= vocab");
  expect_rejected(t, ok, shard(95, 105, 100), errc::invalid_argument,
                  "lookup_options::shard [95, 105) of vocab 100 is not within [0, vocab): expected 0 <= begin <= end <= vocab");
  expect_rejected(t, ok, shard(20, 10, 100), errc::invalid_argument,
                  "lookup_options::shard [20, 10) of vocab 100 is not within [0, vocab): expected 0 <= begin <= end <= vocab");
  expect_rejected(t, ok, shard(0, 10, -5), errc::invalid_argument,
                  "lookup_options::shard [0, 10) of vocab -5 is not within [0, vocab): expected 0 <= begin <= end <= vocab");
  // Ids are checked against the vocab, not the shard's rows; the first bad one is named.
  for (const std::int64_t bad : {std::int64_t{100}, std::int64_t{-1}, std::numeric_limits<std::int64_t>::max(),
                                 std::numeric_limits<std::int64_t>::min()}) {
    std::vector<std::int64_t> ids(20000, 42);  // past the parallel threshold
    ids[15000] = bad;
    ids[19999] = 100;
    expect_rejected(t, ids, shard(40, 50, 100), errc::id_out_of_range,
                    "id " + std::to_string(bad) + " at position 15000 is out of range [0, 100)", 15000);
    const std::vector<std::int32_t> ids32 = {1, static_cast<std::int32_t>(std::max<std::int64_t>(bad, -1) > 100 ? 100 : std::max<std::int64_t>(bad, -1))};
    expect_rejected(t, ids32, shard(40, 50, 100), errc::id_out_of_range,
                    "id " + std::to_string(ids32[1]) + " at position 1 is out of range [0, 100)", 1);
  }
  // A vocab past 2^32: negative int32 ids are still out of range (not 2^32 - 1 and the like).
  const std::int64_t big = std::int64_t{1} << 40;
  expect_rejected(t, std::vector<std::int32_t>{1, -10531504}, shard(big - 10, big, big), errc::id_out_of_range,
                  "id -10531504 at position 1 is out of range [0, 1099511627776)", 1);
  expect_rejected(t, std::vector<std::int32_t>{-1}, shard(0, 10, big), errc::id_out_of_range,
                  "id -1 at position 0 is out of range [0, 1099511627776)", 0);
  // A wrong shard wins over bad ids; a size mismatch over both.
  expect_rejected(t, std::vector<std::int64_t>{-1}, shard(0, 11, 100), errc::invalid_argument,
                  "lookup_options::shard [0, 11) of vocab 100 holds 11 rows but the table has 10");
}

// ---- embtab's own pool ----

// Many callers at once, big calls (the pool) and small ones (serial), every kind of option:
// one call at a time gets the pool, the others run serially, all give the serial bits.
TEST(OwnPool, ConcurrentCallersGetTheSerialBits) {
  const std::size_t rows = 500, dim = 256;
  const auto w = embtab::ref::random_weights(rows, dim, 5);
  const table t = table::from_f32(w, rows, dim);
  std::vector<std::thread> callers;
  std::vector<int> failures(4, 0);
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      test_pool pool{.threads = 2};
      for (int round = 0; round < 12; ++round) {
        const auto ids = embtab::ref::random_ids<std::int32_t>(round % 3 ? 3000 : 7, rows,
                                                               static_cast<std::uint32_t>(c * 100 + round));
        lookup_options options{.threads = round % 4};
        if (round % 5 == 4) options.parallel = pool.hook();
        std::vector<float> out(ids.size() * dim);
        const auto s = embtab::lookup(t, ids, out, options);
        const auto want = embtab::ref::lookup_f32(w, rows, dim, ids);
        if (!s.ok() || !same_bits(out.data(), want->data(), out.size())) ++failures[c];
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// A call that had the pool returns while a helper may still be waking up: the next call's
// tasks must not be run with the previous call's arguments (out is a fresh buffer each time).
TEST(OwnPool, BackToBackCallsWithFreshBuffers) {
  const std::size_t rows = 300, dim = 512;
  const auto w = embtab::ref::random_weights(rows, dim, 8);
  const table t = table::from_f32(w, rows, dim);
  for (int round = 0; round < 200; ++round) {
    const auto ids = embtab::ref::random_ids<std::int64_t>(130 + static_cast<std::size_t>(round % 7), rows,
                                                           static_cast<std::uint32_t>(round));
    auto out = std::make_unique<float[]>(ids.size() * dim);
    ASSERT_TRUE(embtab::lookup(t, ids, std::span<float>(out.get(), ids.size() * dim)).ok());
    const auto want = embtab::ref::lookup_f32(w, rows, dim, ids);
    ASSERT_TRUE(same_bits(out.get(), want->data(), want->size())) << "round " << round;
  }
}

}  // namespace
