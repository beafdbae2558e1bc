"""KPrototypes against kmodes' KPrototypes: time, cost and labels on the same data and gamma.

``python -m benchmarks.compare kprototypes [--quick] [--sizes 20000 100000 1000000]
[--seeds 3] [--repeats 3] [--kmodes-max-rows 20000]`` writes
``benchmarks/results/kprototypes.json`` and ``benchmarks/results/kprototypes.md`` and prints the
Markdown table.

Data: 3 numeric and 3 categorical columns (4, 3 and 5 categories) in an object array, as kmodes
takes it, drawn around 8 hidden groups from a fixed seed. Both fit k=8 with one Cao
initialisation (``n_init=1``) and the default gamma, for each seed in ``--seeds``: ours
``--repeats`` times (the median is reported), kmodes once (it is slow); the times include
turning the object array into numbers and codes. kmodes runs only up to ``--kmodes-max-rows``
rows (it takes 40 s at 20,000 rows, and hours at 100,000 by its users' reports); above that,
ours alone. Ours' first call (numba loading its cache, or compiling) is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
JSON_PATH = RESULTS_DIR / "kprototypes.json"
MD_PATH = RESULTS_DIR / "kprototypes.md"

SIZES = (20_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
N_CLUSTERS = 8
CATEGORIES = (
    ("north", "south", "east", "west"),
    ("web", "store", "phone"),
    ("basic", "plus", "pro", "team", "enterprise"),
)


def make_data(n, seed=0):
    """``n`` customers: age-, income- and visits-like numbers, then region, channel and plan;
    each row follows one of 8 hidden groups (its categories 70% of the time).

    Returns
    -------
    X : ndarray of shape (n, 6), object
    categorical : list of int
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, N_CLUSTERS, n)
    X = np.empty((n, 6), dtype=object)
    X[:, :3] = rng.normal(0, 3, (N_CLUSTERS, 3))[group] + rng.normal(size=(n, 3))
    for a, levels in enumerate(CATEGORIES):
        levels = np.array(levels, dtype=object)
        typical = levels[group % len(levels)]
        other = levels[rng.integers(0, len(levels), n)]
        X[:, 3 + a] = np.where(rng.random(n) < 0.7, typical, other)
    return X, [3, 4, 5]


def fit_ours(X, categorical, seed):
    from kmeans_core import KPrototypes

    start = time.perf_counter()
    model = KPrototypes(N_CLUSTERS, init="cao", n_init=1, random_state=seed)
    model.fit(X, categorical=categorical)
    return time.perf_counter() - start, model


def fit_kmodes(X, categorical, seed):
    from kmodes.kprototypes import KPrototypes

    start = time.perf_counter()
    model = KPrototypes(n_clusters=N_CLUSTERS, init="Cao", n_init=1, random_state=seed)
    model.fit(X, categorical=categorical)
    return time.perf_counter() - start, model


def run_size(n, seeds, repeats, with_kmodes):
    X, categorical = make_data(n)
    rows = []
    for seed in seeds:
        ours_times = []
        for _ in range(repeats):
            elapsed, ours = fit_ours(X, categorical, seed)
            ours_times.append(elapsed)
        row = {
            "seed": seed,
            "ours_s": statistics.median(ours_times),
            "ours_cost": ours.cost_,
            "ours_n_iter": ours.n_iter_,
        }
        if with_kmodes:
            elapsed, theirs = fit_kmodes(X, categorical, seed)
            row.update(
                kmodes_s=elapsed,
                kmodes_cost=float(theirs.cost_),
                kmodes_n_iter=int(theirs.n_iter_),
                same_labels=bool(np.array_equal(ours.labels_, theirs.labels_)),
            )
        rows.append(row)
        print(f"  n={n:,} seed={seed}: {row}", file=sys.stderr, flush=True)
    return {"n": n, "with_kmodes": with_kmodes, "runs": rows}


def summarize(case):
    runs = case["runs"]
    summary = {
        "n": case["n"],
        "ours_median_s": statistics.median(r["ours_s"] for r in runs),
        "ours_mean_cost": statistics.fmean(r["ours_cost"] for r in runs),
        "ours_n_iter": [r["ours_n_iter"] for r in runs],
    }
    if case["with_kmodes"]:
        summary.update(
            kmodes_median_s=statistics.median(r["kmodes_s"] for r in runs),
            kmodes_mean_cost=statistics.fmean(r["kmodes_cost"] for r in runs),
            speedup=statistics.median(r["kmodes_s"] / r["ours_s"] for r in runs),
            same_labels=sum(r["same_labels"] for r in runs),
            same_cost=sum(r["kmodes_cost"] == r["ours_cost"] for r in runs),
        )
    return summary


def markdown(summaries, meta):
    lines = [
        "`python -m benchmarks.compare kprototypes`",
        "",
        f"k={N_CLUSTERS}, 3 numeric + 3 categorical columns (object array), one Cao "
        f"initialisation, default gamma; seeds {meta['seeds']}; ours: median of "
        f"{meta['repeats']} fits per seed, kmodes {meta['kmodes_version']}: one fit per seed. "
        f"{meta['machine']}",
        "",
        "| rows | ours (s) | kmodes (s) | kmodes / ours | mean cost ours | mean cost kmodes "
        "| same labels and cost | iterations (ours) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        if "kmodes_median_s" in s:
            kmodes = (
                f"{s['kmodes_median_s']:.1f} | **{s['speedup']:,.0f}x** | "
                f"{s['ours_mean_cost']:,.2f} | {s['kmodes_mean_cost']:,.2f} | "
                f"{s['same_labels']} / {len(s['ours_n_iter'])} seeds"
            )
        else:
            kmodes = (
                f"not run (above {meta['kmodes_max_rows']:,} rows) | — | "
                f"{s['ours_mean_cost']:,.2f} | — | —"
            )
        lines.append(
            f"| {s['n']:,} | {s['ours_median_s']:.3f} | {kmodes} | "
            f"{', '.join(map(str, s['ours_n_iter']))} |"
        )
    lines += [
        "",
        f"Ours' first call in the process (numba loading its cache of the kernels, 500 rows): "
        f"{meta['first_call_s']:.2f} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare kprototypes")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--sizes", type=int, nargs="+", help="rows per case")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="our fits per seed (median)")
    parser.add_argument("--kmodes-max-rows", type=int, default=20_000)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    import kmodes

    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    seeds = list(range(args.seeds))
    meta = {
        "seeds": seeds,
        "repeats": args.repeats,
        "kmodes_max_rows": args.kmodes_max_rows,
        "kmodes_version": kmodes.__version__,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        "shared with other jobs; times are noisy, ratios are from one run.",
    }
    meta["first_call_s"], _ = fit_ours(*make_data(500, seed=1), seed=0)
    cases = [run_size(n, seeds, args.repeats, n <= args.kmodes_max_rows) for n in sizes]
    summaries = [summarize(c) for c in cases]
    table = markdown(summaries, meta)
    print(table)
    if not args.no_write:
        RESULTS_DIR.mkdir(exist_ok=True)
        for path, text in (
            (JSON_PATH, json.dumps({"meta": meta, "cases": cases, "summary": summaries}, indent=1)),
            (MD_PATH, table),
        ):
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
