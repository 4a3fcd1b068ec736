// torch_format.hpp: tensors as PyTorch 1.13 prints them (torch/_tensor_str.py), so the tool's
// output can be compared with a PyTorch session character for character.
//
// Default print options only: precision 4, threshold 1000 (above it, 3 edge items per
// dimension around "..."), linewidth 80. Fixed, integer ("1.") or scientific notation is chosen
// from the nonzero finite values as PyTorch chooses it, and every value is right-aligned to the
// widest. Autograd decorations (requires_grad=True, grad_fn=<...>) are never printed: the text
// is what print(t) shows for a tensor without autograd history (e.g. under torch.no_grad()).
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace embtab::tool {

// print(t) for a CPU float32 tensor of shape {n} or {rows, cols}, values row-major, without
// the trailing newline. Throws std::invalid_argument if values.size() is not the shape's
// product or the rank is not 1 or 2.
std::string torch_str(std::span<const float> values, std::span<const std::size_t> shape);

}  // namespace embtab::tool
