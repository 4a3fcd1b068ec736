// ggml's block formats (q8_0, q4_0, q4_k, q6_k) against the gguf Python package: every fixture
// of tests/fixtures/ggml (from gen_ggml_fixtures.py) on every ISA path, through from_blocks
// and through a view at an odd address, looks up as gguf.quants.dequantize's fp32 bits;
// from_f32 gives gguf.quants.quantize's bytes for q8_0 and q4_0 and refuses q4_k and q6_k;
// a dim that is not a whole number of blocks is refused everywhere, naming dim and the block.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "embtab/embtab.hpp"
#include "embtab/torch.hpp"
#include "ggml_reference.hpp"
#include "isa_param.hpp"
#include "reference.hpp"
#include "test_helpers.hpp"

#ifndef EMBTAB_FIXTURE_DIR
#error "EMBTAB_FIXTURE_DIR must name the tests/fixtures folder"
#endif

namespace {

using embtab::dtype;
using embtab::table;
namespace gr = embtab::ref::ggml;

const std::filesystem::path ggml_dir = std::filesystem::path(EMBTAB_FIXTURE_DIR) / "ggml";

// The fixtures' NaN bits are numpy's on x86-64 (gen_ggml_fixtures.py); elsewhere the CPU's
// default NaN differs, so there a NaN only has to be a NaN.
#if defined(__x86_64__) || defined(__i386__)
constexpr bool fixture_nan_bits_exact = true;
#else
constexpr bool fixture_nan_bits_exact = false;
#endif

// Fixture file names without ".bin", sorted; empty if the folder is missing (the Fixtures
// test below fails then).
std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(ggml_dir, ec))
    if (e.path().extension() == ".bin") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

gr::fixture load(const std::string& name) { return gr::read_fixture(ggml_dir / (name + ".bin")); }

dtype dtype_of(const gr::fixture& fx) {
  const auto type = embtab::dtype_from_name(fx.type_name);
  if (!type) throw std::runtime_error("fixture type " + fx.type_name + " is not a registered dtype");
  return *type;
}

using embtab::test::refusal;

// Every row in reverse, then a few again (duplicates), looked up from t; want is rows x dim
// fp32 bits. Checks int64 and int32 ids and 1 and 2 threads.
void expect_fixture_values(const table& t, const std::vector<std::uint32_t>& want, const std::string& what) {
  const std::size_t rows = t.rows(), dim = t.dim();
  std::vector<std::int64_t> ids;
  for (std::size_t r = rows; r-- > 0;) ids.push_back(static_cast<std::int64_t>(r));
  ids.push_back(0);
  ids.push_back(static_cast<std::int64_t>(rows - 1));
  ids.push_back(0);
  const std::vector<std::int32_t> ids32(ids.begin(), ids.end());
  for (const int threads : {1, 2})
    for (const bool wide : {true, false}) {
      std::vector<float> out(ids.size() * dim, -777.0f);
      const auto s = wide ? embtab::lookup(t, ids, out, {.threads = threads})
                          : embtab::lookup(t, ids32, out, {.threads = threads});
      ASSERT_TRUE(s.ok()) << s.message();
      for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = 0; j < dim; ++j) {
          const std::uint32_t w = want[static_cast<std::size_t>(ids[i]) * dim + j];
          const std::uint32_t got = std::bit_cast<std::uint32_t>(out[i * dim + j]);
          const bool ok = got == w || (!fixture_nan_bits_exact && std::isnan(std::bit_cast<float>(w)) &&
                                       std::isnan(out[i * dim + j]));
          ASSERT_TRUE(ok) << what << " row " << ids[i] << " col " << j << ": got 0x" << std::hex << got
                          << ", want 0x" << w << (wide ? " (int64 ids, " : " (int32 ids, ") << std::dec
                          << threads << " threads)";
        }
    }
}

// ---- Every fixture on every ISA path ----

using fixture_param = std::tuple<std::string, std::string>;  // isa, fixture name

std::vector<fixture_param> fixture_params() {
  std::vector<fixture_param> out;
  for (const auto& isa : embtab::test::isa_names())
    for (const auto& name : fixture_names()) out.emplace_back(isa, name);
  return out;
}

class GgmlFixture : public embtab::test::isa_test<fixture_param> {};

