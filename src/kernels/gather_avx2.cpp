// The avx2 kernel set. Built with this ISA's flags (cmake/EmbtabIsa.cmake); nothing else here.
#include "bf16-inl.hpp"
#include "f16-inl.hpp"
#include "gather-inl.hpp"
#include "int8_rowwise-inl.hpp"

namespace embtab::detail {
const kernel_set k_avx2 = make_kernel_set<xsimd::fma3<xsimd::avx2>>("avx2");
}  // namespace embtab::detail
