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

// Prefetches the cache lines of one row ([row, row + row_bytes), any alignment): one line per
// step() while any are left, so the prefetches interleave with the copy of the current row
// instead of bursting; finish() issues whatever is left (the metadata line of a row whose
// payload ended first, or every line when the caller has no steps). A null row prefetches
// nothing. For fp32 rows one line per step of 16 values covers the row exactly; narrower
// rows are covered in the first steps.
class row_prefetch {
 public:
  row_prefetch(const std::byte* row, std::size_t row_bytes) noexcept {
    if (row == nullptr) return;
    const auto begin = reinterpret_cast<std::uintptr_t>(row);
    line_ = begin & ~std::uintptr_t{63};
    end_ = begin + row_bytes;
  }
  void step() noexcept {
    if (line_ < end_) {
      fetch();
      line_ += 64;
    }
  }
  void finish() noexcept {
    for (; line_ < end_; line_ += 64) fetch();
  }
  // Nothing (left) to prefetch: a null row, or every line issued.
  bool idle() const noexcept { return line_ >= end_; }

 private:
  // Into L2 (prefetcht1), not L1: an L1 has far fewer miss buffers than its L2, so L1
  // prefetches cap the lines in flight. Measured on Zen 4 (AVX-512, 1 thread, cold ids,
  // V = 32000): f32 D = 4096 N = 32 went from 1590 to 870 ns/token, q8_0 from 730 to 370.
  void fetch() const noexcept { __builtin_prefetch(reinterpret_cast<const void*>(line_), 0, 2); }

  std::uintptr_t line_ = 0, end_ = 0;
};

// The id k places into this thread's order of rows, ids[0 .. n) then next_ids[0 .. next_n)
// (the rows of the task it runs next): the row to prefetch k rows ahead; null past both.
template <class Id>
inline const Id* id_at(const Id* ids, std::size_t n, const Id* next_ids, std::size_t next_n,
                       std::size_t k) noexcept {
  if (k < n) return ids + k;
  return k - n < next_n ? next_ids + (k - n) : nullptr;
}

}  // namespace
}  // namespace embtab::detail