TEST_P(GgmlFixture, FromBlocksAndOddViewLookUpAsGguf) {
  const std::string name = std::get<1>(GetParam());
  const gr::fixture fx = load(name);
  const dtype type = dtype_of(fx);
  ASSERT_EQ(embtab::info(type).block_values, fx.block_values);
  ASSERT_EQ(embtab::info(type).block_bytes, fx.block_bytes);
  ASSERT_EQ(embtab::row_bytes(type, fx.dim), fx.row_bytes());

  const auto blocks = std::as_bytes(std::span<const std::uint8_t>(fx.blocks));
  const table owning = table::from_blocks(blocks, fx.rows, fx.dim, type);
  ASSERT_TRUE(owning.owns_memory());
  ASSERT_EQ(owning.type(), type);
  ASSERT_EQ(reinterpret_cast<std::uintptr_t>(owning.data()) % 64, 0u);
  for (std::size_t r = 0; r < fx.rows; ++r)
    ASSERT_EQ(std::memcmp(owning.data() + r * owning.row_stride(), fx.blocks.data() + r * fx.row_bytes(),
                          fx.row_bytes()),
              0)
        << "from_blocks changed row " << r;
  expect_fixture_values(owning, fx.expected_bits, name + " from_blocks");

  // A view at an odd address, in a buffer of exactly the bytes it may read (ASan).
  const std::size_t offset = 3;
  auto memory = std::make_unique<std::byte[]>(offset + fx.blocks.size());
  std::memcpy(memory.get() + offset, fx.blocks.data(), fx.blocks.size());
  const table view = table::wrap(std::span<const std::byte>(memory.get() + offset, fx.blocks.size()), fx.rows,
                                 fx.dim, type);
  ASSERT_FALSE(view.owns_memory());
  expect_fixture_values(view, fx.expected_bits, name + " view at offset 3");
}

INSTANTIATE_TEST_SUITE_P(Gguf, GgmlFixture, ::testing::ValuesIn(fixture_params()), [](const auto& p) {
  return std::get<0>(p.param) + "_" + std::get<1>(p.param);
});
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GgmlFixture);  // the Fixtures test reports it

TEST(GgmlFixtures, AreAllThereAndMatchTheReference) {
  const auto names = fixture_names();
  ASSERT_EQ(names.size(), 32u) << "tests/fixtures/ggml: run tests/fixtures/gen_ggml_fixtures.py";
  for (const auto& name : names) {
    const gr::fixture fx = load(name);
    const dtype type = dtype_of(fx);
    // The independent reference agrees with gguf too (the conformance suite relies on it).
    for (std::size_t r = 0; r < fx.rows; ++r) {
      const auto v = embtab::ref::decode_row(type, fx.blocks.data() + r * fx.row_bytes(), fx.dim);
      ASSERT_TRUE(v.has_value());
      for (std::size_t j = 0; j < fx.dim; ++j)
        ASSERT_EQ(std::bit_cast<std::uint32_t>((*v)[j]), fx.expected_bits[r * fx.dim + j])
            << name << " row " << r << " col " << j;
    }
  }
}

// ---- from_f32: gguf's quantizers for q8_0 and q4_0, a refusal for q4_k and q6_k ----

TEST(GgmlQuantize, FromF32GivesGgufBytes) {
  std::size_t checked = 0;
  for (const auto& name : fixture_names()) {
    const gr::fixture fx = load(name);
    if (fx.input.empty()) continue;
    const dtype type = dtype_of(fx);
    ASSERT_TRUE(type == dtype::q8_0 || type == dtype::q4_0) << name;
    ASSERT_TRUE(embtab::has_f32_encoder(type));
    const table t = table::from_f32(fx.input, fx.rows, fx.dim, type);
    for (std::size_t r = 0; r < fx.rows; ++r) {
      const auto* got = reinterpret_cast<const std::uint8_t*>(t.data() + r * t.row_stride());
      const std::uint8_t* want = fx.blocks.data() + r * fx.row_bytes();
      for (std::size_t b = 0; b < fx.row_bytes(); ++b)
        ASSERT_EQ(got[b], want[b]) << name << " row " << r << " byte " << b << " (block "
                                   << b / fx.block_bytes << ")";
    }
    expect_fixture_values(t, fx.expected_bits, name + " from_f32");
    ++checked;
  }
  EXPECT_EQ(checked, 10u);
}

