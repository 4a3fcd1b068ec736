// Table construction: size checks, aligned allocation, conversion into the stored type.
#include "embtab/table.hpp"

#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace embtab {
namespace {

constexpr std::size_t row_alignment = 64;
constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();

[[noreturn]] void invalid(const std::string& what) {
  throw std::invalid_argument("embtab::table: " + what);
}

std::string shape(std::size_t rows, std::size_t dim) {
  return std::to_string(rows) + " x " + std::to_string(dim);
}

// Bytes of one stored row before padding.
std::size_t payload_bytes(dtype type, std::size_t dim) {
  return dim * value_bytes(type);
}

// Checks the shape and returns the row stride; throws naming the values.
std::size_t checked_stride(std::size_t rows, std::size_t dim, dtype type) {
  if (rows == 0 || dim == 0) invalid("rows and dim must be positive, got " + shape(rows, dim));
  if (static_cast<std::uint8_t>(type) > static_cast<std::uint8_t>(dtype::f32))
    invalid("unknown dtype " + std::to_string(static_cast<int>(type)));
  const std::size_t per_value = value_bytes(type);
  if (dim > (size_max - row_alignment) / per_value)
    invalid("dim " + std::to_string(dim) + " is too large for a row");
  const std::size_t stride =
      (payload_bytes(type, dim) + row_alignment - 1) / row_alignment * row_alignment;
  if (rows > size_max / stride)
    invalid("table of " + shape(rows, dim) + " with a row stride of " + std::to_string(stride) +
            " bytes overflows size_t");
  return stride;
}

std::shared_ptr<std::byte> allocate(std::size_t bytes) {
  auto* p = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{row_alignment}));
  return std::shared_ptr<std::byte>(
      p, [](std::byte* q) { ::operator delete(q, std::align_val_t{row_alignment}); });
}

}  // namespace

std::size_t value_bytes(dtype type) noexcept {
  switch (type) {
    case dtype::f32: return 4;
  }
  return 0;
}

const char* to_string(dtype type) noexcept {
  switch (type) {
    case dtype::f32: return "f32";
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

table table::from_f32(std::span<const float> weights, std::size_t rows, std::size_t dim,
                      dtype type) {
  const std::size_t stride = checked_stride(rows, dim, type);
  if (weights.size() / dim != rows || weights.size() % dim != 0)
    invalid("weights hold " + std::to_string(weights.size()) + " floats, expected rows x dim = " +
            shape(rows, dim));
  auto storage = allocate(rows * stride);
  const std::size_t payload = payload_bytes(type, dim);
  for (std::size_t r = 0; r < rows; ++r) {
    std::byte* row = storage.get() + r * stride;
    std::memcpy(row, weights.data() + r * dim, payload);
    std::memset(row + payload, 0, stride - payload);
  }
  return table(std::move(storage), rows, dim, type, stride);
}

}  // namespace embtab
