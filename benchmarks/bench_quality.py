"""Quality on the Fränti & Sieranoja sets: does a fit find every cluster, and at what cost.

For each of the nine sets in ``data/franti`` (S1-S4, A1-A3, Unbalance, DIM32, with their
ground-truth centroids) and each seed, four fits from k-means++ with that seed:

* ``ours``: ``kmeans_core.KMeans`` as it comes (one start);
* ``ours swap``: the same with ``refine="swap"``;
* ``sklearn n_init=1`` and ``sklearn n_init=10``: ``sklearn.cluster.KMeans``.

Each fit is scored by its Centroid Index against the ground truth
(``kmeans_core.metrics.centroid_index``; 0 = every cluster found) and timed (wall clock, the
first fit of each method on each set left out as a warm-up: numba compile or cache load). The
four methods alternate seed by seed, so a busy machine slows them alike. Threads: each library's
default (all cores), or ``--threads N`` for both (scikit-learn's through threadpoolctl); on a
machine shared with other work, OpenMP's waiting threads slow scikit-learn's multi-threaded fits
of these small sets far more than ours, so ``--threads 1`` is the fairer comparison there.

``python -m benchmarks.compare quality [--seeds 30] [--threads 1] [--sets s1 a3 ...]`` writes
``benchmarks/results/quality.json`` and ``quality.md`` and prints the Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRANTI = ROOT / "data" / "franti"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SETS = ("s1", "s2", "s3", "s4", "a1", "a2", "a3", "unbalance", "dim032")
METHODS = ("ours", "ours swap", "sklearn n_init=1", "sklearn n_init=10")


def load_set(name):
    """``(X, ground_truth_centers)`` of one Fränti set."""
    return np.loadtxt(FRANTI / f"{name}.txt"), np.loadtxt(FRANTI / f"{name}_gt.txt")


def make_fit(method, n_threads=None):
    """A function ``fit(X, k, seed) -> (centers, inertia, swaps)`` for one method, on
    ``n_threads`` threads (None: the library's default)."""
    if method.startswith("ours"):
        from kmeans_core import KMeans

        refine = "swap" if method == "ours swap" else None

        def fit(X, k, seed):
            km = KMeans(k, random_state=seed, refine=refine, n_threads=n_threads).fit(X)
            return km.cluster_centers_, km.inertia_, (km.n_swaps_tried_, km.n_swaps_kept_)

        return fit

    from sklearn.cluster import KMeans as SkKMeans
    from threadpoolctl import threadpool_limits

    n_init = int(method.rsplit("=", 1)[1])

    def fit(X, k, seed):
        with threadpool_limits(n_threads):
            km = SkKMeans(k, random_state=seed, n_init=n_init).fit(X)
        return km.cluster_centers_, km.inertia_, None

    return fit


def run_set(name, seeds, fits, log=print):
    """Fit every method from every seed on one set; returns the per-method summary."""
    from kmeans_core.metrics import centroid_index

    X, truth = load_set(name)
    k = truth.shape[0]
    for fit in fits.values():  # warm-up
        fit(X, k, seeds[0])
    runs = {method: {"ci": [], "seconds": [], "inertia": [], "swaps": []} for method in fits}
    for seed in seeds:
        for method, fit in fits.items():
            started = time.perf_counter()
            centers, inertia, swaps = fit(X, k, seed)
            runs[method]["seconds"].append(time.perf_counter() - started)
            runs[method]["ci"].append(centroid_index(centers, truth))
            runs[method]["inertia"].append(float(inertia))
            if swaps is not None:
                runs[method]["swaps"].append(list(swaps))
    result = {"set": name, "n_samples": X.shape[0], "n_features": X.shape[1], "k": k}
    result["methods"] = {}
    for method, run in runs.items():
        ci = np.array(run["ci"])
        summary = {
            "success_rate": float(np.mean(ci == 0)),
            "mean_ci": float(ci.mean()),
            "max_ci": int(ci.max()),
            "total_s": float(sum(run["seconds"])),
            "ci": run["ci"],
            "inertia": run["inertia"],
        }
        if run["swaps"]:
            swaps = np.array(run["swaps"])
            summary["mean_swaps_tried"] = float(swaps[:, 0].mean())
            summary["mean_swaps_kept"] = float(swaps[:, 1].mean())
        result["methods"][method] = summary
    line = ", ".join(
        f"{m} {s['success_rate']:.0%} CI {s['mean_ci']:.2f} {s['total_s']:.2f}s"
        for m, s in result["methods"].items()
    )
    log(f"{name}: {line}")
    return result


def totals(results):
    """Per method: fits with CI 0 over all sets and seeds, and the total time."""
    out = {}
    for method in results[0]["methods"]:
        per_set = [r["methods"][method] for r in results]
        n_fits = sum(len(s["ci"]) for s in per_set)
        n_found = sum(int(np.sum(np.array(s["ci"]) == 0)) for s in per_set)
        out[method] = {
            "fits": n_fits,
            "fits_with_ci_0": n_found,
            "sets_always_found": sum(s["success_rate"] == 1.0 for s in per_set),
            "total_s": sum(s["total_s"] for s in per_set),
        }
    return out


def machine_info():
    import numba

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "sklearn": importlib.metadata.version("scikit-learn"),
    }
    return info


