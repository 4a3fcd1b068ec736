// Runs a test suite once per ISA this CPU supports, forcing the path in SetUp.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "embtab/isa.hpp"

namespace embtab::test {

inline std::vector<std::string> isa_names() {
  std::vector<std::string> names;
  for (const auto isa : supported_isas()) names.emplace_back(isa);
  return names;
}

template <class Param>
class isa_test : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const std::string& isa = isa_of(this->GetParam());
    ASSERT_TRUE(set_isa(isa)) << isa;
    ASSERT_EQ(active_isa(), isa);
  }
  void TearDown() override { set_isa(supported_isas().front()); }

 private:
  static const std::string& isa_of(const std::string& p) { return p; }
  template <class Tuple>
  static const std::string& isa_of(const Tuple& p) {
    return std::get<0>(p);
  }
};

}  // namespace embtab::test
