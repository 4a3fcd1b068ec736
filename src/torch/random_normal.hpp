#pragma once

#include <cstddef>
#include <cstdint>

namespace embtab::detail {

// Writes out[0, numel) with exactly the float32 values of
//   torch.manual_seed(seed); torch.nn.Embedding(rows, dim).weight      (rows * dim == numel)
// as PyTorch 1.13 produces them on a CPU with AVX2 (which AVX-512 machines run too), row-major.
// That is `normal_(0, 1)` on a fresh contiguous float32 tensor:
//   - numel >= 16: float uniforms from the MT19937 stream, Box-Muller on blocks of 16 with the
//     vectorised kernel's float polynomials (log, sin, cos) and its fused multiply-adds;
//   - numel < 16: double-precision Box-Muller per element, the second value of each pair
//     cached for the next element, each result rounded to float.
//
// Exactness: bit-identical to PyTorch on every compiler and CPU. The transform uses only
// +, -, *, /, sqrt and bit operations in IEEE binary32/binary64 (the kernel's fused
// multiply-adds are reproduced exactly in double), no libm; src/random_normal.cpp must be
// compiled with -ffp-contract=off and SSE arithmetic (FLT_EVAL_METHOD == 0, checked).
// For numel < 16 PyTorch calls glibc's double log/sin/cos; here they are computed in
// double-double and rounded once (correctly rounded). glibc's are not proven correctly
// rounded, but after rounding to float every tested case agrees (see the commit message).
//
// Only the low 32 bits of `seed` matter, as for torch.manual_seed.
// Serial; touches out[0, numel) and about 5 KB of stack (the generator state); does not
// allocate; no shared state, so concurrent calls are safe. numel == 0 writes nothing.
void torch_normal_fill(float* out, std::size_t numel, std::uint64_t seed) noexcept;

// The two halves of one lane of the numel >= 16 path, exposed so that a test can check every
// possible input (uniform = k * 2^-24, k < 2^24) against an independent implementation:
//   torch_normal_radius(u) = sqrt(-2 log(1 - u)),
//   torch_normal_sincos(u) = sin t, cos t for t = fl(fl(2 pi) * u).
// Lane j of a block of 16 uniforms d gives d[j] = radius(d[j]) * cos and d[j + 8] =
// radius(d[j]) * sin of d[j + 8], each product plus 0 (so -0 becomes +0).
struct sin_cos {
  float sin_t;
  float cos_t;
};
float torch_normal_radius(float uniform) noexcept;
sin_cos torch_normal_sincos(float uniform) noexcept;

}  // namespace embtab::detail
