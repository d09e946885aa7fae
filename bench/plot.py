#!/usr/bin/env python3
"""Plots of bench/hotpath.sh's results: the median round of each run.

    bench/plot.py RESULTS.jsonl [OUT_DIR]        (default OUT_DIR: beside RESULTS)

Draws into OUT_DIR (docs/img for docs/PERFORMANCE.md):
  hotpath-cpu.png         server CPU µs per request for each request kind, the
                          floor first, one panel per engine and key count (on
                          PostgreSQL the database backends' CPU stacked on top)
  hotpath-throughput.png  requests/s against the number of keys, both engines
  hotpath-latency.png     latency p50 / p90 / p99 for each request kind

matplotlib (pinned below) is installed on first use into a virtual
environment under target/, from PyPI; nothing else is needed.
"""

import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict

MATPLOTLIB = "3.10.3"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", f"plot-venv-{MATPLOTLIB}")


def in_venv():
    """Re-runs this script with the virtual environment's Python, made if missing."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(python):
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", f"matplotlib=={MATPLOTLIB}"], check=True)
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def median_low(values):
    values = [v for v in values if v is not None]
    return statistics.median_low(values) if values else None


def load(path):
    """The runs (round 0, the warm-up, left out) grouped by engine, keys and
    kind (the floor as kind "floor"), each with its median figures."""
    runs = defaultdict(list)
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r.get("record") == "run" and r["round"] > 0:
                kind = "floor" if r["target"] == "floor" else r["kind"]
                runs[(r["engine"], r["keys"], kind)].append(r)
    order = []
    for (_, _, kind) in runs:
        if kind not in order:
            order.append(kind)
    order.sort(key=lambda k: k != "floor")
    fields = ["rps", "p50_ms", "p90_ms", "p99_ms", "cpu_us_per_req", "db_cpu_us_per_req"]
    medians = {key: {f: median_low([r.get(f) for r in rs]) for f in fields} for key, rs in runs.items()}
    return medians, order


def label_panel(ax, engine, keys, ylabel):
    ax.set_ylabel(ylabel)
    ax.set_title(f"{engine}, {keys:,} keys", fontsize=10)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.legend(fontsize=8, loc="upper left")


def save(fig, out, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out, name), dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    in_venv()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.dirname(os.path.abspath(results))
    os.makedirs(out, exist_ok=True)
    medians, kinds = load(results)
    blocks = sorted({(e, k) for (e, k, _) in medians})
    engines = sorted({e for (e, _) in blocks})
    key_counts = sorted({k for (_, k) in blocks})

    # Server CPU per request, beside the floor.
    fig, axes = plt.subplots(len(blocks), 1, figsize=(11, 3.2 * len(blocks)), squeeze=False)
    for ax, (engine, keys) in zip(axes[:, 0], blocks):
        present = [k for k in kinds if (engine, keys, k) in medians]
        cpu = [medians[(engine, keys, k)]["cpu_us_per_req"] or 0 for k in present]
        db = [medians[(engine, keys, k)]["db_cpu_us_per_req"] or 0 for k in present]
        floor = [c if k == "floor" else 0 for k, c in zip(present, cpu)]
        ax.bar(present, floor, color="#999999", label="the floor (bare axum)")
        ax.bar(present, [0 if k == "floor" else c for k, c in zip(present, cpu)], color="#1f77b4",
               label="keyward (its process, all threads)")
        if any(db):
            ax.bar(present, db, bottom=cpu, color="#ff7f0e", label="PostgreSQL backends")
        for x, (c, d) in enumerate(zip(cpu, db)):
            ax.text(x, c + d, f"{c + d:.0f}", ha="center", va="bottom", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylim(bottom=1)
        label_panel(ax, engine, keys, "CPU µs / request")
    save(fig, out, "hotpath-cpu.png")

    # Throughput against keys, one panel per engine, the floor dashed.
    shown = [k for k in kinds if k not in ("list_first", "list_deep", "create")]
    fig, axes = plt.subplots(1, len(engines), figsize=(6 * len(engines), 4.5), squeeze=False, sharey=True)
    for ax, engine in zip(axes[0], engines):
        for i, kind in enumerate(shown):
            points = [(k, medians[(engine, k, kind)]["rps"]) for k in key_counts if (engine, k, kind) in medians]
            if points:
                xs, ys = zip(*points)
                style = dict(color="black", linestyle="--") if kind == "floor" else dict(color=f"C{i}")
                ax.plot(xs, ys, marker="o", label=kind, **style)
        ax.set_xscale("log")
        ax.set_xticks(key_counts, [f"{k:,}" for k in key_counts])
        ax.minorticks_off()
        ax.set_xlabel("keys in the database")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{engine}: requests/s, server on one core", fontsize=10)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("requests / s")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "hotpath-throughput.png"), dpi=110)
    plt.close(fig)

    # Latency percentiles.
    fig, axes = plt.subplots(len(blocks), 1, figsize=(11, 3.2 * len(blocks)), squeeze=False)
    for ax, (engine, keys) in zip(axes[:, 0], blocks):
        present = [k for k in kinds if (engine, keys, k) in medians]
        width = 0.27
        for j, (field, label) in enumerate([("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99")]):
            values = [medians[(engine, keys, k)][field] or 0 for k in present]
            ax.bar([x + (j - 1) * width for x in range(len(present))], values, width, label=label)
        ax.set_xticks(range(len(present)), present)
        ax.set_yscale("log")
        label_panel(ax, engine, keys, "ms (64 connections)")
    save(fig, out, "hotpath-latency.png")
    for name in ("hotpath-cpu.png", "hotpath-throughput.png", "hotpath-latency.png"):
        print(os.path.join(out, name))


if __name__ == "__main__":
    main()
