// `embtab bench`: a curated subset of bench/embtab_bench that answers, in one run of at most
// two minutes, how close lookups come to the memory limit, how much faster they are than the
// one-hot matmul, what a second thread buys and how the dtypes compare.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_core.hpp"
#include "bench_report.hpp"
#include "commands.hpp"
#include "model_args.hpp"

namespace embtab::tool {
namespace {

namespace eb = embtab::bench;
using eb::ids_mode;

struct bench_options {
  std::string out = "embtab-results";
  bool quick = false;
  int threads = eb::max_threads();
  std::string model;   // --model FILE: time that file's table instead
  std::string tensor;  // --tensor NAME: that tensor instead of the token table
};

// Timing effort per mode: each op is timed `reps` times round-robin, each rep ~rep_seconds.
struct effort {
  double rep_seconds;
  int reps;
  int onehot_reps;
  double budget_seconds;  // steps left when this is spent are skipped (with a note)
};
constexpr effort quick_effort{0.03, 7, 3, 50};
constexpr effort full_effort{0.03, 9, 5, 110};

// The one-hot comparison of issue 4 (a GPT-2-sized row, Llama-2's vocabulary).
constexpr std::size_t onehot_rows = 32000, onehot_dim = 768, onehot_n = 32;

// One step: the ideal gather and every dtype's lookup of one shape, timed round-robin.
struct group {
  std::size_t rows, dim, n;
  int threads;
  ids_mode mode;
};

std::vector<group> plan(bool quick, int threads) {
  std::vector<group> g;
  const auto add = [&](std::size_t rows, std::size_t dim, std::vector<std::size_t> cold,
                       std::vector<std::size_t> threaded, std::vector<std::size_t> hot) {
    for (const auto n : cold) g.push_back({rows, dim, n, 1, ids_mode::cold});
    if (threads > 1)
      for (const auto n : threaded) g.push_back({rows, dim, n, threads, ids_mode::cold});
    for (const auto n : hot) g.push_back({rows, dim, n, 1, ids_mode::hot});
  };
  if (quick) {
    add(32000, 4096, {1, 32, 512, 4096}, {512, 4096}, {32});
    add(onehot_rows, onehot_dim, {onehot_n}, {}, {});
  } else {
    add(32000, 4096, {1, 32, 512, 4096}, {512, 4096}, {32, 512});
    add(128256, 4096, {1, 32, 512, 4096}, {512, 4096}, {32});
    add(onehot_rows, onehot_dim, {1, 32, 512, 4096}, {512, 4096}, {32});
  }
  return g;
}

std::string describe(const group& g) {
  return "V=" + std::to_string(g.rows) + " D=" + std::to_string(g.dim) +
         " N=" + std::to_string(g.n) + " " + eb::to_string(g.mode) + ", " +
         std::to_string(g.threads) + (g.threads == 1 ? " thread" : " threads");
}

// One status line on stderr, rewritten in place on a terminal.
class progress {
 public:
  explicit progress(std::size_t steps)
      : steps_(steps), tty_(isatty(fileno(stderr))), t0_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  void step(const std::string& what) {
    ++done_;
    std::fprintf(stderr, "%s[%2zu/%zu %5.1f s] %-60s%s", tty_ ? "\r" : "", done_, steps_, seconds(),
                 what.c_str(), tty_ ? "" : "\n");
    std::fflush(stderr);
  }
  void finish() {
    if (tty_) std::fprintf(stderr, "\r%-80s\r", "");
  }

