// libFuzzer harness for table construction from fp32 weights: any float bits (NaN, inf,
// subnormals, rounding ties), any registered dtype (those without an encoder must be refused
// pointing to table::from_blocks) and invalid dtype values, shapes that do not match
// the weights, random_normal, measure_quantization. A table that is built must store exactly
// what the contract in table.hpp says (checked against conversions written here from that
// text, not from src/) and look up as the reference widening of those bits on every ISA; a
// table that is refused must be refused with std::invalid_argument for the documented reason.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "../ggml_reference.hpp"
#include "../reference.hpp"
#include "embtab/embtab.hpp"
#include "embtab/torch.hpp"
#include "fuzz_common.hpp"

namespace {

using embtab::dtype;
using embtab::table;

// fp32 -> binary16 by the definition: the nearest value with `mant_bits` fraction bits and
// exponent bias `bias`, ties to an even fraction; at or past the halfway point above the
// largest finite value: inf. Computed in double (exact for every step here).
std::uint16_t round_to_half(float x, int mant_bits, int bias, int exp_field_max) {
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(x));
  const std::uint16_t inf = static_cast<std::uint16_t>(exp_field_max << mant_bits);
  if (std::isinf(a)) return sign | inf;
  const int min_exp = 1 - bias;  // exponent of the smallest normal
  int e = std::ilogb(a);
  if (a == 0 || e < min_exp) e = min_exp;  // subnormals share the smallest normal's ulp
  const double ulp = std::ldexp(1.0, e - mant_bits);
  double m = std::nearbyint(a / ulp);  // default rounding mode: to nearest, ties to even
  if (m >= std::ldexp(1.0, mant_bits + 1)) {  // rounded up into the next binade
    m /= 2;
    ++e;
  }
  const bool normal = m >= std::ldexp(1.0, mant_bits);
  if (normal && e + bias >= exp_field_max) return sign | inf;
  const int field = normal ? e + bias : 0;
  const auto fraction = static_cast<std::uint32_t>(m) & ((1u << mant_bits) - 1);
  return static_cast<std::uint16_t>(sign | (field << mant_bits) | fraction);
}

std::uint16_t ref_f16(float x) {
  // torch keeps only the sign of a NaN.
  if (std::isnan(x)) return std::signbit(x) ? 0xFE00 : 0x7E00;
  return round_to_half(x, 10, 15, 31);
}

std::uint16_t ref_bf16(float x) {
  if (std::isnan(x)) return 0x7FC0;  // every NaN, whatever its sign (convert.hpp)
  return round_to_half(x, 7, 127, 255);
}

// FBGEMM 8-bit rowwise, from table.hpp: fp32 arithmetic, first min and max by operator<.
struct int8_row {
  std::vector<std::uint8_t> codes;
  float scale, bias;
};
int8_row ref_quantize(const float* row, std::size_t dim) {
  float lo = row[0], hi = row[0];
  for (std::size_t j = 1; j < dim; ++j) {
    if (row[j] < lo) lo = row[j];
    if (hi < row[j]) hi = row[j];
  }
  const float range = hi - lo;
  const float inv = 255.0f / (range + 1e-8f);
  int8_row r{std::vector<std::uint8_t>(dim), range / 255.0f, lo};
  for (std::size_t j = 0; j < dim; ++j) {
    const float v = std::nearbyint((row[j] - lo) * inv);
    FUZZ_CHECK(v >= 0 && v <= 255, "code %f out of range", static_cast<double>(v));
    r.codes[j] = static_cast<std::uint8_t>(v);
  }
  return r;
}

// ggml's q8_0 / q4_0 row as table.hpp specifies it: gguf's quantizer (ggml_reference.hpp),
// except for a block whose 1 / d overflows, where gguf has no defined result and table.hpp
// says d is stored as fp16(d) (that is 0) with the codes of 0 (q8_0: 0, q4_0: 8).
std::vector<std::uint8_t> ref_ggml_row(dtype type, const float* row, std::size_t dim) {
  namespace gr = embtab::ref::ggml;
  const bool q8 = type == dtype::q8_0;
  const std::size_t bb = q8 ? gr::q8_0_bytes : gr::q4_0_bytes;
  std::vector<std::uint8_t> out(dim / 32 * bb);
  for (std::size_t b = 0; b < dim / 32; ++b) {
    const float* x = row + 32 * b;
    std::uint8_t* o = out.data() + b * bb;
    float amax = 0.0f, max = x[0];
    for (std::size_t j = 0; j < 32; ++j)
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    const float d = q8 ? amax / 127.0f : max / -8.0f;
    if (d != 0.0f && std::isinf(1.0f / d)) {
      const std::uint16_t h = gr::fp32_to_fp16(d);
      std::memcpy(o, &h, 2);
      std::memset(o + 2, q8 ? 0x00 : 0x88, bb - 2);
    } else if (q8) {
      gr::quantize_row_q8_0(x, 32, o);
    } else {
      gr::quantize_row_q4_0(x, 32, o);
    }
  }
  return out;
}

