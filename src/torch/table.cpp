// embtab::torch::random_normal: PyTorch's nn.Embedding initialisation, stored as any dtype.
#include <limits>
#include <memory>
#include <new>

#include "embtab/torch.hpp"
#include "random_normal.hpp"

namespace embtab::torch {

table random_normal(std::size_t rows, std::size_t dim, std::uint64_t seed, dtype type) {
  (void)table::owning_stride(rows, dim, type);  // the shape errors from_f32 would give
  // A dtype from_f32 refuses (q4_k, q6_k) is refused before the weights are drawn: from_f32
  // checks the dtype before the weights' size.
  if (!has_f32_encoder(type)) return table::from_f32({}, rows, dim, type);
  // rows * dim fits (the stride check bounds it) but its fp32 bytes need not: a huge f16 or
  // int8 shape must give bad_alloc like any other, not std::vector's length_error.
  const std::size_t count = rows * dim;
  if (count > std::numeric_limits<std::size_t>::max() / sizeof(float)) throw std::bad_alloc();
  const std::unique_ptr<float[]> weights(new (std::nothrow) float[count]);
  if (weights == nullptr) throw std::bad_alloc();
  detail::torch_normal_fill(weights.get(), count, seed);
  return table::from_f32(std::span<const float>(weights.get(), count), rows, dim, type);
}

}  // namespace embtab::torch
