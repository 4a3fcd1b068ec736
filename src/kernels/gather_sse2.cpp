// The sse2 kernel set. Built with this ISA's flags (cmake/EmbtabIsa.cmake); nothing else here.
#include "decoders-inl.hpp"

namespace embtab::detail {
const kernel_set k_sse2 = make_kernel_set<xsimd::sse2>("sse2");
}  // namespace embtab::detail
