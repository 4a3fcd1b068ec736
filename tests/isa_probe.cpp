// Prints the ISA embtab chose, for CTest to check EMBTAB_ISA handling. Without EMBTAB_ISA it
// also fails unless the choice is the best path the CPU supports.
#include <cstdio>
#include <cstdlib>

#include "embtab/embtab.hpp"

int main() {
  const auto isa = embtab::active_isa();
  std::printf("active_isa=%.*s supported=", static_cast<int>(isa.size()), isa.data());
  for (const auto s : embtab::supported_isas()) std::printf("%.*s,", static_cast<int>(s.size()), s.data());
  std::printf("\n");
  const char* forced = std::getenv("EMBTAB_ISA");
  const bool unforced = forced == nullptr || *forced == '\0';
  return unforced && isa != embtab::supported_isas().front() ? 1 : 0;
}