TEST(GgmlQuantize, QuantizersWithoutAReferenceAnswerStoreZero) {
  // 1 / d overflows (gguf casts inf and NaN to integers there): fp16 d is 0 and the codes
  // stand for 0 (q8_0 code 0, q4_0 code 8), so every value looks up as 0.
  std::vector<float> w(64, 0.0f);
  for (std::size_t j = 0; j < 32; ++j) w[j] = static_cast<float>(j % 5) * 1e-39f - 2e-39f;
  for (std::size_t j = 32; j < 64; ++j) w[j] = static_cast<float>(j);
  for (const dtype type : {dtype::q8_0, dtype::q4_0}) {
    const table t = table::from_f32(w, 1, 64, type);
    const auto* row = reinterpret_cast<const std::uint8_t*>(t.data());
    EXPECT_EQ(row[0] | row[1] << 8, 0) << embtab::to_string(type);
    const std::size_t bb = embtab::info(type).block_bytes;
    for (std::size_t b = 2; b < bb; ++b) EXPECT_EQ(row[b], type == dtype::q8_0 ? 0x00 : 0x88) << b;
    std::vector<float> out(64);
    const std::vector<std::int64_t> id = {0};
    ASSERT_TRUE(embtab::lookup(t, id, out).ok());
    for (std::size_t j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.0f);
    // The second block is ordinary: the reference quantizer's bytes.
    std::vector<std::uint8_t> want(2 * bb);
    if (type == dtype::q8_0)
      gr::quantize_row_q8_0(w.data(), 64, want.data());
    else
      gr::quantize_row_q4_0(w.data(), 64, want.data());
    EXPECT_EQ(std::memcmp(row + bb, want.data() + bb, bb), 0) << embtab::to_string(type);
  }
}

TEST(GgmlQuantize, NonFiniteRowsAreRefusedNamingTheRow) {
  for (const dtype type : {dtype::q8_0, dtype::q4_0})
    for (const float bad : {INFINITY, -INFINITY, NAN}) {
      std::vector<float> w(3 * 32, 0.5f);
      w[2 * 32 + 7] = bad;
      EXPECT_EQ(refusal([&] { (void)table::from_f32(w, 3, 32, type); }),
                "embtab::table: row 2 holds NaN or inf; " + std::string(embtab::to_string(type)) +
                    " needs finite rows");
    }
}

TEST(GgmlQuantize, KQuantsAreRefusedPointingToFromBlocks) {
  for (const dtype type : {dtype::q4_k, dtype::q6_k}) {
    EXPECT_FALSE(embtab::has_f32_encoder(type));
    const std::vector<float> w(2 * 256, 0.25f);
    const std::string why = refusal([&] { (void)table::from_f32(w, 2, 256, type); });
    EXPECT_EQ(why, "embtab::table: " + std::string(embtab::to_string(type)) +
                       " tables cannot be made from fp32 weights; use table::from_blocks with the "
                       "file's blocks");
    EXPECT_NE(refusal([&] { (void)embtab::torch::random_normal(2, 256, 7, type); }).find("from_blocks"),
              std::string::npos);
  }
  for (const dtype type : {dtype::f32, dtype::f16, dtype::bf16, dtype::int8_rowwise, dtype::q8_0, dtype::q4_0})
    EXPECT_TRUE(embtab::has_f32_encoder(type)) << embtab::to_string(type);
  EXPECT_FALSE(embtab::has_f32_encoder(static_cast<dtype>(200)));
}

TEST(GgmlQuantize, MeasureQuantizationWorksForQ8_0) {
  const gr::fixture fx = load("q8_0__normal__r1_d4096");
  ASSERT_FALSE(fx.input.empty());
  const table t = table::from_f32(fx.input, fx.rows, fx.dim, dtype::q8_0);
  const auto report = embtab::measure_quantization(t, fx.input);
  // The same figures from gguf's values.
  double max_err = 0.0, sum_sq = 0.0;
  for (std::size_t i = 0; i < fx.input.size(); ++i) {
    const double err = std::fabs(static_cast<double>(std::bit_cast<float>(fx.expected_bits[i])) -
                                 static_cast<double>(fx.input[i]));
    max_err = std::max(max_err, err);
    sum_sq += err * err;
  }
  EXPECT_EQ(report.max_abs_error, max_err);
  EXPECT_NEAR(report.rms_error, std::sqrt(sum_sq / static_cast<double>(fx.input.size())), 1e-12 * max_err);
  EXPECT_GT(report.max_abs_error, 0.0);
  EXPECT_EQ(report.worst_row, 0u);
  // Rounding to the nearest of 255 steps over [-amax, amax]: at most half a step, 1/254 of
  // the block's range (plus the fp16 rounding of d), well under 1 % of the row's.
  EXPECT_LT(report.max_error_over_row_range, 0.01);
}

