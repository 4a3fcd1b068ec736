// The timing core shared by embtab_bench and `embtab bench`: tables, ids, roofline, one-hot.
#include "bench_core.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <new>
#include <numeric>
#include <random>
#include <string_view>
#include <tuple>

#ifdef EMBTAB_BENCH_HAVE_CBLAS
#include <cblas.h>
#endif

namespace embtab::bench {
namespace {

constexpr std::size_t pool_ids = std::size_t{1} << 22;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

using table_key = std::tuple<std::size_t, std::size_t, embtab::dtype>;
std::map<table_key, std::unique_ptr<embtab::table>>& tables() {
  static std::map<table_key, std::unique_ptr<embtab::table>> m;
  return m;
}
using view_key = std::tuple<std::size_t, std::size_t, embtab::dtype, std::size_t>;
std::map<view_key, std::unique_ptr<embtab::table>>& views() {
  static std::map<view_key, std::unique_ptr<embtab::table>> m;
  return m;
}
std::map<std::size_t, std::shared_ptr<const std::vector<std::int32_t>>>& pools() {
  static std::map<std::size_t, std::shared_ptr<const std::vector<std::int32_t>>> m;
  return m;
}

std::shared_ptr<const std::vector<std::int32_t>> pool_for(std::size_t rows) {
  auto& p = pools()[rows];
  if (!p) {
    std::mt19937_64 gen(rows);
    std::uniform_int_distribution<std::int64_t> pick(0, static_cast<std::int64_t>(rows) - 1);
    auto v = std::make_shared<std::vector<std::int32_t>>(pool_ids);
    for (auto& id : *v) id = static_cast<std::int32_t>(pick(gen));
    p = std::move(v);
  }
  return p;
}

const float* f32_rows(const embtab::table& t) noexcept {
  return reinterpret_cast<const float*>(t.data());
}

}  // namespace

float weight(std::size_t row, std::size_t col) noexcept {
  const std::uint64_t h = splitmix64((static_cast<std::uint64_t>(row) << 32) ^ col);
  return static_cast<float>(static_cast<std::int32_t>(h >> 40) - (1 << 23)) * 0x1p-23f;
}

// A table of a dtype that cannot be made from fp32 (q4_k, q6_k: their tables come from a
// model file's blocks): splitmix64 bytes in the registry's row layout, each row redrawn until
// every value decodes finite (a random fp16 scale is inf or NaN one time in 32), then
// from_blocks. Deterministic, and format-agnostic: the scalar codec is what judges a row.
embtab::table random_blocks_table(std::size_t rows, std::size_t dim, embtab::dtype type) {
  const std::size_t rb = embtab::row_bytes(type, dim);
  std::vector<std::byte> blocks(rows * rb);
#pragma omp parallel
  {
    std::vector<float> values(dim);
    const std::int64_t id = 0;
#pragma omp for schedule(static)
    for (std::size_t r = 0; r < rows; ++r) {
      std::byte* row = blocks.data() + r * rb;
      for (std::uint64_t attempt = 0; attempt < 64; ++attempt) {
        std::uint64_t state = splitmix64((static_cast<std::uint64_t>(r) << 8) ^ attempt);
        for (std::size_t b = 0; b < rb; b += 8) {
          const std::uint64_t word = splitmix64(state++);
          std::memcpy(row + b, &word, std::min<std::size_t>(8, rb - b));
        }
        const embtab::table one = embtab::table::wrap(std::span<const std::byte>(row, rb), 1, dim, type);
        if (!embtab::lookup(one, std::span<const std::int64_t>(&id, 1), values, {.threads = 1}).ok()) break;
        if (std::all_of(values.begin(), values.end(), [](float x) { return std::isfinite(x); })) break;
      }
    }
  }
  return embtab::table::from_blocks(blocks, rows, dim, type);
}

const embtab::table& cached_table(std::size_t rows, std::size_t dim, embtab::dtype type) {
  auto& slot = tables()[{rows, dim, type}];
  if (slot) return *slot;
  if (!embtab::has_f32_encoder(type)) {
    slot = std::make_unique<embtab::table>(random_blocks_table(rows, dim, type));
    return *slot;
  }
  // Convert from the cached fp32 table when its rows are contiguous: no second weight array.
  if (type != embtab::dtype::f32) {
    const embtab::table& f = cached_table(rows, dim, embtab::dtype::f32);
    if (f.row_stride() == dim * sizeof(float)) {
      slot = std::make_unique<embtab::table>(embtab::table::from_f32(
          std::span<const float>(f32_rows(f), rows * dim), rows, dim, type));
      return *slot;
    }
  }
  std::vector<float> w(rows * dim);
#pragma omp parallel for schedule(static)
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < dim; ++c) w[r * dim + c] = weight(r, c);
  slot = std::make_unique<embtab::table>(embtab::table::from_f32(w, rows, dim, type));
  return *slot;
}

