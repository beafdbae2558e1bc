"""The whole ``segment run``, timed: 100,000 synthetic customers, and mall customers against an
equivalent scikit-learn script.

``python -m benchmarks.bench_segment [--n 100000] [--repeats 3] [--big-repeats 1]
[--update-readme]`` (or ``python -m benchmarks.compare segment ...``) writes
``benchmarks/results/segment.json`` and ``benchmarks/results/segment.md``; ``--update-readme``
also replaces the "## segment run" section of ``benchmarks/README.md`` with the table.

1. **100k customers.** ``make_customers(n, seed=0)`` written to a CSV, then ``segment run
   --input that.csv --k-range 2-10`` in this process (numba already compiled by a warm-up run
   on 400 customers), timed end to end, with the pipeline's own per-stage timings; and once
   more as a fresh ``segment`` process (imports and numba's on-disk cache included).
2. **Mall customers, warm.** ``segment run --input mall_customers.csv`` (all numeric columns,
   k 2-10, every plot and the report) against a scikit-learn script doing the equivalent core
   job on the same data: read the CSV, ``StandardScaler``, ``KMeans`` for k = 2..10 with the
   same number of k-means++ restarts as ours, ``silhouette_score`` for each, then ``PCA`` to 2-D
   and one scatter plot saved as PNG. Both run after a warm-up in this process; the median of
   ``--repeats`` runs is reported, alternating ours and theirs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "benchmarks" / "README.md"
MALL = ROOT / "data" / "mall_customers.csv"
SECTION = "## segment run"


def _segment(argv: list[str]) -> dict:
    """Run the CLI in this process with --json and return the summary it printed."""
    from contextlib import redirect_stdout

    from segmentation.cli import main

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main([*argv, "--json"])
    if code != 0:
        raise RuntimeError(f"segment {' '.join(argv)} exited with {code}")
    return json.loads(buffer.getvalue())


def bench_large(n: int, repeats: int, workdir: Path) -> dict:
    from segmentation.synthetic import make_customers

    data_path = workdir / f"customers_{n}.csv"
    make_customers(n, seed=0).to_csv(data_path, index=False)
    # Warm-up: compile (or load from cache) every numba kernel the run uses.
    _segment(["run", "--k-range", "2-4", "--out", str(workdir / "warmup")])

    totals, stages_runs, summary = [], [], None
    for i in range(repeats):
        start = time.perf_counter()
        summary = _segment(
            [
                "run",
                "--input",
                str(data_path),
                "--k-range",
                "2-10",
                "--out",
                str(workdir / f"big{i}"),
            ]
        )
        totals.append(time.perf_counter() - start)
        stages_runs.append(summary["timings"])
    stages = {name: statistics.median(run[name] for run in stages_runs) for name in stages_runs[0]}

    # A fresh process: Python start, imports, numba's cache loaded from disk. The first one
    # may have to compile (a kernel's source changed since the cache was written); the second
    # one shows what a user pays on every later run.
    process_totals = []
    for attempt in range(2):
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "segmentation.cli",
                "run",
                "--input",
                str(data_path),
                "--k-range",
                "2-10",
                "--out",
                str(workdir / f"big_process{attempt}"),
            ],
            check=True,
            capture_output=True,
        )
        process_totals.append(time.perf_counter() - start)
    return {
        "n_customers": n,
        "k_range": [2, 10],
        "chosen_k": summary["k"],
        "n_init": summary["k_selection"]["n_init"],
        "silhouette": summary["k_selection"]["silhouette"],
        "repeats": repeats,
        "total_s": statistics.median(totals),
        "totals_s": totals,
        "stages_s": stages,
        "first_fresh_process_s": process_totals[0],
        "fresh_process_total_s": process_totals[1],
    }


def sklearn_script(path: Path, n_init: int, out_png: Path, seed: int = 0) -> int:
    """The equivalent scikit-learn job: scale, sweep k with silhouette, PCA plot. Returns k."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    data = pd.read_csv(path)
    features = data[["Age", "Annual Income (k$)", "Spending Score (1-100)"]]
    X = StandardScaler().fit_transform(features)
    best_k, best_sil, best_labels = None, -2.0, None
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(X)
        sil = silhouette_score(X, labels)
        if sil > best_sil:
            best_k, best_sil, best_labels = k, sil, labels
    coords = PCA(n_components=2).fit_transform(X)
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.scatter(coords[:, 0], coords[:, 1], c=best_labels, cmap="tab10", s=15)
    ax.set_title(f"k={best_k}")
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return best_k


