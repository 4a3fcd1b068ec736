// The kernels' view of an epilogue (dispatch.hpp), also asked by lookup.cpp: free functions
// with internal linkage, so that no function compiled with one ISA's flags can be picked by the
// linker for another's callers (the per-ISA object check in .ci/run).
#pragma once

#include <cstddef>
#include <cstdint>

#include "../dispatch.hpp"

namespace embtab::detail {
namespace {

// Nothing to apply: no scale, no position rows.
inline bool plain(const epilogue& e) noexcept { return !e.scaled && e.positions == nullptr; }

// The position row of output row i.
inline std::size_t position(const epilogue& e, std::size_t i) noexcept {
  return static_cast<std::size_t>(e.position_ids != nullptr ? e.position_ids[i]
                                                            : e.position_start + static_cast<std::int64_t>(i));
}

}  // namespace
}  // namespace embtab::detail