// ---- Shapes: dim must be a whole number of blocks; from_blocks wants exactly the bytes ----

TEST(GgmlShapes, DimNotAMultipleOfTheBlockIsRefusedEverywhere) {
  struct bad_shape {
    dtype type;
    std::size_t dim;
  };
  for (const bad_shape& s : {bad_shape{dtype::q8_0, 48}, bad_shape{dtype::q4_0, 16}, bad_shape{dtype::q4_k, 300},
                             bad_shape{dtype::q6_k, 128}}) {
    // Named variables, not structured bindings: clang 14 (the tsan preset) cannot capture those.
    const dtype type = s.type;
    const std::size_t dim = s.dim;
    const std::string name = embtab::to_string(type);
    const std::string block = std::to_string(embtab::info(type).block_values);
    const std::string tail = "dim " + std::to_string(dim) + " is not a multiple of " + name + "'s " + block +
                             " values per block";
    const std::vector<float> w(2 * dim, 1.0f);
    const std::vector<std::byte> memory(1 << 16);
    EXPECT_EQ(refusal([&] { (void)table::from_f32(w, 2, dim, type); }), "embtab::table: " + tail);
    EXPECT_EQ(refusal([&] { (void)table::from_blocks(memory, 2, dim, type); }), "embtab::table: " + tail);
    EXPECT_EQ(refusal([&] { (void)table::wrap(memory, 2, dim, type); }), "embtab::table: " + tail);
    EXPECT_EQ(refusal([&] { (void)embtab::row_bytes(type, dim); }), "embtab::row_bytes: " + tail);
  }
}

TEST(GgmlShapes, FromBlocksWantsExactlyTheRowsBytes) {
  const std::vector<std::byte> memory(3 * 34 + 1);
  EXPECT_EQ(refusal([&] { (void)table::from_blocks(std::span(memory).first(3 * 34 - 1), 3, 32, dtype::q8_0); }),
            "embtab::table: blocks hold 101 bytes, expected 102 for 3 x 32 q8_0 (3 rows of 34 bytes)");
  EXPECT_EQ(refusal([&] { (void)table::from_blocks(memory, 3, 32, dtype::q8_0); }),
            "embtab::table: blocks hold 103 bytes, expected 102 for 3 x 32 q8_0 (3 rows of 34 bytes)");
  EXPECT_EQ(refusal([&] { (void)table::from_blocks(memory, 0, 32, dtype::q8_0); }),
            "embtab::table: rows and dim must be positive, got 0 x 32");
  EXPECT_EQ(refusal([&] { (void)table::from_blocks(memory, 3, 0, dtype::q8_0); }),
            "embtab::table: rows and dim must be positive, got 3 x 0");
  EXPECT_EQ(refusal([&] { (void)table::from_blocks(memory, 3, 32, static_cast<dtype>(99)); }),
            "embtab::table: dtype 99 is not registered");
  const std::size_t huge = std::numeric_limits<std::size_t>::max() / 64;
  EXPECT_NE(refusal([&] { (void)table::from_blocks(memory, huge, 256, dtype::q6_k); }), "accepted");
}

// from_blocks is a packed copy for every registered dtype, not only ggml's.
TEST(GgmlShapes, FromBlocksCopiesEveryDtype) {
  for (const dtype type : embtab::all_dtypes()) {
    const std::size_t dim = 2 * embtab::info(type).block_values, rows = 5;
    const auto rb = embtab::ref::stored_row_bytes(type, dim);
    ASSERT_TRUE(rb.has_value()) << embtab::to_string(type);
    std::vector<std::uint8_t> packed(rows * *rb);
    std::mt19937 gen(static_cast<std::uint32_t>(type) + 1);
    for (std::size_t r = 0; r < rows; ++r)
      ASSERT_TRUE(embtab::ref::random_row(type, dim, gen, r, packed.data() + r * *rb));
    const table t = table::from_blocks(std::as_bytes(std::span<const std::uint8_t>(packed)), rows, dim, type);
    ASSERT_TRUE(t.owns_memory());
    ASSERT_EQ(t.row_bytes(), *rb);
    for (std::size_t r = 0; r < rows; ++r)
      EXPECT_EQ(std::memcmp(t.data() + r * t.row_stride(), packed.data() + r * *rb, *rb), 0)
          << embtab::to_string(type) << " row " << r;
  }
}

}  // namespace
