// What `embtab bench` measured, and its renderings: the text table, results.json, results.md
// and plot.png (through bench/plot.py, carried in the binary).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace embtab::tool {

// One lookup measurement: a dtype at one shape, thread count and ids mode.
struct bench_row {
  std::size_t rows = 0, dim = 0, n = 0;
  std::string dtype;  // embtab::info(type).name
  int threads = 1;
  std::string mode;               // "cold" or "hot"
  double ns_per_token = 0;        // median, real time
  double p90_ns_per_token = 0, max_ns_per_token = 0;  // 90th percentile and worst, same samples
  double gbps = 0;                // (stored row + fp32 output) bytes per ns
  double ideal_ns_per_token = 0;  // fp32 memcpy per row, same shape, threads and mode
  double ideal_gbps = 0;
  double of_ideal = 0;        // ideal_ns_per_token / ns_per_token
  double onehot_naive_x = 0;  // one-hot time / lookup time; 0 = not measured
  double onehot_blas_x = 0;
};

// Which run a report comes from: library version, kernel set, CPU, UTC time, --quick or not.
struct run_info {
  std::string version, isa, cpu, date;
  bool quick = false;
};

struct bench_report {
  run_info run;
  std::string blas;
  int threads = 1;     // the threaded rows' thread count
  double seconds = 0;  // wall time of the whole run
  std::size_t memcpy_bytes = 0;
  double memcpy_gbps_1 = 0;  // read + write, 1 thread
  double memcpy_gbps_n = 0;  // read + write, `threads` threads
  std::size_t onehot_rows = 0, onehot_dim = 0, onehot_n = 0;
  double onehot_naive_ns_per_token = 0, onehot_blas_ns_per_token = 0;  // 0 = not measured
  std::vector<bench_row> rows;
  std::vector<std::string> notes;  // skipped parts and why
};

// `bench --model`: one tensor of a model file looked up as a view of the mapping and as an
// owning copy, next to the ideal gather over an fp32 table of the same shape.
struct model_bench_row {
  std::size_t n = 0;
  std::string mode;  // "cold" or "hot"
  int threads = 1;
  double ideal_ns_per_token = 0, view_ns_per_token = 0, copy_ns_per_token = 0;  // medians
};

struct model_bench_report {
  run_info run;
  std::string model, tensor, dtype;
  std::size_t rows = 0, dim = 0, bytes = 0;
  std::vector<model_bench_row> results;
};

// model-results.json of `bench --model`.
std::string format_model_json(const model_bench_report& r);

// The table printed to stdout (fixed-width text).
std::string format_text(const bench_report& r);
std::string format_markdown(const bench_report& r);
std::string format_json(const bench_report& r);

// Runs the plotting script on results.json; on failure returns false and says why.
bool write_plot(const std::filesystem::path& json, const std::filesystem::path& png,
                std::string& why);

}  // namespace embtab::tool