 private:
  std::size_t steps_, done_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point t0_;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// Times one group; appends a row per dtype. Returns false if an output was wrong.
bool run_group(const group& g, const effort& e, bench_report& report) {
  const auto& f32 = eb::cached_table(g.rows, g.dim, embtab::dtype::f32);
  const std::span<const embtab::dtype> dtypes = embtab::all_dtypes();
  const std::size_t dtype_count = dtypes.size();
  const std::size_t parts = dtype_count + 1;
  eb::out_buffer out(g.n * g.dim);
  bool ok = true;
  std::vector<eb::timed_op> ops;
  std::vector<embtab::dtype> timed;  // the dtype of ops[1 + i]

  auto ideal_ids = std::make_shared<eb::id_stream>(g.rows, g.n, g.mode, 0, parts);
  eb::ideal_gather(f32, ideal_ids->first(), out.data(), g.threads);
  if (const auto err = eb::check_rows(f32, ideal_ids->first(), out.span());
      !err.empty()) {
    report.notes.push_back("ideal gather wrong at " + describe(g) + ": " + err);
    return false;
  }
  ops.push_back(
      {[&, ideal_ids] { eb::ideal_gather(f32, ideal_ids->next(), out.data(), g.threads); },
       g.threads});

  for (std::size_t d = 0; d < dtype_count; ++d) {
    const embtab::dtype type = dtypes[d];
    if (g.dim % embtab::info(type).block_values != 0) continue;  // no such table
    const auto& t = eb::cached_table(g.rows, g.dim, type);
    auto ids = std::make_shared<eb::id_stream>(g.rows, g.n, g.mode, d + 1, parts);
    const embtab::lookup_options options{.threads = g.threads};
    const auto s = embtab::lookup(t, ids->first(), out.span(), options);
    std::string err = s.ok() ? eb::check_rows(t, ids->first(), out.span()) : s.message();
    if (!err.empty()) {
      report.notes.push_back("lookup " + std::string(embtab::info(type).name) + " wrong at " + describe(g) +
                             ", row left out: " + err);
      ok = false;
      continue;
    }
    ops.push_back(
        {[&t, &out, ids, options] { (void)embtab::lookup(t, ids->next(), out.span(), options); },
         g.threads});
    timed.push_back(type);
  }

  const auto stats = eb::measure_interleaved_stats(ops, e.rep_seconds, e.reps);
  const auto per_token = [&](double call_ns) { return call_ns / static_cast<double>(g.n); };
  const double ideal = per_token(stats[0].median);
  for (std::size_t i = 0; i < timed.size(); ++i) {
    const auto& t = eb::cached_table(g.rows, g.dim, timed[i]);
    bench_row row;
    row.rows = g.rows;
    row.dim = g.dim;
    row.n = g.n;
    row.dtype = embtab::info(timed[i]).name;
    row.threads = g.threads;
    row.mode = eb::to_string(g.mode);
    row.ns_per_token = per_token(stats[i + 1].median);
    row.p90_ns_per_token = per_token(stats[i + 1].p90);
    row.max_ns_per_token = per_token(stats[i + 1].max);
    row.gbps = static_cast<double>(eb::bytes_per_token(t)) / row.ns_per_token;
    row.ideal_ns_per_token = ideal;
    row.ideal_gbps = static_cast<double>(2 * g.dim * sizeof(float)) / ideal;
    row.of_ideal = ideal / row.ns_per_token;
    report.rows.push_back(row);
  }
  return ok;
}

bool run_onehot(const effort& e, bench_report& report) {
  const auto& f32 = eb::cached_table(onehot_rows, onehot_dim, embtab::dtype::f32);
  eb::id_stream ids(onehot_rows, onehot_n, ids_mode::cold);
  std::vector<float> scratch;
  eb::out_buffer out(onehot_n * onehot_dim);
  report.onehot_rows = onehot_rows;
  report.onehot_dim = onehot_dim;
  report.onehot_n = onehot_n;
  std::vector<eb::timed_op> ops;
  std::vector<double*> into;
  eb::onehot_naive(f32, ids.first(), scratch, out.data());
  if (const auto err = eb::check_rows(f32, ids.first(), out.span());
      !err.empty()) {
    report.notes.push_back("onehot_naive wrong: " + err);
    return false;
  }
  ops.push_back({[&] { eb::onehot_naive(f32, ids.next(), scratch, out.data()); }});
  into.push_back(&report.onehot_naive_ns_per_token);
  if (eb::onehot_blas(f32, ids.first(), scratch, out.data(), 1)) {
    if (const auto err = eb::check_rows(f32, ids.first(), out.span());
        !err.empty()) {
      report.notes.push_back("onehot_blas wrong: " + err);
      return false;
    }
    ops.push_back({[&] { eb::onehot_blas(f32, ids.next(), scratch, out.data(), 1); }});
    into.push_back(&report.onehot_blas_ns_per_token);
  } else {
    report.notes.push_back(std::string("one-hot BLAS skipped: ") + eb::blas_name());
  }
  const auto ns = eb::measure_interleaved(ops, 0.0, e.onehot_reps);
  for (std::size_t i = 0; i < ops.size(); ++i) *into[i] = ns[i] / static_cast<double>(onehot_n);
  for (auto& row : report.rows)
    if (row.rows == onehot_rows && row.dim == onehot_dim && row.n == onehot_n && row.threads == 1 &&
        row.mode == "cold" && row.dtype == "f32") {
      row.onehot_naive_x = report.onehot_naive_ns_per_token / row.ns_per_token;
      if (report.onehot_blas_ns_per_token > 0)
        row.onehot_blas_x = report.onehot_blas_ns_per_token / row.ns_per_token;
    }
  return true;
}

void run_memcpy(const effort& e, bench_report& report) {
  eb::copy_buffers buffers(eb::copy_size());
  const std::size_t memcpy_bytes = buffers.bytes();
  // On the clocks the lookups use (CPU time on 1 thread, real time on more), so the memcpy
  // line and the lookup rows compare like with like.
  std::vector<eb::timed_op> ops{{[&] { buffers.copy(1); }, 1}};
  if (report.threads > 1) ops.push_back({[&] { buffers.copy(report.threads); }, report.threads});
  const auto ns = eb::measure_interleaved(ops, e.rep_seconds, e.reps);
  const auto gbps = [&](double call_ns) {
    return 2.0 * static_cast<double>(memcpy_bytes) / call_ns;
  };
  report.memcpy_bytes = memcpy_bytes;
  report.memcpy_gbps_1 = gbps(ns[0]);
  report.memcpy_gbps_n = report.threads > 1 ? gbps(ns[1]) : report.memcpy_gbps_1;
}

// This process's run_info.
run_info this_run(bool quick) {
  return {EMBTAB_VERSION_STRING, std::string(embtab::active_isa()), eb::cpu_name(), utc_now(), quick};
}

int run_bench(const bench_options& opt) {
  const effort& e = opt.quick ? quick_effort : full_effort;
  bench_report report;
  report.run = this_run(opt.quick);
  report.blas = eb::blas_name();
  report.threads = std::min(opt.threads, eb::max_threads());
  if (report.threads < opt.threads)
    report.notes.push_back("--threads " + std::to_string(opt.threads) + " capped at OpenMP's " +
                           std::to_string(report.threads));

  // Others' work on the machine shows in every figure: say so when the run starts busy.
  if (std::ifstream load("/proc/loadavg"); load) {
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    double load1 = 0;
    if (load >> load1 && load1 >= 0.5 * cpus)
      report.notes.push_back("load average " + std::to_string(load1).substr(0, 4) + " on " +
                             std::to_string(cpus) +
                             " CPUs when the run started: if other processes are still running, "
                             "every figure, threaded rows most, reads low");
  }

  const std::filesystem::path dir = opt.out;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "embtab bench: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return 1;
  }

