// bench_core.hpp: what embtab's benchmarks time, shared by the Google Benchmark binary
// (bench/embtab_bench.cpp) and the `embtab bench` subcommand (examples/tool/bench_command.cpp).
//
// Everything a figure is compared with lives here, so both front ends measure the same thing:
//   - synthetic weights computable from (row, col) alone, so a result can be checked without
//     keeping a second copy of a 2 GiB table;
//   - tables built once per (rows, dim, dtype) and reused;
//   - id windows: cold = the next window of a large pool of random ids each call, hot = the
//     same window each call;
//   - the roofline: the ideal gather (one memcpy per row, same fp32 table, same ids) and the
//     memcpy bandwidth of a large buffer;
//   - the one-hot matmul the seed lesson uses to explain a lookup, with plain loops and
//     through cblas_sgemm (when the build found a BLAS).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <embtab/embtab.hpp>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace embtab::bench {

// Every benchmark loops over embtab::all_dtypes() (the registry) and names a dtype by
// embtab::info(type).name: a new dtype shows up here with no change.

// Synthetic weight (row, col): a hash of the position, uniform in [-1, 1) on a 2^-23 grid, so
// it is exact in fp32 and neighbouring values differ (a wrong row or column shows).
float weight(std::size_t row, std::size_t col) noexcept;

// The table rows x dim of `type` holding weight(r, c), built on first use (in parallel) and
// kept until drop_tables(). The fp32 one is the source of the ideal gather and the one-hot.
// A dtype that cannot be made from fp32 (q4_k, q6_k) holds deterministic random blocks whose
// values are all finite instead (check_rows compares with the scalar path, so that is valid).
// dim must be a multiple of the dtype's block.
const embtab::table& cached_table(std::size_t rows, std::size_t dim, embtab::dtype type);
// A view (table::wrap) of the same rows as cached_table(rows, dim, type), packed (stride =
// row_bytes) in a buffer whose first row starts `offset` bytes past a 64-byte boundary: the
// layout of a memory-mapped model file, in huge pages like the owning table (a real mapped
// file usually has 4 KiB pages; table::copy() gives huge pages). Kept until drop_tables().
const embtab::table& cached_view(std::size_t rows, std::size_t dim, embtab::dtype type,
                                 std::size_t offset);
// Whether cached_table(rows, dim, type) would return without building.
bool is_cached(std::size_t rows, std::size_t dim, embtab::dtype type = embtab::dtype::f32);
// Frees every cached table (and id pool).
void drop_tables();

enum class ids_mode { cold, hot };
const char* to_string(ids_mode mode) noexcept;

// Windows of n ids in [0, rows). Cold: consecutive windows of a pool of 4 Mi random ids (fixed
// seed per rows), so a lookup and its ideal gather draw from the same ids; stream `part` of
// `parts` starts at that fraction of the pool, so ops timed round-robin do not read rows another
// op has just pulled into the cache. Between two uses of a window the pool touches far more rows
// than any LLC holds. Hot: always the same (first) window.
class id_stream {
 public:
  id_stream(std::size_t rows, std::size_t n, ids_mode mode, std::size_t part = 0,
            std::size_t parts = 1);
  std::span<const std::int32_t> next() noexcept {
    if (mode_ == ids_mode::hot) return first();
    if (pos_ + n_ > pool_->size()) pos_ = 0;
    const std::span<const std::int32_t> w(pool_->data() + pos_, n_);
    pos_ += n_;
    return w;
  }
  // The window the first next() returns (for the correctness check).
  std::span<const std::int32_t> first() const noexcept { return {pool_->data() + start_, n_}; }
  void rewind() noexcept { pos_ = start_; }

 private:
  std::shared_ptr<const std::vector<std::int32_t>> pool_;
  std::size_t n_;
  ids_mode mode_;
  std::size_t start_ = 0;
  std::size_t pos_ = 0;
};

// The output of every benchmark: n floats, 64-byte aligned (as a framework's tensors are, so
// results do not depend on where malloc put a std::vector), zero-filled so its pages exist.
class out_buffer {
 public:
  explicit out_buffer(std::size_t n);
  float* data() noexcept { return p_.get(); }
  std::span<float> span() noexcept { return {p_.get(), n_}; }

 private:
  struct deleter {
    void operator()(float* p) const noexcept;
  };
  std::unique_ptr<float, deleter> p_;
  std::size_t n_;
};

// Output buffers taken in turn, for ops timed together: op k's t-th call writes buffer
// (k + t) % (the number of buffers). Every op writes every buffer, so no op keeps one whose
// physical pages happen to suit it (an op in a buffer of its own measured up to 15% apart
// from the same op in another, D = 4096, N = 4096), and there are enough of them (twice the
// last-level cache, 64 MiB at least) that each call finds its output evicted, as a runtime's
// activations are after a pass over the model's weights. (One buffer per op let an op's
// back-to-back calls at N = 512 find their 8 MiB output still in the L3.)
class out_ring {
 public:
  out_ring(std::size_t ops, std::size_t floats);
  out_buffer& next(std::size_t op);
  out_buffer& at(std::size_t i) { return buffers_[i]; }

 private:
  std::vector<out_buffer> buffers_;
  std::vector<std::size_t> turns_;
};

// Bytes one looked-up token moves: its stored row (row_stride) read plus dim floats written.
std::size_t bytes_per_token(const embtab::table& t) noexcept;

