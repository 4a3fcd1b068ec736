// embtab/torch.hpp: PyTorch compatibility, a separate library (CMake target
// embtab::torch_compat) so the core stays free of it. Reproduces the seed lesson exactly:
//   torch.manual_seed(123); emb = torch.nn.Embedding(6, 3); print(emb(torch.tensor([2, 3, 5, 1])))
// is embtab::torch::random_normal(6, 3, 123), a lookup, and embtab::torch::format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "embtab/dtype.hpp"
#include "embtab/export.h"
#include "embtab/table.hpp"

namespace embtab::torch {

// The weights of torch.manual_seed(seed); torch.nn.Embedding(rows, dim).weight (float32,
// CPU), then stored as `type` (converted like table::from_f32). Bit-identical to PyTorch
// 1.13's CPU result on x86-64 with AVX2 (what AVX-512 machines run too), for every shape and
// seed; only the low 32 bits of seed matter, as for torch.manual_seed. Throws what
// table::from_f32 throws, and std::bad_alloc for a shape whose fp32 weights cannot be held.
EMBTAB_API table random_normal(std::size_t rows, std::size_t dim, std::uint64_t seed,
                               dtype type = dtype::f32);

// print(t) for a CPU float32 tensor of shape {n} or {rows, cols}, values row-major, as
// PyTorch 1.13 prints it with the default print options (precision 4, threshold 1000 with
// 3 edge items, linewidth 80; fixed, integer or scientific notation chosen as PyTorch does),
// without autograd decorations and without the trailing newline. Throws
// std::invalid_argument if values.size() is not the shape's product or the rank is not 1 or 2.
EMBTAB_API std::string format(std::span<const float> values, std::span<const std::size_t> shape);

}  // namespace embtab::torch