const embtab::table& cached_view(std::size_t rows, std::size_t dim, embtab::dtype type,
                                 std::size_t offset) {
  auto& slot = views()[{rows, dim, type, offset}];
  if (slot) return *slot;
  const embtab::table& owning = cached_table(rows, dim, type);
  const std::size_t rb = owning.row_bytes();
  // 2 MiB aligned and marked for huge pages like an owning table of this size, so that the
  // comparison measures the rows' alignment, not the page size.
  constexpr std::size_t huge = std::size_t{2} << 20;
  const std::size_t bytes = (rows * rb + 64 + offset + huge - 1) / huge * huge;
  std::shared_ptr<std::byte> memory(static_cast<std::byte*>(std::aligned_alloc(huge, bytes)),
                                    [](std::byte* p) { std::free(p); });
  if (!memory) throw std::bad_alloc();
  (void)madvise(memory.get(), bytes, MADV_HUGEPAGE);
  std::byte* base = memory.get() + offset;
  for (std::size_t r = 0; r < rows; ++r) std::memcpy(base + r * rb, owning.data() + r * owning.row_stride(), rb);
  slot = std::make_unique<embtab::table>(embtab::table::wrap(
      std::span<const std::byte>(base, rows * rb), rows, dim, type, rb, std::move(memory)));
  return *slot;
}

bool is_cached(std::size_t rows, std::size_t dim, embtab::dtype type) {
  return tables().contains({rows, dim, type});
}

void drop_tables() {
  views().clear();
  tables().clear();
  pools().clear();
}

const char* to_string(ids_mode mode) noexcept { return mode == ids_mode::cold ? "cold" : "hot"; }

id_stream::id_stream(std::size_t rows, std::size_t n, ids_mode mode, std::size_t part,
                     std::size_t parts)
    : pool_(pool_for(rows)), n_(n), mode_(mode) {
  start_ = mode == ids_mode::hot || parts == 0 ? 0 : pool_->size() / parts * (part % parts);
  if (start_ + n_ > pool_->size()) start_ = 0;
  pos_ = start_;
}

out_buffer::out_buffer(std::size_t n) : n_(n) {
  // Outputs of 2 MiB or more on huge pages (as a runtime's large activation buffers may well
  // be): on 4 KiB pages, two buffers' different physical pages made the same lookup measure up
  // to 15% apart at D = 4096, N = 4096.
  constexpr std::size_t huge = std::size_t{2} << 20;
  const std::size_t line_bytes = (std::max<std::size_t>(n, 1) * sizeof(float) + 63) / 64 * 64;
  const std::size_t align = line_bytes >= huge ? huge : 64;
  const std::size_t bytes = (line_bytes + align - 1) / align * align;
  p_.reset(static_cast<float*>(std::aligned_alloc(align, bytes)));
  if (!p_) throw std::bad_alloc();
  if (align == huge) (void)madvise(p_.get(), bytes, MADV_HUGEPAGE);
  std::memset(p_.get(), 0, bytes);
}

void out_buffer::deleter::operator()(float* p) const noexcept { std::free(p); }

