// Plain scalar reference implementations for the tests. Shares no code with src/: if the
// library and this file agree, two independent readings of the contract agree.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

namespace embtab::ref {

// out[i * dim + j] = weights[ids[i] * dim + j]; std::nullopt if any id is out of range.
template <class Id>
std::optional<std::vector<float>> lookup_f32(const std::vector<float>& weights, std::size_t rows,
                                             std::size_t dim, const std::vector<Id>& ids) {
  std::vector<float> out;
  out.reserve(ids.size() * dim);
  for (const Id id : ids) {
    if (id < 0 || static_cast<std::uint64_t>(id) >= rows) return std::nullopt;
    for (std::size_t j = 0; j < dim; ++j) out.push_back(weights[static_cast<std::size_t>(id) * dim + j]);
  }
  return out;
}

// IEEE binary16 -> fp32 by the definition: (-1)^s 2^(e-15) (1 + m/1024), subnormals
// 2^-14 (m/1024); inf stays; a NaN keeps sign and payload with the quiet bit set.
inline float f16_to_f32(std::uint16_t h) {
  const bool negative = h >> 15;
  const int e = (h >> 10) & 31;
  const int m = h & 1023;
  if (e == 31) {
    if (m == 0) return negative ? -INFINITY : INFINITY;
    return std::bit_cast<float>((negative ? 0x80000000u : 0u) | 0x7FC00000u |
                                (static_cast<std::uint32_t>(m) << 13));
  }
  const double magnitude = e == 0 ? std::ldexp(m, -24) : std::ldexp(1024 + m, e - 25);
  return static_cast<float>(negative ? -magnitude : magnitude);
}

// bfloat16 -> fp32: the 16 bits are the top half of the fp32.
inline float bf16_to_f32(std::uint16_t b) { return std::bit_cast<float>(std::uint32_t{b} << 16); }

// int8 rowwise: scale * code + bias evaluated in double (exact product, one rounding),
// then rounded to float: PyTorch's embedding_bag_byte_rowwise_offsets.
inline float dequantize(std::uint8_t code, float scale, float bias) {
  const double exact = static_cast<double>(scale) * code;
  return static_cast<float>(exact + static_cast<double>(bias));
}

// Index of the first id outside [0, rows), or std::nullopt.
template <class Id>
std::optional<std::size_t> first_bad_id(const std::vector<Id>& ids, std::size_t rows) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || static_cast<std::uint64_t>(ids[i]) >= rows) return i;
  return std::nullopt;
}

// Reproducible weights whose bit patterns are all distinct (so a wrong row or column shows).
inline std::vector<float> random_weights(std::size_t rows, std::size_t dim, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(rows * dim);
  for (float& x : w) x = normal(gen);
  return w;
}

template <class Id>
std::vector<Id> random_ids(std::size_t n, std::size_t rows, std::uint32_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<std::uint64_t> pick(0, rows - 1);
  std::vector<Id> ids(n);
  for (Id& id : ids) id = static_cast<Id>(pick(gen));
  return ids;
}

}  // namespace embtab::ref
