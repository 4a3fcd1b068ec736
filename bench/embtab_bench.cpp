// embtab_bench: Google Benchmark suite. lookup vs the ideal gather (one memcpy per row) vs the
// memcpy bandwidth of a large buffer vs the one-hot matmul, for every registered dtype;
// owning tables vs views at an unaligned offset (alignment/...); narrow tables dequantized
// to fp32 at load, then gathered (dequantized/..., a runtime's alternative, with its memory);
// f16/bf16 output, scale, fused positions and streaming stores (outputs/...).
//
//   embtab_bench [--embtab_isa=active|all|avx2,sse2,...] [--embtab_threads=1,2,4,...]
//                [--embtab_contention_omp]
//                [Google Benchmark flags, e.g. --benchmark_filter=lookup/.*/cold]
//
// Names say what varies: lookup/avx2/f32/V:32000/D:4096/N:512/threads:1/cold. Counters:
//   bytes/s   rows read (row_stride) + fp32 output written, per second
//   tokens/s  ids looked up per second
//   ns/token  time per id (on the Time column's clock: CPU time on 1 thread, else real time)
//   of_ideal  ideal-gather time / this time for the same shape, threads and ids mode (the
//             ideal copies fp32 rows, so a narrower dtype can exceed 1)
//   lookup_speedup (one-hot rows) one-hot time / lookup time (f32, cold, 1 thread)
//   p50_us, p90_us, max_us  per-call wall time of a separate pass after the timed loop (at
//             least 10 calls, ~20 ms): the tail next to the median
// busy/ and quiet/ rows (one iteration each): threads = 1 against the default options (embtab's
// own pool), calls interleaved, per-call wall time in ns per token: t1_*, default_* (median,
// p90, max), default/t1_p90 and t1/default_median (the speedup); with --embtab_contention_omp
// also omp_*, an OpenMP team handed in as lookup_options::parallel (the old design; its idle
// threads spin after each call and slow the other two). busy/ runs them beside a thread that
// spins at normal priority from start to end: one busy competing process.
// Threaded rows use MeasureProcessCPUTime()->UseRealTime(). Each benchmark checks its output
// once before timing (eb::check_rows) and skips with the first wrong value on a mismatch.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench_core.hpp"

namespace {

using embtab::bench::ids_mode;
namespace eb = embtab::bench;

constexpr std::size_t vocab_sizes[] = {32000, 128256};  // Llama-2, Llama-3
constexpr std::size_t dims[] = {768, 4096};
constexpr std::size_t batch_sizes[] = {1, 32, 512, 4096};
// One-hot shapes: the naive matmul streams the whole table once per token.
constexpr std::size_t onehot_rows = 32000, onehot_dim = 768;
constexpr std::size_t onehot_naive_n[] = {1, 32};
constexpr std::size_t onehot_blas_n[] = {1, 32, 512};

struct shape {
  std::size_t rows, dim, n;
  int threads;
  ids_mode mode;
  std::string suffix() const {
    return "V:" + std::to_string(rows) + "/D:" + std::to_string(dim) + "/N:" + std::to_string(n) +
           "/threads:" + std::to_string(threads) + "/" + eb::to_string(mode);
  }
};

// Benchmarks are registered shape by shape: keep only the current shape's tables (those of
// 128256 x 4096 take about 6 GiB over the eight dtypes).
void use_shape(std::size_t rows, std::size_t dim) {
  static std::pair<std::size_t, std::size_t> current{0, 0};
  if (current != std::pair{rows, dim}) {
    eb::drop_tables();
    current = {rows, dim};
  }
}

// The ISA the process chose: the one-hot rows compare against its lookup.
std::string& default_isa() {
  static std::string isa(embtab::active_isa());
  return isa;
}

// Real-time ns per token of every benchmark run so far, by name (without Google Benchmark's
// time suffixes): a lookup's of_ideal reads the ideal run registered just before it.
std::map<std::string, double>& ns_per_token() {
  static std::map<std::string, double> m;
  return m;
}

std::string ideal_name(const shape& s) { return "ideal/" + s.suffix(); }
std::string lookup_name(std::string_view isa, embtab::dtype type, const shape& s) {
  return "lookup/" + std::string(isa) + "/" + std::string(embtab::info(type).name) + "/" + s.suffix();
}

// Times the ranged-for loop on the clock Google Benchmark reports for the run (thread CPU time
// on one thread, real time on several), so ns/token and of_ideal agree with its Time column.
class loop_timer {
 public:
  explicit loop_timer(int threads) : clock_(eb::clock_for(threads)), t0_(eb::now_ns(clock_)) {}
  double ns_per(std::size_t units) const {
    return (eb::now_ns(clock_) - t0_) / static_cast<double>(units);
  }

