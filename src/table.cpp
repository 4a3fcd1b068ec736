// Table construction: size checks, aligned allocation, conversion into the stored type.
// The cold path: plain scalar code, built with baseline flags.
#include "embtab/table.hpp"

#include <sys/mman.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dtypes/codec.hpp"
#include "dtypes/registry.hpp"
#include "embtab/lookup.hpp"

namespace embtab {

namespace detail {
void table_error(const std::string& what) { throw std::invalid_argument("embtab::table: " + what); }
}  // namespace detail

namespace {

using detail::table_error;

constexpr std::size_t row_alignment = 64;
constexpr std::size_t huge_page = std::size_t{2} << 20;
constexpr std::size_t size_max = std::numeric_limits<std::size_t>::max();

std::string shape(std::size_t rows, std::size_t dim) {
  return std::to_string(rows) + " x " + std::to_string(dim);
}

// Checks rows, dim and type; returns the bytes of one row. Throws naming the values.
std::size_t checked_row_bytes(std::size_t rows, std::size_t dim, dtype type) {
  if (rows == 0 || dim == 0) table_error("rows and dim must be positive, got " + shape(rows, dim));
  const auto [bytes, error] = detail::row_size_of(type, dim);
  switch (error) {
    case detail::row_error::none: return bytes;
    case detail::row_error::unknown_dtype:
      table_error("dtype " + std::to_string(static_cast<int>(type)) + " is not registered");
    case detail::row_error::not_block_multiple:
      table_error("dim " + std::to_string(dim) + " is not a multiple of " +
                  std::string(info(type).name) + "'s " + std::to_string(info(type).block_values) +
                  " values per block");
    case detail::row_error::overflow: break;
  }
  table_error("dim " + std::to_string(dim) + " is too large for a row");
}

// The stride of an owning table: the row's bytes rounded up to a cache line.
std::size_t checked_stride(std::size_t rows, std::size_t dim, dtype type) {
  const std::size_t bytes = checked_row_bytes(rows, dim, type);
  if (bytes > size_max - (row_alignment - 1))
    table_error("dim " + std::to_string(dim) + " is too large for a row");
  const std::size_t stride = (bytes + row_alignment - 1) / row_alignment * row_alignment;
  if (rows > size_max / stride)
    table_error("table of " + shape(rows, dim) + " with a row stride of " +
                std::to_string(stride) + " bytes overflows size_t");
  return stride;
}

void check_count(std::size_t got, std::size_t rows, std::size_t dim, std::size_t per_row,
                 const char* what, const char* unit) {
  // rows * per_row cannot overflow here: checked_stride bounded rows * stride >= that.
  if (got != rows * per_row)
    table_error(std::string(what) + " hold " + std::to_string(got) + " " + unit + ", expected " +
                std::to_string(rows * per_row) + " for " + shape(rows, dim));
}

}  // namespace

table::table(std::shared_ptr<const void> owner, const std::byte* data, std::size_t rows,
             std::size_t dim, dtype type, std::size_t stride, bool owns) noexcept
    : owner_(std::move(owner)),
      data_(data),
      rows_(rows),
      dim_(dim),
      row_bytes_(detail::row_size_of(type, dim).bytes),
      stride_(stride),
      type_(type),
      owns_(owns) {}

table::table(table&& other) noexcept
    : owner_(std::move(other.owner_)),
      data_(std::exchange(other.data_, nullptr)),
      rows_(std::exchange(other.rows_, 0)),
      dim_(std::exchange(other.dim_, 0)),
      row_bytes_(std::exchange(other.row_bytes_, 0)),
      stride_(std::exchange(other.stride_, 0)),
      type_(other.type_),
      owns_(std::exchange(other.owns_, false)) {}

table& table::operator=(table&& other) noexcept {
  if (this != &other) {
    owner_ = std::move(other.owner_);
    data_ = std::exchange(other.data_, nullptr);
    rows_ = std::exchange(other.rows_, 0);
    dim_ = std::exchange(other.dim_, 0);
    row_bytes_ = std::exchange(other.row_bytes_, 0);
    stride_ = std::exchange(other.stride_, 0);
    type_ = other.type_;
    owns_ = std::exchange(other.owns_, false);
  }
  return *this;
}

table::~table() = default;

std::size_t table::bytes() const noexcept {
  if (rows_ == 0) return 0;
  return owns_ ? rows_ * stride_ : (rows_ - 1) * stride_ + row_bytes_;
}

std::size_t table::owning_stride(std::size_t rows, std::size_t dim, dtype type) {
  return checked_stride(rows, dim, type);
}

table table::allocate(std::size_t rows, std::size_t dim, dtype type) {
  const std::size_t stride = checked_stride(rows, dim, type);
  const std::size_t bytes = rows * stride;
  // The nothrow form, then our own bad_alloc: a sanitizer's throwing operator new aborts on a
  // size it cannot serve instead of throwing (with allocator_may_return_null=1 the nothrow
  // form returns null), so this is the one way to keep "throws std::bad_alloc" in every build.
  // Tables of 2 MiB and more start on a 2 MiB boundary and ask for transparent huge pages: a
  // lookup touches rows at random, and with 4 KiB pages nearly every row costs a TLB miss.
  // No object can exceed PTRDIFF_MAX bytes, and glibc's memalign wraps around for sizes near
  // SIZE_MAX with a large alignment, returning a small block: refuse those here.
  if (bytes > static_cast<std::size_t>(PTRDIFF_MAX)) throw std::bad_alloc();
  const std::size_t align = bytes >= huge_page ? huge_page : row_alignment;
  auto* p = static_cast<std::byte*>(::operator new(bytes, std::align_val_t{align}, std::nothrow));
  if (p == nullptr) throw std::bad_alloc();
  std::shared_ptr<std::byte> storage(
      p, [align](std::byte* q) { ::operator delete(q, std::align_val_t{align}); });
#ifdef MADV_HUGEPAGE
  if (align == huge_page) (void)madvise(p, bytes / huge_page * huge_page, MADV_HUGEPAGE);
#endif
  // Padding is zero; payload bytes are overwritten by the caller.
  if (detail::row_size_of(type, dim).bytes != stride) std::memset(p, 0, bytes);
  return table(std::move(storage), p, rows, dim, type, stride, true);
}

table table::from_f32(std::span<const float> weights, std::size_t rows, std::size_t dim,
                      dtype type) {
  (void)checked_stride(rows, dim, type);
  const detail::codec_ops& codec = detail::codec_of(type);
  if (codec.encode == nullptr)
    table_error(std::string(info(type).name) +
                " tables cannot be made from fp32 weights; use table::from_blocks with the file's "
                "blocks");
  check_count(weights.size(), rows, dim, dim, "weights", "values");
  if (codec.check != nullptr)
    for (std::size_t r = 0; r < rows; ++r) codec.check(weights.data() + r * dim, dim, r);
  table t = allocate(rows, dim, type);
  for (std::size_t r = 0; r < rows; ++r) codec.encode(weights.data() + r * dim, dim, t.mutable_row(r), r);
  return t;
}

table table::from_f16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                           std::size_t dim) {
  (void)checked_stride(rows, dim, dtype::f16);
  check_count(bits.size(), rows, dim, dim, "f16 bits", "values");
  return wrap(std::as_bytes(bits), rows, dim, dtype::f16).copy();
}

