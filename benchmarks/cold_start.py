"""Cold start and warm start of kmeans_core: what a user waits for on the first fit.

- cold: a fresh Python process whose numba cache (``NUMBA_CACHE_DIR``) is a new empty
  directory, so every kernel the fit needs is compiled;
- warm: another fresh process reusing that cache, so the kernels are only loaded.

Each process imports kmeans_core and fits ``KMeans(n_clusters=8, random_state=0)`` (k-means++,
algorithm "auto") on 10k x 8 blobs. Reported: the time from just before the process is started
to the end of the fit (wall clock), and, from inside the process, the import time of numpy and
of kmeans_core and the time of the first fit. Run it with ``python -m benchmarks.compare cold``;
results go to ``benchmarks/results/cold_start.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# What the fresh process runs. It prints one JSON line with wall-clock timestamps.
CHILD = r"""
import json, time
started = time.time()
import numpy as np
numpy_done = time.time()
from kmeans_core import KMeans
import_done = time.time()
rng = np.random.default_rng(0)
centers = rng.uniform(-10, 10, size=(8, 8))
X = centers[rng.integers(0, 8, size=10_000)] + rng.standard_normal((10_000, 8)) * 4.0
data_done = time.time()
model = KMeans(n_clusters=8, random_state=0).fit(X)
fit_done = time.time()
KMeans(n_clusters=8, random_state=1).fit(X)
second_done = time.time()
print(json.dumps({
    "python_started": started, "numpy_import_s": numpy_done - started,
    "kmeans_core_import_s": import_done - numpy_done, "first_fit_s": fit_done - data_done,
    "second_fit_s": second_done - fit_done, "fit_done": fit_done,
    "algorithm": getattr(model, "algorithm_", None), "n_iter": int(model.n_iter_),
}))
"""


def run_fresh_process(cache_dir: str) -> dict:
    """Start a fresh interpreter with the given numba cache directory; time its first fit.

    Returns
    -------
    dict
        The child's timings plus ``interpreter_start_to_fit_end_s`` and ``process_total_s``.
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    launched = time.time()
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    total = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"the fresh process failed:\n{completed.stderr.strip()}")
    child = json.loads(completed.stdout.strip().splitlines()[-1])
    child["interpreter_start_to_fit_end_s"] = child.pop("fit_done") - launched
    child["python_startup_s"] = child.pop("python_started") - launched
    child["process_total_s"] = total
    child["cache_files"] = sum(1 for _ in Path(cache_dir).rglob("*.nbi"))
    return child


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare cold",
        description="Cold start (empty numba cache) and warm start of the first KMeans fit.",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="cold and warm processes each (default 3)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1.")

    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="kmeans_bench_cache_") as root:
        for index in range(args.repeats):
            cache_dir = os.path.join(root, f"cold{index}")
            os.makedirs(cache_dir)
            cold.append(run_fresh_process(cache_dir))
            seconds = cold[-1]["interpreter_start_to_fit_end_s"]
            print(f"cold {index + 1}: {seconds:.2f} s", flush=True)
        for index in range(args.repeats):
            # Reuse the cache the first cold process filled.
            warm.append(run_fresh_process(os.path.join(root, "cold0")))
            seconds = warm[-1]["interpreter_start_to_fit_end_s"]
            print(f"warm {index + 1}: {seconds:.2f} s", flush=True)

    keys = (
        "interpreter_start_to_fit_end_s",
        "python_startup_s",
        "numpy_import_s",
        "kmeans_core_import_s",
        "first_fit_s",
        "second_fit_s",
    )
    report = {
        "what": "fresh process: import kmeans_core, KMeans(n_clusters=8, random_state=0)"
        ".fit(X), X 10k x 8 float64 blobs; all cores",
        "cold": {"median": {k: _median(cold, k) for k in keys}, "runs": cold},
        "warm": {"median": {k: _median(warm, k) for k in keys}, "runs": warm},
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "cold_start.json").write_text(json.dumps(report, indent=1) + "\n")

    print(f"{'median of ' + str(args.repeats):<34} {'cold':>8} {'warm':>8}")
    for key in keys:
        cold_s, warm_s = report["cold"]["median"][key], report["warm"]["median"][key]
        print(f"{key:<34} {cold_s:8.3f} {warm_s:8.3f}")
    print(f"wrote {RESULTS_DIR / 'cold_start.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