  const auto groups = plan(opt.quick, report.threads);
  progress bar(groups.size() + 2);
  bool ok = true;
  bar.step("memcpy " + std::to_string(eb::copy_size() >> 20) + " MiB");
  run_memcpy(e, report);
  std::size_t skipped = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const group& g = groups[i];
    if (bar.seconds() > e.budget_seconds) {
      ++skipped;
      continue;
    }
    bar.step("lookup " + describe(g) + (eb::is_cached(g.rows, g.dim) ? "" : " (building tables)"));
    ok &= run_group(g, e, report);
    // Free a shape's tables once its last group ran (the 128256 x 4096 fp32 one is 2 GiB).
    const bool last_of_shape =
        i + 1 == groups.size() || groups[i + 1].rows != g.rows || groups[i + 1].dim != g.dim;
    if (last_of_shape && !(g.rows == onehot_rows && g.dim == onehot_dim)) eb::drop_tables();
  }
  if (bar.seconds() > e.budget_seconds) {
    ++skipped;
  } else {
    bar.step("one-hot matmul V=" + std::to_string(onehot_rows) +
             " D=" + std::to_string(onehot_dim) + " N=" + std::to_string(onehot_n));
    ok &= run_onehot(e, report);
  }
  eb::drop_tables();
  if (skipped > 0)
    report.notes.push_back("time budget of " + std::to_string(static_cast<int>(e.budget_seconds)) +
                           " s spent: " + std::to_string(skipped) + " steps skipped");
  report.seconds = bar.seconds();
  bar.finish();

