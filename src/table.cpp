// Table construction: size checks, aligned allocation, conversion into the stored type.
// The cold path: plain scalar code, built with baseline flags.
#include "embtab/table.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "embtab/lookup.hpp"
#include "random_normal.hpp"

namespace embtab {
namespace {

constexpr std::size_t row_alignment = 64;
constexpr std::size_t int8_trailer = 8;  // fp32 scale + fp32 bias
constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();

[[noreturn]] void invalid(const std::string& what) {
  throw std::invalid_argument("embtab::table: " + what);
}

std::string shape(std::size_t rows, std::size_t dim) {
  return std::to_string(rows) + " x " + std::to_string(dim);
}

// Bytes of one stored row before padding; caller has checked dim against overflow.
std::size_t row_bytes(dtype type, std::size_t dim) noexcept {
  return dim * value_bytes(type) + (type == dtype::int8_rowwise ? int8_trailer : 0);
}

// Checks the shape and returns the row stride; throws naming the values.
std::size_t checked_stride(std::size_t rows, std::size_t dim, dtype type) {
  if (rows == 0 || dim == 0) invalid("rows and dim must be positive, got " + shape(rows, dim));
  const std::size_t per_value = value_bytes(type);
  if (per_value == 0) invalid("unknown dtype " + std::to_string(static_cast<int>(type)));
  if (dim > (size_max - row_alignment - int8_trailer) / per_value)
    invalid("dim " + std::to_string(dim) + " is too large for a row");
  const std::size_t stride =
      (row_bytes(type, dim) + row_alignment - 1) / row_alignment * row_alignment;
  if (rows > size_max / stride)
    invalid("table of " + shape(rows, dim) + " with a row stride of " + std::to_string(stride) +
            " bytes overflows size_t");
  return stride;
}

void check_count(std::size_t got, std::size_t rows, std::size_t dim, std::size_t per_row,
                 const char* what) {
  // rows * per_row cannot overflow here: checked_stride bounded rows * stride >= that.
  if (got != rows * per_row)
    invalid(std::string(what) + " hold " + std::to_string(got) + " values, expected " +
            std::to_string(rows * per_row) + " for " + shape(rows, dim));
}

// int8_rowwise needs finite values and a finite range: max - min overflowing to inf (e.g.
// [-3e38, 3e38]) would give scale = inf and NaN on every lookup.
void check_int8_row(const float* row, std::size_t dim, std::size_t r) {
  if (!detail::row_is_finite(row, dim))
    invalid("row " + std::to_string(r) + " holds NaN or inf; int8_rowwise needs finite rows");
  float lo = row[0], hi = row[0];
  for (std::size_t j = 1; j < dim; ++j) {
    lo = row[j] < lo ? row[j] : lo;
    hi = row[j] > hi ? row[j] : hi;
  }
  if (std::isinf(hi - lo))
    invalid("row " + std::to_string(r) + " spans [" + std::to_string(lo) + ", " +
            std::to_string(hi) + "], a range that overflows float; int8_rowwise cannot hold it");
}

void store_f32(float x, std::byte* p) noexcept { std::memcpy(p, &x, 4); }

}  // namespace

std::size_t value_bytes(dtype type) noexcept {
  switch (type) {
    case dtype::f32: return 4;
    case dtype::f16:
    case dtype::bf16: return 2;
    case dtype::int8_rowwise: return 1;
  }
  return 0;
}

const char* to_string(dtype type) noexcept {
  switch (type) {
    case dtype::f32: return "f32";
    case dtype::f16: return "f16";
    case dtype::bf16: return "bf16";
    case dtype::int8_rowwise: return "int8_rowwise";
  }
  return "unknown";
}

table::table(std::shared_ptr<std::byte> storage, std::size_t rows, std::size_t dim, dtype type,
             std::size_t stride) noexcept
    : storage_(std::move(storage)),
      data_(storage_.get()),
      rows_(rows),
      dim_(dim),
      stride_(stride),
      type_(type) {}

table::table(table&& other) noexcept
    : storage_(std::move(other.storage_)),
      data_(std::exchange(other.data_, nullptr)),
      rows_(std::exchange(other.rows_, 0)),
      dim_(std::exchange(other.dim_, 0)),
      stride_(std::exchange(other.stride_, 0)),
      type_(other.type_) {}

table& table::operator=(table&& other) noexcept {
  if (this != &other) {
    storage_ = std::move(other.storage_);
    data_ = std::exchange(other.data_, nullptr);
    rows_ = std::exchange(other.rows_, 0);
    dim_ = std::exchange(other.dim_, 0);
    stride_ = std::exchange(other.stride_, 0);
    type_ = other.type_;
  }
  return *this;
}

table::~table() = default;

table table::allocate(std::size_t rows, std::size_t dim, dtype type) {
  const std::size_t stride = checked_stride(rows, dim, type);
  const std::size_t bytes = rows * stride;
  // The nothrow form, then our own bad_alloc: a sanitizer's throwing operator new aborts on a
  // size it cannot serve instead of throwing (with allocator_may_return_null=1 the nothrow
  // form returns null), so this is the one way to keep "throws std::bad_alloc" in every build.
  auto* p = static_cast<std::byte*>(
      ::operator new(bytes, std::align_val_t{row_alignment}, std::nothrow));
  if (p == nullptr) throw std::bad_alloc();
  std::shared_ptr<std::byte> storage(
      p, [](std::byte* q) { ::operator delete(q, std::align_val_t{row_alignment}); });
  // Padding is zero; payload bytes are overwritten by the caller.
  const std::size_t payload = row_bytes(type, dim);
  if (payload != stride)
    for (std::size_t r = 0; r < rows; ++r) std::memset(p + r * stride, 0, stride);
  return table(std::move(storage), rows, dim, type, stride);
}

table table::from_f32(std::span<const float> weights, std::size_t rows, std::size_t dim,
                      dtype type) {
  (void)checked_stride(rows, dim, type);
  check_count(weights.size(), rows, dim, dim, "weights");
  if (type == dtype::int8_rowwise)
    for (std::size_t r = 0; r < rows; ++r) check_int8_row(weights.data() + r * dim, dim, r);
  table t = allocate(rows, dim, type);
  for (std::size_t r = 0; r < rows; ++r) {
    const float* src = weights.data() + r * dim;
    std::byte* row = t.mutable_row(r);
    switch (type) {
      case dtype::f32: std::memcpy(row, src, dim * 4); break;
      case dtype::f16:
        for (std::size_t j = 0; j < dim; ++j) {
          const std::uint16_t h = detail::f32_to_f16_bits(src[j]);
          std::memcpy(row + 2 * j, &h, 2);
        }
        break;
      case dtype::bf16:
        for (std::size_t j = 0; j < dim; ++j) {
          const std::uint16_t h = detail::f32_to_bf16_bits(src[j]);
          std::memcpy(row + 2 * j, &h, 2);
        }
        break;
      case dtype::int8_rowwise: {
        const auto params =
            detail::quantize_row_int8(src, dim, reinterpret_cast<std::uint8_t*>(row));
        // A finite row near +-FLT_MAX can still dequantize past it (scale * 255 + bias rounds
        // up to inf): the table would return inf for a finite weight, so refuse the row.
        for (std::size_t j = 0; j < dim; ++j)
          if (std::isinf(detail::dequantize_int8(std::to_integer<std::uint8_t>(row[j]),
                                                 params.scale, params.bias)))
            invalid("row " + std::to_string(r) + " dequantizes to inf at column " +
                    std::to_string(j) + " (values too close to the float limit for int8_rowwise)");
        store_f32(params.scale, row + t.stride_ - int8_trailer);
        store_f32(params.bias, row + t.stride_ - int8_trailer + 4);
        break;
      }
    }
  }
  return t;
}

table table::from_half_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                            std::size_t dim, dtype type) {
  (void)checked_stride(rows, dim, type);
  check_count(bits.size(), rows, dim, dim, type == dtype::f16 ? "f16 bits" : "bf16 bits");
  table t = allocate(rows, dim, type);
  for (std::size_t r = 0; r < rows; ++r)
    std::memcpy(t.mutable_row(r), bits.data() + r * dim, dim * 2);
  return t;
}

