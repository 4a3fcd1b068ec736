// ggml_reference.hpp - plain scalar reference for ggml block types q8_0, q4_0, q4_k, q6_k.
//
// Written from the block layouts (ggml-common.h) and the arithmetic of the gguf Python
// package (gguf.quants, float32 numpy).  Header-only, C++20, standard library only.
// Not fast on purpose: every operation below is one IEEE-754 binary32 operation with one
// rounding (round-to-nearest-even), in the order gguf.quants performs it.
//
// Build note: compile with -ffp-contract=off.  (GCC's default is -ffp-contract=fast for C++
// even with -std=c++20 - only ISO C modes default to off - and with -mfma/-march=native
// it then fuses a*b+c across statements; verified with g++ 12: without the guards below
// the q4_0 quantizer and q4_k NaN-payload fixtures fail at -O3 -march=native.)
// The two places where a fused multiply-add could change a result are additionally
// protected with round_to_float() (a volatile store/load that forces the product to be
// rounded to binary32 before the following add/sub even under -ffp-contract=fast):
//   * q4_0 quantizer:  fl(fl(x*id) + 8.5f)  - FMA changes codes for some inputs.
//   * q4_k dequant:    fl(fl(d_s*q) - m_s)  - d_s*q is exact for finite values, so an FMA
//     only changes NaN payloads (inf*0 fused with a NaN addend returns the addend's NaN,
//     the unfused sequence returns the x86 default NaN 0xFFC00000).
//
// Exactness facts (finite values).  fp16 significands have <= 11 bits, so every product
// below has <= 24 significant bits and lies far from binary32 overflow/underflow:
//   q8_0 d*qs        11 + 7 bits (|qs| <= 128)      q4_0 d*q          11 + 3 bits (|q| <= 8)
//   q4_k d*sc, dmin*m 11 + 6 bits; (d*sc)*q 17 + 4   q6_k (d*sc)*q     11 + 7 + 5 = 23 bits
// => all products are exact; the only rounding in the four dequantizers is q4_k's final
// subtraction, i.e. q4_k yields the correctly rounded value of the real d*sc*q - dmin*m.
// Consequently, for finite scales ANY evaluation order (reassociated products, SIMD, FMA)
// gives identical bits; only NaN payloads depend on the exact operation sequence.
//
// Non-finite scales (matches numpy/gguf and ggml C on x86-64):
//   inf * 0 = NaN (x86 default NaN 0xFFC00000, i.e. negative quiet NaN), inf * q = +-inf,
//   NaN * q = the NaN with its quiet bit set (payload and sign kept), inf - inf = default NaN,
//   NaN - NaN = the first operand (x86 rule).  These NaN *bit patterns* are x86-64 specific;
//   on AArch64 the default NaN is 0x7FC00000.  Non-NaN results are ISA-independent.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace embtab::ref::ggml {

// ------------------------------------------------------------------ types and constants
enum class type : std::uint32_t { q4_0 = 2, q8_0 = 8, q4_k = 12, q6_k = 14 };  // ggml_type ids

struct type_traits {
    std::string_view name;
    std::size_t block_values;  // values per block
    std::size_t block_bytes;   // bytes per block
};

inline constexpr std::size_t qk8_0 = 32, qk4_0 = 32, qk_k = 256;
inline constexpr std::size_t q8_0_bytes = 2 + 32;              // fp16 d, int8 qs[32]
inline constexpr std::size_t q4_0_bytes = 2 + 16;              // fp16 d, uint8 qs[16]
inline constexpr std::size_t q4_k_bytes = 2 + 2 + 12 + 128;    // fp16 d, fp16 dmin, scales[12], qs[128]
inline constexpr std::size_t q6_k_bytes = 128 + 64 + 16 + 2;   // ql[128], qh[64], int8 scales[16], fp16 d

constexpr type_traits traits(type t) {
    switch (t) {
        case type::q8_0: return {"q8_0", qk8_0, q8_0_bytes};
        case type::q4_0: return {"q4_0", qk4_0, q4_0_bytes};
        case type::q4_k: return {"q4_k", qk_k, q4_k_bytes};
        case type::q6_k: return {"q6_k", qk_k, q6_k_bytes};
    }
    return {"?", 0, 0};
}

