"""KMeans on Dask: ``kmeans_core.dask.KMeans`` against dask-ml's ``KMeans`` on the same
LocalCluster and data, and against ``kmeans_core.KMeans`` on one machine (the cost of
distributing).

Per case (blobs whose clusters overlap, as in ``bench_fit``):

- ours and dask-ml, each with its own k-means|| (``oversampling_factor=2``, the same seed),
  ``tol=1e-4``, ``max_iter=300``: the whole fit (initialization included) and the inertia of
  the fitted centers, both inertias computed by the same code (``kmeans_core.KMeans.score`` on
  the data in memory);
- ours on Dask and ours on one machine (``algorithm="auto"``, every core of the machine) from
  the same initial centers (k-means++ on a 100k-row sample, passed as an array): the whole fit;
  both must return the same iteration count and inertia (to 1e-9).

The cluster: ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` on this
machine; the data is made on the workers (``dask.array.random``), persisted, and gathered once
for the single-machine runs. Each worker loads our numba kernels once (a small fit, untimed) and
dask-ml's code likewise. Runs alternate between the peers; times are medians over ``--repeats``.

``--scaling`` adds our Dask fit from the same kind of init at 1M, 3M, 10M and 30M rows x 8
features, k=16 (1 and 41 iterations, ``tol=0``, the fastest of two: the setup and the time per
iteration), and ``predict`` of every row (the labels counted on the cluster, nothing gathered),
and fits lines to the times to predict 100M rows.

Run it with ``python -m benchmarks.compare dask [--quick] [--scale 0.5] [--repeats 3]
[--dask-ml-repeats 1] [--scaling]``; results go to ``benchmarks/results/dask.md`` (and
``dask.json``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
CASES = [(3_000_000, 8, 16), (1_000_000, 32, 32)]
QUICK_CASES = [(300_000, 8, 16), (100_000, 32, 32)]
SCALING_ROWS = [1_000_000, 3_000_000, 10_000_000, 30_000_000]
CHUNK_ROWS = 250_000
OVERLAP = 0.45
DATA_SEED = 20_261_202
SCALING_ITERATIONS = 40
#: Each scaling fit runs this many times, the fastest kept (the machine is shared).
SCALING_REPEATS = 2


def make_data(n_samples, n_features, n_clusters, chunk_rows=CHUNK_ROWS, seed=DATA_SEED):
    """Overlapping Gaussian blobs made chunk by chunk on the cluster: a dask array."""
    import dask.array as da

    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, size=(n_clusters, n_features))
    gaps = np.sqrt(((centers[:, None] - centers[None]) ** 2).sum(-1))
    np.fill_diagonal(gaps, np.inf)
    spread = OVERLAP * float(np.median(gaps.min(axis=1)))
    state = da.random.RandomState(seed)
    chunks = (chunk_rows,)
    labels = state.randint(0, n_clusters, size=n_samples, chunks=chunks)
    noise = state.normal(scale=spread, size=(n_samples, n_features), chunks=(chunk_rows, -1))
    return labels.map_blocks(lambda b: centers[b], new_axis=1, chunks=noise.chunks) + noise


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _inertia(X, centers):
    """The inertia of ``centers`` on ``X`` by our engine (the same code for every peer)."""
    import kmeans_core

    scorer = kmeans_core.KMeans(centers.shape[0])
    scorer.cluster_centers_ = np.ascontiguousarray(centers, dtype=X.dtype)
    scorer.n_features_in_ = X.shape[1]
    return -scorer.score(X)


def run_case(client, n_samples, n_features, n_clusters, repeats, dask_ml_repeats, log=print):
    """Time every peer on one case; returns a dict of the medians and inertias. dask-ml runs in
    the first ``dask_ml_repeats`` rounds only (it is slow)."""
    from dask_ml.cluster import KMeans as DaskMLKMeans

    import kmeans_core
    from kmeans_core.dask import KMeans as DaskKMeans

    Xd = make_data(n_samples, n_features, n_clusters).persist()
    X = Xd.compute()
    sample = X[np.random.default_rng(0).choice(n_samples, min(n_samples, 100_000), replace=False)]
    init, _ = kmeans_core.kmeans_plusplus(sample, n_clusters, random_state=0)

    peers = {
        "ours_dask": lambda: DaskKMeans(n_clusters, random_state=0).fit(Xd),
        "dask_ml": lambda: DaskMLKMeans(
            n_clusters=n_clusters, init="k-means||", oversampling_factor=2, random_state=0
        ).fit(Xd),
        "ours_dask_init": lambda: DaskKMeans(n_clusters, init=init).fit(Xd),
        "ours_local_init": lambda: kmeans_core.KMeans(n_clusters, init=init).fit(X),
    }
    times = {name: [] for name in peers}
    loads = []
    models = {}
    for r in range(repeats):
        for name, fit in peers.items():
            if name == "dask_ml" and r >= dask_ml_repeats:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                seconds, models[name] = _timed(fit)
            times[name].append(seconds)
            loads.append(os.getloadavg()[0])
            log(
                f"  {n_samples}x{n_features} k={n_clusters} round {r + 1}: {name} "
                f"{seconds:.2f} s (load {loads[-1]:.1f})"
            )
    result = {
        "case": f"{n_samples:,} x {n_features}, k={n_clusters}",
        "time_s": {name: statistics.median(t) for name, t in times.items()},
        "all_times_s": times,
        "inertia": {
            name: _inertia(X, np.asarray(model.cluster_centers_)) for name, model in models.items()
        },
        "n_iter": {name: int(model.n_iter_) for name, model in models.items()},
        "load_average_1min": statistics.median(loads),
    }
    dask_init, local_init = models["ours_dask_init"], models["ours_local_init"]
    result["same_result_from_same_init"] = bool(
        dask_init.n_iter_ == local_init.n_iter_
        and abs(dask_init.inertia_ - local_init.inertia_) <= 1e-9 * local_init.inertia_
        and np.array_equal(dask_init.labels_.compute(), local_init.labels_)
    )
    t = result["time_s"]
    result["speedup_vs_dask_ml"] = t["dask_ml"] / t["ours_dask"]
    result["dask_over_local"] = t["ours_dask_init"] / t["ours_local_init"]
    return result


def run_scaling(client, rows, log=print):
    """Our Dask fit and predict at several sizes: a fit of 1 and of 1 + ``SCALING_ITERATIONS``
    Lloyd iterations, each the fastest of ``SCALING_REPEATS`` (the difference is the time per
    iteration, the rest the setup: centering, shards, labels) and ``predict`` of every row;
    least-squares lines through the times per row, and what they give for 100M rows."""
    import dask.array as da
    from distributed import wait

    import kmeans_core
    from kmeans_core.dask import KMeans as DaskKMeans

    points = []
    for n_samples in rows:
        Xd = make_data(n_samples, 8, 16).persist()
        wait(Xd)  # made before any fit is timed
        init, _ = kmeans_core.kmeans_plusplus(Xd[:100_000].compute(), 16, random_state=0)
        times = {}
        for n_iter in (1, 1 + SCALING_ITERATIONS):
            runs = []
            for _ in range(SCALING_REPEATS):
                model = DaskKMeans(16, init=init, tol=0.0, max_iter=n_iter)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    runs.append(_timed(lambda model=model, Xd=Xd: model.fit(Xd))[0])
            times[n_iter] = min(runs)
        # tol=0: the fit stops early only if no label changed.
        per_iteration = (times[1 + SCALING_ITERATIONS] - times[1]) / (model.n_iter_ - 1)
        counts = da.bincount(model.predict(Xd), minlength=16)
        predict_s, counts = _timed(counts.compute)
        assert counts.sum() == n_samples
        points.append(
            {
                "n_samples": n_samples,
                "fit_s": times[1 + SCALING_ITERATIONS],
                "iteration_s": per_iteration,
                "setup_s": times[1] - per_iteration,
                "predict_s": predict_s,
                "load_average_1min": os.getloadavg()[0],
            }
        )
        log(
            f"  scaling {n_samples:,} rows: setup {points[-1]['setup_s']:.2f} s, "
            f"{per_iteration:.3f} s per iteration, predict {predict_s:.2f} s "
            f"(load {points[-1]['load_average_1min']:.1f})"
        )
        del Xd, model
    n = np.array([p["n_samples"] for p in points], dtype=float)
    lines = {}
    for name in ("setup_s", "iteration_s", "predict_s"):
        slope, fixed = np.polyfit(n, np.array([p[name] for p in points]), 1)
        lines[name] = {
            "seconds_per_million_rows": slope * 1e6,
            "fixed_seconds": fixed,
            "at_100M_seconds": slope * 1e8 + fixed,
        }
    return {"points": points, "lines": lines}


def _warm(client):
    """Load our kernels and dask-ml's code on every worker (untimed)."""
    from dask_ml.cluster import KMeans as DaskMLKMeans

    from kmeans_core.dask import KMeans as DaskKMeans

    for n_features, k in ((8, 16), (32, 32)):
        # Chunks of the cases' size and a short one: the workers load the kernels of both.
        X = make_data(CHUNK_ROWS + 50_000, n_features, k).persist()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            DaskKMeans(k, random_state=0, max_iter=3).fit(X)
            DaskMLKMeans(n_clusters=k, random_state=0, max_iter=3).fit(X)


