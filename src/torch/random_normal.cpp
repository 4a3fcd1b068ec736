// Bit-exact PyTorch 1.13 CPU normal_(0, 1) for float32. Where each fact comes from (PyTorch 1.13):
//   aten/src/ATen/core/MT19937RNGEngine.h      standard MT19937, seeded with seed & 0xffffffff
//   aten/src/ATen/CPUGeneratorImpl.cpp         random64() = (first draw << 32) | second draw;
//                                              manual_seed clears the cached normal sample
//   aten/src/ATen/core/TransformationHelper.h  uniform_real: (bits & (2^digits - 1)) * 2^-digits,
//                                              normal: v * std + mean
//   aten/src/ATen/core/DistributionsHelper.h   normal_distribution<double>: u1, u2 drawn in that
//                                              order, r = sqrt(-2 log(1 - u2)), t = 2 pi u1,
//                                              returns r cos t and caches r sin t
//   aten/src/ATen/native/cpu/DistributionTemplates.h  normal_kernel, normal_fill_AVX2 and
//                                              normal_fill_16_AVX2: block layout, tail redraw,
//                                              the numel < 16 fallback
//   aten/src/ATen/native/cpu/avx_mathfun.h     log256_ps and sincos256_ps (Cephes polynomials)
// Which multiply-adds are fused was read from the disassembly of normal_fill_16_AVX2 in Debian's
// libtorch_cpu.so.1.13.0 (GCC 12.2, -O2, AVX2 + FMA); each fused pair is marked "fused" below.
// This file must be built with -ffp-contract=off.
#include "random_normal.hpp"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace embtab::detail {
namespace {

static_assert(FLT_EVAL_METHOD == 0, "float and double must round to their own precision");
static_assert(std::numeric_limits<float>::is_iec559 && std::numeric_limits<double>::is_iec559);

inline float as_float(std::uint32_t bits) { return std::bit_cast<float>(bits); }
inline std::uint32_t as_bits(float v) { return std::bit_cast<std::uint32_t>(v); }

// ---------------------------------------------------------------------------------------------
// MT19937 as in MT19937RNGEngine.h (the reference algorithm; std::mt19937 gives the same
// stream). Own copy because it refills and tempers 624 outputs per pass in loops that
// vectorise: libstdc++'s std::mt19937 took 5x longer and dominated the numel >= 16 path.

class mt19937 {
 public:
  explicit mt19937(std::uint32_t seed) noexcept {
    state_[0] = seed;
    for (std::uint32_t i = 1; i < n; ++i) {
      state_[i] = 1812433253u * (state_[i - 1] ^ (state_[i - 1] >> 30)) + i;
    }
  }

  std::uint32_t operator()() noexcept {
    if (next_ == n) refill();
    return out_[next_++];
  }

  // The next 16 outputs. 624 = 39 * 16, so blocks only straddle a refill after single draws.
  const std::uint32_t* next16() noexcept {
    if (n - next_ >= 16) {
      next_ += 16;
      return out_ + next_ - 16;
    }
    for (std::uint32_t& draw : straddle_) draw = (*this)();
    return straddle_;
  }

 private:
  static constexpr std::uint32_t n = 624;
  static constexpr std::uint32_t m = 397;

  static std::uint32_t twist(std::uint32_t u, std::uint32_t v) noexcept {
    const std::uint32_t y = (u & 0x80000000u) | (v & 0x7fffffffu);
    return (y >> 1) ^ ((0u - (v & 1u)) & 0x9908b0dfu);  // branch-free, so it vectorises
  }

  void refill() noexcept {
    // n - m = 227 split as 224 + 3: GCC's -O2 vectoriser only takes trip counts that need no
    // scalar epilogue.
    for (std::uint32_t i = 0; i < 224; ++i) {
      state_[i] = state_[i + m] ^ twist(state_[i], state_[i + 1]);
    }
    for (std::uint32_t i = 224; i < n - m; ++i) {
      state_[i] = state_[i + m] ^ twist(state_[i], state_[i + 1]);
    }
    for (std::uint32_t i = n - m; i < n - 1; ++i) {
      state_[i] = state_[i + m - n] ^ twist(state_[i], state_[i + 1]);
    }
    state_[n - 1] = state_[m - 1] ^ twist(state_[n - 1], state_[0]);
    for (std::uint32_t i = 0; i < n; ++i) {
      std::uint32_t y = state_[i];
      y ^= y >> 11;
      y ^= (y << 7) & 0x9d2c5680u;
      y ^= (y << 15) & 0xefc60000u;
      y ^= y >> 18;
      out_[i] = y;
    }
    next_ = 0;
  }

