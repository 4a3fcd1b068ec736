// Renders a bench_report as text, Markdown and JSON, and draws plot.png with bench/plot.py.
#include "bench_report.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <sstream>
#include <string_view>

#include "plot_script.hpp"

namespace embtab::tool {
namespace {

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string shape(const bench_row& r) {
  return "V=" + std::to_string(r.rows) + " D=" + std::to_string(r.dim);
}

std::string onehot_cell(const bench_row& r) {
  std::string s;
  if (r.onehot_naive_x > 0) s += fmt("%.0fx naive", r.onehot_naive_x);
  if (r.onehot_blas_x > 0) s += (s.empty() ? "" : ", ") + fmt("%.0fx BLAS", r.onehot_blas_x);
  return s.empty() ? "-" : s;
}

std::vector<std::vector<std::string>> cells(const bench_report& r) {
  std::vector<std::vector<std::string>> t;
  t.push_back({"shape", "N", "ids", "dtype", "threads", "ns/token", "p90", "max", "GB/s",
               "ideal ns/token", "of ideal", "speedup over one-hot"});
  for (const auto& row : r.rows)
    t.push_back({shape(row), std::to_string(row.n), row.mode, row.dtype,
                 std::to_string(row.threads), fmt("%.1f", row.ns_per_token),
                 fmt("%.1f", row.p90_ns_per_token), fmt("%.1f", row.max_ns_per_token), fmt("%.1f", row.gbps),
                 fmt("%.1f", row.ideal_ns_per_token), fmt("%.3f", row.of_ideal), onehot_cell(row)});
  return t;
}

std::string summary_lines(const bench_report& r, std::string_view bullet) {
  std::ostringstream o;
  o << bullet << "embtab " << r.run.version << ", ISA " << r.run.isa << ", " << r.run.cpu << ", " << r.run.date
    << (r.run.quick ? ", --quick" : "") << ", " << fmt("%.0f", r.seconds) << " s\n";
  o << bullet << "memcpy of " << (r.memcpy_bytes >> 20)
    << " MiB (read + write): " << fmt("%.1f", r.memcpy_gbps_1) << " GB/s on 1 thread";
  if (r.threads > 1)
    o << ", " << fmt("%.1f", r.memcpy_gbps_n) << " GB/s on " << r.threads << " ("
      << fmt("%.2f", r.memcpy_gbps_n / r.memcpy_gbps_1) << "x)";
  o << '\n';
  if (r.onehot_naive_ns_per_token > 0 || r.onehot_blas_ns_per_token > 0) {
    o << bullet << "one-hot matmul at V=" << r.onehot_rows << " D=" << r.onehot_dim
      << " N=" << r.onehot_n << ", fp32, 1 thread:";
    if (r.onehot_naive_ns_per_token > 0)
      o << " plain loops " << fmt("%.0f", r.onehot_naive_ns_per_token) << " ns/token;";
    if (r.onehot_blas_ns_per_token > 0)
      o << " " << r.blas << " sgemm " << fmt("%.0f", r.onehot_blas_ns_per_token) << " ns/token";
    o << '\n';
  }
  for (const auto& n : r.notes) o << bullet << n << '\n';
  return o.str();
}

std::string json_string(std::string_view s) {
  std::string o = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

// The opening of a report's JSON object: the run's fields, without the comma after the last.
std::string json_run(const run_info& r) {
  return "{\n  \"embtab\": " + json_string(r.version) + ",\n  \"isa\": " + json_string(r.isa) +
         ",\n  \"cpu\": " + json_string(r.cpu) + ",\n  \"date\": " + json_string(r.date) +
         ",\n  \"mode\": " + json_string(r.quick ? "quick" : "full");
}

// A measured value, or null for 0 (not measured).
std::string json_number(const char* format, double v) { return v > 0 ? fmt(format, v) : "null"; }

}  // namespace

std::string format_model_json(const model_bench_report& r) {
  std::ostringstream o;
  o << json_run(r.run)
    << ",\n  \"model\": " << json_string(r.model) << ",\n  \"tensor\": {\"name\": " << json_string(r.tensor)
    << ", \"dtype\": " << json_string(r.dtype) << ", \"rows\": " << r.rows << ", \"dim\": " << r.dim
    << ", \"bytes\": " << r.bytes << "},\n  \"results\": [";
  for (std::size_t i = 0; i < r.results.size(); ++i) {
    const auto& x = r.results[i];
    o << (i ? ",\n" : "\n") << "    {\"n\": " << x.n << ", \"ids\": " << json_string(x.mode)
      << ", \"threads\": " << x.threads << ", \"ideal_ns_per_token\": " << fmt("%.2f", x.ideal_ns_per_token)
      << ", \"view_ns_per_token\": " << fmt("%.2f", x.view_ns_per_token)
      << ", \"copy_ns_per_token\": " << fmt("%.2f", x.copy_ns_per_token) << "}";
  }
  o << "\n  ]\n}\n";
  return o.str();
}

namespace {

std::string shell_quote(const std::string& s) {
  std::string o = "'";
  for (const char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

}  // namespace

std::string format_text(const bench_report& r) {
  const auto t = cells(r);
  std::vector<std::size_t> width(t[0].size(), 0);
  for (const auto& row : t)
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::ostringstream o;
  o << summary_lines(r, "");
  for (std::size_t k = 0; k < t.size(); ++k) {
    for (std::size_t i = 0; i < t[k].size(); ++i) {
      const std::string& c = t[k][i];
      // Text columns (shape, ids, dtype, one-hot) left-aligned, numbers right-aligned.
      const bool left = i == 0 || i == 2 || i == 3 || i + 1 == t[k].size();
      const std::string pad(width[i] - c.size(), ' ');
      o << (i ? "  " : "") << (left ? c + pad : pad + c);
    }
    o << '\n';
    if (k == 0) {
      std::size_t total = 0;
      for (const auto w : width) total += w + 2;
      o << std::string(total - 2, '-') << '\n';
    }
  }
  return o.str();
}

std::string format_markdown(const bench_report& r) {
  const auto t = cells(r);
  std::ostringstream o;
  o << "# embtab bench results\n\n" << summary_lines(r, "- ") << '\n';
  for (std::size_t k = 0; k < t.size(); ++k) {
    o << '|';
    for (const auto& c : t[k]) o << ' ' << c << " |";
    o << '\n';
    if (k == 0) {
      o << '|';
      for (std::size_t i = 0; i < t[k].size(); ++i)
        o << (i == 0 || i == 2 || i == 3 ? "---|" : "---:|");
      o << '\n';
    }
  }
  o << "\nns/token: median time per looked-up id (1-thread rows: the thread's CPU time, which"
       " leaves out time the VM gives to other work; threaded rows: real time); p90 and max: the"
       " 90th percentile and the worst of the same timed batches. GB/s: bytes moved "
       "per second, the stored"
       " row read plus the fp32 row written. ideal: one memcpy per fp32 row of the same shape,"
       " threads and ids mode (the machine's limit for an fp32 table; narrower dtypes read less"
       " and can pass 1). cold: a fresh window of random ids each call over a table larger than"
       " the LLC; hot: the same ids each call. Speedup over one-hot: the time of"
       " onehot(ids) @ table (plain loops, or BLAS sgemm) over the lookup's.\n";
  return o.str();
}

std::string format_json(const bench_report& r) {
  std::ostringstream o;
  o << json_run(r.run)
    << ",\n  \"threads\": " << r.threads << ",\n  \"seconds\": " << fmt("%.1f", r.seconds)
    << ",\n  \"blas\": " << json_string(r.blas) << ",\n  \"memcpy\": {\"bytes\": " << r.memcpy_bytes
    << ", \"gbps\": [{\"threads\": 1, \"gbps\": " << fmt("%.3f", r.memcpy_gbps_1) << "}";
  if (r.threads > 1)
    o << ", {\"threads\": " << r.threads << ", \"gbps\": " << fmt("%.3f", r.memcpy_gbps_n) << "}";
  o << "]},\n  \"onehot\": {\"rows\": " << r.onehot_rows << ", \"dim\": " << r.onehot_dim
    << ", \"n\": " << r.onehot_n
    << ", \"naive_ns_per_token\": " << json_number("%.1f", r.onehot_naive_ns_per_token)
    << ", \"blas_ns_per_token\": " << json_number("%.1f", r.onehot_blas_ns_per_token) << "},\n";
  o << "  \"results\": [";
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    const auto& x = r.rows[i];
    o << (i ? ",\n" : "\n") << "    {\"rows\": " << x.rows << ", \"dim\": " << x.dim
      << ", \"n\": " << x.n << ", \"dtype\": " << json_string(x.dtype)
      << ", \"threads\": " << x.threads << ", \"ids\": " << json_string(x.mode)
      << ", \"ns_per_token\": " << fmt("%.2f", x.ns_per_token)
      << ", \"p90_ns_per_token\": " << fmt("%.2f", x.p90_ns_per_token)
      << ", \"max_ns_per_token\": " << fmt("%.2f", x.max_ns_per_token)
      << ", \"gbps\": " << fmt("%.3f", x.gbps)
      << ", \"ideal_ns_per_token\": " << fmt("%.2f", x.ideal_ns_per_token)
      << ", \"ideal_gbps\": " << fmt("%.3f", x.ideal_gbps)
      << ", \"of_ideal\": " << fmt("%.4f", x.of_ideal)
      << ", \"speedup_onehot_naive\": " << json_number("%.1f", x.onehot_naive_x)
      << ", \"speedup_onehot_blas\": " << json_number("%.1f", x.onehot_blas_x) << "}";
  }
  o << "\n  ],\n  \"notes\": [";
  for (std::size_t i = 0; i < r.notes.size(); ++i) o << (i ? ", " : "") << json_string(r.notes[i]);
  o << "]\n}\n";
  return o.str();
}

bool write_plot(const std::filesystem::path& json, const std::filesystem::path& png,
                std::string& why) {
  // Debian's matplotlib belongs to /usr/bin/python3; a python3 earlier on PATH may lack it.
  const std::string python =
      std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const std::string cmd =
      python + " - " + shell_quote(json.string()) + " " + shell_quote(png.string());
  FILE* p = popen(cmd.c_str(), "w");
  if (p == nullptr) {
    why = "could not start " + python;
    return false;
  }
  const std::string_view script = plot_script;
  std::fwrite(script.data(), 1, script.size(), p);
  const int status = pclose(p);
  if (status == 0) return true;
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 3)
    why = python + " has no matplotlib (apt install python3-matplotlib)";
  else if (code == 127)
    why = "no python3 found (apt install python3-matplotlib)";
  else
    why = python + " exited with status " + std::to_string(code);
  return false;
}

}  // namespace embtab::tool
