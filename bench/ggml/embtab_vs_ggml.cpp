// embtab_vs_ggml: embtab::lookup against ggml's CPU get_rows (ggml_graph_compute of one
// GGML_OP_GET_ROWS node, 1 thread, persistent threadpool) on the same 32000 x 4096 tables, in
// one process, for f32, q8_0, q4_0, q4_k and q6_k, next to the ideal gather (memcpy of each
// fp32 row) and the write floor (memset of the whole output: what writing the fp32 rows alone
// costs, a lower bound for any lookup into that buffer). Both write fp32 rows; every configuration checks that embtab's rows equal ggml's
// bit for bit. Prints a markdown table of median ns per token and ggml / embtab.
//
// Configurations: cold N = 1, 32, 512, 4096 (each round takes a fresh window of a 4M-id
// uniform random pool; every candidate gets the same ids, in an order rotated every round);
// cold N = 512 with the output reused (each candidate called 7 times in a row into its own
// output, a fresh window of ids each call, the same windows for every candidate, the last 4
// timed: the rows come from DRAM, the output is the one the call before wrote, as in a loop
// that reuses its buffer and as embtab_bench's lookup/ measures; in the plain cold rows every
// output has been evicted by the other candidates, as a runtime's activations are after a pass
// over the model's weights); hot N = 32 interleaved (the same 32 ids every round, candidates in
// turn, so each finds its rows and output pushed out to L3 by the others); hot N = 32 back to
// back (each candidate called 23 times in a row, the last 20 timed: rows and output in L1/L2).
//
//   embtab_vs_ggml [--stream] [--offset B] [repetition scale, default 1]
// --stream: embtab's lookups with lookup_options::streaming_stores (non-temporal stores at every
// N; by default they stream only outputs of at least half the last-level cache, see lookup.hpp).
// --offset B: every output (the ideal gather's, the write floor's, ggml's and embtab's) starts B
// bytes past a 64-byte boundary (default 0: aligned, as PyTorch allocates; ggml's CPU buffers
// align tensors to 32 bytes, a std::vector<float> of this size is 16 bytes past). With B not a
// multiple of 64 every 64-byte store of a row straddles two cache lines.
#include <embtab/embtab.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "ggml-cpu.h"
#include "ggml.h"