out_ring::out_ring(std::size_t ops, std::size_t floats) : turns_(ops, 0) {
  const std::size_t evict = std::max<std::size_t>(std::size_t{64} << 20, 2 * embtab::last_level_cache_bytes());
  const std::size_t bytes = std::max<std::size_t>(floats * sizeof(float), 1);
  const std::size_t count = std::max(ops, (evict + bytes - 1) / bytes + 1);
  buffers_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) buffers_.emplace_back(floats);
}

out_buffer& out_ring::next(std::size_t op) { return buffers_[(op + turns_[op]++) % buffers_.size()]; }

std::size_t bytes_per_token(const embtab::table& t) noexcept {
  return t.row_stride() + t.dim() * sizeof(float);
}

#ifdef _OPENMP
int max_threads() noexcept { return omp_get_max_threads(); }
#else
int max_threads() noexcept { return 1; }
int omp_get_num_threads() noexcept { return 1; }
int omp_get_thread_num() noexcept { return 0; }
#endif

void ideal_gather(const embtab::table& f32, std::span<const std::int32_t> ids, float* out,
                  int threads) noexcept {
  const std::size_t dim = f32.dim(), stride = f32.row_stride(), n = ids.size();
  const std::size_t row_bytes = dim * sizeof(float);
  const std::byte* base = f32.data();
  const auto copy = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i)
      std::memcpy(out + i * dim, base + static_cast<std::size_t>(ids[i]) * stride, row_bytes);
  };
  const int team = embtab::lookup_threads(n, dim, {.threads = std::max(threads, 1)});
  if (team == 1) return copy(0, n);
#pragma omp parallel num_threads(team)
  {
    const auto k = static_cast<std::size_t>(omp_get_num_threads());
    const auto me = static_cast<std::size_t>(omp_get_thread_num());
    copy(n * me / k, n * (me + 1) / k);
  }
}

std::size_t copy_size() noexcept {
  // sysfs, not sysconf: in a VM glibc's cpuid-based answer can be the host's whole L3.
  std::size_t llc = 0;
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index3/size");
  std::string size;
  if (in >> size && !size.empty()) {
    llc = std::strtoull(size.c_str(), nullptr, 10);
    if (size.back() == 'K') llc <<= 10;
    if (size.back() == 'M') llc <<= 20;
  }
  return std::clamp(8 * llc, std::size_t{256} << 20, std::size_t{2} << 30) >> 20 << 20;
}

copy_buffers::copy_buffers(std::size_t bytes)
    : bytes_(bytes), src_(new std::byte[bytes]), dst_(new std::byte[bytes]) {
  // Fault every page in (and give src distinct bytes) before anything is timed.
  for (std::size_t i = 0; i < bytes; ++i) src_[i] = static_cast<std::byte>(i * 131);
  std::memset(dst_.get(), 0, bytes);
}

void copy_buffers::copy(int threads) noexcept {
  if (threads <= 1) {
    std::memcpy(dst_.get(), src_.get(), bytes_);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const auto k = static_cast<std::size_t>(omp_get_num_threads());
    const auto me = static_cast<std::size_t>(omp_get_thread_num());
    constexpr std::size_t page = 4096;
    const std::size_t begin = bytes_ * me / k / page * page;
    const std::size_t end = me + 1 == k ? bytes_ : bytes_ * (me + 1) / k / page * page;
    std::memcpy(dst_.get() + begin, src_.get() + begin, end - begin);
  }
}

namespace {
void build_onehot(std::span<const std::int32_t> ids, std::size_t rows, std::vector<float>& m) {
  m.resize(ids.size() * rows);
  std::fill(m.begin(), m.end(), 0.0f);
  for (std::size_t i = 0; i < ids.size(); ++i)
    m[i * rows + static_cast<std::size_t>(ids[i])] = 1.0f;
}
}  // namespace

