// embtab/status.hpp: the result of a lookup, cheap to return from the hot path.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>

#include "embtab/export.h"

namespace embtab {

// Why a call failed. Stable values: new codes are only ever appended.
enum class errc : int {
  ok = 0,
  id_out_of_range,   // an id < 0 or >= table.rows(); status::position() names it
  size_mismatch,     // out.size() does not fit ids.size() rows of table.dim() (and the stride)
  invalid_argument,  // an option out of its domain (lookup_options::threads < 0, a bad shard,
                     // stride, scale or position ids)
  position_out_of_range,  // a position < 0 or >= positions->rows(); status::position() = the
                          // index into ids whose position it is
};

// The outcome of a lookup. Holds only numbers: building it never allocates, so the
// noexcept hot path can return it; message() formats text on demand.
class EMBTAB_API status {
 public:
  constexpr status() noexcept = default;

  bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  errc code() const noexcept { return code_; }
  // Index into ids of the first bad id (id_out_of_range) or position (position_out_of_range);
  // 0 otherwise.
  std::size_t position() const noexcept { return position_; }
  // One line of English naming the bad value, e.g.
  // "id 50257 at position 3 is out of range [0, 50257)". "ok" when ok().
  std::string message() const;

  // Constructors for the library; users only read a status.
  static status id_out_of_range(std::int64_t id, std::size_t position, std::size_t rows) noexcept {
    return status(errc::id_out_of_range, position, id, rows, 0);
  }
  static status size_mismatch(std::size_t got, std::size_t ids, std::size_t dim) noexcept {
    return status(errc::size_mismatch, 0, static_cast<std::int64_t>(got), ids, dim);
  }
  // out.size() outside [(ids - 1) * stride + dim, ids * stride] (ids >= 1; 0 for no ids).
  static status size_mismatch_strided(std::size_t got, std::size_t ids, std::size_t dim,
                                      std::size_t stride) noexcept {
    return status(errc::size_mismatch, 0, static_cast<std::int64_t>(got), ids, dim, stride,
                  what::stride);
  }
  static status position_out_of_range(std::int64_t pos, std::size_t index, std::size_t rows) noexcept {
    return status(errc::position_out_of_range, index, pos, rows, 0);
  }
  static status invalid_threads(int threads) noexcept {
    return status(errc::invalid_argument, 0, threads, 0, 0);
  }
  // lookup_options::shard [begin, end) of vocab does not fit 0 <= begin <= end <= vocab, or the
  // table's rows are not end - begin.
  static status invalid_shard(std::int64_t begin, std::int64_t end, std::int64_t vocab,
                              std::size_t rows) noexcept {
    status s(errc::invalid_argument, 0, begin, static_cast<std::size_t>(end), rows, 0, what::shard);
    s.vocab_ = vocab;
    return s;
  }
  static status invalid_out_row_stride(std::size_t stride, std::size_t dim) noexcept {
    return status(errc::invalid_argument, 0, static_cast<std::int64_t>(stride), dim, 0, 0,
                  what::stride);
  }
  static status invalid_scale(float scale) noexcept {
    return status(errc::invalid_argument, 0, std::bit_cast<std::uint32_t>(scale), 0, 0, 0,
                  what::scale);
  }
  static status invalid_positions_dim(std::size_t positions_dim, std::size_t dim) noexcept {
    return status(errc::invalid_argument, 0, static_cast<std::int64_t>(positions_dim), dim, 0, 0,
                  what::positions_dim);
  }
  // position_ids of `count` entries for `ids` ids, or given without a positions table (ids = 0).
  static status invalid_position_ids(std::size_t count, std::size_t ids, bool have_table) noexcept {
    return status(errc::invalid_argument, 0, static_cast<std::int64_t>(count), ids, 0, 0,
                  have_table ? what::position_ids : what::position_ids_without_table);
  }

 private:
  // Which argument an invalid_argument (or a strided size_mismatch) is about.
  enum class what : std::uint8_t {
    threads, stride, scale, positions_dim, position_ids, position_ids_without_table, shard
  };
  constexpr status(errc code, std::size_t position, std::int64_t value, std::size_t a,
                   std::size_t b, std::size_t c = 0, what w = what::threads) noexcept
      : code_(code), what_(w), position_(position), value_(value), a_(a), b_(b), c_(c) {}

  errc code_ = errc::ok;
  what what_ = what::threads;
  std::size_t position_ = 0;
  std::int64_t value_ = 0;  // the offending value: id, position, out.size(), threads, stride,
                            // scale's bits, positions' dim, position_ids' length or shard begin
  std::size_t a_ = 0;       // rows (vocab of a sharded lookup), ids.size(), dim or shard end
  std::size_t b_ = 0;       // dim, or the table's rows (shard)
  std::size_t c_ = 0;       // out_row_stride
  std::int64_t vocab_ = 0;  // shard vocab
};

// The name of an errc, e.g. "id_out_of_range".
EMBTAB_API const char* to_string(errc code) noexcept;

}  // namespace embtab
