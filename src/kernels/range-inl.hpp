// Decoding part of a row through the dtype's scalar codec, for the paths without a SIMD
// decoder of it (the scalar kernel set, ggml's formats on SSE2). A codec decodes whole rows,
// so the chunk's payload is handed to it as a row of `count` values (with the row's
// metadata copied right after it, for dtypes that have some). Internal linkage only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "../dispatch.hpp"
#include "../dtypes/codec.hpp"

namespace embtab::detail {
namespace {

// Bytes of the largest chunk (chunk_values values) plus its row's metadata, over the registry.
constexpr std::size_t max_chunk_bytes() noexcept {
  std::size_t most = 0;
  for (const registry_entry& r : registry) {
    static_assert(chunk_values % 256 == 0);
    most = std::max(most, chunk_values / r.info.block_values * r.info.block_bytes + r.info.row_meta_bytes);
  }
  return most;
}

// Values [begin, begin + count) of a stored row of `type` (any alignment) into dst. begin
// and count are multiples of the dtype's block (count may end the row).
inline void codec_range(dtype type, const std::byte* row, std::size_t dim, std::size_t begin,
                        std::size_t count, float* dst) noexcept {
  const dtype_info& d = registry[static_cast<std::size_t>(type)].info;
  const codec_ops& c = codec_of(type);
  if (d.row_meta_bytes == 0 || (begin == 0 && count == dim))
    return c.decode(row + begin / d.block_values * d.block_bytes, count, dst);
  alignas(64) std::byte chunk[max_chunk_bytes()];
  const std::size_t payload = count / d.block_values * d.block_bytes;
  std::memcpy(chunk, row + begin / d.block_values * d.block_bytes, payload);
  std::memcpy(chunk + payload, row + dim / d.block_values * d.block_bytes, d.row_meta_bytes);
  c.decode(chunk, count, dst);
}

}  // namespace
}  // namespace embtab::detail
