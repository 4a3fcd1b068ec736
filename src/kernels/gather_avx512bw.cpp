// The avx512bw kernel set. Built with this ISA's flags (cmake/EmbtabIsa.cmake); nothing else here.
#include "decoders-inl.hpp"

namespace embtab::detail {
const kernel_set k_avx512bw = make_kernel_set<xsimd::avx512bw>("avx512bw");
}  // namespace embtab::detail