table table::from_bf16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                            std::size_t dim) {
  (void)checked_stride(rows, dim, dtype::bf16);
  check_count(bits.size(), rows, dim, dim, "bf16 bits", "values");
  return wrap(std::as_bytes(bits), rows, dim, dtype::bf16).copy();
}

table table::from_rowwise_int8(std::span<const std::uint8_t> packed, std::size_t rows,
                               std::size_t dim) {
  (void)checked_stride(rows, dim, dtype::int8_rowwise);
  check_count(packed.size(), rows, dim, dim + 8, "packed int8 rows", "bytes");
  return wrap(std::as_bytes(packed), rows, dim, dtype::int8_rowwise).copy();
}

table table::from_blocks(std::span<const std::byte> blocks, std::size_t rows, std::size_t dim,
                         dtype type) {
  (void)checked_stride(rows, dim, type);
  const std::size_t bytes = detail::row_size_of(type, dim).bytes;
  if (blocks.size() != rows * bytes)  // checked_stride bounded rows * bytes
    table_error("blocks hold " + std::to_string(blocks.size()) + " bytes, expected " +
                std::to_string(rows * bytes) + " for " + shape(rows, dim) + " " +
                std::string(info(type).name) + " (" + std::to_string(rows) + " rows of " +
                std::to_string(bytes) + " bytes)");
  return wrap(blocks, rows, dim, type).copy();
}

table table::wrap(std::span<const std::byte> memory, std::size_t rows, std::size_t dim,
                  dtype type, std::size_t row_stride, std::shared_ptr<const void> owner) {
  const std::size_t bytes = checked_row_bytes(rows, dim, type);
  const std::size_t stride = row_stride == 0 ? bytes : row_stride;
  if (stride < bytes)
    table_error("row_stride " + std::to_string(stride) + " is less than the " +
                std::to_string(bytes) + " bytes of a row of " + std::to_string(dim) + " " +
                std::string(info(type).name) + " values");
  std::size_t need = 0;
  if (__builtin_mul_overflow(rows - 1, stride, &need) || __builtin_add_overflow(need, bytes, &need))
    table_error(shape(rows, dim) + " rows of stride " + std::to_string(stride) +
                " bytes overflow size_t");
  if (memory.size() < need)
    table_error("memory holds " + std::to_string(memory.size()) + " bytes, but " +
                std::to_string(rows) + " rows of " + std::to_string(bytes) + " bytes with a stride of " +
                std::to_string(stride) + " need " + std::to_string(need));
  return table(std::move(owner), memory.data(), rows, dim, type, stride, false);
}

table table::copy() const {
  if (rows_ == 0) return table();
  table t = allocate(rows_, dim_, type_);
  for (std::size_t r = 0; r < rows_; ++r) std::memcpy(t.mutable_row(r), data_ + r * stride_, row_bytes_);
  return t;
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
