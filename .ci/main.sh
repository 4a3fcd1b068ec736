#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, runs the demo and a short benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh main
# Both switches explicit: the cache may hold the test command's (no benchmarks) from the same checkout.
cmake --preset release -DEMBTAB_BUILD_TESTS=OFF -DEMBTAB_BUILD_BENCH=ON
cmake --build --preset release
tool=build/release/tools/embtab/embtab
if [ -x "$tool" ]; then
  "$tool" demo
  "$tool" bench --quick --out embtab-results
else
  build/release/examples/embtab_example
fi
