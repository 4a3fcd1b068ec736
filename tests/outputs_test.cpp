// lookup() into a runtime's activations: f16 / bf16 output, out_row_stride, scale, position
// rows (every dtype, both forms), streaming stores, for every registered dtype x every ISA
// path x dim tails, against an independent scalar reference (the rounding rules written from
// their definition here) and against PyTorch (tests/fixtures/gen_output_fixtures.py).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <string>
#include <tuple>
#include <vector>

#include "embtab/embtab.hpp"
#include "isa_param.hpp"
#include "quant_fixtures.hpp"
#include "reference.hpp"

namespace {

using embtab::dtype;
using embtab::table;

std::uint16_t ref_f16(float x) { return embtab::ref::f32_to_f16(x); }
std::uint16_t ref_bf16(float x) { return embtab::ref::f32_to_bf16(x); }

// Out of line, so that no compiler turns `if (s != 1) v = v * s` into v * (s != 1 ? s : 1),
// which quiets a signalling NaN that the plain path must return as stored (clang does).
[[gnu::noinline]] float multiply(float a, float b) { return a * b; }

enum class out_kind { f32, f16, bf16 };
const char* name_of(out_kind o) { return o == out_kind::f32 ? "f32" : o == out_kind::f16 ? "f16" : "bf16"; }

// Output bits of one value: fp32 bits or the 16-bit pattern.
std::uint32_t ref_out(float v, out_kind o) {
  switch (o) {
    case out_kind::f32: return std::bit_cast<std::uint32_t>(v);
    case out_kind::f16: return ref_f16(v);
    case out_kind::bf16: return ref_bf16(v);
  }
  return 0;
}

// Whether got equals want; fp32 NaNs from an epilogue are any NaN (payload not specified).
bool same_out(std::uint32_t got, std::uint32_t want, out_kind o, bool any_nan) {
  if (got == want) return true;
  if (o != out_kind::f32 || !any_nan) return false;
  return std::isnan(std::bit_cast<float>(got)) && std::isnan(std::bit_cast<float>(want));
}

struct stored {
  std::vector<std::uint8_t> packed;
  std::vector<float> values;
  table t;
};

stored make_table(dtype type, std::size_t rows, std::size_t dim, std::uint32_t seed) {
  stored s;
  const std::size_t rb = *embtab::ref::stored_row_bytes(type, dim);
  std::mt19937 gen(seed);
  s.packed.resize(rows * rb);
  for (std::size_t r = 0; r < rows; ++r) {
    embtab::ref::random_row(type, dim, gen, r, s.packed.data() + r * rb);
    const auto v = *embtab::ref::decode_row(type, s.packed.data() + r * rb, dim);
    s.values.insert(s.values.end(), v.begin(), v.end());
  }
  s.t = table::wrap(std::as_bytes(std::span<const std::uint8_t>(s.packed)), rows, dim, type);
  return s;
}

// Runs one lookup into a buffer with sentinels around and between the rows, starting on a
// 64-byte line (aligned) or 16 bytes past one (as a std::vector<float> often does); returns
// the buffer from the first row on.
template <class Out>
std::vector<Out> run_into(const table& t, const std::vector<std::int64_t>& ids,
                          const embtab::lookup_options& o, bool whole, bool aligned, embtab::status& s) {
  const std::size_t dim = t.dim(), stride = o.out_row_stride ? o.out_row_stride : dim;
  const std::size_t n = ids.size();
  const std::size_t used = o.out_row_stride && !whole ? (n - 1) * stride + dim : n * stride;
  std::vector<Out> buffer(used + 5 + 2 * 64 / sizeof(Out));
  std::memset(buffer.data(), 0xA5, buffer.size() * sizeof(Out));
  const auto p = reinterpret_cast<std::uintptr_t>(buffer.data());
  const std::size_t start = ((64 - p % 64) % 64 + (aligned ? 0 : 16)) / sizeof(Out);
  s = embtab::lookup(t, std::span<const std::int64_t>(ids), std::span<Out>(buffer.data() + start, used), o);
  return std::vector<Out>(buffer.begin() + static_cast<std::ptrdiff_t>(start),
                          buffer.begin() + static_cast<std::ptrdiff_t>(start + used + 5));
}

template <class Out>
std::uint32_t bits_of(const Out& x) {
  if constexpr (std::is_same_v<Out, float>)
    return std::bit_cast<std::uint32_t>(x);
  else
    return x.bits;
}

using param = std::tuple<std::string, dtype, std::size_t>;
std::vector<param> all_params() {
  std::vector<param> out;
  for (const auto& isa : embtab::test::isa_names())
    for (const dtype type : embtab::all_dtypes()) {
      const std::size_t b = embtab::info(type).block_values;
      const std::vector<std::size_t> dims =
          b == 1 ? std::vector<std::size_t>{1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 257, 4097}
                 : std::vector<std::size_t>{b, 3 * b, 9 * b};
      for (const std::size_t dim : dims) out.emplace_back(isa, type, dim);
    }
  return out;
}

class Outputs : public embtab::test::isa_test<param> {};

template <class Out>
void check_all(const std::string& isa, dtype type, std::size_t dim, out_kind ok) {
  const std::size_t rows = 11, prows = 13;
  const stored tab = make_table(type, rows, dim, static_cast<std::uint32_t>(dim * 7 + 1));
  std::vector<stored> pos_tables;
  for (const dtype pt : embtab::all_dtypes())
    if (dim % embtab::info(pt).block_values == 0)
      pos_tables.push_back(make_table(pt, prows, dim, static_cast<std::uint32_t>(dim + 100 * static_cast<int>(pt))));
  const std::vector<std::int64_t> ids = {0, 10, 10, 3, 7, 0, 5, 2, 9};
  const std::vector<std::int64_t> pids = {12, 0, 3, 3, 11, 1, 0, 6, 2};
  const bool nan_exact = embtab::ref::nan_payloads_exact(type);
  int variant = 0;
  for (const float scale : {1.0f, 45.25f, -0.7f})
    for (std::size_t pi = 0; pi <= pos_tables.size(); ++pi)
      for (const int form : {0, 1}) {
        if (pi == pos_tables.size() && form == 1) continue;
        const stored* pos = pi < pos_tables.size() ? &pos_tables[pi] : nullptr;
        for (const std::size_t extra : {std::size_t{0}, std::size_t{3}}) {
          ++variant;
          embtab::lookup_options o;
          o.scale = scale;
          o.out_row_stride = extra ? dim + extra : 0;
          // Every 8 variants: each of streamed or not x aligned or 16 past x packed or strided.
          o.streaming_stores = variant / 2 % 2 == 0;
          o.positions = pos ? &pos->t : nullptr;
          o.position_start = 2;
          if (pos && form == 1) o.position_ids = pids;
          const bool whole = variant % 3 == 0;
          const bool aligned = variant / 4 % 2 == 0;
          embtab::status s;
          const std::vector<Out> buf = run_into<Out>(tab.t, ids, o, whole, aligned, s);
          ASSERT_TRUE(s.ok()) << s.message();
          const std::size_t stride = extra ? dim + extra : dim;
          const bool any_nan = !nan_exact || scale != 1.0f || pos != nullptr;
          for (std::size_t i = 0; i < ids.size(); ++i) {
            for (std::size_t j = 0; j < dim; ++j) {
              float v = tab.values[static_cast<std::size_t>(ids[i]) * dim + j];
              if (scale != 1.0f) v = multiply(v, scale);
              bool two_nans = false;  // NaN + NaN: which operand's sign wins is not specified
              if (pos) {
                const std::size_t p = form == 1 ? static_cast<std::size_t>(pids[i]) : 2 + i;
                two_nans = std::isnan(v) && std::isnan(pos->values[p * dim + j]);
                v = v + pos->values[p * dim + j];
              }
              std::uint32_t want = ref_out(v, ok);
              const bool copy = scale == 1.0f && pos == nullptr &&
                                ((type == dtype::f16 && ok == out_kind::f16) || (type == dtype::bf16 && ok == out_kind::bf16));
              if (copy) {  // the stored bits, NaN payloads included
                std::uint16_t h;
                std::memcpy(&h, tab.packed.data() + (static_cast<std::size_t>(ids[i]) * dim + j) * 2, 2);
                want = h;
              }
              const std::uint32_t got = bits_of(buf[i * stride + j]);
              if (two_nans && ok == out_kind::f16 && (got & 0x7FFF) == 0x7E00) continue;
              ASSERT_TRUE(same_out(got, want, ok, any_nan))
                  << isa << " " << embtab::to_string(type) << " -> " << name_of(ok) << " dim " << dim
                  << " scale " << scale << " pos " << (pos ? embtab::to_string(pos->t.type()) : "none")
                  << " form " << form << " stride " << stride << " row " << i << " col " << j
                  << std::hex << ": got 0x" << got << ", want 0x" << want;
            }
            // Padding between rows (and after the last one) untouched.
            const std::size_t end = i + 1 < ids.size() ? (i + 1) * stride : buf.size();
            for (std::size_t j = i * stride + dim; j < end; ++j) {
              Out sentinel;
              std::memset(&sentinel, 0xA5, sizeof sentinel);
              ASSERT_EQ(bits_of(buf[j]), bits_of(sentinel)) << "wrote padding at element " << j;
            }
          }
        }
      }
}

TEST_P(Outputs, EveryOutTypeScalePositionsStrideMatchTheReference) {
  const std::string isa = std::get<0>(GetParam());
  const dtype type = std::get<1>(GetParam());
  const std::size_t dim = std::get<2>(GetParam());
  check_all<float>(isa, type, dim, out_kind::f32);
  check_all<embtab::f16>(isa, type, dim, out_kind::f16);
  check_all<embtab::bf16>(isa, type, dim, out_kind::bf16);
}

INSTANTIATE_TEST_SUITE_P(Registry, Outputs, ::testing::ValuesIn(all_params()), [](const auto& p) {
  return std::get<0>(p.param) + "_" + embtab::to_string(std::get<1>(p.param)) + "_dim" +
         std::to_string(std::get<2>(p.param));
});

// ---- Across threads: each thread's share starts at its own position. ----
class OutputsThreaded : public embtab::test::isa_test<std::string> {};

// A caller's pool of two threads that claim tasks from a shared counter.
void two_threads(void*, std::size_t tasks, void (*task)(void*, std::size_t), void* context) {
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < tasks;) task(context, i);
  };
  std::thread helper(work);
  work();
  helper.join();
}

