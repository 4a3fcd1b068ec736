"""Runs embtab_bench and its relinked copies (embtab_bench_at16, _at32, _at48: the same objects
with 16, 32 or 48 bytes of code ahead of the library, bench/link_offset.cpp) on one filter, and
prints every ratio each offset measured: how much of a ratio is the code, and how much where the
linker happened to put the kernels' loops.

    python3 bench/layouts.py [--build build/release] [--rounds 3] [--ratio-to f32] FILTER

Ratios are the benchmarks' own counters named a/b (outputs/: f16/f32, scale/f32, ...; not the
rates bytes/s, ns/token, tokens/s) and, with --ratio-to T, each benchmark's time over the time
of the benchmark whose name has T in place of one of its parts (lookup/avx512bw/q8_0/... over
lookup/avx512bw/f32/... for T = f32). Each round
runs the four binaries in a rotated order; a value per offset is the median of its rounds, and
"mean" is the mean of the four offsets' values. Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

OFFSETS = (0, 16, 32, 48)
UNITS = {"s", "ns", "token", "tokens", "bytes"}


def binary(build, offset):
    name = "embtab_bench" if offset == 0 else f"embtab_bench_at{offset}"
    return os.path.join(build, "bench", name)


def run(path, benchmark_filter):
    out = subprocess.run([path, f"--benchmark_filter={benchmark_filter}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["benchmarks"]


def is_ratio(counter):
    """f16/f32, scale/f32: a ratio; bytes/s, ns/token, tokens/s: a rate."""
    top, slash, bottom = counter.partition("/")
    return bool(slash) and not {top, bottom} & UNITS


def ratios(benchmarks, ratio_to):
    """{(benchmark, ratio name): value} for one run."""
    found = {}
    times = {b["name"]: b["real_time"] for b in benchmarks if b.get("run_type") != "aggregate"}
    for b in benchmarks:
        if b.get("run_type") == "aggregate":
            continue
        for key, value in b.items():
            if is_ratio(key) and isinstance(value, (int, float)):
                found[(b["name"], key)] = float(value)
        if ratio_to:
            parts = b["name"].split("/")
            for i in range(len(parts)):
                base = "/".join(parts[:i] + [ratio_to] + parts[i + 1:])
                if base != b["name"] and base in times and times[base] > 0:
                    found[(b["name"], f"time / {ratio_to}")] = times[b["name"]] / times[base]
    return found


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("filter", help="--benchmark_filter of embtab_bench")
    p.add_argument("--build", default="build/release", help="the build directory (default build/release)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each binary (default 3)")
    p.add_argument("--ratio-to", default=None, metavar="DTYPE",
                   help="also each benchmark's time over the same benchmark with this part (a dtype)")
    a = p.parse_args()
    if a.rounds < 1:
        p.error(f"--rounds must be at least 1, got {a.rounds}")
    for offset in OFFSETS:
        if not os.access(binary(a.build, offset), os.X_OK):
            p.error(f"{binary(a.build, offset)} is missing: build the bench targets "
                    f"(cmake --build {a.build}) with EMBTAB_BUILD_BENCH=ON")

    values = {}  # (benchmark, ratio) -> offset -> [value per round]
    for r in range(a.rounds):
        for k in range(len(OFFSETS)):
            offset = OFFSETS[(r + k) % len(OFFSETS)]
            print(f"round {r + 1}/{a.rounds}: offset {offset}", file=sys.stderr, flush=True)
            for key, v in ratios(run(binary(a.build, offset), a.filter), a.ratio_to).items():
                values.setdefault(key, {}).setdefault(offset, []).append(v)
    if not values:
        print(f"layouts.py: no ratios in the benchmarks matching {a.filter!r}", file=sys.stderr)
        return 1
    if a.ratio_to and not any(ratio == f"time / {a.ratio_to}" for _, ratio in values):
        print(f"layouts.py: --ratio-to {a.ratio_to}: no benchmark matching {a.filter!r} has a twin "
              f"with {a.ratio_to!r} in place of one part of its name", file=sys.stderr)
        return 1

    print(f"| benchmark | ratio | {' | '.join(f'offset {o}' for o in OFFSETS)} | mean | all runs |")
    print("|---|---|" + "---:|" * (len(OFFSETS) + 2))
    for (bench, ratio), by_offset in sorted(values.items()):
        medians = [statistics.median(by_offset[o]) for o in OFFSETS if o in by_offset]
        every = [v for o in OFFSETS for v in by_offset.get(o, [])]
        cells = [f"{statistics.median(by_offset[o]):.3f}" if o in by_offset else "-" for o in OFFSETS]
        print(f"| {bench} | {ratio} | {' | '.join(cells)} | {statistics.mean(medians):.3f} | "
              f"{min(every):.3f}-{max(every):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
