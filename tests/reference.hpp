// Plain scalar reference implementations for the tests. Shares no code with src/ (only the
// public dtype enum): if the library and this file agree, two independent readings of the
// contract agree. ggml's block formats delegate to tests/ggml_reference.hpp, written from
// the block layouts and gguf's arithmetic and checked against the gguf fixtures.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "embtab/dtype.hpp"
#include "ggml_reference.hpp"

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

// fp32 -> binary16 by the definition: nearest even on the value (double arithmetic, exact
// here), >= 65520 to inf, NaN to 0x7E00 with the sign (PyTorch's .half()).
inline std::uint16_t f32_to_f16(float x) {
  const std::uint32_t w = std::bit_cast<std::uint32_t>(x);
  const std::uint16_t sign = (w >> 16) & 0x8000;
  if (std::isnan(x)) return sign | 0x7E00;
  const double a = std::fabs(static_cast<double>(x));
  if (a >= 65520.0) return sign | 0x7C00;
  if (a < std::ldexp(1.0, -14)) return sign | static_cast<std::uint16_t>(std::nearbyint(std::ldexp(a, 24)));
  int e = 0;
  const double m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  double q = std::nearbyint((m * 2 - 1) * 1024);
  int ex = e - 1;
  if (q == 1024) {
    q = 0;
    ++ex;
  }
  if (ex + 15 >= 31) return sign | 0x7C00;
  return sign | static_cast<std::uint16_t>(((ex + 15) << 10) | static_cast<int>(q));
}

// fp32 -> bfloat16: nearest even on the top 16 bits, NaN to 0x7FC0 (PyTorch's .bfloat16()).
inline std::uint16_t f32_to_bf16(float x) {
  if (std::isnan(x)) return 0x7FC0;
  const std::uint32_t w = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t low = w & 0xFFFF, top = w >> 16;
  return static_cast<std::uint16_t>(low > 0x8000 || (low == 0x8000 && (top & 1)) ? top + 1 : top);
}

// int8 rowwise: scale * code + bias evaluated in double (exact product, one rounding),
// then rounded to float: PyTorch's embedding_bag_byte_rowwise_offsets.
inline float dequantize(std::uint8_t code, float scale, float bias) {
  const double exact = static_cast<double>(scale) * code;
  return static_cast<float>(exact + static_cast<double>(bias));
}

// ---- Stored rows of every dtype, by the formats' definitions (README "Storage types"). ----
// The conformance suite runs every registered dtype against these; a dtype they do not know
// makes it fail, so a new dtype needs its reference here.

// The ggml type of one of ggml's block formats; std::nullopt for the other dtypes.
inline std::optional<ggml::type> ggml_type_of(embtab::dtype type) {
  switch (type) {
    case embtab::dtype::q8_0: return ggml::type::q8_0;
    case embtab::dtype::q4_0: return ggml::type::q4_0;
    case embtab::dtype::q4_k: return ggml::type::q4_k;
    case embtab::dtype::q6_k: return ggml::type::q6_k;
    default: return std::nullopt;
  }
}

// Bytes of one stored row of `dim` values, or std::nullopt for a dtype this file does not know
// (or a dim that is not a whole number of the format's blocks).
inline std::optional<std::size_t> stored_row_bytes(embtab::dtype type, std::size_t dim) {
  switch (type) {
    case embtab::dtype::q8_0:
    case embtab::dtype::q4_0:
    case embtab::dtype::q4_k:
    case embtab::dtype::q6_k: {
      const ggml::type t = *ggml_type_of(type);
      if (dim % ggml::traits(t).block_values != 0) return std::nullopt;
      return ggml::row_bytes(t, dim);
    }
    case embtab::dtype::f32: return dim * 4;
    case embtab::dtype::f16:
    case embtab::dtype::bf16: return dim * 2;
    case embtab::dtype::int8_rowwise: return dim + 8;  // codes, fp32 scale, fp32 bias
  }
  return std::nullopt;
}

// Whether lookups must reproduce NaN payloads bit for bit (else any NaN for a NaN). The ggml
// formats are exact: the library and ggml_reference.hpp do the same float operations in the
// same order (no fma), so the CPU gives both the same NaN (on x86-64 also numpy's: the
// fixtures check that).
inline bool nan_payloads_exact(embtab::dtype type) { return type != embtab::dtype::int8_rowwise; }