  std::fputs(format_text(report).c_str(), stdout);
  const auto write = [&](const char* name, const std::string& text) {
    std::ofstream f(dir / name);
    f << text;
    if (!f) {
      std::fprintf(stderr, "embtab bench: cannot write %s\n", (dir / name).c_str());
      ok = false;
    }
  };
  write("results.json", format_json(report));
  write("results.md", format_markdown(report));
  std::string why;
  const bool plotted = write_plot(dir / "results.json", dir / "plot.png", why);
  std::printf("\nwrote %s, %s%s\n", (dir / "results.json").c_str(), (dir / "results.md").c_str(),
              plotted ? (", " + (dir / "plot.png").string()).c_str() : "");
  if (!plotted) std::printf("plot.png not written: %s\n", why.c_str());
  return ok ? 0 : 1;
}

// `bench --model`: the file's table in its stored dtype, as a view of the mapping (what a
// runtime gets from model_file::load) and as an owning copy, next to the ideal gather over an
// fp32 table of the same shape, each timed round-robin with its own ids.
int run_model_bench(const bench_options& opt) {
  const model_file file = open_model("bench", opt.model);
  const tensor_info& tensor = pick_tensor("bench", file, opt.tensor);
  const table view = file.load(tensor);
  const table copy = file.load(tensor, true);
  const std::size_t rows = view.rows(), dim = view.dim();
  const int threads = std::min(opt.threads, eb::max_threads());
  std::printf("embtab bench --model %s\n%s: %s, %zu x %zu (%llu bytes), isa %.*s, %s\n", opt.model.c_str(),
              tensor.name.c_str(), to_string(tensor.type), rows, dim, static_cast<unsigned long long>(tensor.bytes),
              static_cast<int>(active_isa().size()), active_isa().data(), eb::cpu_name().c_str());
  std::fflush(stdout);
  const table& f32 = eb::cached_table(rows, dim, dtype::f32);  // the ideal gather's rows
  const effort& e = opt.quick ? quick_effort : full_effort;
  model_bench_report report;
  report.run = this_run(opt.quick);
  report.model = opt.model;
  report.tensor = tensor.name;
  report.dtype = to_string(tensor.type);
  report.rows = rows;
  report.dim = dim;
  report.bytes = static_cast<std::size_t>(tensor.bytes);
  std::printf("\n%-5s %-4s %-7s %14s %22s %22s\n", "N", "ids", "threads", "ideal ns/tok", "wrapped ns/tok (ideal)",
              "copied ns/tok (ideal)");
  std::vector<int> thread_counts{1};
  if (threads > 1) thread_counts.push_back(threads);
  for (const ids_mode mode : {ids_mode::cold, ids_mode::hot})
    for (const std::size_t n : {std::size_t{1}, std::size_t{32}, std::size_t{512}})
      for (const int th : thread_counts) {
        if (th > 1 && (mode == ids_mode::hot || n < 512)) continue;
        eb::out_buffer out(n * dim), check(n * dim);
        auto ideal_ids = std::make_shared<eb::id_stream>(rows, n, mode, 0, 3);
        auto view_ids = std::make_shared<eb::id_stream>(rows, n, mode, 1, 3);
        auto copy_ids = std::make_shared<eb::id_stream>(rows, n, mode, 2, 3);
        const lookup_options options{.threads = th};
        // The view and the copy must give the same rows, bit for bit (NaN as any NaN).
        const auto a = lookup(view, view_ids->first(), out.span(), options);
        const auto b = lookup(copy, view_ids->first(), check.span(), options);
        for (std::size_t i = 0; a.ok() && b.ok() && i < n * dim; ++i) {
          const float x = out.data()[i], y = check.data()[i];
          if (std::memcmp(&x, &y, 4) != 0 && !(x != x && y != y)) {
            std::fprintf(stderr, "embtab bench: view and copy of %s differ at value %zu\n", tensor.name.c_str(), i);
            return 1;
          }
        }
        if (!a.ok() || !b.ok()) {
          std::fprintf(stderr, "embtab bench: %s\n", (a.ok() ? b : a).message().c_str());
          return 1;
        }
        const std::vector<eb::timed_op> ops{
            {[&, ideal_ids] { eb::ideal_gather(f32, ideal_ids->next(), out.data(), th); }, th},
            {[&, view_ids, options] { (void)lookup(view, view_ids->next(), out.span(), options); }, th},
            {[&, copy_ids, options] { (void)lookup(copy, copy_ids->next(), out.span(), options); }, th}};
        const auto ns = eb::measure_interleaved(ops, e.rep_seconds, e.reps);
        const auto per = [&](double x) { return x / static_cast<double>(n); };
        char wrapped[40], copied[40];
        std::snprintf(wrapped, sizeof wrapped, "%.1f (%.2fx)", per(ns[1]), ns[0] / ns[1]);
        std::snprintf(copied, sizeof copied, "%.1f (%.2fx)", per(ns[2]), ns[0] / ns[2]);
        std::printf("%-5zu %-4s %-7d %14.1f %22s %22s\n", n, eb::to_string(mode), th, per(ns[0]), wrapped, copied);
        std::fflush(stdout);
        report.results.push_back({n, eb::to_string(mode), th, per(ns[0]), per(ns[1]), per(ns[2])});
      }
  std::printf("\nns/tok: median time per looked-up token; (ideal): the ideal gather's time / this one's "
              "(1.00x = memcpy speed). The ideal gather copies fp32 rows of the same shape.\n");
  eb::drop_tables();
  const std::filesystem::path dir = opt.out;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path json = dir / "model-results.json";
  std::ofstream f(json);
  f << format_model_json(report);
  if (!f) {
    std::fprintf(stderr, "embtab bench: cannot write %s%s%s\n", json.c_str(), ec ? ": " : "",
                 ec ? ec.message().c_str() : "");
    return 1;
  }
  std::printf("wrote %s\n", json.c_str());
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto opt = std::make_shared<bench_options>();
  auto* cmd = app.add_subcommand(
      "bench", "Time lookups against memcpy and the one-hot matmul; print a table, write a report");
  cmd->footer(
      "Every dtype, cold and hot ids, 1 and --threads threads, at most 2 minutes (--quick: under "
      "one). Writes results.json, results.md and plot.png (needs /usr/bin/python3 with "
      "matplotlib) into --out; with --model, model-results.json.");
  cmd->add_option("--out", opt->out, "Directory for results.json, results.md and plot.png")
      ->capture_default_str();
  cmd->add_flag("--quick", opt->quick, "A smaller set (one D=4096 shape), well under a minute");
  cmd->add_option("--threads", opt->threads, "Thread count of the threaded rows")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  auto* model = cmd->add_option("--model", opt->model,
                                "A GGUF or safetensors file: time its token table (wrapped and copied) instead");
  cmd->add_option("--tensor", opt->tensor, "With --model: the 2-D tensor to time (default: the token table)")
      ->needs(model);
  cmd->callback([opt] {
    if (const int rc = opt->model.empty() ? run_bench(*opt) : run_model_bench(*opt); rc != 0)
      throw CLI::RuntimeError(rc);
  });
}

}  // namespace embtab::tool
