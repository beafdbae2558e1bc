"""KMeans.fit of kmeans_core against scikit-learn, scikit-learn-intelex and faiss-cpu.

Every peer gets the same data, the same initial centers (k-means++ from
``kmeans_core.kmeans_plusplus`` with a fixed seed, passed as an array), ``n_init=1``, the same
``tol`` and ``max_iter`` and the same number of threads. Runs alternate between the peers and
each reported time is the median over the repeats; the first call of each of our algorithms in
the process (numba compile or cache load) is timed apart and never enters a median.

faiss has no ``tol``: it runs exactly ``niter`` iterations, and only in float32. It is given
``niter`` = scikit-learn's iteration count for the case and compared per iteration (and in
total for that same number of iterations), against our float64 and our float32 runs.

Run it with ``python -m benchmarks.compare fit [--quick] [--cases ...] [--repeats 3]
[--threads N]``; a full run rewrites ``benchmarks/results/fit.json`` and ``fit.md``
(``--quick`` only checks the harness and writes nothing).
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TOL = 1e-4
DATA_SEED = 20_261_123
INIT_SEED = 0
INERTIA_RTOL = 1e-9
OUR_ALGORITHMS = ("lloyd", "hamerly", "exponion", "yinyang", "elkan")
SHORT_ROUND_S = 3.0  # a case whose first round of every peer takes less than this ...
SHORT_CASE_REPEATS = 7  # ... gets at least this many rounds
LOADED_MACHINE = 2.5  # 1-minute load average above which a case's times are flagged


@dataclass(frozen=True)
class Case:
    """One benchmark case: the data's shape and how much its clusters overlap.

    ``overlap`` scales the blobs' standard deviation relative to the median distance between
    neighbouring true centers; its value per case was chosen so that scikit-learn's Lloyd takes
    tens of iterations. ``max_iter`` is lowered only for the huge case, for every peer alike.
    """

    n_samples: int
    n_features: int
    n_clusters: int
    overlap: float
    max_iter: int = 300
    max_repeats: int | None = None  # cap on the repeats for the cases that take minutes

    @property
    def name(self) -> str:
        n = self.n_samples
        n_label = f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"
        return f"{n_label}x{self.n_features}x{self.n_clusters}"


# n from 10k to 1M, d in {2, 3, 8, 16, 64}, k in {3, 8, 20, 128}.
CASES = [
    Case(10_000, 2, 3, 2.5),
    Case(10_000, 8, 8, 1.0),
    Case(10_000, 64, 20, 0.6),
    Case(100_000, 2, 8, 2.0),
    Case(100_000, 3, 20, 1.0),
    Case(100_000, 8, 3, 1.5),
    Case(100_000, 16, 128, 0.5),
    Case(100_000, 64, 8, 1.0),
    Case(300_000, 3, 128, 0.75),
    Case(300_000, 16, 20, 0.5),
    Case(1_000_000, 2, 20, 2.0),
    Case(1_000_000, 8, 8, 1.0),
    Case(1_000_000, 16, 3, 2.0),
    # About 4 s per Lloyd iteration on 2 cores: 10 iterations for every peer, 2 repeats.
    Case(1_000_000, 64, 128, 0.5, max_iter=10, max_repeats=2),
]

QUICK_CASES = [
    Case(10_000, 8, 8, 1.0),
    Case(20_000, 3, 20, 1.0),
    Case(10_000, 64, 20, 1.5, max_iter=15),
]


def make_data(case: Case, seed: int = DATA_SEED):
    """Gaussian blobs with overlapping clusters.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    cluster_std : float
        The standard deviation of every blob along every feature.
    """
    rng = np.random.default_rng(seed)
    k, d = case.n_clusters, case.n_features
    true_centers = rng.uniform(-10.0, 10.0, size=(k, d))
    gaps = np.sqrt(((true_centers[:, None, :] - true_centers[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(gaps, np.inf)
    # k=1 has no neighbour: fall back to the box's half width.
    nearest = np.median(gaps.min(axis=1)) if k > 1 else 10.0
    cluster_std = float(case.overlap * nearest / 2.0)
    labels = rng.integers(0, k, size=case.n_samples)
    X = true_centers[labels]
    X += rng.standard_normal((case.n_samples, d)) * cluster_std
    return np.ascontiguousarray(X), cluster_std


# ------------------------------------------------------------------------------------- peers
@dataclass
class Run:
    """What one fit returned, and how long it took."""

    seconds: float
    n_iter: int
    inertia: float
    labels: np.ndarray | None = None
    algorithm: str | None = None


@dataclass
class Peer:
    """A timed way to fit: its key in the results, a label, and a function doing one fit."""

    key: str
    label: str
    fit: object  # callable(X64, X32, init64, init32, case, max_iter, n_iter_hint) -> Run
    ours: bool
    runs: list = field(default_factory=list)


def _timed(fn):
    gc.collect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out


def _ours(algorithm, dtype, n_threads):
    from kmeans_core import KMeans

    def fit(X64, X32, init64, init32, case, max_iter, n_iter_hint):
        X, init = (X32, init32) if dtype == "float32" else (X64, init64)
        model = KMeans(
            case.n_clusters,
            init=init,
            n_init=1,
            max_iter=max_iter,
            tol=TOL,
            algorithm=algorithm,
            n_threads=n_threads,
        )
        seconds, km = _timed(lambda: model.fit(X))
        return Run(
            seconds,
            int(km.n_iter_),
            float(km.inertia_),
            km.labels_,
            getattr(km, "algorithm_", algorithm),
        )

    return fit


def _sklearn(algorithm, n_threads):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    def fit(X64, X32, init64, init32, case, max_iter, n_iter_hint):
        model = KMeans(
            case.n_clusters, init=init64, n_init=1, max_iter=max_iter, tol=TOL, algorithm=algorithm
        )
        with threadpool_limits(limits=n_threads):
            seconds, km = _timed(lambda: model.fit(X64))
        return Run(seconds, int(km.n_iter_), float(km.inertia_), km.labels_, algorithm)

    return fit


def _sklearnex(n_threads):
    import daal4py
    from sklearnex.cluster import KMeans

    daal4py.daalinit(n_threads)  # oneDAL threads through TBB, which threadpoolctl cannot limit

    def fit(X64, X32, init64, init32, case, max_iter, n_iter_hint):
        model = KMeans(
            case.n_clusters, init=init64, n_init=1, max_iter=max_iter, tol=TOL, algorithm="lloyd"
        )
        seconds, km = _timed(lambda: model.fit(X64))
        return Run(seconds, int(km.n_iter_), float(km.inertia_), km.labels_, "lloyd")

    return fit


def _faiss(n_threads):
    import faiss

    faiss.omp_set_num_threads(n_threads)

    def fit(X64, X32, init64, init32, case, max_iter, n_iter_hint):
        n, d = X32.shape
        k = case.n_clusters
        # faiss subsamples to max_points_per_centroid * k points unless told to use them all.
        model = faiss.Kmeans(
            d,
            k,
            niter=n_iter_hint,
            nredo=1,
            spherical=False,
            verbose=False,
            max_points_per_centroid=n // k + 1,
            min_points_per_centroid=1,
            seed=INIT_SEED,
        )
        seconds, _ = _timed(lambda: model.train(X32, init_centroids=init32))
        return Run(seconds, len(model.obj), float(model.obj[-1]), None, "lloyd")

    return fit


def build_peers(n_threads, extras=True):
    """The peers to time, in the order they alternate within a round (ours, theirs, ...)."""
    notes = []
    peers = [
        Peer("ours_auto", "ours auto", _ours("auto", "float64", n_threads), True),
        Peer("sklearn_lloyd", "sklearn lloyd", _sklearn("lloyd", n_threads), False),
    ]
    if not extras:
        return peers, notes
    peers += [
        Peer("ours_lloyd", "ours lloyd", _ours("lloyd", "float64", n_threads), True),
        Peer("sklearn_elkan", "sklearn elkan", _sklearn("elkan", n_threads), False),
        Peer("ours_hamerly", "ours hamerly", _ours("hamerly", "float64", n_threads), True),
    ]
    try:
        peers.append(Peer("faiss", "faiss-cpu (float32)", _faiss(n_threads), False))
    except ImportError as error:
        notes.append(f"faiss-cpu skipped: {error}")
    peers.append(Peer("ours_elkan", "ours elkan", _ours("elkan", "float64", n_threads), True))
    peers.append(
        Peer("ours_exponion", "ours exponion", _ours("exponion", "float64", n_threads), True)
    )
    peers.append(Peer("ours_yinyang", "ours yinyang", _ours("yinyang", "float64", n_threads), True))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peers.append(Peer("sklearnex", "sklearnex lloyd", _sklearnex(n_threads), False))
    except Exception as error:  # noqa: BLE001 - any failure to import means "not available"
        notes.append(f"scikit-learn-intelex skipped: {type(error).__name__}: {error}")
    peers.append(
        Peer("ours_auto_f32", "ours auto float32", _ours("auto", "float32", n_threads), True)
    )
    return peers, notes


# ------------------------------------------------------------------------- first calls (JIT)
def time_first_calls(peers):
    """Time the first fit of every peer in this process on a small problem, then a second one.

    For our algorithms the first call includes numba's compile (or loading it from the cache);
    these calls are kept out of every median.
    """
    from kmeans_core import kmeans_plusplus

    warm = Case(3000, 4, 5, 1.0)
    X64, _ = make_data(warm, seed=1)
    X32 = X64.astype(np.float32)
    out = {}
    start = time.perf_counter()
    init64, _ = kmeans_plusplus(X64, warm.n_clusters, random_state=INIT_SEED)
    out["kmeans_plusplus_float64"] = {"first_s": time.perf_counter() - start}
    start = time.perf_counter()
    kmeans_plusplus(X32, warm.n_clusters, random_state=INIT_SEED)
    out["kmeans_plusplus_float32"] = {"first_s": time.perf_counter() - start}
    init32 = init64.astype(np.float32)
    for peer in peers:
        first = peer.fit(X64, X32, init64, init32, warm, 300, 20)
        second = peer.fit(X64, X32, init64, init32, warm, 300, 20)
        out[peer.key] = {"first_s": first.seconds, "second_s": second.seconds}
    return out


# ------------------------------------------------------------------------------- one case
def _rel(a, b):
    return abs(a - b) / abs(b) if b else abs(a - b)


def run_case(case: Case, peers, repeats: int, log=print, short_case_repeats=SHORT_CASE_REPEATS):
    """Time every peer on one case, alternating them within each round.

    Returns
    -------
    dict
        The case, each peer's times, median, iterations, inertia and agreement with
        scikit-learn's Lloyd.
    """
    from kmeans_core import kmeans_plusplus

    X64, cluster_std = make_data(case)
    X32 = X64.astype(np.float32)
    init64, _ = kmeans_plusplus(X64, case.n_clusters, random_state=INIT_SEED)
    init64 = np.ascontiguousarray(init64)
    init32 = init64.astype(np.float32)
    n_repeats = min(repeats, case.max_repeats or repeats)
    for peer in peers:
        peer.runs = []
    n_iter_sklearn = None
    round_index = 0
    while round_index < n_repeats:
        round_start = time.perf_counter()
        for peer in peers:
            hint = n_iter_sklearn or case.max_iter
            run = peer.fit(X64, X32, init64, init32, case, case.max_iter, hint)
            if peer.key == "sklearn_lloyd":
                n_iter_sklearn = run.n_iter
            # Keep the labels of the first round only: the fits are deterministic.
            if round_index > 0:
                run.labels = None
            peer.runs.append(run)
            log(
                f"  {case.name} round {round_index + 1}/{n_repeats} {peer.label:<20} "
                f"{run.seconds:8.3f} s  {run.n_iter:4d} it"
            )
        # Short cases are the noisiest on a shared machine and cost little: more rounds.
        if round_index == 0 and time.perf_counter() - round_start < SHORT_ROUND_S:
            n_repeats = max(n_repeats, short_case_repeats)
        round_index += 1

    reference = next(p for p in peers if p.key == "sklearn_lloyd").runs[0]
    result = {
        "case": case.name,
        "n_samples": case.n_samples,
        "n_features": case.n_features,
        "n_clusters": case.n_clusters,
        "overlap": case.overlap,
        "cluster_std": cluster_std,
        "max_iter": case.max_iter,
        "capped": case.max_iter < 300,
        "repeats": n_repeats,
        "peers": {},
    }
    for peer in peers:
        first = peer.runs[0]
        times = [r.seconds for r in peer.runs]
        median = statistics.median(times)
        entry = {
            "label": peer.label,
            "times_s": times,
            "median_s": median,
            "n_iter": first.n_iter,
            "per_iter_s": median / max(first.n_iter, 1),
            "inertia": first.inertia,
            "algorithm": first.algorithm,
            "inertia_rel_diff_vs_sklearn": _rel(first.inertia, reference.inertia),
        }
        if first.labels is not None:
            entry["labels_equal_sklearn"] = bool(np.array_equal(first.labels, reference.labels))
        if peer.ours and peer.key != "ours_auto_f32":
            entry["agrees_with_sklearn"] = bool(
                entry["inertia_rel_diff_vs_sklearn"] <= INERTIA_RTOL
                and entry.get("labels_equal_sklearn", False)
                and first.n_iter == reference.n_iter
            )
        result["peers"][peer.key] = entry
    _add_ratios(result)
    return result


def _add_ratios(result):
    peers = result["peers"]
    ours = peers["ours_auto"]
    result["ratio_sklearn"] = peers["sklearn_lloyd"]["median_s"] / ours["median_s"]
    if "sklearnex" in peers:
        result["ratio_sklearnex"] = peers["sklearnex"]["median_s"] / ours["median_s"]
    if "sklearn_elkan" in peers:
        result["ratio_sklearn_elkan"] = peers["sklearn_elkan"]["median_s"] / ours["median_s"]
    if "faiss" in peers:
        faiss_run = peers["faiss"]
        result["ratio_faiss_per_iter"] = faiss_run["per_iter_s"] / ours["per_iter_s"]
        # Same number of iterations on both sides when ours ran as many as sklearn (parity).
        result["ratio_faiss_total"] = faiss_run["median_s"] / ours["median_s"]
        if "ours_auto_f32" in peers:
            result["ratio_faiss_per_iter_f32"] = (
                faiss_run["per_iter_s"] / peers["ours_auto_f32"]["per_iter_s"]
            )
    algorithms = {a: peers[f"ours_{a}"]["median_s"] for a in OUR_ALGORITHMS if f"ours_{a}" in peers}
    if algorithms:
        result["fastest_ours"] = min(algorithms, key=algorithms.get)


def geometric_mean(values):
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def summarize(results):
    """Geometric means of the ratios and the cases that miss the targets."""
    summary = {
        "geomean_ratio_sklearn": geometric_mean([r["ratio_sklearn"] for r in results]),
        "cases_below_1_5x_sklearn": [r["case"] for r in results if r["ratio_sklearn"] < 1.5],
    }
    for key in (
        "ratio_sklearnex",
        "ratio_sklearn_elkan",
        "ratio_faiss_per_iter",
        "ratio_faiss_total",
        "ratio_faiss_per_iter_f32",
    ):
        values = [r[key] for r in results if key in r]
        if values:
            summary[f"geomean_{key}"] = geometric_mean(values)
            summary[f"cases_slower_than_peer_{key}"] = [
                r["case"] for r in results if r.get(key, 2.0) < 1.0
            ]
    summary["all_agree_with_sklearn"] = all(
        p.get("agrees_with_sklearn", True) for r in results for p in r["peers"].values()
    )
    return summary


# ------------------------------------------------------------------------------ reporting
def machine_info(n_threads):
    import numba

    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": n_threads,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "engine_commit": _engine_commit(),
    }
    # Distribution versions: sklearnex's __version__ is a placeholder (2199.9.9).
    for key, distribution in (
        ("sklearn", "scikit-learn"),
        ("faiss", "faiss-cpu"),
        ("sklearnex", "scikit-learn-intelex"),
    ):
        try:
            info[key] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            info[key] = None
    return info


def _engine_commit():
    """The repository's commit, marked dirty when kmeans_core has uncommitted changes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "kmeans_core"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + (" (kmeans_core modified)" if dirty else "")


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _s(value):
    return "-" if value is None else (f"{value:.3f}" if value < 10 else f"{value:.1f}")