namespace {

constexpr std::int64_t rows = 32000, dim = 4096;

std::uint64_t rng_state = 0x9E3779B97F4A7C15ull;
std::uint64_t next_u64() {  // xorshift64*
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

struct type_pair {
  ggml_type ggml;
  embtab::dtype ours;
};
constexpr type_pair types[] = {{GGML_TYPE_F32, embtab::dtype::f32},
                               {GGML_TYPE_Q8_0, embtab::dtype::q8_0},
                               {GGML_TYPE_Q4_0, embtab::dtype::q4_0},
                               {GGML_TYPE_Q4_K, embtab::dtype::q4_k},
                               {GGML_TYPE_Q6_K, embtab::dtype::q6_k}};
constexpr int type_count = static_cast<int>(std::size(types));

// f32: uniform in [-1, 1). Block types: random bytes, then every fp16 scale (d, and dmin for
// q4_k) set to a value in [1e-4, 1.01e-2), so no block decodes to inf or NaN.
void fill(ggml_tensor* t) {
  auto* p = static_cast<std::uint8_t*>(t->data);
  const std::size_t bytes = ggml_nbytes(t);
  if (t->type == GGML_TYPE_F32) {
    auto* f = static_cast<float*>(t->data);
    for (std::size_t i = 0; i < bytes / 4; ++i)
      f[i] = static_cast<float>(static_cast<std::int64_t>(next_u64() >> 40) - (1 << 23)) / (1 << 23);
    return;
  }
  for (std::size_t i = 0; i + 8 <= bytes; i += 8) {
    const std::uint64_t v = next_u64();
    std::memcpy(p + i, &v, 8);
  }
  const std::size_t block = ggml_type_size(t->type);
  const auto scale = [] {
    return ggml_fp32_to_fp16(1e-4f + static_cast<float>(next_u64() >> 40) / (1 << 24) * 1e-2f);
  };
  for (std::uint8_t* b = p; b + block <= p + bytes; b += block) {
    const ggml_fp16_t d = scale(), dmin = scale();
    switch (t->type) {
      case GGML_TYPE_Q8_0:
      case GGML_TYPE_Q4_0: std::memcpy(b, &d, 2); break;
      case GGML_TYPE_Q4_K: std::memcpy(b, &d, 2); std::memcpy(b + 2, &dmin, 2); break;
      case GGML_TYPE_Q6_K: std::memcpy(b + 208, &d, 2); break;
      default: break;
    }
  }
}

// `floats` floats starting `offset` bytes past a 64-byte boundary, zero-filled (pages exist).
class out_floats {
 public:
  out_floats(std::size_t floats, std::size_t offset)
      : base_(static_cast<std::byte*>(std::aligned_alloc(64, (floats * 4 + offset + 63) / 64 * 64))),
        p_(reinterpret_cast<float*>(base_ + offset)),
        n_(floats) {
    if (base_ == nullptr) throw std::bad_alloc();
    std::memset(p_, 0, n_ * 4);
  }
  out_floats(const out_floats&) = delete;
  out_floats& operator=(const out_floats&) = delete;
  ~out_floats() { std::free(base_); }
  float* data() const noexcept { return p_; }
  std::span<float> span() const noexcept { return {p_, n_}; }

 private:
  std::byte* base_;
  float* p_;
  std::size_t n_;
};

// One get_rows graph over table t for n ids, planned once. Its ids and output live in buffers
// of ours (the context holds only the tensors' headers), so ggml writes to an output placed
// exactly as embtab's is.
struct ggml_job {
  ggml_context* ctx = nullptr;
  ggml_cgraph* graph = nullptr;
  ggml_tensor* ids = nullptr;
  ggml_tensor* out = nullptr;
  ggml_cplan plan{};
  std::vector<std::uint8_t> work;
  std::vector<std::int32_t> id_data;
  out_floats out_data;

  ggml_job(ggml_tensor* t, std::int64_t n, ggml_threadpool* pool, std::size_t offset)
      : id_data(static_cast<std::size_t>(n)), out_data(static_cast<std::size_t>(n) * dim, offset) {
    const ggml_init_params params = {64 * ggml_tensor_overhead() + ggml_graph_overhead() + 4096, nullptr, true};
    ctx = ggml_init(params);
    ids = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n);
    ids->data = id_data.data();
    out = ggml_get_rows(ctx, t, ids);
    out->data = out_data.data();
    graph = ggml_new_graph(ctx);
    ggml_build_forward_expand(graph, out);
    plan = ggml_graph_plan(graph, 1, pool);
    work.resize(plan.work_size + 1);
    plan.work_data = work.data();
  }
  ggml_job(const ggml_job&) = delete;
  ggml_job& operator=(const ggml_job&) = delete;
  ~ggml_job() { ggml_free(ctx); }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <class F>
double time_ns(F&& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

struct config {
  const char* label;
  std::int64_t n;
  bool hot;
  int reps;
  int burst;  // timed calls in a row per candidate and round (after 3 untimed ones when > 1)
  bool fresh_ids = false;  // each call of a burst takes the next window of ids (cold rows)
};

}  // namespace

int main(int argc, char** argv) {
  bool stream = false;
  double rep_scale = 1.0;
  std::size_t offset = 0;
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--stream") == 0) {
      stream = true;
      continue;
    }
    if (std::strcmp(argv[a], "--offset") == 0) {
      char* end = nullptr;
      const long v = a + 1 < argc ? std::strtol(argv[a + 1], &end, 10) : -1;
      if (a + 1 >= argc || end == argv[a + 1] || *end != '\0' || v < 0 || v > 60 || v % 4 != 0) {
        std::fprintf(stderr, "embtab_vs_ggml: --offset takes a byte offset 0, 4, ..., 60, got '%s'\n",
                     a + 1 < argc ? argv[a + 1] : "");
        return 2;
      }
      offset = static_cast<std::size_t>(v);
      ++a;
      continue;
    }
    char* end = nullptr;
    rep_scale = std::strtod(argv[a], &end);
    if (end == argv[a] || *end != '\0' || !(rep_scale > 0)) {
      std::fprintf(stderr, "embtab_vs_ggml: expected --stream, --offset B or a repetition scale > 0, got '%s'\n", argv[a]);
      return 2;
    }
  }
  const embtab::lookup_options options{.threads = 1, .streaming_stores = stream};
  ggml_cpu_init();
  std::size_t table_bytes = 0;
  for (const auto& t : types) table_bytes += ggml_row_size(t.ggml, dim) * rows + 1024;
  const ggml_init_params params = {table_bytes + 16 * ggml_tensor_overhead(), nullptr, false};
  ggml_context* tables = ggml_init(params);
  std::vector<ggml_tensor*> theirs;
  std::vector<embtab::table> ours;
  for (const auto& t : types) {
    ggml_tensor* g = ggml_new_tensor_2d(tables, t.ggml, dim, rows);
    fill(g);
    theirs.push_back(g);
    ours.push_back(embtab::table::from_blocks({static_cast<const std::byte*>(g->data), ggml_nbytes(g)},
                                              rows, dim, t.ours));
  }
  // The ideal gather reads a copy of its own, so it never finds rows another candidate pulled in.
  const std::vector<float> ideal_table(static_cast<const float*>(theirs[0]->data),
                                       static_cast<const float*>(theirs[0]->data) + rows * dim);
  ggml_threadpool_params pool_params = ggml_threadpool_params_default(1);
  ggml_threadpool* pool = ggml_threadpool_new(&pool_params);

