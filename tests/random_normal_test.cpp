// embtab::detail::torch_normal_fill against PyTorch 1.13 fixtures
// (tests/fixtures/gen_random_normal.py documents the file format), plus an exhaustive check of
// the float path's per-lane arithmetic against an independent std::fma implementation.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "torch/random_normal.hpp"

#ifndef EMBTAB_FIXTURE_DIR
#error "EMBTAB_FIXTURE_DIR must name the tests/fixtures folder (a string literal)"
#endif

namespace {

using embtab::detail::torch_normal_fill;

std::uint32_t bits_of(float v) { return std::bit_cast<std::uint32_t>(v); }

std::vector<float> fill(std::size_t numel, std::uint64_t seed) {
  std::vector<float> out(numel);
  torch_normal_fill(out.data(), numel, seed);
  return out;
}

std::uint64_t fnv1a_words(const std::vector<float>& values) {
  std::uint64_t h = 0xcbf29ce484222325u;
  for (const float v : values) h = (h ^ bits_of(v)) * 0x100000001b3u;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Fixtures

struct fixture_case {
  std::uint64_t seed = 0;
  std::size_t rows = 0;
  std::size_t dim = 0;
  bool full = true;
  std::uint64_t digest = 0;          // digest cases only
  std::vector<std::uint32_t> words;  // all values, or the first 64 and last 64
};

std::string fixture_path() { return std::string(EMBTAB_FIXTURE_DIR) + "/random_normal/cases.txt"; }

struct fixture_file {
  std::size_t declared_cases = 0;  // from the "# N cases" header line
  std::vector<fixture_case> cases;
};

fixture_file load_fixtures() {
  fixture_file file;
  std::ifstream in(fixture_path());
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (line.starts_with('#')) {
      std::string hash;
      std::size_t count = 0;
      std::string word;
      if (fields >> hash >> count >> word && word == "cases") file.declared_cases = count;
      continue;
    }
    fixture_case c;
    std::string kind;
    if (!(fields >> c.seed >> c.rows >> c.dim >> kind)) continue;
    c.full = kind == "full";
    std::string hex;
    if (!c.full) {
      fields >> hex;
      c.digest = std::stoull(hex, nullptr, 16);
    }
    while (fields >> hex) {
      c.words.push_back(static_cast<std::uint32_t>(std::stoul(hex, nullptr, 16)));
    }
    file.cases.push_back(std::move(c));
  }
  return file;
}

const fixture_file& fixtures() {
  static const fixture_file file = load_fixtures();
  return file;
}

TEST(RandomNormalFixtures, FileLoadsCompletely) {
  const fixture_file& file = fixtures();
  ASSERT_GT(file.declared_cases, 0u) << "cannot read " << fixture_path();
  EXPECT_EQ(file.cases.size(), file.declared_cases);
  for (const fixture_case& c : file.cases) {
    const std::size_t numel = c.rows * c.dim;
    EXPECT_EQ(c.words.size(), c.full ? numel : std::size_t{128})
        << "seed " << c.seed << " " << c.rows << "x" << c.dim;
  }
}

class RandomNormalFixture : public testing::TestWithParam<fixture_case> {};

TEST_P(RandomNormalFixture, MatchesPyTorchBitForBit) {
  const fixture_case& c = GetParam();
  const std::size_t numel = c.rows * c.dim;
  const std::vector<float> got = fill(numel, c.seed);
  if (c.full) {
    ASSERT_EQ(c.words.size(), numel);
    for (std::size_t i = 0; i < numel; ++i) {
      ASSERT_EQ(bits_of(got[i]), c.words[i]) << "value " << i << " = " << got[i];
    }
    return;
  }
  ASSERT_EQ(c.words.size(), 128u);
  for (std::size_t i = 0; i < 64; ++i) {
    ASSERT_EQ(bits_of(got[i]), c.words[i]) << "value " << i;
    ASSERT_EQ(bits_of(got[numel - 64 + i]), c.words[64 + i]) << "value " << numel - 64 + i;
  }
  EXPECT_EQ(fnv1a_words(got), c.digest);
}

std::string case_name(const testing::TestParamInfo<fixture_case>& info) {
  const fixture_case& c = info.param;
  return "seed" + std::to_string(c.seed) + "_" + std::to_string(c.rows) + "x" +
         std::to_string(c.dim);
}

INSTANTIATE_TEST_SUITE_P(PyTorch113, RandomNormalFixture, testing::ValuesIn(fixtures().cases),
                         case_name);

// ---------------------------------------------------------------------------------------------
// Direct cases

// What the seed notebook printed for torch.manual_seed(123); torch.nn.Embedding(6, 3).
TEST(RandomNormal, NotebookSeed123Embedding6x3) {
  const float printed[6][3] = {{0.3374f, -0.1778f, -0.1690f}, {0.9178f, 1.5810f, 1.3010f},
                               {1.2753f, -0.2010f, -0.1606f}, {-0.4015f, 0.9666f, -1.1481f},
                               {-1.1589f, 0.3255f, -0.6315f}, {-2.8400f, -0.7849f, -1.4096f}};
  const std::vector<float> got = fill(18, 123);
  for (int r = 0; r < 6; ++r) {
    for (int d = 0; d < 3; ++d) {
      EXPECT_NEAR(got[r * 3 + d], printed[r][d], 0.5e-4) << "row " << r << " col " << d;
    }
  }
}

TEST(RandomNormal, OnlyTheLow32BitsOfTheSeedMatter) {
  for (const std::size_t numel : {std::size_t{7}, std::size_t{16}, std::size_t{100}}) {
    EXPECT_EQ(fill(numel, 5), fill(numel, (std::uint64_t{1} << 32) + 5));
    EXPECT_EQ(fill(numel, 0xffffffffu), fill(numel, ~std::uint64_t{0}));
  }
}

TEST(RandomNormal, WritesExactlyNumel) {
  constexpr float sentinel = 12345.0f;
  for (std::size_t numel = 0; numel <= 40; ++numel) {
    std::vector<float> out(numel + 8, sentinel);
    torch_normal_fill(out.data(), numel, 42);
    for (std::size_t i = numel; i < out.size(); ++i) {
      ASSERT_EQ(out[i], sentinel) << "numel " << numel << " wrote slot " << i;
    }
    for (std::size_t i = 0; i < numel; ++i) ASSERT_NE(out[i], sentinel);
  }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive check of the float path's lanes: the uniforms are k * 2^-24 for k < 2^24, so
// every input of torch_normal_radius and torch_normal_sincos is covered. The reference below
// follows avx_mathfun.h's log256_ps / sincos256_ps with std::fma exactly where the Debian
// build fused (see src/torch/random_normal.cpp); it proves the source's double-based fused
// multiply-adds round correctly for every input they can receive.

float from_bits(std::uint32_t b) { return std::bit_cast<float>(b); }

float reference_radius(float uniform) {
  const float u = 1.0f - uniform;
  const std::uint32_t b = bits_of(u);
  float e = static_cast<float>(static_cast<int>(b >> 23) - 127) + 1.0f;
  float x = from_bits((b & 0x807fffffu) | 0x3f000000u);
  if (x < 0x1.6a09e6p-1f) {
    e -= 1.0f;
    x = (x - 1.0f) + x;
  } else {
    x = x - 1.0f;
  }
  const float z = x * x;
  const float p[9] = {0x1.204376p-4f,  -0x1.d7a370p-4f, 0x1.de4a34p-4f,
                      -0x1.fcba9ep-4f, 0x1.23d37ep-3f,  -0x1.555ca0p-3f,
                      0x1.999d58p-3f,  -0x1.fffff8p-3f, 0x1.555554p-2f};
  float y = p[0];
  for (int i = 1; i < 9; ++i) y = std::fma(y, x, p[i]);
  y = std::fma(y * x, z, e * -0x1.bd0106p-13f);
  y = std::fma(-z, 0.5f, y);
  const float log_u = std::fma(e, 0x1.63p-1f, x + y);
  return std::sqrt(-2.0f * log_u);
}

embtab::detail::sin_cos reference_sincos(float uniform) {
  const float t = 0x1.921fb6p+2f * uniform;  // t >= 0
  int j = static_cast<int>(t * 0x1.45f306p+0f);
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  float x = std::fma(y, -0x1.92p-1f, t);
  x = std::fma(y, -0x1.fb4p-13f, x);
  x = std::fma(y, -0x1.4442d2p-25f, x);
  const float z = x * x;
  float poly_cos = std::fma(std::fma(0x1.99eb9cp-16f, z, -0x1.6c0c34p-10f), z, 0x1.55554ap-5f);
  poly_cos = std::fma(poly_cos * z, z, -(z * 0.5f)) + 1.0f;
  float poly_sin = std::fma(std::fma(-0x1.9943f2p-13f, z, 0x1.11073cp-7f), z, -0x1.555546p-3f);
  poly_sin = std::fma(poly_sin * z, x, x);
  // Octants 2 and 6 of j swap the polynomials; the kernel's masked adds of +0 clear a -0.
  const bool swap = (j & 2) != 0;
  float s = (swap ? poly_cos : poly_sin) + 0.0f;
  float c = (swap ? poly_sin : poly_cos) + 0.0f;
  if ((j & 4) != 0) s = -s;
  if (((j - 2) & 4) == 0) c = -c;
  return {s, c};
}

// Every input in optimised builds (about a second); every 61st at -O0, where that takes 30 s.
#ifdef __OPTIMIZE__
constexpr std::uint32_t k_lane_stride = 1;
#else
constexpr std::uint32_t k_lane_stride = 61;
#endif

TEST(RandomNormalLanes, RadiusForEveryUniform) {
  for (std::uint32_t k = 0; k < (1u << 24); k += k_lane_stride) {
    const float u = static_cast<float>(k) * 0x1p-24f;
    const float got = embtab::detail::torch_normal_radius(u);
    const float want = reference_radius(u);
    ASSERT_EQ(bits_of(got), bits_of(want)) << "k " << k << ": " << got << " vs " << want;
  }
}

TEST(RandomNormalLanes, SinCosForEveryUniform) {
  for (std::uint32_t k = 0; k < (1u << 24); k += k_lane_stride) {
    const float u = static_cast<float>(k) * 0x1p-24f;
    const embtab::detail::sin_cos got = embtab::detail::torch_normal_sincos(u);
    const embtab::detail::sin_cos want = reference_sincos(u);
    ASSERT_EQ(bits_of(got.sin_t), bits_of(want.sin_t))
        << "k " << k << ": sin " << got.sin_t << " vs " << want.sin_t;
    ASSERT_EQ(bits_of(got.cos_t), bits_of(want.cos_t))
        << "k " << k << ": cos " << got.cos_t << " vs " << want.cos_t;
  }
}

}  // namespace