inline float load_f32(const std::uint8_t* p) {
  float x;
  std::memcpy(&x, p, 4);
  return x;
}
inline std::uint16_t load_u16(const std::uint8_t* p) {
  std::uint16_t x;
  std::memcpy(&x, p, 2);
  return x;
}

// The values of one stored row (stored_row_bytes(type, dim) bytes), or std::nullopt for a dtype this
// file does not know.
inline std::optional<std::vector<float>> decode_row(embtab::dtype type, const std::uint8_t* row,
                                                    std::size_t dim) {
  std::vector<float> v(dim);
  switch (type) {
    case embtab::dtype::f32:
      for (std::size_t j = 0; j < dim; ++j) v[j] = load_f32(row + 4 * j);
      return v;
    case embtab::dtype::f16:
      for (std::size_t j = 0; j < dim; ++j) v[j] = f16_to_f32(load_u16(row + 2 * j));
      return v;
    case embtab::dtype::bf16:
      for (std::size_t j = 0; j < dim; ++j) v[j] = bf16_to_f32(load_u16(row + 2 * j));
      return v;
    case embtab::dtype::int8_rowwise: {
      const float scale = load_f32(row + dim), bias = load_f32(row + dim + 4);
      for (std::size_t j = 0; j < dim; ++j) v[j] = dequantize(row[j], scale, bias);
      return v;
    }
    case embtab::dtype::q8_0:
    case embtab::dtype::q4_0:
    case embtab::dtype::q4_k:
    case embtab::dtype::q6_k:
      if (!stored_row_bytes(type, dim)) return std::nullopt;
      ggml::dequantize_row(*ggml_type_of(type), row, dim, v.data());
      return v;
  }
  return std::nullopt;
}

// Fills one stored row (stored_row_bytes(type, dim) bytes) with random contents that exercise the
// format: any bit pattern for f32/f16/bf16 (subnormals, inf, NaN payloads); for int8_rowwise
// random codes with, by `kind` % 4, an ordinary scale and bias, a bias far below the scale's
// precision (the kernels' exact double path), a zero bias (their float path), or random bits
// for both (inf, NaN, subnormal); for the ggml formats random codes (and q4_k scales/mins,
// q6_k int8 scales) with, for kind % 4 != 3, ordinary fp16 scales of either sign, and for
// kind % 4 == 3 random fp16 bits, a quarter of them replaced by inf, -inf or a NaN (quiet,
// signalling, with payloads). False for a dtype this file does not know.
inline bool random_row(embtab::dtype type, std::size_t dim, std::mt19937& gen, std::size_t kind,
                       std::uint8_t* row) {
  const auto n = stored_row_bytes(type, dim);
  if (!n) return false;
  for (std::size_t b = 0; b < *n; ++b) row[b] = static_cast<std::uint8_t>(gen());
  if (type == embtab::dtype::int8_rowwise && kind % 4 != 3) {
    std::normal_distribution<float> normal(0.0f, 0.05f);
    const float scale = std::fabs(normal(gen)) + 1e-6f;
    const float bias = kind % 4 == 0 ? normal(gen) * 40.0f : kind % 4 == 1 ? normal(gen) * 1e-19f : 0.0f;
    std::memcpy(row + dim, &scale, 4);
    std::memcpy(row + dim + 4, &bias, 4);
  }
  if (const auto g = ggml_type_of(type)) {
    // The offsets of each block's fp16 scales: d (and q4_k's dmin; q6_k keeps d last).
    std::vector<std::size_t> scales;
    switch (*g) {
      case ggml::type::q8_0:
      case ggml::type::q4_0: scales = {0}; break;
      case ggml::type::q4_k: scales = {0, 2}; break;
      case ggml::type::q6_k: scales = {208}; break;
    }
    static constexpr std::uint16_t specials[] = {0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7D55, 0xFFFF};
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const ggml::type_traits tr = ggml::traits(*g);
    for (std::size_t b = 0; b < dim / tr.block_values; ++b)
      for (const std::size_t at : scales) {
        std::uint8_t* p = row + b * tr.block_bytes + at;
        std::uint16_t bits = 0;
        if (kind % 4 != 3)
          bits = ggml::fp32_to_fp16(normal(gen) * std::exp2(static_cast<float>(static_cast<int>(gen() % 16)) - 14.0f));
        else if (gen() % 4 == 0)
          bits = specials[gen() % std::size(specials)];
        else
          bits = static_cast<std::uint16_t>(gen());
        std::memcpy(p, &bits, 2);
      }
  }
  return true;
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