TEST_P(OutputsThreaded, ThreadSharesKeepTheirPositions) {
  const std::size_t dim = 1024, n = 300;
  const auto w = embtab::ref::random_weights(50, dim, 3);
  const auto pw = embtab::ref::random_weights(400, dim, 4);
  const table t = table::from_f32(w, 50, dim, dtype::bf16);
  const table pos = table::from_f32(pw, 400, dim, dtype::f16);
  const auto ids = embtab::ref::random_ids<std::int32_t>(n, 50, 5);
  for (const bool by_ids : {false, true}) {
    std::vector<std::int64_t> pids(n);
    for (std::size_t i = 0; i < n; ++i) pids[i] = static_cast<std::int64_t>((i * 37) % 400);
    embtab::lookup_options o{.scale = 2.5f, .positions = &pos, .position_start = 7};
    if (by_ids) o.position_ids = pids;
    std::vector<embtab::f16> serial(n * dim), team(n * dim);
    o.threads = 1;
    ASSERT_TRUE(embtab::lookup(t, ids, serial, o).ok());
    // Stretches on two threads of a caller's pool (every build has that), then on embtab's own
    // pool where the build has one (EMBTAB_OPENMP=ON).
    o.threads = 2;
    ASSERT_GT(embtab::lookup_tasks(n, dim, o), 1u);
    o.parallel = {.run = &two_threads, .context = nullptr};
    ASSERT_TRUE(embtab::lookup(t, ids, team, o).ok());
    ASSERT_EQ(std::memcmp(serial.data(), team.data(), n * dim * 2), 0);
    o.parallel = {};
    if (embtab::lookup_threads(n, dim, o) > 1) {
      std::fill(team.begin(), team.end(), embtab::f16{0});
      ASSERT_TRUE(embtab::lookup(t, ids, team, o).ok());
      ASSERT_EQ(std::memcmp(serial.data(), team.data(), n * dim * 2), 0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Isa, OutputsThreaded, ::testing::ValuesIn(embtab::test::isa_names()),
                         [](const auto& p) { return p.param; });

// ---- PyTorch: (emb(ids).float() * scale + pos(p).float()).to(out), bit for bit. ----
class OutputsTorch : public embtab::test::isa_test<std::string> {};

TEST_P(OutputsTorch, MatchesPyTorchBitForBit) {
  embtab::test::fixture_reader in(std::filesystem::path(EMBTAB_FIXTURE_DIR) / "outputs" / "epilogue.bin");
  ASSERT_TRUE(in.magic("EMBTOUT1")) << in.path();
  const std::size_t V = in.u32(), D = in.u32(), N = in.u32(), P = in.u32(), S = in.u32();
  const auto floats = [&](std::size_t count) {
    std::vector<float> v;
    for (const std::uint32_t b : in.array<std::uint32_t>(count)) v.push_back(std::bit_cast<float>(b));
    return v;
  };
  const auto w = floats(V * D), q = floats(V * D), p = floats(P * D);
  const auto ids = in.array<std::uint64_t>(N), positions = in.array<std::uint64_t>(N);
  const auto scales = floats(S);
  std::vector<table> tables, pos_tables;
  for (const dtype type : {dtype::f32, dtype::f16, dtype::bf16}) {
    tables.push_back(table::from_f32(w, V, D, type));
    pos_tables.push_back(table::from_f32(p, P, D, type));
  }
  tables.push_back(table::from_f32(q, V, D, dtype::int8_rowwise));
  std::vector<std::int64_t> ids64(ids.begin(), ids.end()), pos64(positions.begin(), positions.end());
  std::size_t checked = 0;
  for (const table& t : tables)
    for (int pi = -1; pi < 3; ++pi)
      for (const float scale : scales)
        for (const out_kind o : {out_kind::f32, out_kind::f16, out_kind::bf16}) {
          std::vector<std::uint32_t> want;
          if (o == out_kind::f32)
            want = in.array<std::uint32_t>(N * D);
          else
            for (const std::uint16_t b : in.array<std::uint16_t>(N * D)) want.push_back(b);
          embtab::lookup_options opt{.scale = scale};
          if (pi >= 0) {
            opt.positions = &pos_tables[static_cast<std::size_t>(pi)];
            opt.position_ids = pos64;
          }
          std::vector<std::uint32_t> got(N * D);
          if (o == out_kind::f32) {
            std::vector<float> out(N * D);
            ASSERT_TRUE(embtab::lookup(t, ids64, out, opt).ok());
            for (std::size_t k = 0; k < out.size(); ++k) got[k] = std::bit_cast<std::uint32_t>(out[k]);
          } else if (o == out_kind::f16) {
            std::vector<embtab::f16> out(N * D);
            ASSERT_TRUE(embtab::lookup(t, ids64, out, opt).ok());
            for (std::size_t k = 0; k < out.size(); ++k) got[k] = out[k].bits;
          } else {
            std::vector<embtab::bf16> out(N * D);
            ASSERT_TRUE(embtab::lookup(t, ids64, out, opt).ok());
            for (std::size_t k = 0; k < out.size(); ++k) got[k] = out[k].bits;
          }
          for (std::size_t k = 0; k < got.size(); ++k) {
            // fp32 NaNs: any NaN (the payload of inf - inf is not part of the contract).
            ASSERT_TRUE(same_out(got[k], want[k], o, true))
                << embtab::to_string(t.type()) << " pos " << pi << " scale " << scale << " out "
                << name_of(o) << " at " << k << std::hex << ": got 0x" << got[k] << ", want 0x" << want[k];
            ++checked;
          }
        }
  const auto packed = in.array<std::uint8_t>(V * (D + 8));
  EXPECT_TRUE(in.at_end()) << in.path();
  for (std::size_t r = 0; r < V; ++r)
    EXPECT_EQ(std::memcmp(tables[3].data() + r * tables[3].row_stride(), packed.data() + r * (D + 8), D + 8), 0)
        << "int8_rowwise row " << r << " differs from embedding_bag_byte_prepack";
  EXPECT_EQ(checked, 4 * 4 * S * 3 * N * D);
}

INSTANTIATE_TEST_SUITE_P(Isa, OutputsTorch, ::testing::ValuesIn(embtab::test::isa_names()),
                         [](const auto& p) { return p.param; });

// ---- Every error writes nothing. ----
TEST(OutputsErrors, EveryErrorLeavesOutUntouched) {
  const std::size_t dim = 8;
  const table t = table::from_f32(embtab::ref::random_weights(4, dim, 1), 4, dim, dtype::f16);
  const table pos = table::from_f32(embtab::ref::random_weights(5, dim, 2), 5, dim, dtype::f32);
  const table pos_other_dim = table::from_f32(embtab::ref::random_weights(5, 16, 2), 5, 16, dtype::f32);
  const std::vector<std::int32_t> ids = {1, 2, 3};
  const std::vector<std::int64_t> good_p = {0, 4, 1}, bad_p = {0, 5, 1}, neg_p = {-1, 0, 0}, short_p = {0, 1};
  struct error_case {
    const char* name;
    embtab::lookup_options o;
    std::size_t out_size;
    embtab::errc code;
    std::size_t position;
  };
  using embtab::errc;
  const std::vector<error_case> cases = {
      {"stride < dim", {.out_row_stride = 7}, 3 * 8, errc::invalid_argument, 0},
      {"trimmed too short", {.out_row_stride = 10}, 2 * 10 + 7, errc::size_mismatch, 0},
      {"longer than n * stride", {.out_row_stride = 10}, 31, errc::size_mismatch, 0},
      {"packed size", {}, 25, errc::size_mismatch, 0},
      {"inf scale", {.scale = INFINITY}, 24, errc::invalid_argument, 0},
      {"NaN scale", {.scale = NAN}, 24, errc::invalid_argument, 0},
      {"positions of another dim", {.positions = &pos_other_dim}, 24, errc::invalid_argument, 0},
      {"position_ids short", {.positions = &pos, .position_ids = short_p}, 24, errc::invalid_argument, 0},
      {"position_ids without table", {.position_ids = good_p}, 24, errc::invalid_argument, 0},
      {"position id past the end", {.positions = &pos, .position_ids = bad_p}, 24, errc::position_out_of_range, 1},
      {"negative position id", {.positions = &pos, .position_ids = neg_p}, 24, errc::position_out_of_range, 0},
      {"start past the end", {.positions = &pos, .position_start = 3}, 24, errc::position_out_of_range, 2},
      {"negative start", {.positions = &pos, .position_start = -1}, 24, errc::position_out_of_range, 0},
      {"huge start", {.positions = &pos, .position_start = INT64_MAX}, 24, errc::position_out_of_range, 0},
      {"negative threads", {.threads = -1}, 24, errc::invalid_argument, 0},
  };
  for (const auto& c : cases) {
    std::vector<embtab::bf16> out(40, embtab::bf16{0x1234});
    const auto s = embtab::lookup(t, ids, std::span<embtab::bf16>(out.data(), c.out_size), c.o);
    EXPECT_EQ(s.code(), c.code) << c.name << ": " << s.message();
    EXPECT_EQ(s.position(), c.position) << c.name;
    EXPECT_FALSE(s.message().empty());
    for (const auto x : out) ASSERT_EQ(x.bits, 0x1234) << c.name;
  }
  // The bounds themselves are accepted: trimmed and whole [n x stride] buffers.
  for (const std::size_t size : {std::size_t{2 * 10 + 8}, std::size_t{30}}) {
    std::vector<float> out(size);
    EXPECT_TRUE(embtab::lookup(t, ids, out, {.out_row_stride = 10}).ok()) << size;
  }
  std::vector<float> none;
  EXPECT_TRUE(embtab::lookup(t, std::span<const std::int32_t>(), none, {.out_row_stride = 10}).ok());
  // Bad id and a bad position: the id is reported.
  const std::vector<std::int32_t> bad_ids = {1, 9, 3};
  std::vector<float> out(24, 5.0f);
  const auto s = embtab::lookup(t, bad_ids, out, {.positions = &pos, .position_ids = bad_p});
  EXPECT_EQ(s.code(), errc::id_out_of_range);
  EXPECT_EQ(std::string(embtab::to_string(errc::position_out_of_range)), "position_out_of_range");
  EXPECT_EQ(embtab::lookup(t, ids, out, {.positions = &pos, .position_ids = bad_p}).message(),
            "position 5 of id at position 1 is out of range [0, 5)");
}

// f16 -> f16 and bf16 -> bf16 with nothing to apply copy the stored bits (NaN payloads too).
TEST(OutputsCopy, SameTypeCopiesBits) {
  for (const auto& isa : embtab::test::isa_names()) {
    ASSERT_TRUE(embtab::set_isa(isa));
    for (const dtype type : {dtype::f16, dtype::bf16}) {
      const stored tab = make_table(type, 6, 33, 9);
      const std::vector<std::int64_t> ids = {5, 0, 3};
      std::vector<std::uint16_t> out(ids.size() * 33);
      embtab::status s;
      if (type == dtype::f16)
        s = embtab::lookup(tab.t, std::span<const std::int64_t>(ids),
                           std::span<embtab::f16>(reinterpret_cast<embtab::f16*>(out.data()), out.size()));
      else
        s = embtab::lookup(tab.t, std::span<const std::int64_t>(ids),
                           std::span<embtab::bf16>(reinterpret_cast<embtab::bf16*>(out.data()), out.size()));
      ASSERT_TRUE(s.ok());
      for (std::size_t i = 0; i < ids.size(); ++i)
        ASSERT_EQ(std::memcmp(out.data() + i * 33, tab.packed.data() + ids[i] * 66, 66), 0) << isa;
    }
  }
  embtab::set_isa(embtab::supported_isas().front());
}

// The automatic streaming rule: by default from half the last-level cache; a lookup at or
// over the threshold streams by itself and returns the same bits as one under it, for every
// dtype and ISA path (the threshold moved to 0 and back to the default for this test).
TEST(OutputsStreamingRule, HalfTheLastLevelCacheAndTheSameBits) {
  const std::size_t llc = embtab::last_level_cache_bytes();
  ASSERT_GE(llc, std::size_t{64} << 10);
  ASSERT_EQ(embtab::streaming_min_bytes(), llc / 2);
  for (const auto& isa : embtab::test::isa_names()) {
    ASSERT_TRUE(embtab::set_isa(isa));
    for (const dtype type : embtab::all_dtypes()) {
      const std::size_t dim = 3 * embtab::info(type).block_values + (embtab::info(type).block_values == 1 ? 2 : 0);
      const stored tab = make_table(type, 9, dim, 21);
      const std::vector<std::int32_t> ids = {8, 1, 1, 4, 0};
      std::vector<float> cached(ids.size() * dim, 7.0f), streamed(ids.size() * dim, 8.0f);
      ASSERT_TRUE(embtab::lookup(tab.t, std::span<const std::int32_t>(ids), std::span<float>(cached)).ok());
      embtab::set_streaming_min_bytes(0);
      const auto s = embtab::lookup(tab.t, std::span<const std::int32_t>(ids), std::span<float>(streamed));
      embtab::set_streaming_min_bytes(llc / 2);
      ASSERT_TRUE(s.ok());
      ASSERT_EQ(std::memcmp(cached.data(), streamed.data(), cached.size() * sizeof(float)), 0)
          << isa << " " << embtab::info(type).name << " dim " << dim;
      for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = 0; j < dim; ++j) {
          const float want = tab.values[static_cast<std::size_t>(ids[i]) * dim + j];
          ASSERT_TRUE(same_out(std::bit_cast<std::uint32_t>(cached[i * dim + j]), ref_out(want, out_kind::f32),
                               out_kind::f32, true))
              << isa << " " << embtab::info(type).name << " row " << i << " value " << j;
        }
    }
  }
  embtab::set_isa(embtab::supported_isas().front());
}

// Streamed output at any placement: rows that start at every offset into a 64-byte line (a
// std::vector<float> is 16 bytes past one), packed or strided, give the same bytes as the
// lookup through the cache, and nothing outside the rows is written. The AVX-512 path carries
// lines across chunks and packed rows in registers (nt_rows in src/kernels/store-inl.hpp);
// dims whose rows are, and are not, whole lines, and rows longer than a 1 KiB chunk.
template <class Out>
void check_streamed_placement(const std::string& isa, const stored& tab, float scale) {
  const std::size_t dim = tab.t.dim();
  const std::vector<std::int64_t> ids = {3, 0, 0, 5, 2, 6, 1};
  const std::size_t n = ids.size();
  // Strides: packed, 3 elements more, and whole lines with the row not (the rows of fp32 out
  // streamed straight from the registers when each starts on a line, stream_row).
  const std::size_t line_padded = (16 - dim % 16) % 16 + 16;
  for (const std::size_t extra : {std::size_t{0}, std::size_t{3}, line_padded})
    for (std::size_t offset = 0; offset < 64 / sizeof(Out); ++offset) {
      const std::size_t stride = dim + extra, used = (n - 1) * stride + dim;
      constexpr std::size_t line = 64 / sizeof(Out);  // a line of elements is checked before the rows, 5 after
      std::vector<Out> via_cache(used + 3 * line + 8), streamed(via_cache.size());
      std::memset(via_cache.data(), 0xA5, via_cache.size() * sizeof(Out));
      std::memset(streamed.data(), 0xA5, streamed.size() * sizeof(Out));
      // Where the rows start: `offset` elements into a 64-byte line, a line after the data's start.
      const auto first = [&](std::vector<Out>& b) {
        const auto p = reinterpret_cast<std::uintptr_t>(b.data());
        return b.data() + ((64 - p % 64) % 64) / sizeof(Out) + line + offset;
      };
      Out* const a = first(via_cache);
      Out* const z = first(streamed);
      embtab::lookup_options o;
      o.scale = scale;
      o.out_row_stride = extra ? stride : 0;
      ASSERT_TRUE(embtab::lookup(tab.t, std::span<const std::int64_t>(ids), std::span<Out>(a, used), o).ok());
      o.streaming_stores = true;
      ASSERT_TRUE(embtab::lookup(tab.t, std::span<const std::int64_t>(ids), std::span<Out>(z, used), o).ok());
      ASSERT_EQ(std::memcmp(a - line, z - line, (used + line + 5) * sizeof(Out)), 0)
          << isa << " " << embtab::info(tab.t.type()).name << " -> " << sizeof(Out) * 8 << "-bit out, dim " << dim
          << ", stride " << stride << ", " << offset * sizeof(Out) << " bytes into a line, scale " << scale;
    }
}

TEST(OutputsStreamingPlacement, EveryOffsetIntoALineSameBytesAsThroughTheCache) {
  for (const auto& isa : embtab::test::isa_names()) {
    ASSERT_TRUE(embtab::set_isa(isa));
    for (const dtype type : embtab::all_dtypes()) {
      const std::size_t b = embtab::info(type).block_values;
      const std::vector<std::size_t> dims =
          b == 1 ? std::vector<std::size_t>{40, 264, 512} : std::vector<std::size_t>{b, 9 * b};
      for (const std::size_t dim : dims) {
        const stored tab = make_table(type, 7, dim, static_cast<std::uint32_t>(dim + 31));
        for (const float scale : {1.0f, 2.0f}) {
          check_streamed_placement<float>(isa, tab, scale);
          check_streamed_placement<embtab::f16>(isa, tab, scale);
          check_streamed_placement<embtab::bf16>(isa, tab, scale);
        }
      }
    }
  }
  embtab::set_isa(embtab::supported_isas().front());
}

}  // namespace
