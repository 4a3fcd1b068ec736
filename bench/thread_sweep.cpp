// embtab_thread_sweep: lookups of f32, int8_rowwise and q8_0 on 1..max threads against the
// ideal gather and the memcpy bandwidth, V=32000 D=4096 N=4096 cold ids (by default), each on
// embtab's own pool (the default options, threads capped) and on an OpenMP team handed in as
// lookup_options::parallel with one contiguous block of tasks per thread (what lookup did before
// the pool). Prints one markdown table of ns/token (memcpy: GB/s read + write), wall clock on
// every row (1 thread included, so rows compare). Ops of one thread count are timed
// round-robin, so each row's ratios come from the same conditions.
//
//   embtab_thread_sweep [threads,...] (default 1,2,4,8,12,16, capped at OpenMP's team)
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_core.hpp"

namespace eb = embtab::bench;

namespace {

int team_for_hook = 1;

// One contiguous block of tasks per thread, the closing barrier included: the old design.
void openmp_static(void*, std::size_t tasks, void (*task)(void*, std::size_t), void* context) {
  const auto n = static_cast<std::int64_t>(tasks);
#pragma omp parallel for schedule(static) num_threads(team_for_hook)
  for (std::int64_t i = 0; i < n; ++i) task(context, static_cast<std::size_t>(i));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sweep = {1, 2, 4, 8, 12, 16};
  if (argc > 1) {
    sweep.clear();
    for (std::string s = argv[1]; !s.empty();) {
      const auto comma = s.find(',');
      sweep.push_back(std::atoi(s.substr(0, comma).c_str()));
      s = comma == std::string::npos ? "" : s.substr(comma + 1);
    }
  }
  const std::size_t rows = 32000, dim = 4096, n = 4096;
  const embtab::dtype types[] = {embtab::dtype::f32, embtab::dtype::int8_rowwise, embtab::dtype::q8_0};
  std::printf("embtab %s on %s (%s), V=%zu D=%zu N=%zu cold, ns/token (memcpy: GB/s), OpenMP team %d\n\n",
              EMBTAB_VERSION_STRING, eb::cpu_name().c_str(), std::string(embtab::active_isa()).c_str(), rows, dim, n,
              eb::max_threads());
  std::printf("| threads | memcpy GB/s | ideal | f32 | f32 omp | int8_rowwise | int8_rowwise omp | q8_0 | q8_0 omp |\n"
              "|---|---|---|---|---|---|---|---|---|\n");
  eb::copy_buffers buffers(eb::copy_size());
  for (const auto type : types) (void)eb::cached_table(rows, dim, type);
  const auto& f32 = eb::cached_table(rows, dim, embtab::dtype::f32);
  for (const int threads : sweep) {
    if (threads < 1 || threads > eb::max_threads()) continue;
    team_for_hook = embtab::lookup_threads(n, dim, {.threads = threads});
    const std::size_t parts = 2 + 2 * std::size(types);
    std::vector<std::unique_ptr<eb::id_stream>> ids;
    std::vector<std::unique_ptr<eb::out_buffer>> outs;
    for (std::size_t k = 0; k < parts; ++k) {
      ids.push_back(std::make_unique<eb::id_stream>(rows, n, eb::ids_mode::cold, k, parts));
      outs.push_back(std::make_unique<eb::out_buffer>(n * dim));
    }
    // Two groups, each timed round-robin: what runs on OpenMP (memcpy, ideal, the OpenMP-team
    // lookups), then the own pool's lookups. libgomp's idle workers spin for milliseconds after
    // each region and would steal the pool's cores if the two were interleaved.
    // timed_op::threads picks the clock: > 1 is wall time, for every row.
    const int clock = 2;
    std::vector<eb::timed_op> openmp_ops, pool_ops;
    openmp_ops.push_back({[&] { buffers.copy(threads); }, clock});
    openmp_ops.push_back({[&] { eb::ideal_gather(f32, ids[1]->next(), outs[1]->data(), threads); }, clock});
    std::size_t k = 2;
    for (const auto type : types) {
      const auto& t = eb::cached_table(rows, dim, type);
      for (const bool omp : {false, true}) {
        const embtab::lookup_options options{.threads = threads,
                                             .parallel = {.run = omp && threads > 1 ? openmp_static : nullptr}};
        eb::id_stream& s = *ids[k];
        eb::out_buffer& o = *outs[k];
        const embtab::status st = embtab::lookup(t, s.first(), o.span(), options);
        const std::string e = st.ok() ? eb::check_rows(t, s.first(), o.span()) : st.message();
        if (!e.empty()) {
          std::fprintf(stderr, "wrong output: %s\n", e.c_str());
          return 1;
        }
        (omp ? openmp_ops : pool_ops)
            .push_back({[&t, &s, &o, options] { (void)embtab::lookup(t, s.next(), o.span(), options); }, clock});
        ++k;
      }
    }
    const auto omp_ns = eb::measure_interleaved(openmp_ops, 0.05, 9);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto pool_ns = eb::measure_interleaved(pool_ops, 0.05, 9);
    const auto tok = [&](double call_ns) { return call_ns / static_cast<double>(n); };
    std::printf("| %d | %.1f | %.0f", threads, 2.0 * static_cast<double>(buffers.bytes()) / omp_ns[0], tok(omp_ns[1]));
    for (std::size_t i = 0; i < std::size(types); ++i) std::printf(" | %.0f | %.0f", tok(pool_ns[i]), tok(omp_ns[2 + i]));
    std::printf(" |\n");
    std::fflush(stdout);
  }
  return 0;
}
