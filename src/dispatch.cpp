// Chooses the kernel set once per process. Built with baseline flags only: this code runs on
// every x86-64 CPU before we know what it supports.
#include "dispatch.hpp"

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "embtab/isa.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define EMBTAB_X86 1
#endif

namespace embtab::detail {
namespace {

#ifdef EMBTAB_X86
// XCR0 via xgetbv, written as asm so this file needs no -mxsave.
std::uint64_t read_xcr0() noexcept {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

struct cpu_features {
  bool avx2 = false;      // AVX2 + FMA + F16C, YMM state enabled
  bool avx512bw = false;  // AVX-512 F/CD/DQ/BW + the above, ZMM state enabled
};

cpu_features detect() noexcept {
  cpu_features f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1,
             f16c = (c >> 29) & 1;
  if (!osxsave || !avx) return f;
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6) == 0x6;              // SSE + AVX state
  const bool zmm_state = ymm_state && (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const bool avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1,
             avx512cd = (b >> 28) & 1, avx512bw = (b >> 30) & 1;
  f.avx2 = ymm_state && avx2 && fma && f16c;
  f.avx512bw = f.avx2 && zmm_state && avx512f && avx512dq && avx512cd && avx512bw;
  return f;
}
#endif

struct isa_list {
  std::array<std::string_view, 4> names{};
  std::array<const kernel_set*, 4> sets{};
  std::size_t size = 0;
  void add(const kernel_set& k) noexcept {
    names[size] = k.name;
    sets[size++] = &k;
  }
};

const isa_list& supported() noexcept {
  static const isa_list list = [] {
    isa_list l;
#ifdef EMBTAB_X86
    const cpu_features f = detect();
    if (f.avx512bw) l.add(k_avx512bw);
    if (f.avx2) l.add(k_avx2);
    l.add(k_sse2);
#endif
    l.add(k_scalar);
    return l;
  }();
  return list;
}

const kernel_set* find(std::string_view name) noexcept {
  const isa_list& l = supported();
  for (std::size_t i = 0; i < l.size; ++i)
    if (l.names[i] == name) return l.sets[i];
  return nullptr;
}

const kernel_set* initial_choice() noexcept {
  const isa_list& l = supported();
  const char* forced = std::getenv("EMBTAB_ISA");
  if (forced == nullptr || *forced == '\0') return l.sets[0];
  if (const kernel_set* k = find(forced)) return k;
  const std::string_view name = forced;
  const bool known = name == "avx512bw" || name == "avx2" || name == "sse2" || name == "scalar";
  std::fprintf(stderr, "embtab: ignoring EMBTAB_ISA=%s (%s); using %.*s\n", forced,
               known ? "this CPU cannot run it" : "expected avx512bw, avx2, sse2 or scalar",
               static_cast<int>(l.names[0].size()), l.names[0].data());
  return l.sets[0];
}

std::atomic<const kernel_set*>& current() noexcept {
  static std::atomic<const kernel_set*> k{initial_choice()};
  return k;
}

}  // namespace

const kernel_set& active_kernels() noexcept { return *current().load(std::memory_order_acquire); }

}  // namespace embtab::detail

namespace embtab {

std::string_view active_isa() noexcept { return detail::active_kernels().name; }

std::span<const std::string_view> supported_isas() noexcept {
  const auto& l = detail::supported();
  return {l.names.data(), l.size};
}

bool set_isa(std::string_view isa) noexcept {
  const detail::kernel_set* k = detail::find(isa);
  if (k == nullptr) return false;
  detail::current().store(k, std::memory_order_release);
  return true;
}

}  // namespace embtab
