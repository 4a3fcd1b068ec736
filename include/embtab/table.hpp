// embtab/table.hpp: an immutable, cache-aligned embedding table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "embtab/dtype.hpp"
#include "embtab/export.h"

namespace embtab {

// Row-major table of rows() x dim() values of type(). Two kinds, one type:
//
// Owning tables (from_f32, from_*_bits, from_rowwise_int8, from_blocks, copy): embtab allocated
//   the rows. data() is 64-byte aligned and row_stride() is row_bytes() rounded up to a
//   multiple of 64, so a row never shares a cache line with its neighbour; the padding bytes
//   are zero. A table of 2 MiB or more starts on a 2 MiB boundary and is marked for
//   transparent huge pages (madvise MADV_HUGEPAGE on Linux): lookups touch rows at random,
//   and with 4 KiB pages almost every row is a TLB miss (10-20% of a cold lookup at D = 4096).
// Views (wrap): rows that someone else owns (a memory-mapped model file, a runtime's buffer),
//   read in place. data() and row_stride() are what the caller gave: any alignment, any
//   stride >= row_bytes(). Lookups run the same kernels at full speed on both kinds.
//
// Row layout, the same for both kinds and defined by the registry (dtype.hpp): row r starts
// at data() + r * row_stride() and holds row_bytes() bytes:
//   f32, f16, bf16: the dim values, little-endian.
//   int8_rowwise:   dim uint8 codes, then the fp32 scale and the fp32 bias (little-endian) at
//                   byte offsets dim and dim + 4: exactly a row of PyTorch's
//                   embedding_bag_byte_prepack output, so wrap() reads that without a copy.
//   q8_0, q4_0, q4_k, q6_k: dim / block_values ggml blocks (dtype.hpp), exactly as a GGUF
//                   tensor stores a row, so wrap() reads a memory-mapped GGUF file in place.
//
// A table is immutable after construction, so any number of threads may look up from it at
// once. It is movable, not copyable (copy() makes an owning copy); a moved-from table has
// rows() == 0. The memory is reference-counted: a view keeps its `owner` alive.
class EMBTAB_API table {
 public:
  table() noexcept = default;
  table(table&&) noexcept;
  table& operator=(table&&) noexcept;
  table(const table&) = delete;
  table& operator=(const table&) = delete;
  ~table();

  // Copies row-major fp32 weights (rows x dim) into an owning table, converted to `type`.
  // Throws std::invalid_argument (naming the values) if weights.size() != rows * dim, if rows
  // or dim is 0, if `type` is not registered or cannot be made from fp32, if dim is not a
  // multiple of the type's block, or if rows * row_stride() overflows; std::bad_alloc if the
  // memory cannot be had. Allocates rows * row_stride() bytes.
  //   f16, bf16:     round to nearest even; NaN stays NaN, +-inf stays, f16 overflow gives
  //                  +-inf: bit-identical to PyTorch's w.half() / w.bfloat16() for every
  //                  non-NaN value; f16 stores a NaN as 0x7E00 with its sign, bf16 every
  //                  NaN as 0x7FC0 (PyTorch's portable rule; its AVX2 kernel writes 0xFFFF).
  //   int8_rowwise:  per row min, max, scale = (max - min) / 255, bias = min, and
  //                  code = round_half_even((x - min) * (255 / (max - min + 1e-8f))), all in
  //                  fp32: the bytes of PyTorch's embedding_bag_byte_prepack(w). A row holding
  //                  NaN or inf, or one whose values would dequantize past the float range,
  //                  throws std::invalid_argument naming the row; every row is checked for
  //                  NaN/inf and range before anything is allocated.
  //   q8_0, q4_0:    ggml's reference quantizers per block of 32, byte-identical to
  //                  gguf.quants.quantize, in fp32 without fused multiply-add: q8_0:
  //                  d = max|x| / 127, id = 1 / d, codes round(x * id) half away from zero;
  //                  q4_0: d = (the first value of largest |x|) / -8, id = 1 / d, codes
  //                  min(15, trunc(x * id + 8.5)); d stored as fp16 rounded to nearest even
  //                  (the codes use the fp32 d). Finite rows only (NaN or inf throws, naming
  //                  the row). As in gguf, a block whose d overflows fp16 is stored with
  //                  d = +-inf (its values then look up as inf or NaN). A block so small
  //                  that 1 / d overflows (max |x| below about 3.7e-37 for q8_0, 2.4e-38 for
  //                  q4_0; gguf casts inf and NaN to integers there) is stored with fp16(d) = 0
  //                  and the code of 0 (q8_0: 0, q4_0: 8): it looks up as zeros.
  //   q4_k, q6_k:    refused (std::invalid_argument naming table::from_blocks): embtab has
  //                  no quantizer for them; make them with from_blocks or wrap.
  static table from_f32(std::span<const float> weights, std::size_t rows, std::size_t dim,
                        dtype type = dtype::f32);

  // Owning tables from half-precision bits (rows x dim, row-major), stored as they are: no
  // re-rounding. Same shape checks and exceptions as from_f32.
  static table from_f16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                             std::size_t dim);
  static table from_bf16_bits(std::span<const std::uint16_t> bits, std::size_t rows,
                              std::size_t dim);