def to_markdown(report):
    seeds = report["settings"]["seeds"]
    threads = report["settings"]["threads"]
    command = f"python -m benchmarks.compare quality --seeds {seeds}"
    if threads is not None:
        command += f" --threads {threads}"
    thread_note = "each library's default threads" if threads is None else f"{threads} thread(s)"
    lines = [
        "## Quality on the Fränti sets",
        "",
        f"`{command}` (`bench_quality.py`): for each "
        f"set and each of {seeds} seeds (0..{seeds - 1}), a k-means++ fit of each method; CI = "
        "Centroid Index against the ground-truth centroids (0: every cluster found). Success = "
        "share of seeds with CI 0; time = total wall seconds over the seeds (after one warm-up "
        f"fit per method and set), methods alternated seed by seed, {thread_note}.",
        "",
        f"Machine: {report['machine']['cpu_count']} cores, Python {report['machine']['python']}, "
        f"numpy {report['machine']['numpy']}, numba {report['machine']['numba']}, scikit-learn "
        f"{report['machine']['sklearn']}; load average {report['load_average'][0]:.1f} at start, "
        f"{report['load_average'][1]:.1f} at the end (the machine was shared with other work).",
        "",
        "| set | n x d, k | " + " | ".join(METHODS) + " |",
        "|---|---|" + "---:|" * len(METHODS),
    ]
    for r in report["sets"]:
        cells = []
        for method in METHODS:
            s = r["methods"][method]
            cells.append(f"{s['success_rate']:.0%} / {s['mean_ci']:.2f} / {s['total_s']:.2f} s")
        lines.append(f"| {r['set']} | {r['n_samples']} x {r['n_features']}, {r['k']} | ")
        lines[-1] += " | ".join(cells) + " |"
    cells = []
    for method in METHODS:
        t = report["totals"][method]
        cells.append(f"**{t['fits_with_ci_0']}/{t['fits']} / {t['total_s']:.2f} s**")
    lines.append("| **all** | | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Cells: success / mean CI / total seconds; the last row: fits with CI 0 / total seconds.",
    ]
    swap = report["totals"]["ours swap"]["total_s"]
    ten = report["totals"]["sklearn n_init=10"]["total_s"]
    lines.append(
        f'`refine="swap"` took {swap / ten:.2f}x the time of scikit-learn `n_init=10` '
        f"({swap:.2f} s against {ten:.2f} s)."
    )
    tried = [
        f"{r['set']} {r['methods']['ours swap']['mean_swaps_tried']:.0f}"
        f"/{r['methods']['ours swap']['mean_swaps_kept']:.1f}"
        for r in report["sets"]
    ]
    lines.append("Swaps tried / kept per fit, mean: " + ", ".join(tried) + ".")
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare quality",
        description="Centroid Index and time on the Fränti sets: ours, ours refine='swap', "
        "scikit-learn n_init=1 and n_init=10.",
    )
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1 (default 30)")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for both (default: each library's)"
    )
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS), metavar="SET")
    parser.add_argument(
        "--output", default="quality", help="results file stem in benchmarks/results"
    )
    args = parser.parse_args(argv)
    if args.seeds < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--seeds and --threads must be at least 1.")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    seeds = list(range(args.seeds))
    fits = {method: make_fit(method, args.threads) for method in METHODS}
    load_before = os.getloadavg()[0]
    results = [run_set(name, seeds, fits) for name in args.sets]
    report = {
        "machine": machine_info(),
        "settings": {"seeds": args.seeds, "sets": args.sets, "threads": args.threads},
        "load_average": [load_before, os.getloadavg()[0]],
        "sets": results,
        "totals": totals(results),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    write_atomically(RESULTS_DIR / f"{args.output}.json", json.dumps(report, indent=1) + "\n")
    markdown = to_markdown(report)
    write_atomically(RESULTS_DIR / f"{args.output}.md", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