 private:
  eb::clock_kind clock_;
  double t0_;
};

// The per-call tail of `op` (wall clock), next to Google Benchmark's mean.
void set_tail_counters(benchmark::State& st, const std::function<void()>& op) {
  const eb::call_stats c = eb::time_calls_interleaved({&op, 1}, 0.02, 10, 100000)[0];
  st.counters["p50_us"] = c.median / 1e3;
  st.counters["p90_us"] = c.p90 / 1e3;
  st.counters["max_us"] = c.max / 1e3;
}

void set_rate_counters(benchmark::State& st, std::size_t n, std::size_t bytes_per_token,
                       double ns_token) {
  const auto tokens = static_cast<double>(st.iterations()) * static_cast<double>(n);
  st.counters["bytes/s"] = benchmark::Counter(tokens * static_cast<double>(bytes_per_token),
                                              benchmark::Counter::kIsRate);
  st.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
  st.counters["ns/token"] = ns_token;
}

// The ideal gather of a shape: from this run's ideal benchmark, or measured here when a filter
// left that benchmark out.
double ideal_ns_per_token(const shape& s) {
  auto& m = ns_per_token();
  if (const auto it = m.find(ideal_name(s)); it != m.end()) return it->second;
  const auto& t = eb::cached_table(s.rows, s.dim, embtab::dtype::f32);
  eb::id_stream ids(s.rows, s.n, s.mode);
  eb::out_buffer out(s.n * s.dim);
  const eb::timed_op op{[&] { eb::ideal_gather(t, ids.next(), out.data(), s.threads); }, s.threads};
  const double ns = eb::measure_interleaved({&op, 1}, 0.02, 9)[0] / static_cast<double>(s.n);
  m[ideal_name(s)] = ns;
  return ns;
}

void bm_ideal(benchmark::State& st, shape s) {
  use_shape(s.rows, s.dim);
  const auto& t = eb::cached_table(s.rows, s.dim, embtab::dtype::f32);
  eb::id_stream ids(s.rows, s.n, s.mode);
  eb::out_buffer out(s.n * s.dim);
  eb::ideal_gather(t, ids.first(), out.data(), s.threads);
  if (const auto e = eb::check_rows(t, ids.first(), out.span()); !e.empty())
    return st.SkipWithError(e.c_str());
  const loop_timer timer(s.threads);
  for (auto _ : st) {
    eb::ideal_gather(t, ids.next(), out.data(), s.threads);
    benchmark::ClobberMemory();
  }
  const double ns = timer.ns_per(st.iterations() * s.n);
  set_tail_counters(st, [&] { eb::ideal_gather(t, ids.next(), out.data(), s.threads); });
  ns_per_token()[ideal_name(s)] = ns;
  set_rate_counters(st, s.n, 2 * s.dim * sizeof(float), ns);
  st.counters["of_ideal"] = 1.0;
}

void bm_lookup(benchmark::State& st, std::string isa, embtab::dtype type, shape s) {
  use_shape(s.rows, s.dim);
  if (!embtab::set_isa(isa)) return st.SkipWithError(("ISA " + isa + " not supported").c_str());
  const auto& t = eb::cached_table(s.rows, s.dim, type);
  eb::id_stream ids(s.rows, s.n, s.mode);
  eb::out_buffer out(s.n * s.dim);
  const embtab::lookup_options options{.threads = s.threads};
  if (const auto r = embtab::lookup(t, ids.first(), out.span(), options); !r.ok())
    return st.SkipWithError(r.message().c_str());
  if (const auto e = eb::check_rows(t, ids.first(), out.span()); !e.empty())
    return st.SkipWithError(e.c_str());
  const double ideal = ideal_ns_per_token(s);
  const loop_timer timer(s.threads);
  for (auto _ : st) {
    const auto r = embtab::lookup(t, ids.next(), out.span(), options);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
  const double ns = timer.ns_per(st.iterations() * s.n);
  set_tail_counters(st, [&] { benchmark::DoNotOptimize(embtab::lookup(t, ids.next(), out.span(), options)); });
  ns_per_token()[lookup_name(isa, type, s)] = ns;
  set_rate_counters(st, s.n, eb::bytes_per_token(t), ns);
  st.counters["of_ideal"] = ideal / ns;
}

void bm_memcpy(benchmark::State& st, int threads) {
  static eb::copy_buffers buffers(eb::copy_size());
  const std::size_t copy_bytes = buffers.bytes();
  for (auto _ : st) {
    buffers.copy(threads);
    benchmark::ClobberMemory();
  }
  st.counters["bytes/s"] = benchmark::Counter(
      static_cast<double>(st.iterations()) * 2.0 * static_cast<double>(copy_bytes),
      benchmark::Counter::kIsRate);
}

void bm_onehot(benchmark::State& st, bool blas, shape s) {
  use_shape(s.rows, s.dim);
  const auto& t = eb::cached_table(s.rows, s.dim, embtab::dtype::f32);
  eb::id_stream ids(s.rows, s.n, s.mode);
  std::vector<float> onehot;
  eb::out_buffer out(s.n * s.dim);
  const auto run = [&](std::span<const std::int32_t> w) {
    if (blas)
      eb::onehot_blas(t, w, onehot, out.data(), 1);
    else
      eb::onehot_naive(t, w, onehot, out.data());
  };
  run(ids.first());
  if (const auto e = eb::check_rows(t, ids.first(), out.span()); !e.empty())
    return st.SkipWithError(e.c_str());
  // The lookup this replaces: f32, the process's own ISA, same shape.
  (void)embtab::set_isa(default_isa());
  const std::string lookup = lookup_name(default_isa(), embtab::dtype::f32, s);
  double lookup_ns = 0;
  if (const auto it = ns_per_token().find(lookup); it != ns_per_token().end()) {
    lookup_ns = it->second;
  } else {
    const eb::timed_op op{[&] {
      benchmark::DoNotOptimize(embtab::lookup(t, ids.next(), out.span(), {.threads = 1}));
    }};
    lookup_ns = eb::measure_interleaved({&op, 1}, 0.02, 9)[0] / static_cast<double>(s.n);
  }
  ids.rewind();
  const loop_timer timer(s.threads);
  for (auto _ : st) {
    run(ids.next());
    benchmark::ClobberMemory();
  }
  const double ns = timer.ns_per(st.iterations() * s.n);
  set_rate_counters(st, s.n, 2 * s.dim * sizeof(float), ns);
  st.counters["lookup_speedup"] = ns / lookup_ns;
}

// A runtime's alternative to looking up a narrow table: dequantize the whole table to fp32
// once (at load), then gather fp32 rows. Reports the one-time cost, the memory it takes next
// to the stored table, and the per-token time of the gather it buys (embtab's f32 lookup on
// the dequantized table), to set against lookup/<isa>/<dtype>/... of the same shape.
void bm_dequantized(benchmark::State& st, embtab::dtype type, shape s) {
  use_shape(s.rows, s.dim);
  (void)embtab::set_isa(default_isa());
  const auto& stored = eb::cached_table(s.rows, s.dim, type);
  std::vector<float> all(s.rows * s.dim);
  std::vector<std::int32_t> every(s.rows);
  for (std::size_t r = 0; r < s.rows; ++r) every[r] = static_cast<std::int32_t>(r);
  const double t0 = eb::now_ns(eb::clock_kind::real);
  if (const auto r = embtab::lookup(stored, every, all, {.threads = 1}); !r.ok())
    return st.SkipWithError(r.message().c_str());
  const embtab::table f32 = embtab::table::from_f32(all, s.rows, s.dim);
  const double dequantize_ms = (eb::now_ns(eb::clock_kind::real) - t0) / 1e6;
  all = {};
  eb::id_stream ids(s.rows, s.n, s.mode);
  eb::out_buffer out(s.n * s.dim);
  const embtab::lookup_options options{.threads = s.threads};
  if (const auto r = embtab::lookup(f32, ids.first(), out.span(), options); !r.ok())
    return st.SkipWithError(r.message().c_str());
  const loop_timer timer(s.threads);
  for (auto _ : st) {
    benchmark::DoNotOptimize(embtab::lookup(f32, ids.next(), out.span(), options));
    benchmark::ClobberMemory();
  }
  const double ns = timer.ns_per(st.iterations() * s.n);
  set_rate_counters(st, s.n, eb::bytes_per_token(f32), ns);
  st.counters["dequantize_ms"] = dequantize_ms;
  st.counters["table_MiB"] = static_cast<double>(f32.bytes()) / (1 << 20);
  st.counters["stored_MiB"] = static_cast<double>(stored.bytes()) / (1 << 20);
  if (const auto it = ns_per_token().find(lookup_name(default_isa(), type, s)); it != ns_per_token().end())
    st.counters["lookup/dequantized"] = it->second / ns;
}

// Rows at any alignment: an owning (64-byte aligned) fp32 table against a view of the same
// rows starting `offset` bytes past a 64-byte boundary with stride = row bytes (a
// memory-mapped file's layout), and the ideal gather (memcpy per row) on both, timed
// round-robin in one go so the ratios come from the same machine conditions. One iteration;
// the counters are ns per token and the two ratios (view / owning).
void bm_alignment(benchmark::State& st, shape s, std::size_t offset) {
  use_shape(s.rows, s.dim);
  (void)embtab::set_isa(default_isa());
  const auto& own = eb::cached_table(s.rows, s.dim, embtab::dtype::f32);
  const auto& view = eb::cached_view(s.rows, s.dim, embtab::dtype::f32, offset);
  std::vector<eb::id_stream> ids;
  std::vector<eb::out_buffer> outs;
  for (std::size_t k = 0; k < 4; ++k) {
    ids.emplace_back(s.rows, s.n, s.mode, k, 4);
    outs.emplace_back(s.n * s.dim);
  }
  const embtab::lookup_options options{.threads = s.threads};
  for (const embtab::table* t : {&own, &view}) {
    if (const auto r = embtab::lookup(*t, ids[0].first(), outs[0].span(), options); !r.ok())
      return st.SkipWithError(r.message().c_str());
    if (const auto e = eb::check_rows(*t, ids[0].first(), outs[0].span()); !e.empty())
      return st.SkipWithError(e.c_str());
  }
  const eb::timed_op ops[] = {
      {[&] { benchmark::DoNotOptimize(embtab::lookup(own, ids[0].next(), outs[0].span(), options)); }, s.threads},
      {[&] { benchmark::DoNotOptimize(embtab::lookup(view, ids[1].next(), outs[1].span(), options)); }, s.threads},
      {[&] { eb::ideal_gather(own, ids[2].next(), outs[2].data(), s.threads); }, s.threads},
      {[&] { eb::ideal_gather(view, ids[3].next(), outs[3].data(), s.threads); }, s.threads}};
  std::vector<double> ns;
  for (auto _ : st) ns = eb::measure_interleaved(ops, 0.02, 25);
  const auto per_token = [&](std::size_t i) { return ns[i] / static_cast<double>(s.n); };
  st.counters["lookup_ns"] = per_token(0);
  st.counters["view_ns"] = per_token(1);
  st.counters["ideal_ns"] = per_token(2);
  st.counters["ideal_view_ns"] = per_token(3);
  st.counters["view/owning"] = ns[1] / ns[0];
  st.counters["ideal_view/owning"] = ns[3] / ns[2];
}

// threads = 1 vs the default options vs an OpenMP team through lookup_options::parallel, calls
// interleaved, quiet or beside a spinning thread (busy). f32, cold ids, one iteration.
bool& contention_omp() {
  static bool on = false;
  return on;
}

void bm_contention(benchmark::State& st, shape s, bool busy) {
  use_shape(s.rows, s.dim);
  (void)embtab::set_isa(default_isa());
  const auto& t = eb::cached_table(s.rows, s.dim, embtab::dtype::f32);
  const embtab::lookup_options options[] = {
      {.threads = 1}, {}, {.parallel = eb::openmp_parallel_for()}};
  const char* names[] = {"t1", "default", "omp"};
  const std::size_t ops_count = contention_omp() && options[2].parallel.run ? 3 : 2;
  std::vector<eb::id_stream> ids;
  std::vector<eb::out_buffer> outs;
  std::vector<std::function<void()>> ops;
  for (std::size_t k = 0; k < ops_count; ++k) {
    ids.emplace_back(s.rows, s.n, s.mode, k, ops_count);
    outs.emplace_back(s.n * s.dim);
  }
  for (std::size_t k = 0; k < ops_count; ++k) {
    if (const auto r = embtab::lookup(t, ids[k].first(), outs[k].span(), options[k]); !r.ok())
      return st.SkipWithError(r.message().c_str());
    if (const auto e = eb::check_rows(t, ids[k].first(), outs[k].span()); !e.empty())
      return st.SkipWithError(e.c_str());
    ops.emplace_back([&, k] { benchmark::DoNotOptimize(embtab::lookup(t, ids[k].next(), outs[k].span(), options[k])); });
  }
  std::vector<eb::call_stats> c;
  for (auto _ : st) {
    std::unique_ptr<eb::spinner> spin;
    if (busy) spin = std::make_unique<eb::spinner>();
    c = eb::time_calls_interleaved(ops, 3.0, 60, 3000);
  }
  const auto per_token = [&](double call_ns) { return call_ns / static_cast<double>(s.n); };
  for (std::size_t k = 0; k < ops_count; ++k) {
    st.counters[std::string(names[k]) + "_median"] = per_token(c[k].median);
    st.counters[std::string(names[k]) + "_p90"] = per_token(c[k].p90);
    st.counters[std::string(names[k]) + "_max"] = per_token(c[k].max);
  }
  st.counters["default/t1_p90"] = c[1].p90 / c[0].p90;
  st.counters["t1/default_median"] = c[0].median / c[1].median;
  st.counters["team"] = embtab::lookup_threads(s.n, s.dim);
}

// outputs/...: lookup into a runtime's activations, timed interleaved in one process (each
// op reads its own part of the cold id pool and takes its output from an eb::out_ring, cold).
// All ops run with the library's default streaming rule (see embtab::streaming_min_bytes)
// unless named otherwise.
// Times (x_ns) are medians over 41 rounds; ratios (x/f32) are paired (eb::paired_ratio): the
// median of each round's x / f32, timed in that round.
//   f32            f32 table -> fp32 out (the plain lookup every ratio divides by)
//   f16, bf16      f16 -> f16 and bf16 -> bf16 (a copy of the bits)
//   scale          f32 -> fp32 with scale 45.25 (sqrt(2048) in bf16, as Gemma)
//   positions      f32 + f32 position rows (GPT-2 wte + wpe), fused
//   lookup_then_add  the plain lookup, then a separate pass adding the position rows
//   positions_cached, cached_then_add  the same two with position rows a cache holds: a batch
//                  of N / 64 sequences of 64 tokens (position_ids i % 64, a 64-row table that
//                  every call reuses), as batched prefill of short prompts
// Cold position rows cost their bytes: fused, a token reads two rows and writes one, so a
// single thread bound by memory bandwidth takes about 1.5x the plain lookup's time at best.
void bm_outputs(benchmark::State& st, shape s) {
  use_shape(s.rows, s.dim);
  (void)embtab::set_isa(default_isa());
  using embtab::dtype;
  const auto& f32 = eb::cached_table(s.rows, s.dim, dtype::f32);
  const auto& f16 = eb::cached_table(s.rows, s.dim, dtype::f16);
  const auto& bf16 = eb::cached_table(s.rows, s.dim, dtype::bf16);
  const auto& pos = eb::cached_table(s.n, s.dim, dtype::f32);  // positions 0 .. n-1
  constexpr std::size_t sequence = 64;
  const auto& short_pos = eb::cached_table(sequence, s.dim, dtype::f32);
  std::vector<std::int64_t> short_ids(s.n);
  for (std::size_t i = 0; i < s.n; ++i) short_ids[i] = static_cast<std::int64_t>(i % sequence);
  constexpr std::size_t ops_count = 8;
  std::vector<eb::id_stream> ids;
  for (std::size_t k = 0; k < ops_count; ++k) ids.emplace_back(s.rows, s.n, s.mode, k, ops_count);
  eb::out_ring outs(ops_count, s.n * s.dim);
  const auto as16 = [&](eb::out_buffer& out, auto tag) {
    using T = decltype(tag);
    return std::span<T>(reinterpret_cast<T*>(out.data()), s.n * s.dim);
  };
  const embtab::lookup_options plain{.threads = s.threads};
  const embtab::lookup_options scaled{.threads = s.threads, .scale = 45.25f};
  const embtab::lookup_options positioned{.threads = s.threads, .positions = &pos};
  const embtab::lookup_options cached{.threads = s.threads, .positions = &short_pos, .position_ids = short_ids};
  // The separate pass: output row i += row i % rows of the position table (both tables' ids).
  const auto add_rows = [&](const embtab::table& p_table, float* out) {
    for (std::size_t i = 0; i < s.n; ++i) {
      const std::size_t p = i % p_table.rows();
      const auto* p_row = reinterpret_cast<const float*>(p_table.data() + p * p_table.row_stride());
      float* o = out + i * s.dim;
      for (std::size_t j = 0; j < s.dim; ++j) o[j] += p_row[j];
    }
  };
  // Fused and separate position adds give the same bits.
  for (const auto* fused : {&positioned, &cached}) {
    if (!embtab::lookup(f32, ids[4].first(), outs.at(0).span(), *fused).ok() ||
        !embtab::lookup(f32, ids[4].first(), outs.at(1).span(), plain).ok())
      return st.SkipWithError("lookup failed");
    add_rows(*fused->positions, outs.at(1).data());
    if (std::memcmp(outs.at(0).data(), outs.at(1).data(), s.n * s.dim * sizeof(float)) != 0)
      return st.SkipWithError("fused positions differ from lookup + add");
  }
  const auto run = [](embtab::status r) { benchmark::DoNotOptimize(r); };
  const eb::timed_op ops[ops_count] = {
      {[&] { run(embtab::lookup(f32, ids[0].next(), outs.next(0).span(), plain)); }, s.threads},
      {[&] { run(embtab::lookup(f16, ids[1].next(), as16(outs.next(1), embtab::f16{}), plain)); }, s.threads},
      {[&] { run(embtab::lookup(bf16, ids[2].next(), as16(outs.next(2), embtab::bf16{}), plain)); }, s.threads},
      {[&] { run(embtab::lookup(f32, ids[3].next(), outs.next(3).span(), scaled)); }, s.threads},
      {[&] { run(embtab::lookup(f32, ids[4].next(), outs.next(4).span(), positioned)); }, s.threads},
      {[&] {
         auto& out = outs.next(5);
         run(embtab::lookup(f32, ids[5].next(), out.span(), plain));
         add_rows(pos, out.data());
       }, s.threads},
      {[&] { run(embtab::lookup(f32, ids[6].next(), outs.next(6).span(), cached)); }, s.threads},
      {[&] {
         auto& out = outs.next(7);
         run(embtab::lookup(f32, ids[7].next(), out.span(), plain));
         add_rows(short_pos, out.data());
       }, s.threads}};
  std::vector<std::vector<double>> reps;
  for (auto _ : st) reps = eb::measure_interleaved_reps(ops, 0.02, 41);
  const char* names[ops_count] = {"f32",  "f16", "bf16", "scale", "positions", "lookup_then_add",
                                  "positions_cached", "cached_then_add"};
  for (std::size_t k = 0; k < ops_count; ++k) {
    st.counters[std::string(names[k]) + "_ns"] = eb::summarize(reps[k]).median / static_cast<double>(s.n);
    if (k > 0) st.counters[std::string(names[k]) + "/f32"] = eb::paired_ratio(reps[k], reps[0]);
  }
  st.counters["streams"] = s.n * s.dim * sizeof(float) >= embtab::streaming_min_bytes() ? 1 : 0;
}

// outputs/streaming: fp32 out with streaming stores forced on, forced off, and the ideal
// gather (one memcpy per row), interleaved; then the first two again, each followed by what a
// runtime's next layer does first, reading the output (a word of every cache line): the case
// the automatic rule (stream outputs of at least half the last-level cache) is made for.
// Outputs come from an eb::out_ring: each call finds its output evicted (cold), as after a
// pass over a model's weights. The last two ops (warm_...) write one buffer each, call after
// call, so their output is as cached as its size allows: a loop reusing its buffer.
void bm_streaming(benchmark::State& st, shape s) {
  use_shape(s.rows, s.dim);
  (void)embtab::set_isa(default_isa());
  const auto& f32 = eb::cached_table(s.rows, s.dim, embtab::dtype::f32);
  std::vector<eb::id_stream> ids;
  constexpr std::size_t ops_count = 7;
  for (std::size_t k = 0; k < ops_count; ++k) ids.emplace_back(s.rows, s.n, s.mode, k, ops_count);
  eb::out_ring outs(ops_count, s.n * s.dim);
  eb::out_buffer warm_on(s.n * s.dim), warm_off(s.n * s.dim);  // each reused by one op: warm
  const std::size_t rule = embtab::streaming_min_bytes();
  const auto read = [&](eb::out_buffer& out) {
    std::uint32_t sum = 0;
    const float* p = out.data();
    for (std::size_t i = 0; i < s.n * s.dim; i += 16) {
      std::uint32_t bits;
      std::memcpy(&bits, p + i, sizeof bits);
      sum += bits;
    }
    benchmark::DoNotOptimize(sum);
  };
  const embtab::lookup_options on{.threads = s.threads, .streaming_stores = true};
  const embtab::lookup_options off{.threads = s.threads};
  const auto lookup_off = [&](std::size_t k, eb::out_buffer& out) {
    embtab::set_streaming_min_bytes(SIZE_MAX);
    benchmark::DoNotOptimize(embtab::lookup(f32, ids[k].next(), out.span(), off));
    embtab::set_streaming_min_bytes(rule);
  };
  if (!embtab::lookup(f32, ids[0].first(), outs.at(0).span(), on).ok())
    return st.SkipWithError("lookup failed");
  if (const auto e = eb::check_rows(f32, ids[0].first(), outs.at(0).span()); !e.empty())
    return st.SkipWithError(e.c_str());
  const eb::timed_op ops[] = {
      {[&] { benchmark::DoNotOptimize(embtab::lookup(f32, ids[0].next(), outs.next(0).span(), on)); }, s.threads},
      {[&] { lookup_off(1, outs.next(1)); }, s.threads},
      {[&] { eb::ideal_gather(f32, ids[2].next(), outs.next(2).data(), s.threads); }, s.threads},
      {[&] {
         auto& out = outs.next(3);
         benchmark::DoNotOptimize(embtab::lookup(f32, ids[3].next(), out.span(), on));
         read(out);
       }, s.threads},
      {[&] {
         auto& out = outs.next(4);
         lookup_off(4, out);
         read(out);
       }, s.threads},
      {[&] {
         benchmark::DoNotOptimize(embtab::lookup(f32, ids[5].next(), warm_on.span(), on));
         read(warm_on);
       }, s.threads},
      {[&] {
         lookup_off(6, warm_off);
         read(warm_off);
       }, s.threads}};
  std::vector<std::vector<double>> reps;
  for (auto _ : st) reps = eb::measure_interleaved_reps(ops, 0.02, 41);
  const auto per_token = [&](std::size_t k) { return eb::summarize(reps[k]).median / static_cast<double>(s.n); };
  st.counters["stream_ns"] = per_token(0);
  st.counters["nostream_ns"] = per_token(1);
  st.counters["ideal_ns"] = per_token(2);
  st.counters["ideal/stream"] = eb::paired_ratio(reps[2], reps[0]);
  st.counters["ideal/nostream"] = eb::paired_ratio(reps[2], reps[1]);
  st.counters["stream_then_read_ns"] = per_token(3);
  st.counters["nostream_then_read_ns"] = per_token(4);
  st.counters["then_read:nostream/stream"] = eb::paired_ratio(reps[4], reps[3]);
  st.counters["warm_then_read:nostream/stream"] = eb::paired_ratio(reps[6], reps[5]);
  st.counters["rule_MiB"] = static_cast<double>(rule >> 20);
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return out;
}

benchmark::internal::Benchmark* timed(benchmark::internal::Benchmark* b, int threads) {
  b->Unit(benchmark::kMicrosecond);
  if (threads > 1) b->MeasureProcessCPUTime()->UseRealTime();
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> isas = {default_isa()};
  std::vector<int> threads = {1};
  if (eb::max_threads() > 1) threads.push_back(eb::max_threads());
  // Take our flags out of argv before Google Benchmark sees it, and put a shorter default
  // --benchmark_min_time first (a later one on the command line wins): a memory-bound loop is
  // stable after 0.25 s, and the suite has hundreds of rows.
  std::vector<char*> args = {argv[0], const_cast<char*>("--benchmark_min_time=0.25")};
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--embtab_isa=")) {
      const auto v = a.substr(13);
      isas.clear();
      if (v == "all")
        for (const auto isa : embtab::supported_isas()) isas.emplace_back(isa);
      else if (v == "active")
        isas.push_back(default_isa());
      else
        isas = split(v);
    } else if (a == "--embtab_contention_omp") {
      contention_omp() = true;
    } else if (a.starts_with("--embtab_threads=")) {
      threads.clear();
      for (const auto& t : split(a.substr(17))) threads.push_back(std::atoi(t.c_str()));
    } else {
      args.push_back(argv[i]);
    }
  }
  argc = static_cast<int>(args.size());
  args.push_back(nullptr);
  argv = args.data();

