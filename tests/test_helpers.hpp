// Small helpers the test files share.
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

namespace embtab::test {

// What a constructor says when it refuses its arguments: the std::invalid_argument's what(),
// or "accepted" when f returns. Tests compare it with the exact message.
inline std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

// A value no lookup writes: output buffers are filled with it to see what a call touched.
inline constexpr float sentinel = -12345.678f;

// The same n floats, bit for bit (NaN payloads and signed zeros included).
inline bool same_bits(const float* a, const float* b, std::size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

}  // namespace embtab::test