inline std::optional<type> type_from_name(std::string_view n) {
    for (type t : {type::q8_0, type::q4_0, type::q4_k, type::q6_k})
        if (traits(t).name == n) return t;
    return std::nullopt;
}

constexpr std::size_t row_bytes(type t, std::size_t dim) {
    return dim / traits(t).block_values * traits(t).block_bytes;
}

// ------------------------------------------------------------------ fp16 <-> fp32
// IEEE binary16 -> binary32 by definition.  Exact for every input.  NaN: sign kept, the 10
// payload bits become bits 22..13; the quiet bit is NOT forced here (a following multiply
// quiets it, which is what numpy's result shows; F16C/ggml's conversion quiet it earlier -
// same final bits because every use is followed by a multiplication).
inline float fp16_to_fp32(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    const std::uint32_t exp = (h >> 10) & 0x1fu;
    const std::uint32_t man = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        // zero or subnormal: man * 2^-24, exact in binary32 (normal there)
        const float v = static_cast<float>(man) * 0x1p-24f;
        bits = sign | std::bit_cast<std::uint32_t>(v);
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);  // inf / NaN
    } else {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    }
    return std::bit_cast<float>(bits);
}

// IEEE binary32 -> binary16, round to nearest, ties to even (numpy astype(float16),
// x86 F16C, and ggml's GGML_FP32_TO_FP16 agree for non-NaN inputs).  Overflow -> +-inf
// (|f| >= 65520).  NaN -> quiet NaN keeping the sign and top payload bits (not exercised:
// the quantizers never produce a NaN scale from finite inputs).
inline std::uint16_t fp32_to_fp16(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u)  // inf or NaN
        return static_cast<std::uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
    const std::uint32_t e = a >> 23;        // biased fp32 exponent
    const std::uint32_t man = a & 0x7fffffu;
    if (e >= 143) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 2^16 -> inf
    if (e >= 113) {                                                     // fp16 normal range
        std::uint32_t h = ((e - 112u) << 10) | (man >> 13);
        const std::uint32_t r = man & 0x1fffu;
        if (r > 0x1000u || (r == 0x1000u && (h & 1u))) ++h;  // carry may reach 0x7c00 = inf
        return static_cast<std::uint16_t>(sign | h);
    }
    // fp16 subnormal range: result = round(value / 2^-24)
    if (e == 0) return sign;  // fp32 subnormal (< 2^-126): rounds to 0
    const std::uint32_t m = man | 0x800000u;  // value = m * 2^(e-150)
    const std::uint32_t s = 126u - e;         // value / 2^-24 = m >> s
    if (s > 24) return sign;                  // < 2^-25: rounds to 0
    std::uint32_t q = m >> s;
    const std::uint32_t rem = m & ((1u << s) - 1u), half = 1u << (s - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;  // may become 0x400 = min normal
    return static_cast<std::uint16_t>(sign | q);
}