  std::uint32_t state_[n];
  std::uint32_t out_[n];
  std::uint32_t straddle_[16];
  std::uint32_t next_ = n;
};

// ---------------------------------------------------------------------------------------------
// numel >= 16: float path, normal_fill_16_AVX2 with log256_ps and sincos256_ps, lane by lane.
// Constants are the floats the kernel loads (the Cephes decimals of avx_mathfun.h rounded to
// float), in hex so that no decimal conversion can differ.

constexpr float k_two_pi = 0x1.921fb6p+2f;  // float(2 * pi<double>)
constexpr float k_sqrt_half = 0x1.6a09e6p-1f;
constexpr float k_log_p[9] = {0x1.204376p-4f,  -0x1.d7a370p-4f, 0x1.de4a34p-4f,
                              -0x1.fcba9ep-4f, 0x1.23d37ep-3f,  -0x1.555ca0p-3f,
                              0x1.999d58p-3f,  -0x1.fffff8p-3f, 0x1.555554p-2f};
constexpr float k_log_q1 = -0x1.bd0106p-13f;
constexpr float k_log_q2 = 0x1.63p-1f;
constexpr float k_four_over_pi = 0x1.45f306p+0f;
constexpr float k_minus_dp1 = -0x1.92p-1f;    // 8 significant bits
constexpr float k_minus_dp2 = -0x1.fb4p-13f;  // 11 significant bits
constexpr float k_minus_dp3 = -0x1.4442d2p-25f;
constexpr float k_cos_p0 = 0x1.99eb9cp-16f;
constexpr float k_cos_p1 = -0x1.6c0c34p-10f;
constexpr float k_cos_p2 = 0x1.55554ap-5f;
constexpr float k_sin_p0 = -0x1.9943f2p-13f;
constexpr float k_sin_p1 = 0x1.11073cp-7f;
constexpr float k_sin_p2 = -0x1.555546p-3f;

// The kernel's fused multiply-add, RN24(a * b + c). a * b is exact in double (24 + 24 bits),
// so the double sum rounds once; rounding it again to float can differ from a true fma only
// when the double lands exactly on a float midpoint. For the operands this file passes (every
// one a function of a single uniform k * 2^-24), that never happens: all 2^24 inputs of each
// half of a lane are checked against std::fma by the RandomNormalLanes tests. Not a
// general-purpose fma.
inline float fused(float a, float b, float c) {
  return static_cast<float>(static_cast<double>(a) * static_cast<double>(b) +
                            static_cast<double>(c));
}

// u = 1 - uniform lies in [2^-24, 1]: never zero, negative or subnormal, so the kernel's
// invalid-input mask and denormal clamp are no-ops and are left out. Selections use bit masks
// as the kernel does, which also keeps the lane loop branch-free so that it vectorises.
inline float cephes_log(float u) {
  const std::uint32_t bits = as_bits(u);
  float e = static_cast<float>(static_cast<std::int32_t>(bits >> 23) - 127) + 1.0f;
  const float m = as_float((bits & ~0x7f800000u) | 0x3f000000u);  // mantissa in [0.5, 1)
  const std::uint32_t below = m < k_sqrt_half ? 0xffffffffu : 0u;
  e = e - as_float(as_bits(1.0f) & below);
  const float x = as_float(as_bits(m) & below) + (m + -1.0f);
  const float z = x * x;
  float y = fused(k_log_p[0], x, k_log_p[1]);  // fused, as every step of this Horner chain
  y = fused(y, x, k_log_p[2]);
  y = fused(y, x, k_log_p[3]);
  y = fused(y, x, k_log_p[4]);
  y = fused(y, x, k_log_p[5]);
  y = fused(y, x, k_log_p[6]);
  y = fused(y, x, k_log_p[7]);
  y = fused(y, x, k_log_p[8]);
  y = fused(y * x, z, e * k_log_q1);  // fused: (y x) z + e q1
  y = y - z * 0.5f;                   // fused in the kernel, but z * 0.5 is exact
  return (x + y) + e * k_log_q2;      // fused in the kernel, but e * q2 is exact (9 bits)
}

// t = fl(2 pi * u2) lies in [0, 2 pi): the sign bit is clear and the octant j is in 0..8.
inline sin_cos cephes_sincos(float t) {
  const std::uint32_t sign_in = as_bits(t) & 0x80000000u;
  const float ax = as_float(as_bits(t) & 0x7fffffffu);
  std::int32_t j = static_cast<std::int32_t>(ax * k_four_over_pi);  // truncates
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  // All three fused in the kernel; the first two products are exact (j has <= 3 bits).
  float x = ax + y * k_minus_dp1;
  x = x + y * k_minus_dp2;
  x = fused(y, k_minus_dp3, x);
  const float z = x * x;

  float yc = fused(fused(k_cos_p0, z, k_cos_p1), z, k_cos_p2);  // fused
  yc = fused(yc * z, z, -(z * 0.5f));                           // fused: (y z) z - z / 2
  yc = yc + 1.0f;
  float ys = fused(fused(k_sin_p0, z, k_sin_p1), z, k_sin_p2);  // fused
  ys = fused(ys * z, x, x);                                     // fused: (y z) x + x

  // The kernel selects by masking and then adds +0 operands, which turns -0 into +0.
  const std::uint32_t use_sin_poly = (j & 2) == 0 ? 0xffffffffu : 0u;
  const float sin_from_cos = as_float(as_bits(yc) & ~use_sin_poly);
  const float sin_from_sin = as_float(as_bits(ys) & use_sin_poly);
  const float s = sin_from_cos + sin_from_sin;
  const float c = (yc - sin_from_cos) + (ys - sin_from_sin);
  const std::uint32_t sin_sign = sign_in ^ (static_cast<std::uint32_t>(j & 4) << 29);
  const std::uint32_t cos_sign = static_cast<std::uint32_t>(~(j - 2) & 4) << 29;
  return {as_float(as_bits(s) ^ sin_sign), as_float(as_bits(c) ^ cos_sign)};
}

inline float minus_two_log(float uniform) { return -2.0f * cephes_log(1.0f - uniform); }

inline sin_cos sincos_of_uniform(float uniform) { return cephes_sincos(k_two_pi * uniform); }

// d[j] = r cos t and d[j + 8] = r sin t, r = sqrt(-2 log(1 - d[j])), t = 2 pi d[j + 8], j < 8.
void box_muller_16(float* d) {
  float r2[8];
  float s[8];
  float c[8];
  for (int j = 0; j < 8; ++j) {
    r2[j] = minus_two_log(d[j]);
    const sin_cos sc = sincos_of_uniform(d[j + 8]);
    s[j] = sc.sin_t;
    c[j] = sc.cos_t;
  }
  // Separate loop: with errno-setting sqrt the compiler will not vectorise a loop around it.
  for (int j = 0; j < 8; ++j) {
    const float radius = std::sqrt(r2[j]);
    // The kernel ends with fma(n, std, mean) = n * 1 + 0: exact, but -0 becomes +0.
    d[j] = radius * c[j] + 0.0f;
    d[j + 8] = radius * s[j] + 0.0f;
  }
}

void uniform_floats16(mt19937& engine, float* out) {
  const std::uint32_t* draws = engine.next16();
  for (int k = 0; k < 16; ++k) {
    out[k] = static_cast<float>(static_cast<std::int32_t>(draws[k] & 0xffffffu)) * 0x1p-24f;
  }
}

void fill_float_path(float* out, std::size_t numel, mt19937& engine) {
  // PyTorch draws one uniform per element first and transforms afterwards; the transform draws
  // nothing, so drawing and transforming block by block consumes the same stream.
  const std::size_t full = numel / 16 * 16;
  for (std::size_t i = 0; i < full; i += 16) {
    uniform_floats16(engine, out + i);
    box_muller_16(out + i);
  }
  if (full != numel) {
    // The uniforms of the last numel % 16 slots are drawn but overwritten by the redraw.
    for (std::size_t i = full; i < numel; ++i) engine();
    float* last = out + numel - 16;
    uniform_floats16(engine, last);
    box_muller_16(last);
  }
}

// ---------------------------------------------------------------------------------------------
// numel < 16: double path. log, sin and cos are evaluated in double-double (about 100 bits)
// and rounded once, i.e. correctly rounded unless the exact value lies within ~2^-100
// (relative) of a midpoint. Dekker/Knuth error-free transforms, + - * / only.

struct dd {
  double hi;
  double lo;
};

inline dd two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  return {s, (a - (s - bb)) + (b - bb)};
}

