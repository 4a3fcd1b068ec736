#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the release preset, runs CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/deps.sh test
# Both switches explicit: the cache may hold the main job's (no tests) from the same checkout.
cmake --preset release -DEMBTAB_BUILD_TESTS=ON -DEMBTAB_BUILD_BENCH=OFF
cmake --build --preset release
ctest --preset release