void onehot_naive(const embtab::table& f32, std::span<const std::int32_t> ids,
                  std::vector<float>& onehot, float* out) noexcept {
  const std::size_t rows = f32.rows(), dim = f32.dim(), ld = f32.row_stride() / sizeof(float);
  build_onehot(ids, rows, onehot);
  const float* w = f32_rows(f32);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    float* o = out + i * dim;
    std::fill(o, o + dim, 0.0f);
    const float* h = onehot.data() + i * rows;
    for (std::size_t v = 0; v < rows; ++v) {
      const float a = h[v];
      const float* wv = w + v * ld;
      for (std::size_t j = 0; j < dim; ++j) o[j] += a * wv[j];
    }
  }
}

#ifdef EMBTAB_BENCH_HAVE_CBLAS
bool onehot_blas(const embtab::table& f32, std::span<const std::int32_t> ids,
                 std::vector<float>& onehot, float* out, int threads) noexcept {
#ifdef EMBTAB_BENCH_OPENBLAS
  openblas_set_num_threads(std::max(threads, 1));
#else
  (void)threads;
#endif
  const std::size_t rows = f32.rows(), dim = f32.dim(), ld = f32.row_stride() / sizeof(float);
  build_onehot(ids, rows, onehot);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(ids.size()),
              static_cast<int>(dim), static_cast<int>(rows), 1.0f, onehot.data(),
              static_cast<int>(rows), f32_rows(f32), static_cast<int>(ld), 0.0f, out,
              static_cast<int>(dim));
  return true;
}
bool have_blas() noexcept { return true; }
const char* blas_name() noexcept { return EMBTAB_BENCH_BLAS_NAME; }
#else
bool onehot_blas(const embtab::table&, std::span<const std::int32_t>, std::vector<float>&, float*,
                 int) noexcept {
  return false;
}
bool have_blas() noexcept { return false; }
const char* blas_name() noexcept {
  return "none (built without a BLAS: apt install libopenblas-dev and reconfigure)";
}
#endif

std::string check_rows(const embtab::table& t, std::span<const std::int32_t> ids,
                       std::span<const float> out) {
  const std::size_t dim = t.dim();
  if (out.size() != ids.size() * dim)
    return "output holds " + std::to_string(out.size()) + " floats";
  std::vector<float> want(out.size());
  const std::string isa(embtab::active_isa());
  (void)embtab::set_isa("scalar");
  const embtab::status s = embtab::lookup(t, ids, want, {.threads = 1});
  (void)embtab::set_isa(isa);
  if (!s.ok()) return "scalar lookup failed: " + s.message();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto r = static_cast<std::size_t>(ids[i]);
    for (std::size_t c = 0; c < dim; ++c) {
      const float got = out[i * dim + c];
      const float expect = t.type() == embtab::dtype::f32 ? weight(r, c) : want[i * dim + c];
      const bool ok = std::memcmp(&got, &expect, sizeof got) == 0 ||
                      (std::isnan(got) && std::isnan(expect));
      if (!ok) {
        char line[200];
        std::snprintf(line, sizeof line, "%s row %zu (position %zu) col %zu: got %.9g, want %.9g",
                      embtab::to_string(t.type()), r, i, c, static_cast<double>(got),
                      static_cast<double>(expect));
        return line;
      }
    }
  }
  return {};
}

