#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages embtab needs that are missing: .ci/deps.sh main|test|ci
#   main: build the library, the tool and the benchmark, draw the plot
#   test: build and run the test suite
#   ci:   test + what .ci/run adds (clang-14 with libFuzzer and sanitizer runtimes, LLVM OpenMP
#         and archer, llvm-symbolizer for readable sanitizer reports, qemu-user, Open MPI for
#         examples/mpi_vocab_parallel)
set -euo pipefail
packages=(cmake g++ make libxsimd-dev libgtest-dev libbenchmark-dev libcli11-dev)
case "${1:-test}" in
  main) packages+=(libopenblas-dev python3-matplotlib) ;;
  test) ;;
  ci) packages+=(clang-14 libomp-14-dev libclang-rt-14-dev llvm-14 qemu-user libopenmpi-dev openmpi-bin) ;;
  *) echo "usage: $0 main|test|ci" >&2; exit 2 ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "embtab: all ${#packages[@]} packages present"
  exit 0
fi
echo "embtab: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
