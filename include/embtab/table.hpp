// embtab/table.hpp: an immutable, cache-aligned embedding table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace embtab {

// How a table stores its rows. Lookups always produce fp32.
enum class dtype : std::uint8_t {
  f32,           // 4 bytes per value; lookup copies the bits
  f16,           // IEEE binary16, 2 bytes; lookup widens exactly
  bf16,          // bfloat16 (top half of an fp32), 2 bytes; lookup widens exactly
  int8_rowwise,  // per row: uint8 codes + fp32 scale and bias (FBGEMM 8-bit rowwise);
                 // lookup returns float(double(scale) * code + double(bias))
};

// Bytes one value of `type` takes in a row (payload only, without per-row metadata).
std::size_t value_bytes(dtype type) noexcept;
// "f32", "f16", "bf16", "int8_rowwise"; "unknown" for other values.
const char* to_string(dtype type) noexcept;

// Row-major table of rows() x dim() values of type().
//
// Layout: the base address is 64-byte aligned and every row starts row_stride() bytes after
// the previous one; row_stride() is the row's bytes rounded up to a multiple of 64, so a row
// never shares a cache line with its neighbour and SIMD loads of a whole line stay inside
// the table. Padding bytes are zero.
//   f32, f16, bf16: the dim values from offset 0.
//   int8_rowwise:   dim uint8 codes from offset 0, then padding, then the row's fp32 scale
//                   and fp32 bias (little-endian) in the last 8 bytes of the stride
//                   (row_stride() = dim + 8 rounded up to 64). Codes first keep every vector
//                   load of codes aligned; scale and bias at a fixed 8-byte-aligned place
//                   are one load, never split across lines (unlike the packed format's
//                   unaligned trailer, PyTorch #53300).
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
  //   f16, bf16:     round to nearest even; NaN stays NaN, +-inf stays, f16 overflow gives
  //                  +-inf: bit-identical to PyTorch's w.half() / w.bfloat16() for every
  //                  non-NaN value; f16 stores a NaN as 0x7E00 with its sign, bf16 every
  //                  NaN as 0x7FC0 (PyTorch's portable rule; its AVX2 kernel writes 0xFFFF).
  //   int8_rowwise:  per row min, max, scale = (max - min) / 255, bias = min, and
  //                  code = round_half_even((x - min) * (255 / (max - min + 1e-8f))), all in
  //                  fp32: the bytes of PyTorch's embedding_bag_byte_prepack(w). A row holding
  //                  NaN or inf throws std::invalid_argument naming the row.
  static table from_f32(std::span<const float> weights, std::size_t rows, std::size_t dim,
                        dtype type = dtype::f32);

  // Tables from half-precision bits (rows x dim, row-major), stored as they are: no
  // re-rounding. Same shape checks and exceptions as from_f32.
  static table from_f16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                             std::size_t dim);
  static table from_bf16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                              std::size_t dim);

  // A table from PyTorch/FBGEMM packed 8-bit rows (the output of
  // torch.ops.quantized.embedding_bag_byte_prepack): rows x (dim + 8) bytes, each row dim
  // codes then fp32 scale and fp32 bias, little-endian, any alignment. Codes, scale and bias
  // are kept as they are. Throws std::invalid_argument if packed.size() != rows * (dim + 8)
  // or the shape is invalid.
  static table from_rowwise_int8(std::span<const std::uint8_t> packed, std::size_t rows,
                                 std::size_t dim);

  // The weights of torch.manual_seed(seed); torch.nn.Embedding(rows, dim).weight (float32,
  // CPU), then stored as `type` (converted like from_f32). Bit-identical to PyTorch's CPU
  // result on x86-64 with AVX2 (what AVX-512 machines run too), for every shape and seed.
  static table random_normal(std::size_t rows, std::size_t dim, std::uint64_t seed,
                             dtype type = dtype::f32);

  std::size_t rows() const noexcept { return rows_; }
  std::size_t dim() const noexcept { return dim_; }
  dtype type() const noexcept { return type_; }
  // Bytes from one row to the next: a multiple of 64.
  std::size_t row_stride() const noexcept { return stride_; }
  // First byte of row 0: 64-byte aligned. nullptr for an empty (default or moved-from) table.
  const std::byte* data() const noexcept { return data_; }
  // Memory held by the table: rows() * row_stride() bytes.
  std::size_t bytes() const noexcept { return rows_ * stride_; }

 private:
  table(std::shared_ptr<std::byte> storage, std::size_t rows, std::size_t dim, dtype type,
        std::size_t stride) noexcept;
  // An allocated, zeroed-padding table of this shape whose rows the caller fills.
  static table allocate(std::size_t rows, std::size_t dim, dtype type);
  std::byte* mutable_row(std::size_t r) noexcept { return storage_.get() + r * stride_; }
  static table from_half_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                              std::size_t dim, dtype type);

  std::shared_ptr<std::byte> storage_;  // keeps data_ alive
  const std::byte* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t dim_ = 0;
  std::size_t stride_ = 0;
  dtype type_ = dtype::f32;
};

// How much a quantized or half-precision table lost against the fp32 weights it came from.
struct quantization_report {
  double max_abs_error;             // max |lookup(t)[r][j] - weights[r][j]|
  double rms_error;                 // sqrt(mean of squared errors over all values)
  double max_error_over_row_range;  // max over rows of (row's max abs error) / (max - min of
                                    // the row's weights); 0 for constant rows
  std::size_t worst_row;            // the row with the largest max abs error (first one)
};

// Compares every value of t, as lookup returns it, with weights (t.rows() x t.dim() fp32,
// row-major). Throws std::invalid_argument if weights.size() != rows * dim. Exact for f32
// tables (all zeros). Non-finite weights are compared as they are (inf - inf gives NaN).
quantization_report measure_quantization(const table& t, std::span<const float> weights);

}  // namespace embtab