double now_ns(clock_kind clock) noexcept {
  timespec ts{};
  clock_gettime(clock == clock_kind::thread_cpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::vector<std::vector<double>> measure_interleaved_reps(std::span<const timed_op> ops,
                                                          double rep_seconds, int reps) {
  const std::size_t k = ops.size();
  std::vector<std::size_t> calls(k, 1);
  for (std::size_t i = 0; i < k; ++i) {
    const clock_kind clock = clock_for(ops[i].threads);
    ops[i].run();  // first touch of buffers, tables and code
    const double t0 = now_ns(clock);
    ops[i].run();
    const double t = std::max(now_ns(clock) - t0, 1.0);
    calls[i] = static_cast<std::size_t>(std::clamp(rep_seconds * 1e9 / t, 1.0, 1e7));
  }
  std::vector<std::vector<double>> ns(k);
  for (std::size_t i = 0; i < k; ++i) ns[i].resize(static_cast<std::size_t>(std::max(reps, 0)));
  // Each rep runs the ops in an order of its own (a fixed seed, so every run uses the same
  // orders): no op keeps one place in the order or one predecessor, as it would under a
  // rotation, which moves every op's place but keeps it after the same op.
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937 shuffle_gen(0x5EED);
  for (int r = 0; r < reps; ++r) {
    std::shuffle(order.begin(), order.end(), shuffle_gen);
    for (const std::size_t i : order) {
      const clock_kind clock = clock_for(ops[i].threads);
      const double t0 = now_ns(clock);
      for (std::size_t c = 0; c < calls[i]; ++c) ops[i].run();
      ns[i][static_cast<std::size_t>(r)] = (now_ns(clock) - t0) / static_cast<double>(calls[i]);
    }
  }
  return ns;
}

std::vector<call_stats> measure_interleaved_stats(std::span<const timed_op> ops,
                                                  double rep_seconds, int reps) {
  std::vector<call_stats> stats;
  for (auto& ns : measure_interleaved_reps(ops, rep_seconds, reps)) stats.push_back(summarize(std::move(ns)));
  return stats;
}

double paired_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) r.push_back(a[i] / b[i]);
  return summarize(std::move(r)).median;
}

std::vector<double> measure_interleaved(std::span<const timed_op> ops, double rep_seconds,
                                        int reps) {
  std::vector<double> median;
  for (const call_stats& s : measure_interleaved_stats(ops, rep_seconds, reps)) median.push_back(s.median);
  return median;
}

call_stats summarize(std::vector<double> ns) {
  call_stats s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  const auto at = [&](double q) {
    return ns[std::min(ns.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ns.size())))];
  };
  s.median = ns.size() % 2 ? ns[ns.size() / 2] : (ns[ns.size() / 2 - 1] + ns[ns.size() / 2]) / 2;
  s.p90 = at(0.9);
  s.max = ns.back();
  return s;
}

std::vector<call_stats> time_calls_interleaved(std::span<const std::function<void()>> ops,
                                               double seconds, std::size_t min_rounds,
                                               std::size_t max_rounds) {
  for (const auto& op : ops) {
    op();
    op();
  }
  std::vector<std::vector<double>> ns(ops.size());
  const double start = now_ns(clock_kind::real);
  for (std::size_t r = 0; r < max_rounds; ++r) {
    if (r >= min_rounds && now_ns(clock_kind::real) - start > seconds * 1e9) break;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const double t0 = now_ns(clock_kind::real);
      ops[i]();
      ns[i].push_back(now_ns(clock_kind::real) - t0);
    }
  }
  std::vector<call_stats> out;
  for (auto& v : ns) out.push_back(summarize(std::move(v)));
  return out;
}

spinner::spinner()
    : thread_([this] {
        std::uint64_t x = 0;
        while (!stop_.load(std::memory_order_relaxed)) x = x * 6364136223846793005ull + 1;
        volatile std::uint64_t sink = x;
        (void)sink;
      }) {}

spinner::~spinner() {
  stop_.store(true);
  thread_.join();
}

#ifdef _OPENMP
namespace {
void openmp_run(void*, std::size_t tasks, void (*task)(void*, std::size_t), void* context) {
  const auto n = static_cast<std::int64_t>(tasks);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t i = 0; i < n; ++i) task(context, static_cast<std::size_t>(i));
}
}  // namespace
embtab::parallel_for openmp_parallel_for() noexcept { return {.run = openmp_run}; }
#else
embtab::parallel_for openmp_parallel_for() noexcept { return {}; }
#endif

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        const auto start = line.find_first_not_of(' ', colon + 1);
        if (start != std::string::npos) return line.substr(start);
      }
    }
  return "unknown CPU";
}

}  // namespace embtab::bench