  // An owning table from PyTorch/FBGEMM packed 8-bit rows (the output of
  // torch.ops.quantized.embedding_bag_byte_prepack): rows x (dim + 8) bytes, each row dim
  // codes then fp32 scale and fp32 bias, little-endian, any alignment. Codes, scale and bias
  // are kept as they are. Throws std::invalid_argument if packed.size() != rows * (dim + 8)
  // or the shape is invalid. (wrap(std::as_bytes(packed), rows, dim, dtype::int8_rowwise)
  // reads the same rows without a copy.)
  static table from_rowwise_int8(std::span<const std::uint8_t> packed, std::size_t rows,
                                 std::size_t dim);

  // An owning table from stored rows in the registry's layout (above, and dtype.hpp): blocks
  // holds rows x row_bytes(type, dim) bytes, packed (row r at r * row_bytes), any alignment,
  // e.g. a GGUF tensor's data for q8_0, q4_0, q4_k, q6_k. The bytes are copied as they are
  // (no re-quantization, no check of the values: NaN or inf scales look up as gguf
  // dequantizes them); equivalent to wrap(blocks, rows, dim, type).copy() after the size
  // check. Works for every registered dtype, and is the one way to make a q4_k or q6_k
  // table that owns its rows. Throws std::invalid_argument (naming the numbers) if rows or
  // dim is 0, if `type` is not registered, if dim is not a multiple of the type's block
  // values (the message names dim and the block size), if blocks.size() != rows *
  // row_bytes(type, dim), or if rows * row_stride() overflows; std::bad_alloc if the memory
  // cannot be had. Allocates rows * row_stride() bytes.
  static table from_blocks(std::span<const std::byte> blocks, std::size_t rows, std::size_t dim,
                           dtype type);

  // A view of rows that someone else owns: no copy, any alignment. memory holds the rows:
  // row r starts at memory.data() + r * row_stride and holds row_bytes(type, dim) bytes in the
  // layout above; row_stride 0 means packed (= row_bytes(type, dim)). Only bytes inside those
  // rows are ever read. `owner` (may be null) is kept alive as long as the table or any table
  // sharing its memory lives; without one, the caller keeps memory alive and unchanged.
  // Throws std::invalid_argument (naming the numbers) if rows or dim is 0, if `type` is not
  // registered, if dim is not a multiple of the type's block, if row_stride < row_bytes, or
  // if memory.size() < (rows - 1) * row_stride + row_bytes. Does not allocate, apart from the
  // owner's reference count.
  static table wrap(std::span<const std::byte> memory, std::size_t rows, std::size_t dim,
                    dtype type, std::size_t row_stride = 0,
                    std::shared_ptr<const void> owner = nullptr);

  // An owning copy of this table (64-byte aligned, padded rows), the same values bit for
  // bit. Throws std::bad_alloc if the memory cannot be had; an empty table copies to an
  // empty table.
  table copy() const;

  // The row_stride() an owning table of this shape has: row_bytes(type, dim) rounded up to a
  // multiple of 64. Throws std::invalid_argument as from_f32 does for an invalid shape,
  // including rows * stride overflowing size_t. The one definition of the owning layout.
  static std::size_t owning_stride(std::size_t rows, std::size_t dim, dtype type);

  std::size_t rows() const noexcept { return rows_; }
  std::size_t dim() const noexcept { return dim_; }
  dtype type() const noexcept { return type_; }
  // False for views made by wrap(); true for every other non-empty table.
  bool owns_memory() const noexcept { return owns_; }
  // Bytes of one stored row: row_bytes(type(), dim()).
  std::size_t row_bytes() const noexcept { return row_bytes_; }
  // Bytes from one row to the next: a multiple of 64 for owning tables; as given to wrap().
  std::size_t row_stride() const noexcept { return stride_; }
  // First byte of row 0: 64-byte aligned for owning tables, any address for views. nullptr
  // for an empty (default or moved-from) table.
  const std::byte* data() const noexcept { return data_; }
  // Bytes the rows span: rows() * row_stride() for owning tables (what they hold),
  // (rows() - 1) * row_stride() + row_bytes() for views (what they read); 0 when empty.
  std::size_t bytes() const noexcept;

 private:
  table(std::shared_ptr<const void> owner, const std::byte* data, std::size_t rows,
        std::size_t dim, dtype type, std::size_t stride, bool owns) noexcept;
  // An owning, zero-padded table of this shape whose rows the caller fills.
  static table allocate(std::size_t rows, std::size_t dim, dtype type);
  std::byte* mutable_row(std::size_t r) noexcept {
    return const_cast<std::byte*>(data_) + r * stride_;
  }

  std::shared_ptr<const void> owner_;  // keeps data_ alive
  const std::byte* data_ = nullptr;
  std::size_t rows_ = 0;
  std::size_t dim_ = 0;
  std::size_t row_bytes_ = 0;
  std::size_t stride_ = 0;
  dtype type_ = dtype::f32;
  bool owns_ = false;
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
EMBTAB_API quantization_report measure_quantization(const table& t, std::span<const float> weights);

}  // namespace embtab