def _x(value):
    return "-" if value is None else f"{value:.2f}x"


def to_markdown(report):
    """The results as Markdown tables (what README.md shows)."""
    results, summary = report["cases"], report["summary"]
    lines = [
        f"Machine: {report['machine']['processor']}, {report['machine']['cpu_count']} cores,"
        f" {report['machine']['threads']} threads for every peer, engine at commit "
        f"{report['machine'].get('engine_commit')}. Times are medians of "
        f"{report['settings']['repeats']} alternated repeats ({SHORT_CASE_REPEATS} for "
        f"cases whose first round takes under {SHORT_ROUND_S:.0f} s; fewer where noted), "
        "seconds.",
        "",
    ]
    lines += [
        "| case n×d×k | iters sklearn / ours | ours auto (s) [algorithm] | sklearn lloyd (s)"
        " | **sklearn / ours** | inertia 1e-9 + labels equal | sklearnex (s) | "
        "sklearnex / ours | faiss s/iter | ours s/iter (f64 / f32) | faiss / ours per iter "
        "(f64 / f32) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r["peers"]
        ours, sk = p["ours_auto"], p["sklearn_lloyd"]
        ex, fa, f32 = p.get("sklearnex"), p.get("faiss"), p.get("ours_auto_f32")
        note = f" (max_iter={r['max_iter']}, {r['repeats']} rep.)" if r["capped"] else ""
        agree = (
            "yes"
            if ours.get("agrees_with_sklearn")
            else (
                f"no (rel {ours['inertia_rel_diff_vs_sklearn']:.1e}, "
                f"labels {'=' if ours.get('labels_equal_sklearn') else '≠'})"
            )
        )
        if max(r.get("load_average_1min", [0.0])) > LOADED_MACHINE:
            note += " ⚠"
        lines.append(
            f"| {r['case']}{note} | {sk['n_iter']} / {ours['n_iter']} | {_s(ours['median_s'])} "
            f"[{ours['algorithm']}] | {_s(sk['median_s'])} | **{_x(r['ratio_sklearn'])}** | "
            f"{agree} | {_s(ex['median_s']) if ex else '-'} | {_x(r.get('ratio_sklearnex'))} | "
            f"{_s(fa['per_iter_s'] * 1000) + ' ms' if fa else '-'} | "
            f"{_s(ours['per_iter_s'] * 1000)} / {_s(f32['per_iter_s'] * 1000) if f32 else '-'} ms"
            f" | {_x(r.get('ratio_faiss_per_iter'))} / {_x(r.get('ratio_faiss_per_iter_f32'))} |"
        )
    if any(max(r.get("load_average_1min", [0.0])) > LOADED_MACHINE for r in results):
        lines += [
            "",
            f"⚠ the 1-minute load average exceeded {LOADED_MACHINE:g} (other "
            "processes were running) during this case: its times are less reliable.",
        ]
    lines += [
        "",
        f"Geometric mean of sklearn / ours: **{_x(summary['geomean_ratio_sklearn'])}**;"
        f" cases below 1.5x: {', '.join(summary['cases_below_1_5x_sklearn']) or 'none'}.",
    ]
    for key, name in (
        ("ratio_sklearnex", "sklearnex / ours"),
        ("ratio_faiss_per_iter", "faiss / ours per iteration (ours float64)"),
        ("ratio_faiss_per_iter_f32", "faiss / ours per iteration (ours float32)"),
    ):
        if f"geomean_{key}" in summary:
            slower = summary[f"cases_slower_than_peer_{key}"]
            lines.append(
                f"Geometric mean of {name}: {_x(summary[f'geomean_{key}'])}; cases "
                f"where ours is slower: {', '.join(slower) or 'none'}."
            )
    lines.append(
        f"Every algorithm of ours agrees with sklearn's Lloyd (labels, iterations, "
        f"inertia to 1e-9): {'yes' if summary['all_agree_with_sklearn'] else 'NO'}."
    )

    lines += [
        "",
        "Per algorithm (float64, median s) — the figures behind the `auto` rule:",
        "",
        "| case n×d×k | iters | ours lloyd | ours hamerly | ours exponion | ours yinyang | "
        "ours elkan | fastest | auto picked | sklearn elkan |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        p = r["peers"]
        cells = [
            _s(p[f"ours_{a}"]["median_s"]) if f"ours_{a}" in p else "-" for a in OUR_ALGORITHMS
        ]
        ske = p.get("sklearn_elkan")
        lines.append(
            f"| {r['case']} | {p['sklearn_lloyd']['n_iter']} | {' | '.join(cells)} | "
            f"{r.get('fastest_ours', '-')} | {p['ours_auto']['algorithm']} | "
            f"{_s(ske['median_s']) if ske else '-'} |"
        )

    first = report.get("first_calls", {})
    if first:
        lines += [
            "",
            "First call in the process (3000×4, k=5; numba compile or cache load), "
            "never counted in the medians:",
            "",
            "| what | first call (s) | second (s) |",
            "|---|---|---|",
        ]
        for key, value in first.items():
            lines.append(f"| {key} | {_s(value['first_s'])} | {_s(value.get('second_s'))} |")
    if report.get("notes"):
        lines += [""] + [f"Note: {note}" for note in report["notes"]]
    return "\n".join(lines) + "\n"


def write_report(report, stem):
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(to_markdown(report))


# ---------------------------------------------------------------------------------- main
def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare fit",
        description="Time KMeans.fit against scikit-learn, scikit-learn-intelex and faiss-cpu.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny subset that checks the harness in under a minute",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        metavar="NAME",
        help=f"cases by name, e.g. {CASES[1].name}; all: {' '.join(c.name for c in CASES)}",
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats per peer (default 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="threads for every peer (default: all cores)",
    )
    parser.add_argument(
        "--no-extras", action="store_true", help="only ours auto against sklearn lloyd"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1.")
    return args


def select_cases(args):
    if args.quick:
        return QUICK_CASES
    if not args.cases:
        return CASES
    # A full case wins over a quick one of the same name (the quick ones are cut down).
    by_name = {c.name.lower(): c for c in QUICK_CASES + CASES}
    unknown = [name for name in args.cases if name.lower() not in by_name]
    if unknown:
        raise SystemExit(
            f"Unknown case(s) {', '.join(unknown)}; choose among "
            f"{', '.join(c.name for c in CASES)}."
        )
    return [by_name[name.lower()] for name in args.cases]


def main(argv=None) -> int:
    args = parse_args(argv)
    cases = select_cases(args)
    repeats = 1 if args.quick and args.repeats == 3 else args.repeats
    # One current result: a full run rewrites results/fit.*; --quick only checks the harness.
    stem = None if args.quick else "fit"

    def log(message):
        print(message, flush=True)

    started = time.perf_counter()
    peers, notes = build_peers(args.threads, extras=not args.no_extras)
    log(f"peers: {', '.join(p.label for p in peers)}")
    first_calls = time_first_calls(peers)
    log("first calls: " + ", ".join(f"{k} {v['first_s']:.2f}s" for k, v in first_calls.items()))
    report = {
        "machine": machine_info(args.threads),
        "settings": {
            "tol": TOL,
            "repeats": repeats,
            "init": "kmeans_core.kmeans_plusplus"
            f" (random_state={INIT_SEED}), same array for every peer",
            "n_init": 1,
            "data_seed": DATA_SEED,
            "quick": args.quick,
        },
        "first_calls": first_calls,
        "notes": notes,
        "cases": [],
    }
    for case in cases:
        log(f"case {case.name} (max_iter={case.max_iter})")
        load_before = os.getloadavg()[0]
        result = run_case(
            case,
            peers,
            repeats,
            log=log,
            short_case_repeats=repeats if args.quick else SHORT_CASE_REPEATS,
        )
        # Other processes on the machine slow every peer, OpenMP ones most: keep the load.
        result["load_average_1min"] = [load_before, os.getloadavg()[0]]
        report["cases"].append(result)
        report["summary"] = summarize(report["cases"])
        report["elapsed_s"] = time.perf_counter() - started
        if stem is not None:  # after every case, so a partial run still leaves results
            write_report(report, stem)
        ours = result["peers"]["ours_auto"]
        log(
            f"  -> sklearn/ours {result['ratio_sklearn']:.2f}x, auto={ours['algorithm']}, "
            f"agrees={ours.get('agrees_with_sklearn')}"
        )
    log(to_markdown(report))
    written = f"; wrote {RESULTS_DIR / stem}.json/.md" if stem is not None else ""
    log(f"elapsed {time.perf_counter() - started:.0f} s{written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