// OpenMP's default team size: "all" threads.
int max_threads() noexcept;

// The roofline of a lookup: for each id one memcpy of the fp32 row (dim floats) into out, on
// the team lookup() would use (embtab::lookup_threads). `f32` must be an fp32 table (owning
// or a view); out holds ids.size() * dim floats.
void ideal_gather(const embtab::table& f32, std::span<const std::int32_t> ids, float* out,
                  int threads) noexcept;

// Bytes for the memcpy bandwidth: 256 MiB, or 8x the L3 cache if that is larger (so
// the copy streams from DRAM on big-cache servers too), at most 2 GiB.
std::size_t copy_size() noexcept;

// Two page-faulted buffers for the memcpy bandwidth.
class copy_buffers {
 public:
  explicit copy_buffers(std::size_t bytes);
  // Copies src to dst in `threads` contiguous chunks.
  void copy(int threads) noexcept;
  std::size_t bytes() const noexcept { return bytes_; }

 private:
  std::size_t bytes_;
  std::unique_ptr<std::byte[]> src_, dst_;
};

// The seed's equivalence out = onehot(ids, rows) @ W, W the fp32 table: builds the
// ids.size() x rows one-hot matrix in `onehot` (resized as needed), then multiplies.
// onehot_naive: three plain loops (i, v, j; the order the compiler vectorises).
void onehot_naive(const embtab::table& f32, std::span<const std::int32_t> ids,
                  std::vector<float>& onehot, float* out) noexcept;
// onehot_blas: cblas_sgemm on `threads` BLAS threads. Returns false (and does nothing) when
// the build has no BLAS.
bool onehot_blas(const embtab::table& f32, std::span<const std::int32_t> ids,
                 std::vector<float>& onehot, float* out, int threads) noexcept;
// Which BLAS onehot_blas calls, or why it is skipped.
bool have_blas() noexcept;
const char* blas_name() noexcept;

// Empty when out holds rows `ids` of t as the scalar path decodes them (bit for bit, NaN as
// any NaN) and, for f32 tables, exactly weight(); else one line naming the first wrong value.
// Any dtype: the scalar codec is the registry's definition of each format.
std::string check_rows(const embtab::table& t, std::span<const std::int32_t> ids,
                       std::span<const float> out);

// The clock a run on `threads` threads is timed with: the calling thread's CPU time for one
// thread (time the scheduler gives to other processes is not counted, as in Google Benchmark's
// default), real time for several.
enum class clock_kind { thread_cpu, real };
constexpr clock_kind clock_for(int threads) noexcept {
  return threads > 1 ? clock_kind::real : clock_kind::thread_cpu;
}
double now_ns(clock_kind clock) noexcept;

// An operation to time and the thread count it runs on (which picks its clock).
struct timed_op {
  std::function<void()> run;
  int threads = 1;
};

// ns per call: the median, the 90th percentile and the worst.
struct call_stats {
  double median = 0, p90 = 0, max = 0;
};
call_stats summarize(std::vector<double> ns);

// ns per call of each op, timed round-robin (rep r runs every op once, in an order shuffled
// for that rep, so no op keeps one place in the order or one predecessor: with 64 MiB outputs
// an op measured up to 5% slower in one place of the order than in another), so a ratio of
// two ops is taken under the same machine conditions. Each op is called once to warm up and
// once to calibrate, then `reps` times in batches of about rep_seconds (at least one call);
// the statistics are over the batches' means (over single calls for ops slower than
// rep_seconds).
std::vector<call_stats> measure_interleaved_stats(std::span<const timed_op> ops,
                                                  double rep_seconds, int reps);
// The same timing, every batch kept: ns[op][rep], ns per call of op in rep.
std::vector<std::vector<double>> measure_interleaved_reps(std::span<const timed_op> ops,
                                                          double rep_seconds, int reps);
// The median over reps of a[r] / b[r]: two ops compared batch by batch, each pair timed back to
// back, so a slow spell of a shared machine that spans a few batches slows both sides of those
// ratios instead of one side of a ratio of medians.
double paired_ratio(const std::vector<double>& a, const std::vector<double>& b);
// The medians of measure_interleaved_stats.
std::vector<double> measure_interleaved(std::span<const timed_op> ops, double rep_seconds,
                                        int reps);

// Per-call wall times of each op, round-robin (round r calls every op once, in turn) for at
// least min_rounds rounds and until `seconds` have passed or max_rounds were run. Each op is
// called twice first to warm up.
std::vector<call_stats> time_calls_interleaved(std::span<const std::function<void()>> ops,
                                               double seconds, std::size_t min_rounds,
                                               std::size_t max_rounds);

// One busy competing process, reproducibly: a thread that spins at normal priority (like
// `yes > /dev/null`) from construction to destruction.
class spinner {
 public:
  spinner();
  ~spinner();
  spinner(const spinner&) = delete;
  spinner& operator=(const spinner&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A parallel_for (lookup_options::parallel) over an OpenMP team: `omp parallel for
// schedule(dynamic)`, i.e. what lookup did before embtab had its own pool, closing barrier
// included. run is null in a bench built without OpenMP.
embtab::parallel_for openmp_parallel_for() noexcept;

// "AMD EPYC 7B13" from /proc/cpuinfo, or "unknown CPU".
std::string cpu_name();

}  // namespace embtab::bench
