#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "embtab/embtab.hpp"

namespace {

TEST(Dispatch, SupportedIsasAreOrderedBestFirstAndEndWithScalar) {
  const auto isas = embtab::supported_isas();
  ASSERT_FALSE(isas.empty());
  EXPECT_EQ(isas.back(), "scalar");
  const std::string_view order[] = {"avx512bw", "avx2", "sse2", "scalar"};
  std::size_t next = 0;
  for (const auto isa : isas) {
    while (next < 4 && order[next] != isa) ++next;
    ASSERT_LT(next, 4u) << isa << " is unknown or out of order";
  }
#if defined(__x86_64__)
  EXPECT_EQ(isas[isas.size() - 2], "sse2");  // every x86-64 CPU has SSE2
#endif
}

TEST(Dispatch, SetIsaSwitchesAndRefusesUnknownNames) {
  const std::string best(embtab::supported_isas().front());
  for (const auto isa : embtab::supported_isas()) {
    EXPECT_TRUE(embtab::set_isa(isa));
    EXPECT_EQ(embtab::active_isa(), isa);
  }
  EXPECT_FALSE(embtab::set_isa("avx9000"));
  EXPECT_FALSE(embtab::set_isa(""));
  EXPECT_EQ(embtab::active_isa(), "scalar");  // unchanged by the refusals
  EXPECT_TRUE(embtab::set_isa(best));
}

}  // namespace