  for (const int k : threads)
    timed(benchmark::RegisterBenchmark(("memcpy/" + std::to_string(eb::copy_size() >> 20) +
                                        "MiB/threads:" + std::to_string(k))
                                           .c_str(),
                                       bm_memcpy, k),
          k);
  for (const std::size_t rows : vocab_sizes)
    for (const std::size_t dim : dims)
      for (const std::size_t n : batch_sizes)
        for (const int k : threads)
          for (const ids_mode mode : {ids_mode::cold, ids_mode::hot}) {
            const shape s{rows, dim, n, k, mode};
            timed(benchmark::RegisterBenchmark(ideal_name(s).c_str(), bm_ideal, s), k);
            for (const auto& isa : isas)
              for (const embtab::dtype type : embtab::all_dtypes())
                if (dim % embtab::info(type).block_values == 0)
                  timed(benchmark::RegisterBenchmark(lookup_name(isa, type, s).c_str(),
                                                     bm_lookup, isa, type, s),
                        k);
          }
  for (const embtab::dtype type : embtab::all_dtypes())
    for (const std::size_t n : {std::size_t{32}, std::size_t{512}})
      if (type != embtab::dtype::f32) {
        const shape s{32000, 4096, n, 1, ids_mode::cold};
        benchmark::RegisterBenchmark(
            ("dequantized/" + std::string(embtab::info(type).name) + "/" + s.suffix()).c_str(),
            bm_dequantized, type, s)
            ->Unit(benchmark::kMicrosecond);
      }
  for (const std::size_t dim : {std::size_t{384}, std::size_t{4096}})
    for (const std::size_t n : {std::size_t{32}, std::size_t{512}})
      for (const ids_mode mode : {ids_mode::cold, ids_mode::hot}) {
        const shape s{32000, dim, n, 1, mode};
        benchmark::RegisterBenchmark(("alignment/f32/offset:24/" + s.suffix()).c_str(),
                                     bm_alignment, s, std::size_t{24})
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
      }
  for (const bool busy : {false, true})
    for (const std::size_t dim : dims)
      for (const std::size_t n : {std::size_t{512}, std::size_t{4096}}) {
        const shape s{32000, dim, n, 0, ids_mode::cold};
        const std::string name = std::string(busy ? "busy" : "quiet") + "/f32/V:32000/D:" + std::to_string(dim) +
                                 "/N:" + std::to_string(n) + "/cold";
        benchmark::RegisterBenchmark(name.c_str(), bm_contention, s, busy)->Iterations(1)->Unit(benchmark::kMillisecond);
      }
  for (const std::size_t n : {std::size_t{512}, std::size_t{4096}}) {
    const shape s{32000, 4096, n, 1, ids_mode::cold};
    benchmark::RegisterBenchmark(("outputs/" + s.suffix()).c_str(), bm_outputs, s)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  for (const std::size_t n : {std::size_t{16}, std::size_t{64}, std::size_t{256}, std::size_t{512}, std::size_t{1024}, std::size_t{4096}}) {
    const shape s{32000, 4096, n, 1, ids_mode::cold};
    benchmark::RegisterBenchmark(("outputs/streaming/" + s.suffix()).c_str(), bm_streaming, s)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
  for (const std::size_t n : onehot_naive_n) {
    const shape s{onehot_rows, onehot_dim, n, 1, ids_mode::cold};
    benchmark::RegisterBenchmark(("onehot_naive/" + s.suffix()).c_str(), bm_onehot, false, s)
        ->Unit(benchmark::kMillisecond);
  }
  if (eb::have_blas()) {
    for (const std::size_t n : onehot_blas_n) {
      const shape s{onehot_rows, onehot_dim, n, 1, ids_mode::cold};
      benchmark::RegisterBenchmark(("onehot_blas/" + s.suffix()).c_str(), bm_onehot, true, s)
          ->Unit(benchmark::kMillisecond);
    }
  } else {
    std::fprintf(stderr, "embtab_bench: onehot_blas skipped: BLAS %s\n", eb::blas_name());
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("embtab", EMBTAB_VERSION_STRING);
  benchmark::AddCustomContext("embtab_active_isa", std::string(embtab::active_isa()));
  benchmark::AddCustomContext("blas", eb::blas_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
