// f32 decoder: the bits as they are, unaligned loads (rows may start at any byte).
#pragma once

#include <cstring>

#include "gather-inl.hpp"

namespace embtab::detail {
namespace {

template <class Arch>
struct decoder<Arch, dtype::f32> {
  using batch = xsimd::batch<float, Arch>;
  const std::byte* row;
  decoder(const std::byte* r, std::size_t /*dim*/) noexcept : row(r) {}
  batch load(std::size_t j) const noexcept {
    return batch::load_unaligned(reinterpret_cast<const float*>(row + 4 * j));
  }
  float at(std::size_t j) const noexcept {
    float x;
    std::memcpy(&x, row + 4 * j, 4);
    return x;
  }
};

}  // namespace
}  // namespace embtab::detail
