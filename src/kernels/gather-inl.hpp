// Row-gather kernels, written once over xsimd batches and instantiated per ISA by
// gather_<isa>.cpp. Included only by those files: everything here is either templated on
// Arch or in an anonymous namespace, so no function compiled with one ISA's flags can be
// picked by the linker for another's callers.
//
// A kernel is the loop below plus a decoder (one per dtype and ISA, decode_<dtype>-inl.hpp)
// that turns stored values into fp32 batches. A dtype without a decoder for some ISA still
// works there: its rows go through the scalar codec (codec_of, compiled for the baseline).
//
// Outputs other than fp32 go through an epilogue (scale, + position row, rounding to f16 /
// bf16, streaming stores), a chunk of chunk_values at a time. fp32 with a SIMD decoder and no
// position rows or fp32 ones keeps a direct decode-and-store loop over the fused values
// (fused_source): copy_row through the cache, stream_row for streamed rows that start on a
// cache line; other streamed placements are staged.
#pragma once

#include <xsimd/xsimd.hpp>

#include <immintrin.h>

#include <cstddef>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "../dispatch.hpp"
#include "../dtypes/codec.hpp"
#include "epilogue-inl.hpp"
#include "prefetch-inl.hpp"
#include "range-inl.hpp"
#include "store-inl.hpp"

