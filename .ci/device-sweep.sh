#!/usr/bin/env bash
# The thread sweep for a many-core machine (README, Threads): builds the benchmark preset and
# prints one table of ns/token for f32, int8_rowwise and q8_0 lookups at V=32000 D=4096 N=4096
# cold ids on 1..16 threads, embtab's own pool next to an OpenMP team (the old design), with
# the ideal gather and the memcpy bandwidth. About 3-5 minutes on 16 cores (table building
# included). Needs cmake, g++, libxsimd-dev, libbenchmark-dev.
#   .ci/device-sweep.sh [threads,...]   (default 1,2,4,8,12,16)
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset bench -DEMBTAB_BUILD_TOOLS=OFF >/dev/null
cmake --build --preset bench --target embtab_thread_sweep -j "$(nproc)" >/dev/null
build/bench/bench/embtab_thread_sweep "${1:-1,2,4,8,12,16}"
