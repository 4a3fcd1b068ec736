// status::message(): the cold path that turns numbers into a sentence.
#include "embtab/status.hpp"

#include <bit>
#include <cstdint>
#include <cstdio>

namespace embtab {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::id_out_of_range: return "id_out_of_range";
    case errc::size_mismatch: return "size_mismatch";
    case errc::invalid_argument: return "invalid_argument";
    case errc::position_out_of_range: return "position_out_of_range";
  }
  return "unknown";
}

std::string status::message() const {
  using std::to_string;
  switch (code_) {
    case errc::ok: return "ok";
    case errc::id_out_of_range:
      return "id " + to_string(value_) + " at position " + to_string(position_) +
             " is out of range [0, " + to_string(a_) + ")";
    case errc::size_mismatch:
      if (what_ == what::stride) {
        std::size_t lo = 0, hi = 0;
        const bool overflow = a_ != 0 && (__builtin_mul_overflow(a_ - 1, c_, &lo) ||
                                          __builtin_add_overflow(lo, b_, &lo) ||
                                          __builtin_mul_overflow(a_, c_, &hi));
        return "output holds " + to_string(value_) + " elements but " + to_string(a_) +
               " ids x dim " + to_string(b_) + " with out_row_stride " + to_string(c_) +
               (overflow ? std::string(" need more than size_t can count")
                         : " need between " + to_string(a_ == 0 ? 0 : lo) + " and " + to_string(hi));
      }
      {
      std::size_t need = 0;
      const bool overflow = __builtin_mul_overflow(a_, b_, &need);
      return "output holds " + to_string(value_) + " floats but " + to_string(a_) +
             " ids x dim " + to_string(b_) + " need " +
             (overflow ? std::string("more than size_t can count") : to_string(need));
    }
    case errc::invalid_argument:
      switch (what_) {
        case what::threads:
          return "lookup_options::threads is " + to_string(value_) + ", expected >= 0";
        case what::stride:
          return "lookup_options::out_row_stride is " + to_string(value_) +
                 ", expected 0 or >= dim " + to_string(a_);
        case what::scale: {
          char text[32];
          std::snprintf(text, sizeof text, "%g",
                        static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(value_))));
          return "lookup_options::scale is " + std::string(text) + ", expected a finite number";
        }
        case what::positions_dim:
          return "lookup_options::positions has dim " + to_string(value_) +
                 ", expected the table's dim " + to_string(a_);
        case what::position_ids:
          return "lookup_options::position_ids holds " + to_string(value_) +
                 " positions, expected one per id (" + to_string(a_) + ")";
        case what::position_ids_without_table:
          return "lookup_options::position_ids holds " + to_string(value_) +
                 " positions but lookup_options::positions is not set";
        case what::shard: {
          const auto end = static_cast<std::int64_t>(a_);
          const std::string shard = "lookup_options::shard [" + to_string(value_) + ", " +
                                    to_string(end) + ") of vocab " + to_string(vocab_);
          if (value_ < 0 || value_ > end || end > vocab_)
            return shard + " is not within [0, vocab): expected 0 <= begin <= end <= vocab";
          return shard + " holds " + to_string(end - value_) + " rows but the table has " +
                 to_string(b_);
        }
      }
      break;
    case errc::position_out_of_range:
      return "position " + to_string(value_) + " of id at position " + to_string(position_) +
             " is out of range [0, " + to_string(a_) + ")";
  }
  return "unknown error " + to_string(static_cast<int>(code_));
}

}  // namespace embtab
