"""Metrics and PCA against scikit-learn: time, agreement, and (for the silhouette) peak memory.

``python -m benchmarks.bench_metrics [--quick] [--cases ...] [--repeats 3]`` (or
``python -m benchmarks.compare metrics ...``) writes ``benchmarks/results/metrics.json`` and
``benchmarks/results/metrics.md`` and prints the Markdown table.

Every case runs in fresh subprocesses:

* a *timing* process: builds the data (NumPy, fixed seed), makes one first call of ours (numba
  compile, or loading it from numba's cache: reported apart, never in a median) and one of
  scikit-learn's, then alternates ours / scikit-learn for ``--repeats`` rounds (5 by default)
  and reports the median and best wall times, the median CPU seconds (all threads), and
  whether the two answers agree;
* for the silhouette, one *memory* process per library: after the data and a first call, the
  kernel's peak-RSS mark is reset (``/proc/self/clear_refs``), the function runs once, and the
  peak extra memory is ``ru_maxrss`` minus the resident size just before the call (numba's
  allocations are invisible to tracemalloc, not to the RSS);
* scikit-learn's silhouette on the largest case is a single run in its own process with a time
  limit (``--sklearn-timeout``): it computes a full n x n distance matrix chunk by chunk.

Threads: whatever each library uses by default on this machine (numba: one thread per core;
scikit-learn: OpenBLAS's threads).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
JSON_PATH = RESULTS_DIR / "metrics.json"
MD_PATH = RESULTS_DIR / "metrics.md"

#: name -> (metric, n_samples, n_features, n_clusters or n_components); quick sizes in QUICK.
CASES = {
    "silhouette_20k": ("silhouette", 20_000, 8, 8),
    "silhouette_100k": ("silhouette", 100_000, 8, 8),
    "calinski_harabasz_1m": ("calinski_harabasz", 1_000_000, 8, 8),
    "davies_bouldin_1m": ("davies_bouldin", 1_000_000, 8, 8),
    "pca_1m_x32": ("pca", 1_000_000, 32, 8),
}
QUICK = {
    "silhouette_20k": 4_000,
    "silhouette_100k": 10_000,
    "calinski_harabasz_1m": 100_000,
    "davies_bouldin_1m": 100_000,
    "pca_1m_x32": 100_000,
}
#: Cases whose scikit-learn run is a single timed-out subprocess instead of repeats.
SKLEARN_SINGLE_RUN = {"silhouette_100k"}


# ------------------------------------------------------------------------------------------
# Data and the two implementations
# ------------------------------------------------------------------------------------------


def make_data(metric, n, d, k, seed=0):
    """Blobs with their true labels (metrics) or correlated Gaussian data (PCA)."""
    rng = np.random.default_rng(seed)
    if metric == "pca":
        scales = np.geomspace(10.0, 0.1, d)
        rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
        X = (rng.normal(size=(n, d)) * scales) @ rotation.T + 5.0
        return np.ascontiguousarray(X), None
    centers = rng.uniform(-10, 10, size=(k, d))
    labels = rng.integers(0, k, n)
    X = centers[labels] + rng.normal(scale=3.0, size=(n, d))
    return np.ascontiguousarray(X), labels


def run_ours(metric, X, labels, k):
    from kmeans_core import metrics
    from kmeans_core.pca import PCA

    if metric == "silhouette":
        return metrics.silhouette_score(X, labels)
    if metric == "calinski_harabasz":
        return metrics.calinski_harabasz_score(X, labels)
    if metric == "davies_bouldin":
        return metrics.davies_bouldin_score(X, labels)
    return PCA(n_components=k).fit(X)


def run_sklearn(metric, X, labels, k):
    from sklearn import metrics
    from sklearn.decomposition import PCA

    if metric == "silhouette":
        return metrics.silhouette_score(X, labels)
    if metric == "calinski_harabasz":
        return metrics.calinski_harabasz_score(X, labels)
    if metric == "davies_bouldin":
        return metrics.davies_bouldin_score(X, labels)
    return PCA(n_components=k, svd_solver="full").fit(X)


def summarize(metric, result):
    """A JSON-able summary of a result, enough to check agreement."""
    if metric == "pca":
        return {
            "components": result.components_.tolist(),
            "explained_variance": result.explained_variance_.tolist(),
            "solver": getattr(result, "solver_", "full"),
        }
    return {"value": float(result)}


def agreement(metric, ours, theirs):
    """(agree, worst difference) between two summaries."""
    if metric == "pca":
        comp = np.abs(np.array(ours["components"]) - np.array(theirs["components"])).max()
        var_a, var_b = np.array(ours["explained_variance"]), np.array(theirs["explained_variance"])
        var = np.abs(var_a / var_b - 1.0).max()
        return bool(comp <= 1e-8 and var <= 1e-10), float(max(comp, var))
    a, b = ours["value"], theirs["value"]
    if metric == "silhouette":
        diff = abs(a - b)
        return bool(diff <= 1e-10), float(diff)
    diff = abs(a / b - 1.0)
    return bool(diff <= 1e-10), float(diff)


# ------------------------------------------------------------------------------------------
# Worker processes
# ------------------------------------------------------------------------------------------


def _case_params(name, quick):
    metric, n, d, k = CASES[name]
    return metric, (QUICK[name] if quick else n), d, k


def _warm_up_input(metric, d, k):
    return make_data(metric, 2_000, d, k, seed=1)


def worker_time(name, quick, repeats, with_sklearn):
    metric, n, d, k = _case_params(name, quick)
    X, labels = make_data(metric, n, d, k)
    out = {"n_samples": n, "n_features": d, "k": k}
    # First calls: ours pays numba's compile or cache load here, on a small problem.
    Xw, lw = _warm_up_input(metric, d, k)
    t0 = time.perf_counter()
    run_ours(metric, Xw, lw, k)
    out["ours_first_call_s"] = time.perf_counter() - t0
    times = {"ours": [], "sklearn": []}
    cpu = {"ours": [], "sklearn": []}
    results = {}
    if with_sklearn:
        run_sklearn(metric, Xw, lw, k)
    libraries = [("ours", run_ours)] + ([("sklearn", run_sklearn)] if with_sklearn else [])
    for _ in range(repeats):
        for library, run in libraries:
            c0, t0 = time.process_time(), time.perf_counter()
            results[library] = run(metric, X, labels, k)
            times[library].append(time.perf_counter() - t0)
            cpu[library].append(time.process_time() - c0)
    for library, _ in libraries:
        out[f"{library}_s"] = statistics.median(times[library])
        out[f"{library}_best_s"] = min(times[library])
        out[f"{library}_times"] = times[library]
        # CPU seconds of the whole process (all threads): the work done, less sensitive than
        # the wall time to other programs sharing the machine.
        out[f"{library}_cpu_s"] = statistics.median(cpu[library])
        out[library] = summarize(metric, results[library])
    return out


def worker_sklearn_once(name, quick):
    metric, n, d, k = _case_params(name, quick)
    X, labels = make_data(metric, n, d, k)
    c0, t0 = time.process_time(), time.perf_counter()
    result = run_sklearn(metric, X, labels, k)
    elapsed = time.perf_counter() - t0
    return {
        "sklearn_s": elapsed,
        "sklearn_best_s": elapsed,
        "sklearn_cpu_s": time.process_time() - c0,
        "sklearn": summarize(metric, result),
    }


def _proc_status_kib(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def worker_memory(name, quick, library):
    """Peak extra resident memory (MiB) of one call, beyond what was resident before it."""
    metric, n, d, k = _case_params(name, quick)
    X, labels = make_data(metric, n, d, k)
    run = run_ours if library == "ours" else run_sklearn
    Xw, lw = _warm_up_input(metric, d, k)
    run(metric, Xw, lw, k)  # imports, compile/cache load: not part of the call's memory
    del Xw, lw
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak-RSS mark to the current RSS
        reset = True
    except OSError:
        reset = False
    before_kib = _proc_status_kib("VmRSS")
    run(metric, X, labels, k)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "peak_extra_mib": (peak_kib - before_kib) / 1024.0,
        "peak_mark_reset": reset,
        "rss_before_mib": before_kib / 1024.0,
    }


def _spawn(args, timeout):
    """Run this module as a worker; return its JSON answer, or an error string."""
    cmd = [sys.executable, "-m", "benchmarks.bench_metrics", *args]
    root = Path(__file__).resolve().parents[1]
    try:
        proc = subprocess.run(
            cmd, cwd=root, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"did not finish in {timeout:.0f} s"
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        return None, f"worker failed: {tail[0]}"
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


# ------------------------------------------------------------------------------------------
# The driver
# ------------------------------------------------------------------------------------------


def run_case(name, args):
    metric = CASES[name][0]
    quick = ["--quick"] if args.quick else []
    single = name in SKLEARN_SINGLE_RUN
    load_before = os.getloadavg()
    timing, error = _spawn(
        ["--worker", "time", "--case", name, "--repeats", str(args.repeats), *quick]
        + (["--no-sklearn"] if single else []),
        timeout=args.timeout,
    )
    if error:
        return {"case": name, "error": error}
    row = {"case": name, "metric": metric, **timing}
    if single:
        once, error = _spawn(
            ["--worker", "sklearn-once", "--case", name, *quick], timeout=args.sklearn_timeout
        )
        if error:
            row["sklearn_error"] = error
        else:
            row.update(once)
            row["sklearn_times"] = [once["sklearn_s"]]
    if "sklearn" in row:
        row["agree"], row["worst_difference"] = agreement(metric, row["ours"], row["sklearn"])
        row["speedup"] = row["sklearn_s"] / row["ours_s"]
        row["speedup_best"] = row["sklearn_best_s"] / row["ours_best_s"]
    if metric == "silhouette" and not args.no_memory:
        for library in ("ours", "sklearn"):
            timeout = args.sklearn_timeout if (library == "sklearn" and single) else args.timeout
            mem, error = _spawn(
                ["--worker", "memory", "--case", name, "--library", library, *quick],
                timeout=timeout,
            )
            row[f"{library}_memory"] = mem if mem else {"error": error}
    row["load_average_before_after"] = [load_before[0], os.getloadavg()[0]]
    if metric == "pca":
        # The components are bulky; keep the route and the agreement only.
        row["ours"] = {"solver": row["ours"]["solver"]}
        row.pop("sklearn", None)
    return row


def _fmt_s(x):
    return "—" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def _fmt_mem(mem):
    if not mem:
        return "—"
    if "error" in mem:
        return mem["error"]
    return f"{mem['peak_extra_mib']:.0f}"


def markdown_table(rows):
    head = (
        "| case | n x d, k | ours (s) | first call (s) | sklearn (s) | sklearn / ours "
        "| best of each: sklearn / ours | agree (worst diff) | peak extra MiB ours / sklearn |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['case']} | | {row['error']} | | | | | | |")
            continue
        sk = row.get("sklearn_s")
        sk_cell = _fmt_s(sk) if sk is not None else row.get("sklearn_error", "—")
        if row["case"] in SKLEARN_SINGLE_RUN and sk is not None:
            sk_cell += " (1 run)"
        ratio = f"**{row['speedup']:.1f}x**" if "speedup" in row else "—"
        best = f"{row['speedup_best']:.1f}x" if "speedup_best" in row else "—"
        agree = (
            f"{'yes' if row['agree'] else 'NO'} ({row['worst_difference']:.1e})"
            if "agree" in row
            else "—"
        )
        mem = "—"
        if "ours_memory" in row:
            mem = f"{_fmt_mem(row['ours_memory'])} / {_fmt_mem(row.get('sklearn_memory'))}"
        what = f"{row['n_samples']:,} x {row['n_features']}, {row['k']}"
        lines.append(
            f"| {row['case']} | {what} | {_fmt_s(row['ours_s'])} | "
            f"{_fmt_s(row['ours_first_call_s'])} | {sk_cell} | {ratio} | {best} | {agree} | {mem} |"
        )
    return head + "\n".join(lines) + "\n"


def machine_info():
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "numpy": np.__version__,
        "numba": __import__("numba").__version__,
        "sklearn": __import__("sklearn").__version__,
    }


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_metrics",
        description="Metrics and PCA against scikit-learn (time, agreement, memory).",
    )
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per case (>= 1)")
    p.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    p.add_argument("--no-memory", action="store_true", help="skip the memory processes")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker")
    p.add_argument(
        "--sklearn-timeout",
        type=float,
        default=900.0,
        help="seconds allowed to scikit-learn's single silhouette run on the largest case",
    )
    p.add_argument("--no-write", action="store_true", help="print only, write no files")
    # Worker mode (internal).
    p.add_argument("--worker", choices=["time", "sklearn-once", "memory"], help=argparse.SUPPRESS)
    p.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    p.add_argument("--library", choices=["ours", "sklearn"], help=argparse.SUPPRESS)
    p.add_argument("--no-sklearn", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv=None) -> int:
    """Run the benchmark (or one worker); return an exit code."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.worker:
        if args.worker == "time":
            answer = worker_time(args.case, args.quick, args.repeats, not args.no_sklearn)
        elif args.worker == "sklearn-once":
            answer = worker_sklearn_once(args.case, args.quick)
        else:
            answer = worker_memory(args.case, args.quick, args.library)
        print(json.dumps(answer))
        return 0

    rows = []
    for name in args.cases:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.append(run_case(name, args))
    table = markdown_table(rows)
    command = "python -m benchmarks.bench_metrics " + " ".join(
        (argv if argv is not None else sys.argv[1:]) or []
    )
    report = {
        "command": command.strip(),
        "machine": machine_info(),
        "repeats": args.repeats,
        "quick": args.quick,
        "cases": rows,
    }
    print(table)
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        _atomic_write(JSON_PATH, json.dumps(report, indent=2) + "\n")
        _atomic_write(MD_PATH, f"`{report['command']}`\n\n" + table)
    return 0


def _atomic_write(path, text):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
