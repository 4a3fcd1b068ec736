// Plain scalar reference implementations for the tests. Shares no code with src/: if the
// library and this file agree, two independent readings of the contract agree.
#pragma once

#include <cstddef>
#include <cstdint>
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
