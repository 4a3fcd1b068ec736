// Helpers shared by the libFuzzer harnesses: a checked failure that names what went wrong,
// a filler for payloads longer than the input, and an output buffer with guard bytes.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

// Aborts with the condition and a printf-style explanation: libFuzzer saves the input.
#define FUZZ_CHECK(cond, ...)                                                         \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                              \
      std::fprintf(stderr, "\n");                                                     \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

namespace embtab::fuzz {

// Takes `n` bytes from the input while it lasts, then continues with a generator seeded
// from the input, so a short input can still describe a large table with arbitrary bits.
inline std::vector<std::uint8_t> consume_payload(FuzzedDataProvider& in, std::size_t n) {
  std::vector<std::uint8_t> bytes = in.ConsumeBytes<std::uint8_t>(n);
  std::uint64_t state = in.ConsumeIntegral<std::uint64_t>();
  bytes.reserve(n);
  while (bytes.size() < n) {  // splitmix64
    std::uint64_t z = (state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    z ^= z >> 31;
    for (int k = 0; k < 8 && bytes.size() < n; ++k) bytes.push_back(static_cast<std::uint8_t>(z >> (8 * k)));
  }
  return bytes;
}

// fp32 bits equal, or (when nan_is_nan) both NaN whatever their payloads.
inline bool same_value(float got, float want, bool nan_is_nan) {
  if (std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(want)) return true;
  return nan_is_nan && std::isnan(got) && std::isnan(want);
}

// An output span at any float offset inside a buffer with guard floats on both sides. Every
// byte gets a known pattern, so a failed call can be checked to have written nothing and a
// successful one to have written only inside out.
template <class T = float>
class guarded_out {
 public:
  static constexpr std::size_t guard = 16;  // elements on each side

  guarded_out(std::size_t size, std::size_t offset, std::uint8_t pattern)
      : buffer_(guard + offset + size + guard), offset_(guard + offset), size_(size) {
    // Bytes that differ from their neighbours (a write of any one value shows), filled a
    // word at a time: buffers reach a megabyte.
    std::uint64_t word = 0;
    for (int k = 0; k < 8; ++k) word |= std::uint64_t{static_cast<std::uint8_t>(pattern + 31 * k)} << (8 * k);
    auto* bytes = reinterpret_cast<std::uint8_t*>(buffer_.data());
    const std::size_t n = buffer_.size() * sizeof(T);
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t w = word + 0x0101010101010101u * (i / 8 % 251);
      std::memcpy(bytes + i, &w, std::min<std::size_t>(8, n - i));
    }
    before_ = buffer_;
  }

  std::span<T> out() { return {buffer_.data() + offset_, size_}; }

  // True when no byte of the whole buffer changed.
  bool untouched() const {
    return std::memcmp(buffer_.data(), before_.data(), buffer_.size() * sizeof(T)) == 0;
  }
  // True when no byte outside out() changed.
  bool guards_intact() const {
    const std::size_t end = offset_ + size_;
    return std::memcmp(buffer_.data(), before_.data(), offset_ * sizeof(T)) == 0 &&
           std::memcmp(buffer_.data() + end, before_.data() + end, (buffer_.size() - end) * sizeof(T)) == 0;
  }
  // True when element i of out() holds what it held before the call.
  bool unchanged(std::size_t i) const {
    return std::memcmp(buffer_.data() + offset_ + i, before_.data() + offset_ + i, sizeof(T)) == 0;
  }

 private:
  std::vector<T> buffer_, before_;
  std::size_t offset_, size_;
};

}  // namespace embtab::fuzz
