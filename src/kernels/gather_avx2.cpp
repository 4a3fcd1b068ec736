// The avx2 kernel set. Built with this ISA's flags (cmake/EmbtabIsa.cmake); nothing else here.
#include "decoders-inl.hpp"

namespace embtab::detail {
const kernel_set k_avx2 = make_kernel_set<xsimd::fma3<xsimd::avx2>>("avx2");
}  // namespace embtab::detail
