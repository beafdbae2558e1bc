"""Cold and warm start: what a user waits for in a fresh process.

Three measurements, each a fresh Python process per run:

1. **segment run** (the newcomer's first command): ``segment run`` on the built-in 400 synthetic
   customers, every output. *Cold*: numba's cache (``NUMBA_CACHE_DIR``) is a new empty
   directory; *warm*: another process reusing the cache the first cold one filled. Reported
   by stage: Python start-up, imports, the pipeline's own stage timings (from the run's
   ``cluster_summary.json``) and the rest (printing the table, bookkeeping).
2. **Mall customers against the scikit-learn tutorial script**, warm, whole process against
   whole process: ``segment run --input data/mall_customers.csv`` and
   ``python benchmarks/sklearn_tutorial.py`` alternately (``--mall-repeats`` rounds), and the
   ratio round by round. Each round also runs the script on one thread (``OMP_NUM_THREADS=1``):
   on a loaded machine scikit-learn's OpenMP threads wait for a core (their CPU time doubles),
   which flatters the first ratio; the one-thread script is the fair yardstick there. On a
   quiet machine the script gains little from its second thread (its CPU seconds were 1.09
   times its wall seconds).
3. **The engine alone**: import kmeans_core and ``KMeans(n_clusters=8, random_state=0).fit(X)``
   on 10k x 8 blobs, a size the numba kernels serve; cold and warm as in 1.

Every child process writes and reuses bytecode caches as a user's Python does (the machine's
PYTHONDONTWRITEBYTECODE, if set, is unset for them); a cold run starts without the toolkit's
``__pycache__`` folders, as a fresh clone does.

Run it with ``python -m benchmarks.compare cold [--repeats 5] [--mall-repeats 10]``; results go
to ``benchmarks/results/cold_start.json``. Medians over ``--repeats`` processes (rounds for the
mall customers); the machine may be shared, so compare within one run.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MALL = ROOT / "data" / "mall_customers.csv"
TUTORIAL = Path(__file__).resolve().parent / "sklearn_tutorial.py"

# ``segment`` exactly as its console script runs it, with timestamps on stderr.
SEGMENT_CHILD = r"""
import json, sys, time
started = time.time()
from segmentation.cli import main
from segmentation import figure_pool
if sys.argv[1] in ("run", "rfm"):
    figure_pool.start()  # what ``segment run`` does first
import segmentation.pipeline  # what ``main`` imports next; timed here as the imports
imported = time.time()
code = main(sys.argv[1:])
done = time.time()
print(json.dumps({"started": started, "imported": imported, "done": done, "code": code}),
      file=sys.stderr)