table table::from_f16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                           std::size_t dim) {
  return from_half_bits(bits, rows, dim, dtype::f16);
}

table table::from_bf16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                            std::size_t dim) {
  return from_half_bits(bits, rows, dim, dtype::bf16);
}

table table::from_rowwise_int8(std::span<const std::uint8_t> packed, std::size_t rows,
                               std::size_t dim) {
  (void)checked_stride(rows, dim, dtype::int8_rowwise);
  check_count(packed.size(), rows, dim, dim + int8_trailer, "packed int8 rows");
  table t = allocate(rows, dim, dtype::int8_rowwise);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::uint8_t* src = packed.data() + r * (dim + int8_trailer);
    std::byte* row = t.mutable_row(r);
    std::memcpy(row, src, dim);
    std::memcpy(row + t.stride_ - int8_trailer, src + dim, int8_trailer);
  }
  return t;
}

table table::random_normal(std::size_t rows, std::size_t dim, std::uint64_t seed, dtype type) {
  (void)checked_stride(rows, dim, type);
  // rows * dim fits (the stride check bounds it) but its fp32 bytes need not: a huge f16 or
  // int8 shape must give bad_alloc like any other, not std::vector's length_error.
  const std::size_t count = rows * dim;
  if (count > size_max / sizeof(float)) throw std::bad_alloc();
  const std::unique_ptr<float[]> weights(new (std::nothrow) float[count]);
  if (weights == nullptr) throw std::bad_alloc();
  detail::torch_normal_fill(weights.get(), count, seed);
  return from_f32(std::span<const float>(weights.get(), count), rows, dim, type);
}

quantization_report measure_quantization(const table& t, std::span<const float> weights) {
  const std::size_t rows = t.rows(), dim = t.dim();
  if (rows == 0 || weights.size() / dim != rows || weights.size() % dim != 0)
    throw std::invalid_argument("embtab::measure_quantization: weights hold " +
                                std::to_string(weights.size()) + " floats, expected " +
                                shape(rows, dim));
  quantization_report report{0.0, 0.0, 0.0, 0};
  double sum_sq = 0.0;
  std::vector<float> got(dim);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int64_t id = static_cast<std::int64_t>(r);
    if (const status s = lookup(t, std::span<const std::int64_t>(&id, 1), got, {.threads = 1});
        !s.ok())
      throw std::logic_error("embtab::measure_quantization: " + s.message());
    const float* w = weights.data() + r * dim;
    double row_max = 0.0, lo = w[0], hi = w[0];
    for (std::size_t j = 0; j < dim; ++j) {
      const double err = std::fabs(static_cast<double>(got[j]) - static_cast<double>(w[j]));
      row_max = std::fmax(row_max, err);
      sum_sq += err * err;
      lo = std::fmin(lo, w[j]);
      hi = std::fmax(hi, w[j]);
    }
    if (row_max > report.max_abs_error) {
      report.max_abs_error = row_max;
      report.worst_row = r;
    }
    if (hi > lo) report.max_error_over_row_range = std::fmax(report.max_error_over_row_range, row_max / (hi - lo));
  }
  report.rms_error = std::sqrt(sum_sq / static_cast<double>(rows * dim));
  return report;
}

}  // namespace embtab