def to_markdown(report):
    lines = [
        "# KMeans on Dask: ours against dask-ml, and against ours on one machine",
        "",
        f"{report['machine']}; {report['cluster']}; versions: {report['versions']}. "
        f"Rows scaled by {report['scale']}. Medians of {report['repeats']} alternated runs "
        f"(dask-ml: {report.get('dask_ml_repeats', report['repeats'])}); the machine was shared "
        "with other jobs (median 1-minute load average per case below), so read the ratios, "
        "not the seconds.",
        "",
    ]
    if report["cases"]:
        lines += [
            "| case | ours (s) | dask-ml (s) | speed-up | inertia ours / dask-ml | iterations ours "
            "/ dask-ml | ours on Dask, same init (s) | ours on one machine (s) | Dask / one "
            "machine | same result | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
    for r in report["cases"]:
        t, inertia, it = r["time_s"], r["inertia"], r["n_iter"]
        lines.append(
            f"| {r['case']} | {t['ours_dask']:.2f} | {t['dask_ml']:.2f} | "
            f"{r['speedup_vs_dask_ml']:.1f}x | {inertia['ours_dask'] / inertia['dask_ml']:.4f} | "
            f"{it['ours_dask']} / {it['dask_ml']} | {t['ours_dask_init']:.2f} | "
            f"{t['ours_local_init']:.2f} | {r['dask_over_local']:.2f}x | "
            f"{'yes' if r['same_result_from_same_init'] else 'NO'} | "
            f"{r['load_average_1min']:.1f} |"
        )
    scaling = report.get("scaling")
    if scaling:
        lines += [
            "",
            "Scaling (ours on Dask, 8 features, k=16, from a given init: setup = centering, shards "
            f"and labels; an iteration = (fit of {1 + SCALING_ITERATIONS} - fit of 1 iteration) / "
            f"{SCALING_ITERATIONS}, each fit the fastest of {SCALING_REPEATS}; then `predict` of "
            "every row):",
            "",
            "| rows | setup (s) | per iteration (s) | predict (s) | per million rows: setup, "
            "iteration, predict (s) | load |",
            "|---|---|---|---|---|---|",
        ]
        for p in scaling["points"]:
            millions = p["n_samples"] / 1e6
            lines.append(
                f"| {p['n_samples']:,} | {p['setup_s']:.2f} | {p['iteration_s']:.3f} | "
                f"{p['predict_s']:.2f} | {p['setup_s'] / millions:.3f}, "
                f"{p['iteration_s'] / millions:.4f}, {p['predict_s'] / millions:.3f} | "
                f"{p['load_average_1min']:.1f} |"
            )
        fit = scaling["lines"]
        lines += [
            "",
            "Least-squares lines (seconds = per million rows x millions + fixed), and 100M rows:",
            "",
            "| | per million rows (s) | fixed (s) | at 100M rows (s) |",
            "|---|---|---|---|",
        ]
        for name, label in (
            ("setup_s", "setup"),
            ("iteration_s", "one iteration"),
            ("predict_s", "predict"),
        ):
            line = fit[name]
            lines.append(
                f"| {label} | {line['seconds_per_million_rows']:.4f} | "
                f"{line['fixed_seconds']:.3f} | {line['at_100M_seconds']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare dask")
    parser.add_argument("--quick", action="store_true", help="10x smaller cases")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply the cases' rows by this (memory, time)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--dask-ml-repeats", type=int, default=1, help="rounds dask-ml runs in (it is slow)"
    )
    parser.add_argument("--scaling", action="store_true", help="also 1M, 3M, 10M, 30M rows")
    parser.add_argument("--no-cases", action="store_true", help="only the scaling")
    parser.add_argument("--out", default=None, help="results file stem (default dask)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    )
    client = Client(cluster)
    try:
        _warm(client)
        cases = [] if args.no_cases else QUICK_CASES if args.quick else CASES
        cases = [(int(n * args.scale), d, k) for n, d, k in cases]
        results = [run_case(client, *case, args.repeats, args.dask_ml_repeats) for case in cases]
        rows = [n // 10 for n in SCALING_ROWS] if args.quick else SCALING_ROWS
        scaling = run_scaling(client, rows) if args.scaling else None
    finally:
        client.close()
        cluster.close()
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}"
        for name in ("dask", "distributed", "dask-ml", "numba", "numpy", "scikit-learn")
    )
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "cluster": "LocalCluster(n_workers=2, threads_per_worker=1, processes=True)",
        "versions": versions,
        "repeats": args.repeats,
        "dask_ml_repeats": args.dask_ml_repeats,
        "scale": args.scale,
        "cases": results,
        "scaling": scaling,
    }
    stem = args.out or ("dask_quick" if args.quick else "dask")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0
