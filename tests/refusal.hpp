// What a constructor says when it refuses its arguments: the std::invalid_argument's what(),
// or "accepted" when f returns. Tests compare it with the exact message.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

namespace embtab::test {

inline std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace embtab::test