// Values that sit on the edges of the conversions.
float pick_value(FuzzedDataProvider& in) {
  static constexpr float special[] = {
      0.0f, -0.0f, 1.0f, -1.0f, INFINITY, -INFINITY, NAN, -NAN,
      std::numeric_limits<float>::max(), -std::numeric_limits<float>::max(),
      std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(),
      65504.0f, 65519.996f, 65520.0f, -65520.0f, 0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f,
      0x1.002p0f, 0x1.006p0f, 0x1.01p0f, 0x1.03p0f, 0x1.fffffep127f, 3e38f, -3e38f, 1e-8f};
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: return in.PickValueInArray(special);
    case 1: return std::bit_cast<float>(in.ConsumeIntegral<std::uint32_t>());
    case 2: return static_cast<float>(in.ConsumeIntegralInRange<int>(-300, 300)) * 0.25f;
    default: {  // a typical weight: sign, small exponent, any fraction
      const std::uint32_t bits = in.ConsumeIntegral<std::uint32_t>();
      return std::bit_cast<float>((bits & 0x807FFFFFu) | ((120u + (bits >> 23) % 12) << 23));
    }
  }
}

void expect_lookups(const table& t, const std::vector<float>& want, bool nan_is_nan) {
  const std::size_t rows = t.rows(), dim = t.dim();
  std::vector<std::int64_t> ids(rows);
  for (std::size_t r = 0; r < rows; ++r) ids[r] = static_cast<std::int64_t>(rows - 1 - r);
  for (const auto isa : embtab::supported_isas()) {
    FUZZ_CHECK(embtab::set_isa(isa), "set_isa");
    std::vector<float> out(rows * dim);
    const auto s = embtab::lookup(t, ids, out);
    FUZZ_CHECK(s.ok(), "%s", s.message().c_str());
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t j = 0; j < dim; ++j) {
        const float got = out[i * dim + j], w = want[static_cast<std::size_t>(ids[i]) * dim + j];
        FUZZ_CHECK(embtab::fuzz::same_value(got, w, nan_is_nan), "%.*s %s row %zu value %zu: 0x%08x, want 0x%08x",
                   static_cast<int>(isa.size()), isa.data(), embtab::to_string(t.type()),
                   static_cast<std::size_t>(ids[i]), j, std::bit_cast<std::uint32_t>(got),
                   std::bit_cast<std::uint32_t>(w));
      }
  }
  embtab::set_isa(embtab::supported_isas().front());
}