namespace detail {
inline std::uint16_t load_u16le(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
inline void store_u16le(std::uint8_t* p, std::uint16_t v) { p[0] = std::uint8_t(v); p[1] = std::uint8_t(v >> 8); }
// Forces a binary32 rounding of v (prevents FMA contraction across this point).
inline float round_to_float(float v) { volatile float t = v; return t; }
}  // namespace detail

// ------------------------------------------------------------------ dequantization
// q8_0 block (34 B): [0..1] fp16 d, [2..33] int8 qs[32].
//   y[j] = fl(float(qs[j]) * d)                      (exact for finite d)
inline void dequantize_block_q8_0(const std::uint8_t* b, float* y) {
    const float d = fp16_to_fp32(detail::load_u16le(b));
    for (std::size_t j = 0; j < 32; ++j)
        y[j] = static_cast<float>(static_cast<std::int8_t>(b[2 + j])) * d;
}

// q4_0 block (18 B): [0..1] fp16 d, [2..17] qs[16]; value j (0..15) is the low nibble of
// qs[j], value j+16 the high nibble.
//   y[j] = fl(float(nibble - 8) * d)                 (exact for finite d)
inline void dequantize_block_q4_0(const std::uint8_t* b, float* y) {
    const float d = fp16_to_fp32(detail::load_u16le(b));
    for (std::size_t j = 0; j < 16; ++j) {
        y[j] = static_cast<float>(int(b[2 + j] & 0x0f) - 8) * d;
        y[j + 16] = static_cast<float>(int(b[2 + j] >> 4) - 8) * d;
    }
}

// q4_k scales[12] -> 8 six-bit scales sc[] and mins m[] (ggml get_scale_min_k4):
//   j < 4 : sc = s[j] & 63,                          m = s[j+4] & 63
//   j >= 4: sc = (s[j+4] & 15) | ((s[j-4] >> 6) << 4), m = (s[j+4] >> 4) | ((s[j] >> 6) << 4)
inline void q4_k_scale_min(const std::uint8_t* s, int j, int& sc, int& m) {
    if (j < 4) {
        sc = s[j] & 63;
        m = s[j + 4] & 63;
    } else {
        sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

// q4_k block (144 B): [0..1] fp16 d, [2..3] fp16 dmin, [4..15] scales[12], [16..143] qs[128].
// Sub-block s (0..7) = values 32s..32s+31.  For chunk c (0..3, 64 values) the 32 bytes
// qs[32c..32c+31]: low nibble of byte l -> value 64c+l (sub-block 2c), high nibble ->
// value 64c+32+l (sub-block 2c+1).
//   d_s = fl(d * float(sc_s))      exact for finite d
//   m_s = fl(dmin * float(m_s))    exact for finite dmin
//   y   = fl( fl(d_s * float(q)) - m_s )   product exact for finite values; one rounding
// gguf: d = (d * sc).reshape(..); dm = (dmin * m); return d * qs - dm   (same order)
inline void dequantize_block_q4_k(const std::uint8_t* b, float* y) {
    const float d = fp16_to_fp32(detail::load_u16le(b));
    const float dmin = fp16_to_fp32(detail::load_u16le(b + 2));
    const std::uint8_t* scales = b + 4;
    const std::uint8_t* qs = b + 16;
    for (int s = 0; s < 8; ++s) {
        int sc, m;
        q4_k_scale_min(scales, s, sc, m);
        const float ds = d * static_cast<float>(sc);
        const float ms = dmin * static_cast<float>(m);
        const std::uint8_t* q = qs + 32 * (s / 2);
        const int shift = (s % 2) * 4;
        for (int l = 0; l < 32; ++l) {
            const float qv = static_cast<float>((q[l] >> shift) & 0x0f);
            y[32 * s + l] = detail::round_to_float(ds * qv) - ms;
        }
    }
}

// q6_k block (210 B): [0..127] ql, [128..191] qh, [192..207] int8 scales[16], [208..209] fp16 d.
// Half h (0,1) covers values 128h..128h+127 using ql[64h..64h+63], qh[32h..32h+31]; for
// l in 0..31 (value offsets within the half):
//   v[l]    = (ql[l]    & 15) | ((qh[l] >> 0) & 3) << 4
//   v[l+32] = (ql[l+32] & 15) | ((qh[l] >> 2) & 3) << 4
//   v[l+64] = (ql[l]    >> 4) | ((qh[l] >> 4) & 3) << 4
//   v[l+96] = (ql[l+32] >> 4) | ((qh[l] >> 6) & 3) << 4
// q = v - 32 (range -32..31); scale index = value index / 16 (global within the block).
//   d_s = fl(d * float(scales[s]))   exact for finite d
//   y   = fl(d_s * float(q))          exact for finite d (<= 23 significant bits)
// gguf: d = (d * scales); return d * q     ggml C: y = d * sc[is] * q = (d*sc)*q   (same)
inline void dequantize_block_q6_k(const std::uint8_t* b, float* y) {
    const std::uint8_t* ql = b;
    const std::uint8_t* qh = b + 128;
    const std::uint8_t* sc = b + 192;
    const float d = fp16_to_fp32(detail::load_u16le(b + 208));
    std::array<float, 16> ds;
    for (int s = 0; s < 16; ++s) ds[s] = d * static_cast<float>(static_cast<std::int8_t>(sc[s]));
    for (int h = 0; h < 2; ++h) {
        const std::uint8_t* l8 = ql + 64 * h;
        const std::uint8_t* h8 = qh + 32 * h;
        for (int l = 0; l < 32; ++l) {
            const int v[4] = {
                (l8[l] & 15) | (((h8[l] >> 0) & 3) << 4),
                (l8[l + 32] & 15) | (((h8[l] >> 2) & 3) << 4),
                (l8[l] >> 4) | (((h8[l] >> 4) & 3) << 4),
                (l8[l + 32] >> 4) | (((h8[l] >> 6) & 3) << 4),
            };
            for (int k = 0; k < 4; ++k) {
                const int idx = 128 * h + 32 * k + l;
                y[idx] = ds[idx / 16] * static_cast<float>(v[k] - 32);
            }
        }
    }
}

// Dequantizes one row of `dim` values (dim must be a multiple of the block size).
inline void dequantize_row(type t, const std::uint8_t* blocks, std::size_t dim, float* out) {
    const type_traits tr = traits(t);
    if (tr.block_values == 0 || dim % tr.block_values != 0)
        throw std::invalid_argument("dequantize_row: dim is not a multiple of the block size");
    const std::size_t nb = dim / tr.block_values;
    for (std::size_t i = 0; i < nb; ++i) {
        const std::uint8_t* b = blocks + i * tr.block_bytes;
        float* y = out + i * tr.block_values;
        switch (t) {
            case type::q8_0: dequantize_block_q8_0(b, y); break;
            case type::q4_0: dequantize_block_q4_0(b, y); break;
            case type::q4_k: dequantize_block_q4_k(b, y); break;
            case type::q6_k: dequantize_block_q6_k(b, y); break;
        }
    }
}

inline void dequantize_row(std::string_view type_name, const std::uint8_t* blocks, std::size_t dim, float* out) {
    const auto t = type_from_name(type_name);
    if (!t) throw std::invalid_argument("dequantize_row: unknown type name");
    dequantize_row(*t, blocks, dim, out);
}

// ------------------------------------------------------------------ quantization
// Preconditions (both quantizers): finite inputs, and per block either amax == 0 or 1/d
// finite (q8_0: amax >= ~3.7e-37, q4_0: |max| >= ~2.4e-38).  Outside of that gguf itself
// casts NaN/inf to an integer (numpy: platform-defined value + RuntimeWarning; ggml C: UB),
// so there is no reference answer.

// q8_0, gguf Q8_0.quantize_blocks (== ggml quantize_row_q8_0_ref):
//   amax = max |x|;  d = fl(amax / 127);  id = d != 0 ? fl(1 / d) : 0
//   qs[j] = roundf(fl(x[j] * id))  (half away from zero; gguf's np_roundf is exactly that)
//   stored d = fp16_rne(d)  (note: qs use the unrounded fp32 d)
inline void quantize_row_q8_0(const float* x, std::size_t dim, std::uint8_t* out) {
    if (dim % qk8_0) throw std::invalid_argument("quantize_row_q8_0: dim % 32 != 0");
    for (std::size_t i = 0; i < dim / qk8_0; ++i) {
        const float* v = x + i * qk8_0;
        std::uint8_t* b = out + i * q8_0_bytes;
        float amax = 0.0f;
        for (std::size_t j = 0; j < qk8_0; ++j) amax = std::fmax(amax, std::fabs(v[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        detail::store_u16le(b, fp32_to_fp16(d));
        for (std::size_t j = 0; j < qk8_0; ++j) {
            const float r = std::round(v[j] * id);  // |r| <= 127
            b[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(static_cast<int>(r)));
        }
    }
}

// q4_0, gguf Q4_0.quantize_blocks:
//   k = first index of max |x| (numpy argmax; ties -> first);  max = x[k] (signed)
//   d = fl(max / -8);  id = d != 0 ? fl(1 / d) : 0
//   code[j] = min(15, trunc( fl( fl(x[j] * id) + 8.5f ) ))   (never negative)
//   byte j = code[j] | code[j+16] << 4;  stored d = fp16_rne(d)
// Difference to ggml C quantize_row_q4_0_ref: C starts with max = +0.0f and only replaces
// it on a strictly larger |x|, numpy takes x[argmax] = x[0] for an all-zero block.  So for
// an all-(+-)zero block whose x[0] is -0.0, gguf stores d = +0 (0x0000) and ggml C stores
// d = -0 (0x8000).  This reference follows gguf.
inline void quantize_row_q4_0(const float* x, std::size_t dim, std::uint8_t* out) {
    if (dim % qk4_0) throw std::invalid_argument("quantize_row_q4_0: dim % 32 != 0");
    for (std::size_t i = 0; i < dim / qk4_0; ++i) {
        const float* v = x + i * qk4_0;
        std::uint8_t* b = out + i * q4_0_bytes;
        float amax = std::fabs(v[0]), max = v[0];
        for (std::size_t j = 1; j < qk4_0; ++j)
            if (amax < std::fabs(v[j])) { amax = std::fabs(v[j]); max = v[j]; }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        detail::store_u16le(b, fp32_to_fp16(d));
        std::uint8_t code[32];
        for (std::size_t j = 0; j < qk4_0; ++j) {
            const float t = detail::round_to_float(v[j] * id) + 8.5f;  // two roundings, no FMA
            int c = static_cast<int>(t);  // trunc; t >= 0 for valid inputs
            code[j] = static_cast<std::uint8_t>(c < 0 ? 0 : (c > 15 ? 15 : c));
        }
        for (std::size_t j = 0; j < 16; ++j) b[2 + j] = static_cast<std::uint8_t>(code[j] | (code[j + 16] << 4));
    }
}

// ------------------------------------------------------------------ fixture reader
// Format (little-endian), see tests/fixtures/gen_ggml_fixtures.py:
//   "EMBTGGML" | u32 version=1 | char type[8] | u32 ggml_type | u32 rows | u32 dim |
//   u32 block_values | u32 block_bytes | u32 flags | u32 reserved |
//   blocks[rows*row_bytes] | u32 expected_bits[rows*dim] | (flags&1) f32 input[rows*dim]
struct fixture {
    std::string type_name;
    std::uint32_t ggml_type = 0, rows = 0, dim = 0, block_values = 0, block_bytes = 0, flags = 0;
    std::vector<std::uint8_t> blocks;           // rows * row_bytes()
    std::vector<std::uint32_t> expected_bits;   // rows * dim, fp32 bit patterns
    std::vector<float> input;                   // rows * dim if (flags & 1), else empty
    std::size_t row_bytes() const { return std::size_t(dim) / block_values * block_bytes; }
};

inline fixture read_fixture(const std::filesystem::path& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<std::uint8_t> d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto fail = [&](const char* why) { throw std::runtime_error(path.string() + ": " + why); };
    auto u32 = [&](std::size_t o) {
        return std::uint32_t(d[o]) | std::uint32_t(d[o + 1]) << 8 | std::uint32_t(d[o + 2]) << 16 | std::uint32_t(d[o + 3]) << 24;
    };
    if (d.size() < 48 || std::memcmp(d.data(), "EMBTGGML", 8) != 0 || u32(8) != 1) fail("bad header");
    fixture fx;
    fx.type_name.assign(reinterpret_cast<const char*>(d.data() + 12), 8);
    fx.type_name.resize(fx.type_name.find('\0') == std::string::npos ? 8 : fx.type_name.find('\0'));
    fx.ggml_type = u32(20); fx.rows = u32(24); fx.dim = u32(28);
    fx.block_values = u32(32); fx.block_bytes = u32(36); fx.flags = u32(40);
    if (fx.block_values == 0 || fx.dim % fx.block_values != 0) fail("bad dim");
    const std::size_t nb = std::size_t(fx.rows) * fx.row_bytes(), nv = std::size_t(fx.rows) * fx.dim;
    if (d.size() != 48 + nb + 4 * nv + ((fx.flags & 1) ? 4 * nv : 0)) fail("size mismatch");
    fx.blocks.assign(d.begin() + 48, d.begin() + 48 + std::ptrdiff_t(nb));
    fx.expected_bits.resize(nv);
    for (std::size_t i = 0; i < nv; ++i) fx.expected_bits[i] = u32(48 + nb + 4 * i);
    if (fx.flags & 1) {
        fx.input.resize(nv);
        for (std::size_t i = 0; i < nv; ++i) fx.input[i] = std::bit_cast<float>(u32(48 + nb + 4 * nv + 4 * i));
    }
    return fx;
}

}  // namespace embtab::ref::ggml