  std::vector<std::int32_t> id_pool(std::size_t{1} << 22);
  for (auto& id : id_pool) id = static_cast<std::int32_t>(next_u64() % rows);

  std::printf("embtab %s (isa %s%s) vs ggml %s get_rows: %lld x %lld tables, 1 thread, every output %zu bytes "
              "past a 64-byte boundary, median ns/token\n\n",
              EMBTAB_VERSION_STRING, std::string(embtab::active_isa()).c_str(),
              stream ? ", streaming_stores" : "", ggml_version(), static_cast<long long>(rows),
              static_cast<long long>(dim), offset);
  std::printf("| config | reps | ideal | write floor |");
  for (const auto& t : types) std::printf(" ggml %s |", ggml_type_name(t.ggml));
  for (const auto& t : types) std::printf(" embtab %s |", embtab::info(t.ours).name.data());
  for (const auto& t : types) std::printf(" ggml/embtab %s |", embtab::info(t.ours).name.data());
  std::printf("\n|---|");
  for (int k = 0; k < 3 * type_count + 3; ++k) std::printf("---:|");
  std::printf("\n");
  std::fflush(stdout);

  const config configs[] = {{"cold N=1", 1, false, 4000, 1},      {"cold N=32", 32, false, 1500, 1},
                            {"cold N=512", 512, false, 150, 1},   {"cold N=4096", 4096, false, 25, 1},
                            {"cold N=512, output reused", 512, false, 40, 4, true},
                            {"hot N=32 interleaved", 32, true, 3000, 1},
                            {"hot N=32 back to back", 32, true, 300, 20}};
  std::size_t pool_at = 0;
  int failures = 0;
  for (const config& c : configs) {
    const std::int64_t n = c.n;
    std::vector<std::unique_ptr<ggml_job>> jobs;
    for (ggml_tensor* t : theirs) jobs.push_back(std::make_unique<ggml_job>(t, n, pool, offset));
    const out_floats ideal_out(n * dim, offset), floor_out(n * dim, offset);
    std::vector<std::unique_ptr<out_floats>> our_out;
    for (int k = 0; k < type_count; ++k) our_out.push_back(std::make_unique<out_floats>(n * dim, offset));
    std::vector<std::int32_t> ids(id_pool.begin(), id_pool.begin() + n);
    const int reps = std::max(5, static_cast<int>(c.reps * rep_scale)), warm = 3;
    constexpr int first = 2;  // 0: ideal gather, 1: write floor, then ggml's types, then embtab's
    const int candidates = first + 2 * type_count;
    std::vector<std::vector<double>> ns(candidates);
    const int calls = c.burst + (c.burst > 1 ? 3 : 0);
    for (int r = 0; r < warm + reps; ++r) {
      // This round's windows of the pool: one, or one per call of a burst with fresh ids.
      const std::size_t windows = c.fresh_ids ? static_cast<std::size_t>(calls) : 1;
      if (pool_at + windows * n > id_pool.size()) pool_at = 0;
      const std::size_t round_at = pool_at;
      if (!c.hot) {
        // With fresh ids every call copies its own window below.
        if (!c.fresh_ids) std::copy_n(id_pool.begin() + round_at, n, ids.begin());
        pool_at += windows * n;
      }
      for (int s = 0; s < candidates; ++s) {
        const int k = (s + r) % candidates;
        for (int b = 0; b < calls; ++b) {
          if (c.fresh_ids) std::copy_n(id_pool.begin() + round_at + b * n, n, ids.begin());
          double t = 0;
          if (k == 0) {
            t = time_ns([&] {
              for (std::int64_t i = 0; i < n; ++i)
                std::memcpy(ideal_out.data() + i * dim, ideal_table.data() + ids[i] * dim, dim * 4);
            });
          } else if (k == 1) {
            t = time_ns([&] { std::memset(floor_out.data(), r & 0xFF, n * dim * 4); });
          } else if (k < first + type_count) {
            ggml_job& j = *jobs[k - first];
            std::memcpy(j.ids->data, ids.data(), n * 4);
            t = time_ns([&] { ggml_graph_compute(j.graph, &j.plan); });
          } else {
            const int e = k - first - type_count;
            embtab::status st;
            t = time_ns([&] {
              st = embtab::lookup(ours[e], std::span<const std::int32_t>(ids), our_out[e]->span(), options);
            });
            if (!st.ok()) {
              std::fprintf(stderr, "embtab_vs_ggml: embtab lookup failed: %s\n", st.message().c_str());
              return 1;
            }
          }
          if (r >= warm && (c.burst == 1 || b >= 3)) ns[k].push_back(t);
        }
      }
    }
    // The last round's outputs: ggml's f32 rows are the ideal gather's; embtab's equal ggml's.
    if (std::memcmp(jobs[0]->out->data, ideal_out.data(), n * dim * 4) != 0) {
      std::fprintf(stderr, "embtab_vs_ggml: %s: ggml's f32 get_rows differs from memcpy\n", c.label);
      ++failures;
    }
    for (int k = 0; k < type_count; ++k)
      if (std::memcmp(jobs[k]->out->data, our_out[k]->data(), n * dim * 4) != 0) {
        std::fprintf(stderr, "embtab_vs_ggml: %s: embtab's %s rows differ from ggml's\n", c.label,
                     ggml_type_name(types[k].ggml));
        ++failures;
      }
    const auto per_token = [&](int k) { return median(ns[k]) / static_cast<double>(n); };
    std::printf("| %s | %d |", c.label, reps);
    for (int k = 0; k < candidates; ++k) std::printf(" %.0f |", per_token(k));
    for (int k = first; k < first + type_count; ++k) std::printf(" %.2f |", per_token(k) / per_token(k + type_count));
    std::printf("\n");
    std::fflush(stdout);
  }
  ggml_threadpool_free(pool);
  ggml_free(tables);
  return failures == 0 ? 0 : 1;
}