// Checks the stored bytes of a table built from `w` and returns what lookups must give.
std::vector<float> check_stored(const table& t, const std::vector<float>& w) {
  const std::size_t rows = t.rows(), dim = t.dim();
  std::vector<float> want(rows * dim);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::byte* row = t.data() + r * t.row_stride();
    const float* src = w.data() + r * dim;
    switch (t.type()) {
      case dtype::f32:
        FUZZ_CHECK(std::memcmp(row, src, dim * 4) == 0, "f32 row %zu not copied bit for bit", r);
        std::memcpy(want.data() + r * dim, src, dim * 4);
        break;
      case dtype::f16:
      case dtype::bf16:
        for (std::size_t j = 0; j < dim; ++j) {
          std::uint16_t got;
          std::memcpy(&got, row + 2 * j, 2);
          const std::uint16_t h = t.type() == dtype::f16 ? ref_f16(src[j]) : ref_bf16(src[j]);
          FUZZ_CHECK(got == h, "%s of 0x%08x (%a) stored as 0x%04x, want 0x%04x", embtab::to_string(t.type()),
                     std::bit_cast<std::uint32_t>(src[j]), static_cast<double>(src[j]), got, h);
          want[r * dim + j] = t.type() == dtype::f16 ? embtab::ref::f16_to_f32(h) : embtab::ref::bf16_to_f32(h);
        }
        break;
      case dtype::int8_rowwise: {
        const int8_row q = ref_quantize(src, dim);
        float scale, bias;
        std::memcpy(&scale, row + dim, 4);  // right after the codes (table.hpp)
        std::memcpy(&bias, row + dim + 4, 4);
        FUZZ_CHECK(std::bit_cast<std::uint32_t>(scale) == std::bit_cast<std::uint32_t>(q.scale) &&
                       std::bit_cast<std::uint32_t>(bias) == std::bit_cast<std::uint32_t>(q.bias),
                   "row %zu: scale %a bias %a, want %a %a", r, static_cast<double>(scale), static_cast<double>(bias),
                   static_cast<double>(q.scale), static_cast<double>(q.bias));
        FUZZ_CHECK(std::memcmp(row, q.codes.data(), dim) == 0, "row %zu: codes differ", r);
        for (std::size_t j = 0; j < dim; ++j) want[r * dim + j] = embtab::ref::dequantize(q.codes[j], q.scale, q.bias);
        break;
      }
      case dtype::q8_0:
      case dtype::q4_0: {
        const auto q = ref_ggml_row(t.type(), src, dim);
        FUZZ_CHECK(std::memcmp(row, q.data(), q.size()) == 0, "%s row %zu: blocks differ from gguf's",
                   embtab::to_string(t.type()), r);
        const auto g = t.type() == dtype::q8_0 ? embtab::ref::ggml::type::q8_0 : embtab::ref::ggml::type::q4_0;
        embtab::ref::ggml::dequantize_row(g, q.data(), dim, want.data() + r * dim);
        break;
      }
      default: FUZZ_CHECK(false, "this harness has no reference encoder for %s", embtab::to_string(t.type()));
    }
  }
  return want;
}

int registered() { return static_cast<int>(embtab::all_dtypes().size()); }

// Why random_normal(rows, dim, seed, type) or from_f32(rows x dim weights, type) must refuse
// before looking at any weight, or "": the shape, then whether the dtype has an encoder.
std::string shape_refusal(std::size_t rows, std::size_t dim, int type) {
  if (rows == 0 || dim == 0) return "rows and dim must be positive";
  if (type >= registered()) return "dtype " + std::to_string(type) + " is not registered";
  const auto t = static_cast<dtype>(type);
  if (dim % embtab::info(t).block_values != 0)
    return "dim " + std::to_string(dim) + " is not a multiple of " + embtab::to_string(t) + "'s " +
           std::to_string(embtab::info(t).block_values) + " values per block";
  if (!embtab::has_f32_encoder(t))
    return std::string(embtab::to_string(t)) + " tables cannot be made from fp32 weights; use table::from_blocks";
  return "";
}

