// The scalar kernel set: plain C++ for any CPU, and the path EMBTAB_ISA=scalar forces.
// Deliberately simple: one value at a time, same prefetch schedule as the SIMD kernels.
#include <cstring>

#include "../dispatch.hpp"

namespace embtab::detail {
namespace {

struct f32_values {
  static constexpr std::size_t value_bytes = 4;
  static void decode(const std::byte* row, std::size_t dim, float* dst) noexcept {
    std::memcpy(dst, row, dim * sizeof(float));
  }
};

template <class Values, class Id>
void gather(const table_view& t, const Id* ids, std::size_t n, float* out) noexcept {
  const std::size_t row_bytes = t.dim * Values::value_bytes;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 1 < n) {
      const std::byte* next = t.data + static_cast<std::size_t>(ids[i + 1]) * t.stride;
      for (std::size_t b = 0; b < row_bytes; b += 64) __builtin_prefetch(next + b, 0, 3);
    }
    Values::decode(t.data + static_cast<std::size_t>(ids[i]) * t.stride, t.dim, out + i * t.dim);
  }
}

}  // namespace

const kernel_set k_scalar = {"scalar",
                             {&gather<f32_values, std::int32_t>},
                             {&gather<f32_values, std::int64_t>}};

}  // namespace embtab::detail