// Needs |a| >= |b| or a == 0.
inline dd fast_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}

// Veltkamp: a = hi + lo, each with at most 26 significant bits.
inline dd split(double a) {
  const double c = 134217729.0 * a;  // 2^27 + 1
  const double hi = c - (c - a);
  return {hi, a - hi};
}

inline dd two_prod(double a, double b) {
  const double p = a * b;
  const dd x = split(a);
  const dd y = split(b);
  return {p, ((x.hi * y.hi - p) + x.hi * y.lo + x.lo * y.hi) + x.lo * y.lo};
}

inline dd add(dd a, dd b) {
  const dd s = two_sum(a.hi, b.hi);
  const dd t = two_sum(a.lo, b.lo);
  const dd u = fast_two_sum(s.hi, s.lo + t.hi);
  return fast_two_sum(u.hi, u.lo + t.lo);
}

inline dd neg(dd a) { return {-a.hi, -a.lo}; }

inline dd mul(dd a, dd b) {
  const dd p = two_prod(a.hi, b.hi);
  return fast_two_sum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

inline dd div(dd a, double b) {
  const double q1 = a.hi / b;
  const dd r = add(a, neg(two_prod(q1, b)));
  const double q2 = r.hi / b;
  const dd r2 = add(r, neg(two_prod(q2, b)));
  return add(fast_two_sum(q1, q2), {r2.hi / b, 0.0});
}

inline dd div(dd a, dd b) {
  const double q1 = a.hi / b.hi;
  const dd r = add(a, neg(mul(b, {q1, 0.0})));
  const double q2 = r.hi / b.hi;
  const dd r2 = add(r, neg(mul(b, {q2, 0.0})));
  return add(fast_two_sum(q1, q2), {r2.hi / b.hi, 0.0});
}

inline double rounded(dd a) { return a.hi + a.lo; }

constexpr dd k_ln2 = {0x1.62e42fefa39efp-1, 0x1.abc9e3b39803fp-56};
constexpr double k_pio2[3] = {0x1.921fb54442d18p+0, 0x1.1a62633145c07p-54,
                              -0x1.f1976b7ed8fbcp-110};  // pi / 2 to about 160 bits

// x in [2^-53, 1]: log x = k ln 2 + 2 atanh(s), s = (m - 1) / (m + 1), m in [sqrt(1/2), sqrt(2)].
double log_dd(double x) {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  int k = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  double m = std::bit_cast<double>((bits & ((std::uint64_t{1} << 52) - 1)) |
                                   (std::uint64_t{1023} << 52));  // [1, 2)
  if (m > 0x1.6a09e667f3bcdp+0) {
    m *= 0.5;
    ++k;
  }
  const dd s = div(dd{m - 1.0, 0.0}, two_sum(m, 1.0));  // m - 1 is exact (Sterbenz)
  const dd s2 = mul(s, s);
  // |s| <= 0.172, s^2 <= 0.0295: after 22 odd powers the terms are below 2^-110 relative.
  dd power = s;
  dd sum = s;
  for (int i = 1; i <= 22; ++i) {
    power = mul(power, s2);
    sum = add(sum, div(power, 2.0 * i + 1.0));
  }
  const double kd = static_cast<double>(k);
  const dd k_ln2_exact = add(two_prod(kd, k_ln2.hi), two_prod(kd, k_ln2.lo));
  return rounded(add(k_ln2_exact, {2.0 * sum.hi, 2.0 * sum.lo}));
}

// Taylor series for |r| <= pi/4 (plus rounding): after 15 terms they are below 2^-110.
dd sin_series(dd r) {
  const dd r2 = mul(r, r);
  dd term = r;
  dd sum = r;
  for (int i = 1; i <= 15; ++i) {
    term = div(mul(term, r2), -static_cast<double>((2 * i) * (2 * i + 1)));
    sum = add(sum, term);
  }
  return sum;
}

dd cos_series(dd r) {
  const dd r2 = mul(r, r);
  dd term = {1.0, 0.0};
  dd sum = term;
  for (int i = 1; i <= 15; ++i) {
    term = div(mul(term, r2), -static_cast<double>((2 * i - 1) * (2 * i)));
    sum = add(sum, term);
  }
  return sum;
}

struct sin_cos_d {
  double sin_t;
  double cos_t;
};

// t in [0, 2 pi): subtracting the nearest multiple q of a 160-bit pi/2 leaves ~100 good bits
// in r even for the doubles closest to a multiple of pi/2.
sin_cos_d sincos_dd(double t) {
  // t >= 0, so truncating t / (pi/2) + 1/2 rounds; where that sum is an ulp off a whole number
  // and q ends up one off the nearest, |r| is still about pi/4, inside the series' range.
  const double q_plus_half = t * 0x1.45f306dc9c883p-1 + 0.5;
  const int q = static_cast<int>(q_plus_half);
  const double qd = static_cast<double>(q);
  dd r = add({t, 0.0}, neg(two_prod(qd, k_pio2[0])));
  r = add(r, neg(two_prod(qd, k_pio2[1])));
  r = add(r, {-qd * k_pio2[2], 0.0});
  const double s = rounded(sin_series(r));
  const double c = rounded(cos_series(r));
  const sin_cos_d by_quadrant[4] = {{s, c}, {c, -s}, {-s, -c}, {-c, s}};
  return by_quadrant[q & 3];
}

inline double uniform_double(mt19937& engine) {
  const std::uint64_t first = engine();
  const std::uint64_t second = engine();
  const std::uint64_t bits = (first << 32) | second;
  return static_cast<double>(bits & ((std::uint64_t{1} << 53) - 1)) * 0x1p-53;
}

void fill_double_path(float* out, std::size_t numel, mt19937& engine) {
  constexpr double two_pi = 0x1.921fb54442d18p+2;  // 2 * pi<double>, an exact doubling
  bool have_cached = false;
  double cached = 0.0;
  for (std::size_t i = 0; i < numel; ++i) {
    double v;
    if (have_cached) {
      v = cached;
      have_cached = false;
    } else {
      const double u1 = uniform_double(engine);
      const double u2 = uniform_double(engine);
      const double radius = std::sqrt(-2.0 * log_dd(1.0 - u2));  // 1 - u2 is exact, >= 2^-53
      const sin_cos_d sc = sincos_dd(two_pi * u1);
      cached = radius * sc.sin_t;
      have_cached = true;
      v = radius * sc.cos_t;
    }
    // v * std + mean with std = 1, mean = 0: exact, but -0 becomes +0.
    out[i] = static_cast<float>(v * 1.0 + 0.0);
  }
}

}  // namespace

float torch_normal_radius(float uniform) noexcept { return std::sqrt(minus_two_log(uniform)); }

sin_cos torch_normal_sincos(float uniform) noexcept { return sincos_of_uniform(uniform); }

void torch_normal_fill(float* out, std::size_t numel, std::uint64_t seed) noexcept {
  mt19937 engine(static_cast<std::uint32_t>(seed));
  if (numel >= 16) {
    fill_float_path(out, numel, engine);
  } else {
    fill_double_path(out, numel, engine);
  }
}

}  // namespace embtab::detail
