// Internal: scalar fp32 <-> f16 / bf16 / rowwise-int8 conversions for the cold path (table
// construction) and as the definition every SIMD kernel must reproduce bit for bit.
//
// The oracle is Debian's PyTorch 1.13 (python3-torch 1.13.1, built without FBGEMM); the
// fixtures in tests/fixtures/quant/ come from tests/fixtures/gen_quant_fixtures.py.
// f16/bf16 conversions are integer bit manipulation (immune to rounding mode and FTZ/DAZ);
// the int8 functions use float/double arithmetic that FP contraction cannot change, and, like
// torch, assume the default rounding mode without FTZ/DAZ. Nothing allocates or throws.
#pragma once

#include <cstddef>
#include <cstdint>

namespace embtab::detail {

// fp32 -> IEEE binary16, round to nearest even, bit-identical to torch's `w.half()`
// (c10::detail::fp16_ieee_from_fp32_value) for every one of the 2^32 inputs:
// overflow (|x| >= 65520) gives +-inf, f16 subnormals are rounded correctly (no flush),
// fp32 subnormals give +-0, every NaN gives 0x7E00 with the input's sign (payload dropped).
std::uint16_t f32_to_f16_bits(float x) noexcept;

// fp32 -> bfloat16, round to nearest even; overflow gives +-inf.
// Non-NaN inputs: bit-identical to torch's `w.bfloat16()` on every CPU capability.
// NaN: always 0x7FC0 (c10::BFloat16's scalar rule, and torch's ATEN_CPU_CAPABILITY=default
// kernel). Torch's AVX2 copy kernel instead writes 0xFFFF for every NaN (an all-ones mask
// artefact that turns +NaN into -NaN); we do not copy that.
std::uint16_t f32_to_bf16_bits(float x) noexcept;

// Exact widenings. A signalling NaN comes back quiet (quiet bit set, payload and sign kept),
// as torch's `.float()` and the F16C instruction vcvtph2ps do for f16; bf16 widening is a
// plain 16-bit shift, so its NaN payloads are kept unchanged, as in torch.
float f16_bits_to_f32(std::uint16_t h) noexcept;
float bf16_bits_to_f32(std::uint16_t b) noexcept;

// Per-row metadata of the 8-bit rowwise format (FBGEMM's "fused 8-bit rowwise"): a value is
// dequantize_int8(code, scale, bias).
struct rowwise_int8_params {
  float scale;  // (max - min) / 255
  float bias;   // min
};

// Quantizes row[0 .. dim) into codes[0 .. dim), exactly as
// torch.ops.quantized.embedding_bag_byte_prepack (whose packed row is the dim codes followed
// by scale and bias as little-endian fp32). All in fp32 arithmetic:
//   min, max   = first minimum / first maximum by operator< (std::min_element semantics,
//                so the sign of a zero bias follows the row's order)
//   range      = max - min
//   scale      = range / 255
//   inv        = 255 / (range + 1e-8f)
//   code[i]    = round_half_even((row[i] - min) * inv)   (a NaN product gives 0)
// Rows are meant to be finite (see row_is_finite); a range that overflows to inf still gives
// torch's bytes (scale = inf, codes 0). dim must be >= 1.
rowwise_int8_params quantize_row_int8(const float* row, std::size_t dim,
                                      std::uint8_t* codes) noexcept;

// The value a code stands for, bit-identical to
// torch.ops.quantized.embedding_bag_byte_rowwise_offsets for a bag of one (mode sum, no
// per-sample weights). Torch evaluates std::fma(scale, code, 0.0f + bias) with an integer
// argument, i.e. in double, and stores the result as float:
//   float(double(scale) * code + double(bias))
// The double product is exact, so this is one rounding to double then one to float.
// A float fmaf(scale, code, bias) differs from it in rare double-rounding cases, and
// scale * code + bias in float (two roundings) differs often.
float dequantize_int8(std::uint8_t code, float scale, float bias) noexcept;

// True when no value of row[0 .. dim) is NaN or +-inf.
bool row_is_finite(const float* row, std::size_t dim) noexcept;

}  // namespace embtab::detail
