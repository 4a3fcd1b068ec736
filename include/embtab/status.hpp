// embtab/status.hpp: the result of a lookup, cheap to return from the hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace embtab {

// Why a call failed. Stable values: new codes are only ever appended.
enum class errc : int {
  ok = 0,
  id_out_of_range,   // an id < 0 or >= table.rows(); status::position() names it
  size_mismatch,     // out.size() != ids.size() * table.dim()
  invalid_argument,  // an option out of its domain (lookup_options::threads < 0, a bad shard)
};

// The outcome of a lookup. Holds only numbers: building it never allocates, so the
// noexcept hot path can return it; message() formats text on demand.
class status {
 public:
  constexpr status() noexcept = default;

  bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  errc code() const noexcept { return code_; }
  // Index into ids of the first bad id (id_out_of_range); 0 otherwise.
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
  static status invalid_threads(int threads) noexcept {
    return status(errc::invalid_argument, 0, threads, 0, 0);
  }
  // lookup_options::shard [begin, end) of vocab does not fit 0 <= begin <= end <= vocab, or the
  // table's rows are not end - begin.
  static status invalid_shard(std::int64_t begin, std::int64_t end, std::int64_t vocab,
                              std::size_t rows) noexcept {
    status s(errc::invalid_argument, 0, begin, static_cast<std::size_t>(end), rows);
    s.vocab_ = vocab;
    s.shard_ = true;
    return s;
  }

 private:
  constexpr status(errc code, std::size_t position, std::int64_t value, std::size_t a,
                   std::size_t b) noexcept
      : code_(code), position_(position), value_(value), a_(a), b_(b) {}

  errc code_ = errc::ok;
  bool shard_ = false;      // invalid_argument: the shard (else threads) is wrong
  std::size_t position_ = 0;
  std::int64_t value_ = 0;  // the offending value: id, out.size(), threads or shard begin
  std::size_t a_ = 0;       // rows (vocab of a sharded lookup), ids.size() or shard end
  std::size_t b_ = 0;       // dim, or the table's rows
  std::int64_t vocab_ = 0;  // shard vocab
};

// The name of an errc, e.g. "id_out_of_range".
const char* to_string(errc code) noexcept;

}  // namespace embtab