// Why from_f32(w, rows, dim, type) must refuse, or "" if it must succeed.
std::string refusal(const std::vector<float>& w, std::size_t rows, std::size_t dim, int type) {
  if (auto why = shape_refusal(rows, dim, type); !why.empty()) return why;
  if (w.size() != rows * dim) return "weights hold";
  if (static_cast<dtype>(type) == dtype::q8_0 || static_cast<dtype>(type) == dtype::q4_0) {
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t j = 0; j < dim; ++j)
        if (!std::isfinite(w[r * dim + j])) return "row " + std::to_string(r) + " holds NaN or inf";
    return "";
  }
  if (static_cast<dtype>(type) != dtype::int8_rowwise) return "";
  for (std::size_t r = 0; r < rows; ++r) {
    const float* row = w.data() + r * dim;
    float lo = row[0], hi = row[0];
    for (std::size_t j = 0; j < dim; ++j) {
      if (!std::isfinite(row[j])) return "row " + std::to_string(r) + " holds NaN or inf";
      lo = std::fmin(lo, row[j]);
      hi = std::fmax(hi, row[j]);
    }
    if (std::isinf(hi - lo)) return "row " + std::to_string(r) + " spans";
  }
  // Only once every row is finite with a finite range (the check above runs over all rows
  // first): a row whose quantized values round past FLT_MAX would read back as inf.
  for (std::size_t r = 0; r < rows; ++r) {
    const int8_row q = ref_quantize(w.data() + r * dim, dim);
    for (const std::uint8_t c : q.codes)
      if (std::isinf(static_cast<float>(static_cast<double>(q.scale) * c + static_cast<double>(q.bias))))
        return "row " + std::to_string(r) + " dequantizes to inf";
  }
  return "";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const int type = in.ConsumeIntegralInRange<int>(0, 15) == 0 ? in.ConsumeIntegral<std::uint8_t>()
                                                               : in.ConsumeIntegralInRange<int>(0, registered() - 1);
  std::size_t rows = in.ConsumeIntegralInRange<std::size_t>(1, 12);
  std::size_t dim = in.ConsumeIntegralInRange<int>(0, 7) == 0 ? in.ConsumeIntegralInRange<std::size_t>(60, 300)
                                                               : in.ConsumeIntegralInRange<std::size_t>(1, 40);
  // Block dtypes (ggml's): mostly whole blocks, now and then any dim (refused).
  const std::size_t block = type < registered() ? embtab::info(static_cast<dtype>(type)).block_values : 1;
  if (block > 1 && in.ConsumeIntegralInRange<int>(0, 7) != 0) dim = block * in.ConsumeIntegralInRange<std::size_t>(1, 3);

  if (in.ConsumeIntegralInRange<int>(0, 7) == 0) {
    // random_normal(type) must equal from_f32(random_normal(f32) values, type).
    const auto seed = in.ConsumeIntegral<std::uint64_t>();
    if (const std::string why = shape_refusal(rows, dim, type); !why.empty()) {
      std::string got = "accepted";
      try {
        (void)embtab::torch::random_normal(rows, dim, seed, static_cast<dtype>(type));
      } catch (const std::invalid_argument& e) {
        got = e.what();
      }
      FUZZ_CHECK(got.find(why) != std::string::npos, "random_normal(%zu, %zu, dtype %d): \"%s\" lacks \"%s\"", rows,
                 dim, type, got.c_str(), why.c_str());
      return 0;
    }
    const table f = embtab::torch::random_normal(rows, dim, seed, dtype::f32);
    std::vector<float> w(rows * dim);
    for (std::size_t r = 0; r < rows; ++r) std::memcpy(w.data() + r * dim, f.data() + r * f.row_stride(), dim * 4);
    const table t = embtab::torch::random_normal(rows, dim, seed, static_cast<dtype>(type));
    expect_lookups(t, check_stored(t, w), false);
    return 0;
  }

  // Weights: in a row, an outlier now and then makes the int8 range large.
  std::vector<float> w(rows * dim);
  for (float& x : w) x = in.remaining_bytes() > 0 ? pick_value(in) : 0.5f;
  switch (in.ConsumeIntegralInRange<int>(0, 15)) {  // the caller gets the shape wrong
    case 0: w.pop_back(); break;
    case 1: w.push_back(1.0f); break;
    case 2: rows = 0; break;
    case 3: dim = 0; break;
    default: break;
  }
  const std::string why = refusal(w, rows, dim, type);
  try {
    const table t = table::from_f32(w, rows, dim, static_cast<dtype>(type));
    FUZZ_CHECK(why.empty(), "from_f32 accepted a table that must be refused (%s)", why.c_str());
    const bool int8 = t.type() == dtype::int8_rowwise;
    expect_lookups(t, check_stored(t, w), false);

    const auto report = embtab::measure_quantization(t, w);
    FUZZ_CHECK(report.worst_row < rows, "worst_row %zu", report.worst_row);
    if (t.type() == dtype::f32) {
      bool finite = true;
      for (const float x : w) finite = finite && std::isfinite(x);
      if (finite)
        FUZZ_CHECK(report.max_abs_error == 0 && report.rms_error == 0 && report.max_error_over_row_range == 0,
                   "f32 report not zero");
    }
    if (int8) FUZZ_CHECK(std::isfinite(report.rms_error), "int8 rms error %g on finite rows", report.rms_error);
    bool refused = false;
    try {
      (void)embtab::measure_quantization(t, std::span<const float>(w).first(w.size() - 1));
    } catch (const std::invalid_argument&) {
      refused = true;
    }
    FUZZ_CHECK(refused, "measure_quantization accepted short weights");
  } catch (const std::invalid_argument& e) {
    FUZZ_CHECK(!why.empty(), "refused a valid table: %s", e.what());
    FUZZ_CHECK(std::string(e.what()).find(why) != std::string::npos, "message \"%s\" lacks \"%s\"", e.what(),
               why.c_str());
  }
  return 0;
}
