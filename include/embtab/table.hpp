// embtab/table.hpp: an immutable, cache-aligned embedding table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace embtab {

// How a table stores its rows. Lookups always produce fp32.
enum class dtype : std::uint8_t {
  f32,  // 4 bytes per value, copied exactly
};

// Bytes one value of `type` takes in a row (payload only, without per-row metadata).
std::size_t value_bytes(dtype type) noexcept;
// "f32", ...
const char* to_string(dtype type) noexcept;

// Row-major table of rows() x dim() values of type().
//
// Layout: the base address is 64-byte aligned and every row starts row_stride() bytes after
// the previous one; row_stride() is the row's payload rounded up to a multiple of 64, so a
// row never shares a cache line with its neighbour and SIMD loads of a whole line stay
// inside the table. Padding bytes are zero.
//
// A table is immutable after construction, so any number of threads may look up from it at
// once. It is movable, not copyable; a moved-from table has rows() == 0.
// Storage is reference-counted internally so that later versions can view memory owned by
// someone else (e.g. a memory-mapped model file) through the same type.
class table {
 public:
  table() noexcept = default;
  table(table&&) noexcept;
  table& operator=(table&&) noexcept;
  table(const table&) = delete;
  table& operator=(const table&) = delete;
  ~table();

  // Copies row-major fp32 weights (rows x dim) into 64-byte-aligned rows, converted to `type`.
  // Throws std::invalid_argument (naming the values) if weights.size() != rows * dim, if rows
  // or dim is 0, or if rows * row_stride() overflows; std::bad_alloc if the memory cannot be
  // had. Allocates rows * row_stride() bytes.
  static table from_f32(std::span<const float> weights, std::size_t rows, std::size_t dim,
                        dtype type = dtype::f32);

  std::size_t rows() const noexcept { return rows_; }
  std::size_t dim() const noexcept { return dim_; }
  dtype type() const noexcept { return type_; }
  // Bytes from one row to the next: a multiple of 64.
  std::size_t row_stride() const noexcept { return stride_; }
  // First byte of row 0: 64-byte aligned. nullptr for an empty (default or moved-from) table.
  const std::byte* data() const noexcept { return data_; }
  // Memory held by the table: rows() * row_stride().
  std::size_t bytes() const noexcept { return rows_ * stride_; }

 private:
  table(std::shared_ptr<std::byte> storage, std::size_t rows, std::size_t dim, dtype type,
        std::size_t stride) noexcept;

  std::shared_ptr<std::byte> storage_;  // keeps data_ alive
  const std::byte* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t dim_ = 0;
  std::size_t stride_ = 0;
  dtype type_ = dtype::f32;
};

}  // namespace embtab
