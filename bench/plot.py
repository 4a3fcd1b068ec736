"""Draws plot.png from the results.json of `embtab bench`: GB/s against N per dtype and thread
count (cold ids), with the ideal gather and the memcpy bandwidth as references.

    /usr/bin/python3 bench/plot.py results.json plot.png

The embtab tool carries a copy of this file and feeds it to python3 on stdin. Exit status 3:
matplotlib is not installed (Debian: apt install python3-matplotlib).
"""
import json
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
except ImportError:
    sys.exit(3)

STYLES = ["-", "--", ":", "-."]


def threads_word(t):
    return "1 thread" if t == 1 else f"{t} threads"


def main(src, dst):
    with open(src) as f:
        r = json.load(f)
    cold = [x for x in r["results"] if x["ids"] == "cold"]
    shapes = []
    for x in cold:
        s = (x["rows"], x["dim"])
        if s not in shapes and len({y["n"] for y in cold if (y["rows"], y["dim"]) == s}) >= 2:
            shapes.append(s)
    if not shapes:
        print("plot.py: no cold rows with two or more N to plot", file=sys.stderr)
        return 1
    dtypes = []
    for x in cold:
        if x["dtype"] not in dtypes:
            dtypes.append(x["dtype"])

    ncols = min(2, len(shapes))
    nrows = (len(shapes) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.4 * ncols + 0.4, 4.4 * nrows + 1.6),
                             squeeze=False, sharey=True)
    flat = [ax for row in axes for ax in row]
    for ax in flat[len(shapes):]:
        ax.set_visible(False)
    top, low = 0.0, float("inf")
    for ax, (rows, dim) in zip(flat, shapes):
        rs = [x for x in cold if (x["rows"], x["dim"]) == (rows, dim)]
        ns = sorted({x["n"] for x in rs})
        for t, style in zip(sorted({x["threads"] for x in rs}), STYLES):
            ideal = sorted({x["n"]: x["ideal_gbps"] for x in rs if x["threads"] == t}.items())
            ax.plot([p[0] for p in ideal], [p[1] for p in ideal], color="0.45", linestyle=style,
                    marker="s", markersize=3, linewidth=1.2,
                    label=f"ideal gather (fp32 memcpy per row), {threads_word(t)}")
            top = max([top] + [p[1] for p in ideal])
            low = min([low] + [p[1] for p in ideal])
            for i, d in enumerate(dtypes):
                pts = sorted((x["n"], x["gbps"]) for x in rs if x["threads"] == t and x["dtype"] == d)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], color=f"C{i}",
                            linestyle=style, marker="o", markersize=4, linewidth=1.8,
                            label=f"lookup {d}, {threads_word(t)}")
                    top = max([top] + [p[1] for p in pts])
                    low = min([low] + [p[1] for p in pts])
        mib = r["memcpy"]["bytes"] >> 20
        for m, style in zip(r["memcpy"]["gbps"], STYLES):
            ax.axhline(m["gbps"], color="black", linestyle=style, linewidth=1,
                       label=f"memcpy {mib} MiB, {threads_word(m['threads'])}")
            top = max(top, m["gbps"])
            low = min(low, m["gbps"])
        ax.set_xscale("log", base=2)
        ax.set_xticks(ns)
        ax.set_xticklabels([str(n) for n in ns])
        ax.minorticks_off()
        ax.set_xlabel("N (ids per lookup call)")
        ax.set_title(f"V={rows}, D={dim}, cold ids")
        ax.grid(True, alpha=0.3)
        ax.yaxis.set_tick_params(labelleft=True)
    for row in axes:
        row[0].set_ylabel("GB/s (stored row read + fp32 row written)", fontsize=9)
    if top > 8 * low > 0:  # many threads next to one: a linear axis would flatten the 1-thread lines
        for ax in flat[:len(shapes)]:
            ax.set_yscale("log", base=2)
            ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        flat[0].set_ylim(low / 1.3, top * 1.3)
    else:
        flat[0].set_ylim(0, top * 1.08)
    fig.suptitle(f"embtab {r['embtab']} ({r['isa']}) on {r['cpu']}, {r['date']}", fontsize=10)
    handles, labels = flat[0].get_legend_handles_labels()
    if len(flat) > len(shapes):  # an empty panel: the legend goes there
        spare = flat[len(shapes)]
        spare.set_visible(True)
        spare.axis("off")
        spare.legend(handles, labels, loc="center", fontsize=9, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 0.97))
    else:
        ncol = 3 if ncols > 1 else 2
        fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
        legend_rows = (len(labels) + ncol - 1) // ncol
        bottom = min(0.4, (0.25 + 0.16 * legend_rows) / fig.get_figheight())
        fig.tight_layout(rect=(0, bottom, 1, 0.97))
    fig.savefig(dst, dpi=130)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