def bench_mall(repeats: int, workdir: Path) -> dict:
    from segmentation.select_k import choose_n_init

    n_init = choose_n_init(200)
    argv = ["run", "--input", str(MALL), "--k-range", "2-10"]
    # Warm-up of both, so that neither pays for imports or compilation.
    _segment([*argv, "--out", str(workdir / "mall_warm")])
    sklearn_script(MALL, n_init, workdir / "sk_warm.png")
    ours, theirs, stages_runs, summary = [], [], [], None
    for i in range(repeats):
        start = time.perf_counter()
        summary = _segment([*argv, "--out", str(workdir / f"mall{i}")])
        ours.append(time.perf_counter() - start)
        stages_runs.append(summary["timings"])
        start = time.perf_counter()
        sk_k = sklearn_script(MALL, n_init, workdir / f"sk{i}.png")
        theirs.append(time.perf_counter() - start)
    stages = {name: statistics.median(run[name] for run in stages_runs) for name in stages_runs[0]}
    return {
        "data": "mall_customers.csv (200 customers; Age, Annual Income, Spending Score)",
        "n_init": n_init,
        "repeats": repeats,
        "ours_s": statistics.median(ours),
        "ours_runs_s": ours,
        "ours_stages_s": stages,
        "ours_k": summary["k"],
        "sklearn_s": statistics.median(theirs),
        "sklearn_runs_s": theirs,
        "sklearn_k": sk_k,
        "sklearn_over_ours": statistics.median(theirs) / statistics.median(ours),
    }


def machine() -> dict:
    import numba
    import sklearn

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scikit-learn": sklearn.__version__,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def markdown(results: dict, command: str) -> str:
    large, mall, info = results["large"], results["mall"], results["machine"]
    lines = [
        SECTION,
        "",
        f"`{command}` (`bench_segment.py`) writes `results/segment.json` and "
        "`results/segment.md`. Both measurements run the real CLI (`segmentation.cli.main`) "
        "with every output: CSV, summary, model, every plot and the HTML report.",
        "",
        f"Machine: {info['cpus']} cores, Python {info['python']}, numpy {info['numpy']}, "
        f"numba {info['numba']}, scikit-learn {info['scikit-learn']}; load average at start "
        f"{', '.join(f'{v:.1f}' for v in info['load_average_at_start'] or [])} "
        "(other work was running on the machine).",
        "",
        f"### {large['n_customers']:,} synthetic customers, `--k-range 2-10`",
        "",
        f"Chosen k = {large['chosen_k']}; {large['n_init']} k-means++ restarts per k; "
        f"silhouette {large['silhouette']}. Median of {large['repeats']} in-process run(s) "
        "after a warm-up (numba compiled); a fresh `segment` process adds Python start-up, "
        "imports and loading numba's cache.",
        "",
        "| stage | seconds |",
        "|---|---:|",
    ]
    for name, seconds in large["stages_s"].items():
        lines.append(f"| {name} | {seconds:.2f} |")
    lines += [
        f"| **total, in process** | **{large['total_s']:.2f}** |",
        f"| total, fresh `segment` process (numba cache filled) | "
        f"{large['fresh_process_total_s']:.2f} |",
        f"| total, first fresh process (cache possibly cold) | "
        f"{large['first_fresh_process_s']:.2f} |",
        "",
        "### Mall customers, warm, against an equivalent scikit-learn script",
        "",
        f"Ours: `segment run --input mall_customers.csv --k-range 2-10` (every output). "
        f"scikit-learn: read CSV, `StandardScaler`, `KMeans(n_init={mall['n_init']})` for "
        "k = 2..10 with `silhouette_score`, `PCA` to 2-D and one scatter plot. Median of "
        f"{mall['repeats']} alternating runs after a warm-up of each.",
        "",
        "| | seconds | chosen k |",
        "|---|---:|---:|",
        f"| ours (whole `segment run`) | {mall['ours_s']:.2f} | {mall['ours_k']} |",
        f"| scikit-learn script | {mall['sklearn_s']:.2f} | {mall['sklearn_k']} |",
        f"| **scikit-learn / ours** | **{mall['sklearn_over_ours']:.2f}x** | |",
        "",
        "Our stages on mall customers (median seconds): "
        + ", ".join(f"{name} {seconds:.2f}" for name, seconds in mall["ours_stages_s"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def update_readme(section_text: str) -> None:
    """Replace the "## segment run" section of the README (up to the next "## "), or append it."""
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section_text.rstrip() + "\n\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section_text.rstrip() + "\n"
    README.write_text(text.rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_segment")
    parser.add_argument("--n", type=int, default=100_000, help="synthetic customers (100,000)")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of the mall comparison")
    parser.add_argument("--big-repeats", type=int, default=1, help="repeats of the large run")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    if not MALL.is_file():
        print(f"{MALL} is absent; the mall comparison needs it.", file=sys.stderr)
        return 2
    results = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench_segment_") as tmp:
        workdir = Path(tmp)
        results["large"] = bench_large(args.n, args.big_repeats, workdir)
        print(f"large: {results['large']['total_s']:.2f} s {results['large']['stages_s']}")
        results["mall"] = bench_mall(args.repeats, workdir)
        print(
            f"mall: ours {results['mall']['ours_s']:.2f} s, "
            f"scikit-learn {results['mall']['sklearn_s']:.2f} s"
        )
    command = "python -m benchmarks.bench_segment " + " ".join(argv or sys.argv[1:])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "segment.json").write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results, command.strip())
    (RESULTS / "segment.md").write_text(table)
    if args.update_readme:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
