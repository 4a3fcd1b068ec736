// embtab::torch::random_normal, the public face of detail::torch_normal_fill: the seed notebook's
// numbers, the same bits as the fill it wraps, and every dtype stored as from_f32 stores it.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "embtab/embtab.hpp"
#include "embtab/torch.hpp"
#include "torch/random_normal.hpp"

namespace {

using embtab::dtype;
using embtab::table;

// Every row of t, as lookup returns it (fp32).
std::vector<float> all_rows(const table& t) {
  std::vector<std::int64_t> ids(t.rows());
  std::iota(ids.begin(), ids.end(), 0);
  std::vector<float> out(t.rows() * t.dim());
  EXPECT_TRUE(embtab::lookup(t, ids, out).ok());
  return out;
}

// torch.manual_seed(123); print(torch.nn.Embedding(6, 3).weight), as the notebook shows it.
TEST(RandomNormalTable, NotebookWeightsToFourDecimals) {
  const char* expected[6][3] = {{"0.3374", "-0.1778", "-0.1690"}, {"0.9178", "1.5810", "1.3010"},
                                {"1.2753", "-0.2010", "-0.1606"}, {"-0.4015", "0.9666", "-1.1481"},
                                {"-1.1589", "0.3255", "-0.6315"}, {"-2.8400", "-0.7849", "-1.4096"}};
  const table t = embtab::torch::random_normal(6, 3, 123);
  ASSERT_EQ(t.rows(), 6u);
  ASSERT_EQ(t.dim(), 3u);
  ASSERT_EQ(t.type(), dtype::f32);
  const std::vector<float> w = all_rows(t);
  for (std::size_t r = 0; r < 6; ++r)
    for (std::size_t c = 0; c < 3; ++c) {
      char got[32];
      std::snprintf(got, sizeof got, "%.4f", static_cast<double>(w[r * 3 + c]));
      EXPECT_STREQ(got, expected[r][c]) << "row " << r << " col " << c;
    }
}

struct shape_seed {
  std::size_t rows, dim;
  std::uint64_t seed;
};

// numel below, at and above the 16-value block, a tail block, seeds past 2^32 (only the low
// 32 bits count) and a GPT-2-width row.
const shape_seed cases[] = {{1, 1, 0},        {6, 3, 123},  {1, 15, 7},         {4, 4, 1},
                            {17, 3, 99},      {3, 17, 2},   {100, 33, 1ull << 40},
                            {1000, 37, ~0ull}, {7, 768, 42}};

std::string name(const shape_seed& c) {
  return std::to_string(c.rows) + "x" + std::to_string(c.dim) + " seed " + std::to_string(c.seed);
}

TEST(RandomNormalTable, SameBitsAsTorchNormalFill) {
  for (const auto& c : cases) {
    std::vector<float> expected(c.rows * c.dim);
    embtab::detail::torch_normal_fill(expected.data(), expected.size(), c.seed);
    const std::vector<float> got = all_rows(embtab::torch::random_normal(c.rows, c.dim, c.seed));
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)), 0) << name(c);
  }
}

TEST(RandomNormalTable, OtherDtypesAreFromF32OfTheWeights) {
  for (const dtype type : {dtype::f16, dtype::bf16, dtype::int8_rowwise}) {
    for (const auto& c : cases) {
      std::vector<float> weights(c.rows * c.dim);
      embtab::detail::torch_normal_fill(weights.data(), weights.size(), c.seed);
      const table expected = table::from_f32(weights, c.rows, c.dim, type);
      const table got = embtab::torch::random_normal(c.rows, c.dim, c.seed, type);
      const std::string what = name(c) + " " + embtab::to_string(type);
      ASSERT_EQ(got.type(), type) << what;
      ASSERT_EQ(got.rows(), c.rows) << what;
      ASSERT_EQ(got.dim(), c.dim) << what;
      ASSERT_EQ(got.row_stride(), expected.row_stride()) << what;
      // The stored bytes, padding included (zero in both).
      EXPECT_EQ(std::memcmp(got.data(), expected.data(), got.bytes()), 0) << what;
    }
  }
}

TEST(RandomNormalTable, DefaultTypeIsF32) {
  EXPECT_EQ(embtab::torch::random_normal(2, 8, 5).type(), dtype::f32);
}

}  // namespace
