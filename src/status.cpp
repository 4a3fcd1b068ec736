// status::message(): the cold path that turns numbers into a sentence.
#include "embtab/status.hpp"

namespace embtab {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::id_out_of_range: return "id_out_of_range";
    case errc::size_mismatch: return "size_mismatch";
    case errc::invalid_argument: return "invalid_argument";
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
    {
      std::size_t need = 0;
      const bool overflow = __builtin_mul_overflow(a_, b_, &need);
      return "output holds " + to_string(value_) + " floats but " + to_string(a_) +
             " ids x dim " + to_string(b_) + " need " +
             (overflow ? std::string("more than size_t can count") : to_string(need));
    }
    case errc::invalid_argument:
    {
      if (!shard_) return "lookup_options::threads is " + to_string(value_) + ", expected >= 0";
      const auto end = static_cast<std::int64_t>(a_);
      const std::string shard = "lookup_options::shard [" + to_string(value_) + ", " + to_string(end) +
                                ") of vocab " + to_string(vocab_);
      if (value_ < 0 || value_ > end || end > vocab_)
        return shard + " is not within [0, vocab): expected 0 <= begin <= end <= vocab";
      return shard + " holds " + to_string(end - value_) + " rows but the table has " + to_string(b_);
    }
  }
  return "unknown error " + to_string(static_cast<int>(code_));
}

}  // namespace embtab
