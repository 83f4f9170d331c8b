#!/usr/bin/env python3
"""SVG charts of benchmark results, for bench/README.md (matplotlib, Debian's python3-matplotlib).

    plot.py line OUT.svg --title T --xlabel X --ylabel Y [--logx] [--logy] < data.csv
    plot.py bar  OUT.svg --title T --ylabel Y < data.csv

The CSV on stdin has a header and three columns: series, x, y (x a number for `line`, a label
for `bar`; y a number). `line` draws one line per series through its points in x order; `bar`
draws one group of bars per x label, one bar per series. The SVG has no date or random ids, so
re-running on the same numbers writes the same file (git diffs stay meaningful).
"""
import argparse
import csv
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend must be chosen first)

plt.rcParams["svg.hashsalt"] = "switchboard-bench"
plt.rcParams["svg.fonttype"] = "none"


def read(stream):
    rows = list(csv.reader(stream))
    if len(rows) < 2 or len(rows[0]) != 3:
        sys.exit("plot.py: expected a header and rows of series,x,y on stdin")
    series = {}
    for name, x, y in rows[1:]:
        series.setdefault(name, []).append((x, float(y)))
    return series


def main():
    parser = argparse.ArgumentParser(description="SVG charts of benchmark results")
    parser.add_argument("kind", choices=["line", "bar"])
    parser.add_argument("out")
    parser.add_argument("--title", required=True)
    parser.add_argument("--xlabel", default="")
    parser.add_argument("--ylabel", required=True)
    parser.add_argument("--logx", action="store_true")
    parser.add_argument("--logy", action="store_true")
    args = parser.parse_args()
    series = read(sys.stdin)

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if args.kind == "line":
        for name, points in series.items():
            points.sort(key=lambda p: float(p[0]))
            ax.plot([float(x) for x, _ in points], [y for _, y in points], marker="o", label=name)
    else:
        labels = list(dict.fromkeys(x for points in series.values() for x, _ in points))
        width = 0.8 / len(series)
        for i, (name, points) in enumerate(series.items()):
            values = dict(points)
            ax.bar([j + i * width for j in range(len(labels))], [values.get(label, 0) for label in labels], width, label=name)
        ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(labels))], labels)
    if args.logx:
        ax.set_xscale("log")
    if args.logy:
        ax.set_yscale("log")
    ax.set_title(args.title)
    ax.set_xlabel(args.xlabel)
    ax.set_ylabel(args.ylabel)
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend()
    fig.tight_layout()
    fig.savefig(args.out, metadata={"Date": None})


if __name__ == "__main__":
    main()
