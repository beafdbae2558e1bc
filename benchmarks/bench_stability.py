"""Bootstrap stability (clusterboot): how many replicates, how many starts, what it costs.

``python -m benchmarks.bench_stability [--replicates 200] [--n 100000]`` (or ``python -m
benchmarks.compare stability``) writes ``benchmarks/results/stability.json`` and
``benchmarks/results/stability.md``.

1. **Replicates.** On the real data sets at the k ``segment run`` chooses, ``--replicates``
   replicates are drawn; a segment's standard error with B replicates is its per-replicate
   standard deviation over sqrt(B) (the replicates are independent). The table gives the
   largest standard error over the segments at B = 20, 50, 100, 200, and how many segments
   the mean of the first 50 replicates puts in another of clusterboot's bands (0.6, 0.75,
   0.85) than the mean of all of them.
2. **Starts per replicate.** The mean stability (lowest segment, and average) with 1, 3, 10
   and 20 k-means++ starts per replicate, 50 replicates: too few starts count k-means's poor
   local minima as instability.
3. **Cost on many customers.** ``make_customers(n)`` (100,000 by default), segmented with
   k=5; the seconds of 50 replicates drawing 10,000, 20,000 and all n customers, beside the
   seconds of one sweep fit, in this process (numba compiled first).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

from benchmarks.bench_k_rules import dataset

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SETS = ("mall", "mall income+spending", "wholesale", "online retail RFM", "s4", "a1")


def _segmented(name: str):
    """The matrix and labels of a data set at the k segment run chooses (auto)."""
    from segmentation.config import RunConfig
    from segmentation.pipeline import segment

    data, options, truth = dataset(name)
    if truth is not None:  # a Fränti set: its true k
        options = {**options, "k": truth, "k_range": (truth, truth)}
    seg = segment(data, RunConfig(bootstrap=0, **options))
    return seg.X, seg.labels, seg.k


def _band(value: float) -> int:
    return sum(value >= edge for edge in (0.6, 0.75, 0.85))


def replicates(name: str, n_boot: int) -> dict:
    from segmentation.select_k import choose_n_init
    from segmentation.stability import bootstrap_stability

    X, labels, k = _segmented(name)
    n_init = choose_n_init(X.shape[0])  # what a run gives each replicate
    result = bootstrap_stability(X, labels, k, n_boot=n_boot, seed=0, n_init=n_init)
    sd = result.jaccard.std(axis=0, ddof=1)
    first = result.jaccard[:50].mean(axis=0)
    moved = sum(_band(a) != _band(b) for a, b in zip(first, result.mean, strict=True))
    return {
        "data": name,
        "k": k,
        "n_init": n_init,
        "mean": [round(float(v), 3) for v in result.mean],
        "sd": [round(float(v), 3) for v in sd],
        "max_se": {b: round(float(sd.max() / math.sqrt(b)), 4) for b in (20, 50, 100, 200)},
        "bands_moved_at_50": int(moved),
    }


def starts(name: str) -> dict:
    from segmentation.stability import bootstrap_stability

    X, labels, k = _segmented(name)
    out = {"data": name, "k": k}
    for n_init in (1, 3, 10, 20):
        start = time.perf_counter()
        result = bootstrap_stability(X, labels, k, n_boot=50, seed=0, n_init=n_init)
        out[n_init] = {
            "lowest": round(float(result.mean.min()), 3),
            "average": round(float(result.mean.mean()), 3),
            "seconds": round(time.perf_counter() - start, 2),
        }
    return out


def cost(n: int) -> dict:
    from kmeans_core import KMeans
    from segmentation.preprocess import Preprocessor, infer_roles
    from segmentation.select_k import choose_n_init
    from segmentation.stability import bootstrap_stability
    from segmentation.synthetic import make_customers

    data = make_customers(n, seed=0)
    X = Preprocessor().fit_transform(data, infer_roles(data))
    KMeans(5, n_init=1, random_state=0).fit(X[:2000])  # compile
    start = time.perf_counter()
    labels = KMeans(5, n_init=choose_n_init(n), random_state=0).fit(X).labels_
    out = {"n": n, "k": 5, "final_fit_seconds": round(time.perf_counter() - start, 3)}
    for draw in (10_000, 20_000, n):
        n_init = choose_n_init(min(n, draw))
        start = time.perf_counter()
        result = bootstrap_stability(X, labels, 5, n_boot=50, seed=0, n_init=n_init, max_rows=draw)
        out[f"draw_{draw}"] = {
            "n_init": n_init,
            "seconds": round(time.perf_counter() - start, 2),
            "lowest": round(float(result.mean.min()), 4),
        }
    return out


def _markdown(report: dict) -> str:
    lines = [
        "# Bootstrap stability: replicates, starts, cost",
        "",
        "`python -m benchmarks.compare stability`. Machine: "
        f"{platform.processor() or platform.machine()}, shared with other jobs (seconds are "
        "indicative; compare within a table).",
        "",
        f"## Standard error against replicates ({report['n_boot']} drawn)",
        "",
        "| data | k | starts | largest SE at B=20 | 50 | 100 | 200 | bands moved at 50 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["replicates"]:
        se = r["max_se"]
        lines.append(
            f"| {r['data']} | {r['k']} | {r['n_init']} | {se[20]:.3f} | {se[50]:.3f} "
            f"| {se[100]:.3f} | {se[200]:.3f} | {r['bands_moved_at_50']} |"
        )
    lines += [
        "",
        "## Starts per replicate (50 replicates): lowest / average segment stability",
        "",
        "| data | k | 1 start | 3 | 10 | 20 |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["starts"]:
        cells = " | ".join(
            f"{r[s]['lowest']:.3f} / {r[s]['average']:.3f} ({r[s]['seconds']:.1f} s)"
            for s in (1, 3, 10, 20)
        )
        lines.append(f"| {r['data']} | {r['k']} | {cells} |")
    c = report["cost"]
    lines += [
        "",
        f"## Cost on {c['n']:,} customers (k=5, 50 replicates)",
        "",
        f"The final fit of the run ({c['n']:,} customers): {c['final_fit_seconds']:.2f} s.",
        "",
        "| customers drawn per replicate | starts | seconds | lowest stability |",
        "|---|---|---|---|",
    ]
    for key, value in c.items():
        if key.startswith("draw_"):
            lines.append(
                f"| {int(key[5:]):,} | {value['n_init']} | {value['seconds']:.2f} "
                f"| {value['lowest']:.4f} |"
            )
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_stability")
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args(argv)
    report = {"n_boot": args.replicates, "replicates": [], "starts": []}
    for name in SETS:
        report["replicates"].append(replicates(name, args.replicates))
        report["starts"].append(starts(name))
        print(report["replicates"][-1], report["starts"][-1], flush=True)
    report["cost"] = cost(args.n)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stability.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "stability.md").write_text(_markdown(report))
    print(_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
