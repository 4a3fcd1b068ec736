// The prefetch schedule every kernel shares (SIMD and scalar): while decoding row i, fetch the
// row `prefetch_distance` ids later, every cache line of it, by bytes (metadata included), at
// any alignment. Internal linkage only: included by per-ISA objects.
#pragma once

#include <cstddef>
#include <cstdint>

namespace embtab::detail {
namespace {

// How many rows ahead to prefetch: far enough that ~4 KiB of upcoming rows are in flight, so
// short rows (d = 768 fp32 is 3 KiB) still hide DRAM latency; long rows need one.
inline std::size_t prefetch_distance(std::size_t row_bytes) noexcept {
  const std::size_t d = (4096 + row_bytes - 1) / row_bytes;
  return d < 1 ? 1 : (d > 16 ? 16 : d);
}

// Prefetches the cache lines of one row ([row, row + row_bytes), any alignment), spread evenly
// over `steps` calls of step(), so the prefetches interleave with the copy instead of bursting;
// finish() issues whatever is left. A null row prefetches nothing.
class row_prefetch {
 public:
  row_prefetch(const std::byte* row, std::size_t row_bytes, std::size_t steps) noexcept
      : steps_(steps == 0 ? 1 : steps) {
    if (row == nullptr) return;
    const auto begin = reinterpret_cast<std::uintptr_t>(row);
    line_ = begin & ~std::uintptr_t{63};
    end_ = begin + row_bytes;
    lines_ = (end_ - line_ + 63) / 64;
  }
  void step() noexcept {
    due_ += lines_;
    for (; due_ >= steps_ && line_ < end_; due_ -= steps_, line_ += 64) fetch();
  }
  void finish() noexcept {
    for (; line_ < end_; line_ += 64) fetch();
  }

 private:
  void fetch() const noexcept { __builtin_prefetch(reinterpret_cast<const void*>(line_), 0, 3); }

  std::uintptr_t line_ = 0, end_ = 0;
  std::size_t lines_ = 0, steps_, due_ = 0;
};

}  // namespace
}  // namespace embtab::detail