"""

# The engine alone: a first KMeans fit the numba kernels serve.
FIT_CHILD = r"""
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
    "started": started, "numpy_import_s": numpy_done - started,
    "kmeans_core_import_s": import_done - numpy_done, "first_fit_s": fit_done - data_done,
    "second_fit_s": second_done - fit_done, "fit_done": fit_done,
    "algorithm": getattr(model, "algorithm_", None), "n_iter": int(model.n_iter_),
}))
"""


#: The toolkit's packages: a fresh clone has no bytecode cache of theirs.
PACKAGES = ("kmeans_core", "segmentation")


def _as_users_run_it(env: dict | None = None) -> dict:
    """A user's environment: Python writes bytecode caches (``__pycache__``) and reuses them.
    Where PYTHONDONTWRITEBYTECODE is set (as on the machine these figures come from) every
    process would compile the toolkit's sources again, while the installed libraries, the
    tutorial script's among them, load the caches their installer wrote; so it is unset."""
    env = dict(os.environ if env is None else env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _fresh_clone() -> None:
    """Remove the toolkit's bytecode caches before a cold run, as in a fresh clone."""
    for package in PACKAGES:
        for folder in (ROOT / package).rglob("__pycache__"):
            shutil.rmtree(folder, ignore_errors=True)


def _environment(cache_dir: str) -> dict:
    env = _as_users_run_it({**os.environ, "NUMBA_CACHE_DIR": cache_dir})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _cache_files(cache_dir: str) -> int:
    return sum(1 for _ in Path(cache_dir).rglob("*.nbi"))


def _adopt_orphans() -> None:
    """Become the reaper of our children's orphans (Linux's PR_SET_CHILD_SUBREAPER): a
    ``segment run`` leaves its figure workers to end by themselves after it exits, and only a
    process that reaps them counts their CPU seconds."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass  # elsewhere their CPU seconds are not counted


def _reap_orphans() -> None:
    """Wait for the orphans adopted so far (they end within moments of their parent)."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _children_cpu_s() -> float:
    """CPU seconds (user + system) of the finished child processes so far, their orphans
    included (:func:`_adopt_orphans`): less sensitive than wall time to other work on a shared
    machine."""
    _reap_orphans()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_segment(cache_dir: str, out: Path, extra: list[str]) -> dict:
    """One fresh ``segment run`` process; its wall time, split by stage.

    Returns
    -------
    dict
        ``total_s`` (launch to exit), ``stages_s`` (Python start-up, imports, the pipeline's
        stages, the rest), the chosen ``k`` and the number of kernels in the cache afterwards.
    """
    launched = time.time()
    start = time.perf_counter()
    cpu_before = _children_cpu_s()
    completed = subprocess.run(
        [sys.executable, "-c", SEGMENT_CHILD, "run", *extra, "--out", str(out)],
        cwd=ROOT,
        env=_environment(cache_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    total = time.perf_counter() - start
    cpu = _children_cpu_s() - cpu_before
    if completed.returncode != 0:
        raise RuntimeError(f"segment run failed:\n{completed.stderr.strip()}")
    marks = json.loads(completed.stderr.strip().splitlines()[-1])
    summary = json.loads((out / "cluster_summary.json").read_text())
    pipeline = summary["timings"]
    run_s = marks["done"] - marks["imported"]
    stages = {
        "python start-up": marks["started"] - launched,
        "imports": marks["imported"] - marks["started"],
        **pipeline,
        "other (table, bookkeeping, exit)": max(0.0, run_s - sum(pipeline.values()))
        + max(0.0, total - (marks["done"] - launched)),
    }
    return {
        "total_s": total,
        "cpu_s": cpu,
        "stages_s": stages,
        "k": summary["k"],
        "cache_files": _cache_files(cache_dir),
    }


def run_fit(cache_dir: str) -> dict:
    """One fresh process that imports kmeans_core and fits 10k x 8 (see the module docstring)."""
    launched = time.time()
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", FIT_CHILD],
        cwd=ROOT,
        env=_environment(cache_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    total = time.perf_counter() - start
    if completed.returncode != 0:
        raise RuntimeError(f"the fresh process failed:\n{completed.stderr.strip()}")
    child = json.loads(completed.stdout.strip().splitlines()[-1])
    child["interpreter_start_to_fit_end_s"] = child.pop("fit_done") - launched
    child["python_startup_s"] = child.pop("started") - launched
    child["process_total_s"] = total
    child["cache_files"] = _cache_files(cache_dir)
    return child


def run_tutorial(out: Path, one_thread: bool = False) -> tuple[float, float]:
    """One fresh process of the scikit-learn tutorial script on mall customers (on one thread
    if ``one_thread``): wall and CPU seconds."""
    threads = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"} if one_thread else {}
    env = _as_users_run_it({**os.environ, **threads})
    start = time.perf_counter()
    cpu_before = _children_cpu_s()
    subprocess.run(
        [sys.executable, str(TUTORIAL), str(MALL), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start, _children_cpu_s() - cpu_before


def _median_stages(runs: list[dict]) -> dict:
    return {
        name: statistics.median(run["stages_s"][name] for run in runs)
        for name in runs[0]["stages_s"]
    }


def bench_segment(root: Path, repeats: int) -> dict:
    cold, warm = [], []
    for index in range(repeats):
        cache = root / f"segment_cold{index}"
        cache.mkdir()
        _fresh_clone()
        cold.append(run_segment(str(cache), root / f"out_cold{index}", []))
        print(f"segment run, cold {index + 1}: {cold[-1]['total_s']:.2f} s", flush=True)
    for index in range(repeats):
        warm.append(run_segment(str(root / "segment_cold0"), root / f"out_warm{index}", []))
        print(f"segment run, warm {index + 1}: {warm[-1]['total_s']:.2f} s", flush=True)
    return {
        "what": "fresh `segment run` process (400 synthetic customers, k 2-10, every output)",
        "cold": {
            "median_s": statistics.median(run["total_s"] for run in cold),
            "median_cpu_s": statistics.median(run["cpu_s"] for run in cold),
            "stages_s": _median_stages(cold),
            "runs": cold,
        },
        "warm": {
            "median_s": statistics.median(run["total_s"] for run in warm),
            "median_cpu_s": statistics.median(run["cpu_s"] for run in warm),
            "stages_s": _median_stages(warm),
            "runs": warm,
        },
    }


def bench_mall(root: Path, repeats: int) -> dict:
    cache = root / "mall_cache"
    cache.mkdir()
    argv = ["--input", str(MALL)]
    run_segment(str(cache), root / "mall_warmup", argv)  # fills the cache, if anything is compiled
    run_tutorial(root / "tutorial_warmup")
    ours, theirs, single, ours_cpu, theirs_cpu, single_cpu, stages = [], [], [], [], [], [], []
    for index in range(repeats):
        run = run_segment(str(cache), root / f"mall{index}", argv)
        ours.append(run["total_s"])
        ours_cpu.append(run["cpu_s"])
        stages.append(run)
        wall, cpu = run_tutorial(root / f"tutorial{index}")
        theirs.append(wall)
        theirs_cpu.append(cpu)
        wall, cpu = run_tutorial(root / f"tutorial_one_thread{index}", one_thread=True)
        single.append(wall)
        single_cpu.append(cpu)
        print(
            f"mall customers {index + 1}: ours {ours[-1]:.2f} s, tutorial {theirs[-1]:.2f} s, "
            f"on one thread {single[-1]:.2f} s"
        )

    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    return {
        "what": "warm fresh processes, in turn: `segment run --input data/mall_customers.csv`, "
        "`python benchmarks/sklearn_tutorial.py`, the same with OMP_NUM_THREADS=1",
        "ours_median_s": statistics.median(ours),
        "tutorial_median_s": statistics.median(theirs),
        "ours_over_tutorial_median": ratio(ours, theirs),
        "ours_cpu_median_s": statistics.median(ours_cpu),
        "tutorial_cpu_median_s": statistics.median(theirs_cpu),
        "ours_over_tutorial_cpu_median": ratio(ours_cpu, theirs_cpu),
        "tutorial_one_thread_median_s": statistics.median(single),
        "ours_over_tutorial_one_thread_median": ratio(ours, single),
        "ours_over_tutorial_one_thread_cpu_median": ratio(ours_cpu, single_cpu),
        "ours_stages_s": _median_stages(stages),
        "ours_s": ours,
        "tutorial_s": theirs,
        "tutorial_one_thread_s": single,
        "k": stages[-1]["k"],
    }


def bench_fit(root: Path, repeats: int) -> dict:
    cold, warm = [], []
    for index in range(repeats):
        cache = root / f"fit_cold{index}"
        cache.mkdir()
        _fresh_clone()
        cold.append(run_fit(str(cache)))
        print(f"KMeans fit, cold {index + 1}: {cold[-1]['interpreter_start_to_fit_end_s']:.2f} s")
    for index in range(repeats):
        warm.append(run_fit(str(root / "fit_cold0")))
        print(f"KMeans fit, warm {index + 1}: {warm[-1]['interpreter_start_to_fit_end_s']:.2f} s")
    keys = (
        "interpreter_start_to_fit_end_s",
        "python_startup_s",
        "numpy_import_s",
        "kmeans_core_import_s",
        "first_fit_s",
        "second_fit_s",
    )
    return {
        "what": "fresh process: import kmeans_core, KMeans(n_clusters=8, random_state=0)"
        ".fit(X), X 10k x 8 float64 blobs; all cores",
        "cold": {"median": {k: statistics.median(r[k] for r in cold) for k in keys}, "runs": cold},
        "warm": {"median": {k: statistics.median(r[k] for r in warm) for k in keys}, "runs": warm},
    }


def _print_table(report: dict) -> None:
    segment = report["segment_run"]
    print(f"\n{'segment run, median seconds':<36} {'cold':>7} {'warm':>7}")
    for name in segment["cold"]["stages_s"]:
        cold_s, warm_s = segment["cold"]["stages_s"][name], segment["warm"]["stages_s"][name]
        print(f"  {name:<34} {cold_s:7.2f} {warm_s:7.2f}")
    print(f"  {'total':<34} {segment['cold']['median_s']:7.2f} {segment['warm']['median_s']:7.2f}")
    cold_cpu, warm_cpu = segment["cold"]["median_cpu_s"], segment["warm"]["median_cpu_s"]
    print(f"  {'CPU seconds':<34} {cold_cpu:7.2f} {warm_cpu:7.2f}")
    mall = report["mall_against_sklearn_tutorial"]
    print(
        f"\nmall customers, warm: ours {mall['ours_median_s']:.2f} s, tutorial "
        f"{mall['tutorial_median_s']:.2f} s, "
        f"ours / tutorial {mall['ours_over_tutorial_median']:.2f} "
        f"(CPU {mall['ours_over_tutorial_cpu_median']:.2f}); against the script on one thread "
        f"{mall['ours_over_tutorial_one_thread_median']:.2f} "
        f"(CPU {mall['ours_over_tutorial_one_thread_cpu_median']:.2f})"
    )
    fit = report["kmeans_fit"]
    print(
        f"KMeans fit 10k x 8: cold {fit['cold']['median']['interpreter_start_to_fit_end_s']:.2f}"
        f" s, warm {fit['warm']['median']['interpreter_start_to_fit_end_s']:.2f} s"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare cold",
        description="Cold start (empty numba cache) and warm start of `segment run` and of the "
        "first KMeans fit, and mall customers against the scikit-learn tutorial script.",
    )
    parser.add_argument("--repeats", type=int, default=5, help="processes of each kind (5)")
    parser.add_argument(
        "--mall-repeats", type=int, default=10, help="rounds of the mall customers race (10)"
    )
    args = parser.parse_args(argv)
    _adopt_orphans()
    if args.repeats < 1 or args.mall_repeats < 1:
        parser.error("--repeats and --mall-repeats must be at least 1.")

    report = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()),
        },
        "repeats": args.repeats,
        "mall_repeats": args.mall_repeats,
    }
    with tempfile.TemporaryDirectory(prefix="kmeans_bench_cold_") as tmp:
        root = Path(tmp)
        report["segment_run"] = bench_segment(root, args.repeats)
        report["mall_against_sklearn_tutorial"] = bench_mall(root, args.mall_repeats)
        report["kmeans_fit"] = bench_fit(root, args.repeats)
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "cold_start.json").write_text(json.dumps(report, indent=1) + "\n")
    _print_table(report)
    print(f"wrote {RESULTS_DIR / 'cold_start.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
