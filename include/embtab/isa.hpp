// embtab/isa.hpp: which instruction set the kernels use.
#pragma once

#include <span>
#include <string_view>

#include "embtab/export.h"

namespace embtab {

// The kernel set in use: exactly one of "avx512bw", "avx2", "sse2", "scalar" (a view of a
// NUL-terminated string with static storage).
// Chosen once per process, the best the CPU and the OS support:
//   avx512bw: AVX-512 F, CD, DQ, BW (+ FMA, F16C) with ZMM state enabled by the OS;
//   avx2:     AVX2, FMA and F16C with YMM state enabled by the OS;
//   sse2:     every x86-64 CPU;
//   scalar:   plain C++ (the reference-like fallback).
// The environment variable EMBTAB_ISA=avx512bw|avx2|sse2|scalar, read at that first choice,
// selects a lower path; a value the CPU cannot run, or an unknown one, is ignored with one
// warning line on stderr.
EMBTAB_API std::string_view active_isa() noexcept;

// The paths this CPU can run, best first; always ends with "scalar".
EMBTAB_API std::span<const std::string_view> supported_isas() noexcept;

// Switches every later lookup of the process to `isa` (one of supported_isas()); returns
// false and changes nothing if the name is unknown or the CPU cannot run it. Meant for tests
// and benchmarks that compare paths in one process; lookups already running finish on the
// path they started with.
EMBTAB_API bool set_isa(std::string_view isa) noexcept;

}  // namespace embtab
