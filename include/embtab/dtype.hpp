// embtab/dtype.hpp: the storage types a table can hold, described by one registry.
//
// Every fact about a dtype (its name, its block and row sizes) comes from info(): the
// library, the tests, the fuzzers, the benchmark and the command-line tool all read it, so a
// new dtype is one registry line (src/dtypes/registry.hpp) plus its codec and decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "embtab/export.h"

namespace embtab {

// How a table stores its rows. Lookups produce fp32, f16 or bf16 (the output types below). Values are stable (they are what
// the C API and saved benchmark files use); new types are only ever appended.
enum class dtype : std::uint8_t {
  f32,           // IEEE binary32, 4 bytes a value; lookup copies the bits
  f16,           // IEEE binary16, 2 bytes a value; lookup widens exactly
  bf16,          // bfloat16 (the top half of an fp32), 2 bytes a value; lookup widens exactly
  int8_rowwise,  // PyTorch/FBGEMM 8-bit rowwise ("fused 8-bit rowwise", embedding_bag_byte_*):
                 // per row, dim uint8 codes, then an fp32 scale and an fp32 bias;
                 // value = float(double(scale) * code + double(bias)). Not ggml's q8_0
                 // (signed codes, an fp16 scale per 32 values).
  // ggml's block formats (GGUF tensor data, llama.cpp), bit for bit as ggml and the gguf Python
  // package store them; fp16 fields are little-endian. Lookups give exactly what
  // gguf.quants.dequantize gives (every product is exact for finite scales).
  q8_0,  // blocks of 32 values in 34 bytes: fp16 d, then 32 int8 codes q; value = q * d
  q4_0,  // blocks of 32 values in 18 bytes: fp16 d, then 16 bytes whose low nibbles are values
         // 0-15 and high nibbles values 16-31; value = (nibble - 8) * d
  q4_k,  // blocks of 256 values in 144 bytes: fp16 d, fp16 dmin, 12 bytes of packed 6-bit
         // scales sc and mins m (8 sub-blocks of 32), 128 bytes of nibbles q;
         // value = fl(d * sc) * q - fl(dmin * m), one rounding. Only from a file's blocks
         // (table::from_blocks / wrap): embtab has no q4_k quantizer.
  q6_k,  // blocks of 256 values in 210 bytes: 128 bytes low 4 bits, 64 bytes high 2 bits,
         // 16 int8 scales (16 sub-blocks of 16), fp16 d last; value = fl(d * scale) * (q - 32).
         // Only from a file's blocks, like q4_k.
};

// Output element types of lookup() besides float: the 16 bits exactly as stored in memory
// (little-endian on x86). A lookup rounds fp32 to them to nearest even, as PyTorch's
// .half() / .bfloat16() do (NaN: f16 0x7E00 with the sign, bf16 0x7FC0).
struct f16 {
  std::uint16_t bits;  // IEEE binary16
};
struct bf16 {
  std::uint16_t bits;  // bfloat16: the top half of an fp32
};

// What the registry says about one dtype.
//
// A row of `dim` values is dim / block_values blocks of block_bytes each, followed by
// row_meta_bytes of per-row metadata (int8_rowwise: the fp32 scale, then the fp32 bias,
// little-endian, right after the codes, exactly as PyTorch's embedding_bag_byte_prepack packs
// a row). row_bytes(type, dim) is that total; a table's row_stride() is at least as large.
struct dtype_info {
  std::string_view name;       // the one spelling used everywhere (API, CLI --dtype, bench
                               // labels, JSON, README): "f32", "f16", "bf16", "int8_rowwise",
                               // "q8_0", "q4_0", "q4_k", "q6_k"
  std::size_t block_values;    // values per block: 1 for element types
  std::size_t block_bytes;     // bytes per block
  std::size_t row_meta_bytes;  // bytes of per-row metadata after the blocks; 0 for most types
};

// The registry entry of `type`; {"unknown", 0, 0, 0} for a value that is not registered.
EMBTAB_API const dtype_info& info(dtype type) noexcept;

// Every registered dtype, in enum order.
EMBTAB_API std::span<const dtype> all_dtypes() noexcept;

// The dtype whose info().name is exactly `name` (case-sensitive); std::nullopt otherwise.
EMBTAB_API std::optional<dtype> dtype_from_name(std::string_view name) noexcept;

// Bytes of one stored row of `dim` values: dim / block_values * block_bytes + row_meta_bytes.
// Throws std::invalid_argument (naming the values) when `type` is not registered, when dim is
// not a multiple of block_values, or when the size overflows size_t. Does not check dim > 0.
EMBTAB_API std::size_t row_bytes(dtype type, std::size_t dim);

// True when table::from_f32 (and torch::random_normal) can make tables of `type`, i.e. its
// codec has an encoder: f32, f16, bf16, int8_rowwise, q8_0, q4_0. False for q4_k and q6_k
// (their tables come from a model file's blocks: table::from_blocks or table::wrap) and for
// a value that is not registered.
EMBTAB_API bool has_f32_encoder(dtype type) noexcept;

// info(type).name as a NUL-terminated string: "f32", ..., "unknown".
EMBTAB_API const char* to_string(dtype type) noexcept;

}  // namespace embtab