namespace embtab::detail {
namespace {

// Values handled per step: one 64-byte line of fp32 output.
constexpr std::size_t step_values = 16;

// decoder<Arch, Type>: a SIMD decoder of one row, specialised in decode_<dtype>-inl.hpp as
//   using batch = xsimd::batch<float, Arch>;
//   decoder(const std::byte* row, std::size_t dim) noexcept;  // row: any alignment
//   batch load(std::size_t j) const noexcept;   // values j .. j + batch::size, j + size <= dim
//   float at(std::size_t j) const noexcept;     // value j (the tail of rows shorter than a batch)
// and optionally a static visit(row, dim, f) that calls f with the decoder to use for this
// row (int8_rowwise picks its float or double path per row). No specialisation: no SIMD.
template <class Arch, dtype Type>
struct decoder {};

template <class Dec>
concept simd_decoder = requires { typename Dec::batch; };

// A block decoder (ggml's formats, decode_ggml-inl.hpp) writes whole blocks instead:
//   static constexpr std::size_t block_values;
//   decoder(const std::byte* row, std::size_t dim) noexcept;
//   void block(std::size_t b, float* dst) const noexcept;  // values of block b to dst
template <class Dec>
concept block_decoder = requires(const Dec& d, float* dst) {
  { Dec::block_values } -> std::convertible_to<std::size_t>;
  d.block(std::size_t{0}, dst);
};

template <class Dec, class F>
inline void visit(const std::byte* row, std::size_t dim, F&& f) noexcept {
  if constexpr (requires { Dec::visit(row, dim, f); })
    Dec::visit(row, dim, std::forward<F>(f));
  else
    f(Dec(row, dim));
}

// Two rows' prefetches on one schedule: the token row's and the position row's.
struct both_prefetch {
  row_prefetch& a;
  row_prefetch& b;
  void step() noexcept {
    a.step();
    b.step();
  }
  void finish() noexcept {
    a.finish();
    b.finish();
  }
};

// Decodes one row into dst (any alignment), prefetching the next row a line at a time
// (prefetch: a row_prefetch, or both_prefetch for a position row as well).
template <class Decoder, class Prefetch>
inline void copy_row(const Decoder& src, Prefetch& prefetch, float* dst, std::size_t dim) noexcept {
  using batch = typename Decoder::batch;
  constexpr std::size_t w = batch::size;
  std::size_t j = 0;
  for (; j + step_values <= dim; j += step_values) {
    prefetch.step();
    for (std::size_t k = 0; k < step_values; k += w) src.load(j + k).store_unaligned(dst + j + k);
  }
  prefetch.finish();
  if (j == dim) return;
  for (; j + w <= dim; j += w) src.load(j).store_unaligned(dst + j);
  if (j == dim) return;
  if (dim >= w) {
    // Overlap the last full batch with what is already written: same values, no mask.
    src.load(dim - w).store_unaligned(dst + dim - w);
  } else {
    for (; j < dim; ++j) dst[j] = src.at(j);
  }
}

// Decodes one row into dst with non-temporal stores straight from the registers, calling
// step() once per step_values values (copy_row's prefetch schedule). dst is aligned to the
// batch's width and dim a multiple of it.
template <class Arch, class Decoder, class Step>
inline void stream_row(const Decoder& src, Step&& step, float* dst, std::size_t dim) noexcept {
  constexpr std::size_t w = xsimd::batch<float, Arch>::size;
  std::size_t j = 0;
  for (; j + step_values <= dim; j += step_values) {
    step();
    for (std::size_t k = 0; k < step_values; k += w) stream_batch<Arch>(dst + j + k, src.load(j + k));
  }
  for (; j < dim; j += w) stream_batch<Arch>(dst + j, src.load(j));
}

// Decodes one row of whole blocks into dst, one prefetch step per 16 values.
template <class Decoder>
inline void copy_blocks(const Decoder& src, row_prefetch& prefetch, float* dst,
                        std::size_t dim) noexcept {
  constexpr std::size_t bv = Decoder::block_values;
  for (std::size_t b = 0, j = 0; j < dim; ++b, j += bv) {
    for (std::size_t k = 0; k < bv; k += step_values) prefetch.step();
    src.block(b, dst + j);
  }
  prefetch.finish();
}

// Streams one row of whole blocks to dst: a chunk of blocks at a time decoded into a buffer
// the L1 holds, then handed to the kernel's nt_rows (non-temporal stores).
template <class Arch, class Decoder>
inline void stream_blocks(const Decoder& src, row_prefetch& prefetch, float* dst,
                          std::size_t dim, nt_rows<Arch>& streamed) noexcept {
  constexpr std::size_t bv = Decoder::block_values;
  static_assert(chunk_values % bv == 0);
  alignas(64) float buffer[chunk_values];
  streamed.start(dst);
  for (std::size_t begin = 0; begin < dim; begin += chunk_values) {
    const std::size_t count = dim - begin < chunk_values ? dim - begin : chunk_values;
    for (std::size_t j = 0; j < count; j += bv) {
      for (std::size_t k = 0; k < bv; k += step_values) prefetch.step();
      src.block((begin + j) / bv, buffer + j);
    }
    streamed.put(buffer, count * sizeof(float));
  }
  prefetch.finish();
}

// Values [begin, begin + count) of one row into dst (fp32, any alignment): the kernel's
// decoder, or the codec where this ISA has none. begin and count as for range_fn.
template <class Arch, dtype Type>
inline void row_range(const std::byte* row, std::size_t dim, std::size_t begin, std::size_t count,
                      float* dst) noexcept {
  using dec = decoder<Arch, Type>;
  if constexpr (block_decoder<dec>) {
    const dec d(row, dim);
    for (std::size_t j = 0; j < count; j += dec::block_values) d.block((begin + j) / dec::block_values, dst + j);
  } else if constexpr (simd_decoder<dec>) {
    visit<dec>(row, dim, [&](const auto& d) {
      constexpr std::size_t w = dec::batch::size;
      std::size_t j = 0;
      for (; j + w <= count; j += w) d.load(begin + j).store_unaligned(dst + j);
      for (; j < count; ++j) dst[j] = d.at(begin + j);
    });
  } else {
    codec_range(Type, row, dim, begin, count, dst);
  }
}

// The kernel set's range_fn of one dtype (how position rows are decoded).
template <class Arch, dtype Type>
void decode_range(const table_view& t, std::size_t row, std::size_t begin, std::size_t count,
                  float* dst) noexcept {
  row_range<Arch, Type>(t.data + row * t.stride, t.dim, begin, count, dst);
}

// Decoded values already in a buffer, read like a decoder: value j at p[j - base].
template <class Arch>
struct buffer_source {
  using batch = xsimd::batch<float, Arch>;
  const float* p;
  std::size_t base;
  batch load(std::size_t j) const noexcept { return batch::load_unaligned(p + (j - base)); }
  float at(std::size_t j) const noexcept { return p[j - base]; }
};

struct no_positions {};

// A row's values through the epilogue's arithmetic, read like a decoder: v = src value;
// v * scale; + pos value. Separate multiply and add (no fma) in vector and scalar code alike,
// so every lane and every path rounds the same way. The steps are chosen at compile time: a
// runtime `if (scaled) v = v * scale` may be if-converted to v * (scaled ? scale : 1) (clang
// does), which would quiet signalling NaNs that a streamed plain row must keep.
// pos: the position values, read like a decoder (load(j), at(j)): an fp32 position row in
// place, or a chunk decoded to a buffer (buffer_source); no_positions when there are none.
template <class Arch, bool Scaled, bool Positions, class Src, class Pos>
struct fused_source {
  using batch = xsimd::batch<float, Arch>;
  const Src& src;
  const Pos& pos;
  float s;
  batch scale;
  fused_source(const Src& v, const Pos& p, float sc) noexcept : src(v), pos(p), s(sc), scale(sc) {}
  batch load(std::size_t j) const noexcept {
    batch v = src.load(j);
    if constexpr (Scaled) v = v * scale;
    if constexpr (Positions) v = v + pos.load(j);
    return v;
  }
  float at(std::size_t j) const noexcept {
    float v = src.at(j);
    if constexpr (Scaled) v = v * s;
    if constexpr (Positions) v = v + pos.at(j);
    return v;
  }
};

// Calls f with the fused_source of (src, pos) for the epilogue's steps.
template <class Arch, class Src, class Pos, class F>
inline void with_fused(const Src& src, const Pos& pos, const epilogue& e, F&& f) noexcept {
  constexpr bool positions = !std::is_same_v<Pos, no_positions>;
  if (e.scaled)
    f(fused_source<Arch, true, positions, Src, Pos>(src, pos, e.scale));
  else
    f(fused_source<Arch, false, positions, Src, Pos>(src, pos, e.scale));
}

// The epilogue of values [begin, begin + count) of a row (fused_source's arithmetic), rounded
// to Out at sink[k]. step() is called once per step_values values (the prefetch schedule of
// copy_row: a burst of prefetches per chunk measured up to 1.3x slower at D = 4096, N = 512).
template <class Arch, class Out, class Fused, class Step>
inline void finish_chunk_as(const Fused& src, std::size_t begin, std::size_t count, Out* sink,
                            Step&& step) noexcept {
  using batch = xsimd::batch<float, Arch>;
  constexpr std::size_t w = batch::size;
  static_assert(step_values % w == 0);
  const auto one = [&](std::size_t k) { out_store<Arch, Out>::store(src.load(begin + k), sink + k); };
  std::size_t k = 0;
  for (; k + step_values <= count; k += step_values) {
    step();
    for (std::size_t j = 0; j < step_values; j += w) one(k + j);
  }
  for (; k + w <= count; k += w) one(k);
  for (; k < count; ++k) store_one(src.at(begin + k), sink + k);
}

template <class Arch, class Out, class Src, class Pos, class Step>
inline void finish_chunk(const Src& src, std::size_t begin, std::size_t count, const epilogue& e,
                         const Pos& pos, Out* sink, Step&& step) noexcept {
  with_fused<Arch>(src, pos, e, [&](const auto& fused) { finish_chunk_as<Arch>(fused, begin, count, sink, step); });
}

// One row through the epilogue, a chunk at a time: the row's chunk straight from a SIMD
// decoder (or decoded to a buffer first for block decoders and codecs), plus the position
// row's chunk (read in place when it is fp32, else decoded by its table's range_fn), stored
// to dst, or staged and streamed.
template <class Arch, dtype Type, class Out>
inline void epilogue_row(const std::byte* row, std::size_t dim, std::size_t position,
                         row_prefetch& prefetch, row_prefetch& position_prefetch, Out* dst,
                         const epilogue& e, nt_rows<Arch>& streamed) noexcept {
  using dec = decoder<Arch, Type>;
  alignas(64) float pos[chunk_values];
  alignas(64) Out staged[chunk_values];
  const std::byte* position_row =
      e.positions != nullptr ? e.positions->data + position * e.positions->stride : nullptr;
  if (e.streaming) streamed.start(dst);
  const auto chunks = [&](const auto& chunk) {
    for (std::size_t begin = 0; begin < dim; begin += chunk_values) {
      const std::size_t count = dim - begin < chunk_values ? dim - begin : chunk_values;
      Out* sink = e.streaming ? staged : dst + begin;
      if (e.positions == nullptr) {
        chunk(begin, count, no_positions{}, sink);
      } else if (e.positions_f32) {
        chunk(begin, count, decoder<Arch, dtype::f32>(position_row, dim), sink);
      } else {
        e.position_range(*e.positions, position, begin, count, pos);
        chunk(begin, count, buffer_source<Arch>{pos, begin}, sink);
      }
      if (e.streaming) streamed.put(staged, count * sizeof(Out));
    }
    prefetch.finish();
    position_prefetch.finish();
  };
  // (Not both_prefetch: holding the two by reference in a struct added a load per step and
  // measured slower in stream_row below, cached positions 1.12-1.16 -> 1.19-1.24 at N = 4096.)
  const auto step = [&] {
    prefetch.step();
    position_prefetch.step();
  };
  if constexpr (simd_decoder<dec> && std::is_same_v<Out, float>) {
    // fp32 rows that start on a cache line and are whole batches stream straight from the
    // registers (stream_row), the staging above is for the others. Measured at D = 4096,
    // N = 4096, cold outputs, in one process, time / the staged plain lookup: plain 0.84-0.93,
    // a cached 64-row position table 0.98-1.02 (staged: 1.29-1.33); the same loop with the
    // prefetchers' state in registers (inlined into gather) took 1.07-1.25 and 1.22-1.31:
    // here, with the prefetchers passed by reference, every step reloads and stores their
    // state, and that pacing of the non-temporal stores is what pays.
    constexpr std::size_t w = xsimd::batch<float, Arch>::size;
    if (e.streaming && (e.positions == nullptr || e.positions_f32) &&
        (reinterpret_cast<std::uintptr_t>(dst) & 63) == 0 && dim % w == 0) {
      streamed.finish();  // the last line of staged rows before this one
      visit<dec>(row, dim, [&](const auto& d) {
        const auto run = [&](const auto& fused) { stream_row<Arch>(fused, step, dst, dim); };
        if (e.positions == nullptr)
          with_fused<Arch>(d, no_positions{}, e, run);
        else
          with_fused<Arch>(d, decoder<Arch, dtype::f32>(position_row, dim), e, run);
      });
      prefetch.finish();
      position_prefetch.finish();
      return;
    }
  }
  if constexpr (simd_decoder<dec>) {
    visit<dec>(row, dim, [&](const auto& d) {
      chunks([&](std::size_t begin, std::size_t count, const auto& p, Out* sink) {
        finish_chunk<Arch>(d, begin, count, e, p, sink, step);
      });
    });
  } else {
    alignas(64) float values[chunk_values];
    chunks([&](std::size_t begin, std::size_t count, const auto& p, Out* sink) {
      row_range<Arch, Type>(row, dim, begin, count, values);
      finish_chunk<Arch>(buffer_source<Arch>{values, begin}, begin, count, e, p, sink, step);
    });
  }
}

// The stored bits of a 16-bit row as they are (f16 -> f16, bf16 -> bf16, nothing to apply).
// Streamed, a chunk at a time as the epilogue streams: each line loaded into an L1 buffer with
// the next row's line prefetched beside it, then the chunk copied out with non-temporal stores
// (bf16 at D = 4096, N = 4096, six interleaved A/B runs: 0.57-0.63 of the fp32 lookup's time,
// every run below prefetching the whole next row first and streaming the row: 0.58-0.65;
// 512-byte chunks measured 0.52-0.55 against 1 KiB's 0.57-0.61 in a driver, but 0.59-0.61
// against 0.56-0.59 in outputs/, builds alternating, so the chunk stayed 1 KiB). Not
// streamed, a line at a time with one line of the next row prefetched per line copied, as
// copy_row does (D = 4096, N = 512, cold outputs: 0.52-0.53 of the fp32 lookup's time, where
// prefetching the whole next row and then one memcpy took 0.57-0.58, and the same with a
// 256-byte vector loop 0.69; warm outputs: 0.48-0.50 against the memcpy's 0.54-0.58).
template <class Arch>
inline void copy_bits_row(const std::byte* row, std::size_t bytes, row_prefetch& prefetch,
                          void* dst, bool streaming, nt_rows<Arch>& streamed) noexcept {
  constexpr std::size_t line = 64;
  if (streaming) {
    constexpr std::size_t chunk = chunk_values * sizeof(float);
    alignas(64) std::byte staged[chunk];
    streamed.start(dst);
    for (std::size_t begin = 0; begin < bytes; begin += chunk) {
      const std::size_t count = bytes - begin < chunk ? bytes - begin : chunk;
      std::size_t b = 0;
      for (; b + line <= count; b += line) {
        prefetch.step();
        std::memcpy(staged + b, row + begin + b, line);
      }
      std::memcpy(staged + b, row + begin + b, count - b);
      streamed.put(staged, count);
    }
    prefetch.finish();
    return;
  }
  using line_batch = xsimd::batch<std::uint8_t, Arch>;
  constexpr std::size_t w = line_batch::size;
  static_assert(line % w == 0);
  auto* out = static_cast<std::uint8_t*>(dst);
  const auto* in = reinterpret_cast<const std::uint8_t*>(row);
  std::size_t b = 0;
  for (; b + line <= bytes; b += line) {
    prefetch.step();
    for (std::size_t k = 0; k < line; k += w) line_batch::load_unaligned(in + b + k).store_unaligned(out + b + k);
  }
  prefetch.finish();
  std::memcpy(out + b, in + b, bytes - b);
}

// The row loop shared by every output: row i of the ids handed to f(i, row, prefetch) with
// the row prefetch_distance ids ahead in flight, running on into next_ids, the rows this
// thread does next (a task of a threaded call that stopped prefetching at its last row left
// its next task's first rows cold: with 4-row tasks at D = 4096 the tasks run one after
// another took 1.3x the time of one range).
template <class Id, class F>
inline void for_each_row(const table_view& t, const Id* ids, std::size_t n, const Id* next_ids,
                         std::size_t next_n, F&& f) noexcept {
  const std::size_t ahead = prefetch_distance(t.row_bytes);
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* row = t.data + static_cast<std::size_t>(ids[i]) * t.stride;
    const Id* next_id = id_at(ids, n, next_ids, next_n, i + ahead);
    const std::byte* next =
        next_id != nullptr ? t.data + static_cast<std::size_t>(*next_id) * t.stride : nullptr;
    row_prefetch prefetch(next, t.row_bytes);
    f(i, row, prefetch);
  }
}

template <dtype Type, class Out>
inline constexpr bool same_bits =
    (Type == dtype::f16 && std::is_same_v<Out, f16>) || (Type == dtype::bf16 && std::is_same_v<Out, bf16>);

template <class Arch, dtype Type, class Id, class Out>
void gather(const table_view& t, const Id* ids, std::size_t n, const Id* next_ids,
            std::size_t next_n, void* out_bytes, std::size_t out_stride, const epilogue& e) noexcept {
  using dec = decoder<Arch, Type>;
  Out* out = static_cast<Out*>(out_bytes);
  const std::size_t dim = t.dim;
  if constexpr (std::is_same_v<Out, float>) {
    if (plain(e) && !e.streaming) {
    // The plain path: decode straight into the fp32 output row.
    for_each_row(t, ids, n, next_ids, next_n, [&](std::size_t i, const std::byte* row, row_prefetch& prefetch) {
      float* dst = out + i * out_stride;
      if constexpr (block_decoder<dec>) {
        copy_blocks(dec(row, dim), prefetch, dst, dim);
      } else if constexpr (simd_decoder<dec>) {
        visit<dec>(row, dim, [&](const auto& d) { copy_row(d, prefetch, dst, dim); });
      } else {
        prefetch.finish();
        codec_of(Type).decode(row, dim, dst);
      }
    });
    return;
    }
    if constexpr (block_decoder<dec>) {
      if (plain(e)) {
        nt_rows<Arch> streamed;
        for_each_row(t, ids, n, next_ids, next_n, [&](std::size_t i, const std::byte* row, row_prefetch& prefetch) {
          stream_blocks<Arch>(dec(row, dim), prefetch, out + i * out_stride, dim, streamed);
        });
        streamed.finish();
        _mm_sfence();
        return;
      }
    }
  }
  if constexpr (same_bits<Type, Out>) {
    if (plain(e)) {
      nt_rows<Arch> streamed;
      for_each_row(t, ids, n, next_ids, next_n, [&](std::size_t i, const std::byte* row, row_prefetch& prefetch) {
        copy_bits_row<Arch>(row, 2 * dim, prefetch, out + i * out_stride, e.streaming, streamed);
      });
      if (e.streaming) {
        streamed.finish();
        _mm_sfence();
      }
      return;
    }
  }
  // Position rows are prefetched on the same schedule as the table's rows, except, when the
  // output goes through the cache, a row that follows the one before it (position p after
  // p - 1, as position_start + i gives): a sequential stream the hardware prefetcher follows,
  // where software prefetches only compete with the token rows' and the output's lines
  // (measured: fused positions at D = 4096, N = 512, 64 sequential position rows,
  // 1.45-1.52x -> 1.20-1.22x the plain lookup). A streamed output leaves the L2 to the rows,
  // and there prefetching every position row paid: at N = 4096, 1.36-1.49x -> 1.17-1.27x.
  const table_view* pt = e.positions;
  const std::size_t pos_ahead = pt != nullptr ? prefetch_distance(pt->row_bytes) : 0;
  const auto position_prefetch_for = [&](std::size_t i) {
    const std::byte* position_next = nullptr;
    if (pt != nullptr && i + pos_ahead < n) {
      const std::size_t p = position(e, i + pos_ahead);
      if (e.streaming || p != position(e, i + pos_ahead - 1) + 1) position_next = pt->data + p * pt->stride;
    }
    return row_prefetch(position_next, pt != nullptr ? pt->row_bytes : 0);
  };
  if constexpr (std::is_same_v<Out, float> && simd_decoder<dec>) {
    if (!e.streaming && (pt == nullptr || e.positions_f32)) {
      // fp32 out through the cache with a scale or fp32 position rows: the plain path's loop
      // (copy_row) over the fused values, no chunks (D = 4096, N = 512, cold outputs, three
      // pairs of builds alternating, time / plain lookup: scale 1.05-1.07 -> 1.01-1.03, a
      // cached 64-row position table 1.14-1.19 -> 1.11-1.14, positions 0 .. N - 1 1.35-1.37 ->
      // 1.24-1.31, where the epilogue's chunks ran it). A row whose position row needs no
      // software prefetch (no positions, or the next position follows this one) takes the
      // token row's prefetcher alone: through both_prefetch with an idle second one, the
      // AVX-512 loop ran scale 1.04-1.09 and cached positions 1.23-1.27 of the plain lookup,
      // alone 0.99-1.02 and 1.07-1.10 (N = 512, five runs of each build, alternating; AVX2
      // measured the same either way).
      for_each_row(t, ids, n, next_ids, next_n, [&](std::size_t i, const std::byte* row, row_prefetch& prefetch) {
        float* dst = out + i * out_stride;
        row_prefetch position_prefetch = position_prefetch_for(i);
        visit<dec>(row, dim, [&](const auto& d) {
          const auto copy = [&](const auto& fused) {
            if (position_prefetch.idle()) {
              copy_row(fused, prefetch, dst, dim);
            } else {
              both_prefetch both{prefetch, position_prefetch};
              copy_row(fused, both, dst, dim);
            }
          };
          if (pt == nullptr)
            with_fused<Arch>(d, no_positions{}, e, copy);
          else
            with_fused<Arch>(d, decoder<Arch, dtype::f32>(pt->data + position(e, i) * pt->stride, dim), e, copy);
        });
      });
      return;
    }
  }
  nt_rows<Arch> streamed;
  for_each_row(t, ids, n, next_ids, next_n, [&](std::size_t i, const std::byte* row, row_prefetch& prefetch) {
    row_prefetch position_prefetch = position_prefetch_for(i);
    epilogue_row<Arch, Type>(row, dim, pt != nullptr ? position(e, i) : 0, prefetch,
                             position_prefetch, out + i * out_stride, e, streamed);
  });
  // Non-temporal stores are weakly ordered: fence them before the caller (or the thread
  // team's join) can read the output.
  if (e.streaming) {
    streamed.finish();
    _mm_sfence();
  }
}

template <class Arch, std::size_t... I>
constexpr kernel_set make_kernel_set(std::string_view name, std::index_sequence<I...>) noexcept {
  return kernel_set{name,
                    {{&gather<Arch, registry[I].type, std::int32_t, float>...},
                     {&gather<Arch, registry[I].type, std::int32_t, f16>...},
                     {&gather<Arch, registry[I].type, std::int32_t, bf16>...}},
                    {{&gather<Arch, registry[I].type, std::int64_t, float>...},
                     {&gather<Arch, registry[I].type, std::int64_t, f16>...},
                     {&gather<Arch, registry[I].type, std::int64_t, bf16>...}},
                    {&decode_range<Arch, registry[I].type>...}};
}

// The kernel set of one ISA: a gather for every registered dtype, output type and id width,
// and a range decoder for every dtype.
template <class Arch>
constexpr kernel_set make_kernel_set(std::string_view name) noexcept {
  return make_kernel_set<Arch>(name, std::make_index_sequence<dtype_count>());
}

}  // namespace
}  // namespace embtab::detail
