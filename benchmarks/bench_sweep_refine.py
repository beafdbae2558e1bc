"""The segmentation k sweep: its k-means++ restarts against fewer starts with ``refine="swap"``.

For each data set the sweep's own features are taken (``segmentation.pipeline.segment`` is run
with its defaults up to the sweep), then every k of the default range is fitted the sweep's way
(``select_k.choose_n_init`` restarts) and with 1, 3 and 10 starts plus ``refine="swap"``. Per
option: the whole range's wall time (median of ``--repeats``, options alternated, one thread
as the sweep's small fits use) and, per k, the inertia against the restarts'. The toolkit
would switch where an option is never higher and takes less time.

``python -m benchmarks.compare sweep-refine [--repeats 3] [--big]`` writes
``benchmarks/results/sweep_refine.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SWAP_STARTS = (1, 3, 10)
#: Relative inertia differences below this are rounding: "the same".
SAME = 1e-9


class _Captured(Exception):
    """Raised by the stand-in sweep once it has the features."""


def sweep_inputs(big=False):
    """``{name: (X, ks, n_init, seed)}`` as ``segment`` hands them to its sweep."""
    import segmentation.pipeline as pipeline
    from segmentation.config import RunConfig
    from segmentation.io import read_table
    from segmentation.rfm import transactions_to_rfm
    from segmentation.synthetic import make_customers

    captured = {}

    def capture(X, ks, **options):
        captured["inputs"] = (X, list(ks), options["n_init"], options["seed"])
        raise _Captured

    def inputs_of(data, config):
        real = pipeline.fit_sweep
        pipeline.fit_sweep = capture
        try:
            pipeline.segment(data, config)
        except _Captured:
            return captured["inputs"]
        finally:
            pipeline.fit_sweep = real

    rfm_features = list(pipeline.RFM_FEATURES)
    rfm, _ = transactions_to_rfm(read_table(ROOT / "data" / "online_retail.parquet"))
    cases = {
        "synthetic (default, 400)": (make_customers(400, seed=0), RunConfig()),
        "mall_customers.csv": (read_table(ROOT / "data" / "mall_customers.csv"), RunConfig()),
        "wholesale_customers.csv": (
            read_table(ROOT / "data" / "wholesale_customers.csv"),
            RunConfig(),
        ),
        "online_retail.parquet (RFM)": (
            rfm,
            RunConfig(features=rfm_features, id_column="CustomerID", log_transform=rfm_features),
        ),
    }
    if big:
        cases["synthetic 100,000"] = (make_customers(100_000, seed=0), RunConfig())
    return {name: inputs_of(data, config) for name, (data, config) in cases.items()}


def run_case(X, ks, n_init, seed, repeats):
    from kmeans_core import KMeans

    options = {f"{n_init} restarts": (n_init, None)}
    options.update({f"{s} start(s) + swap": (s, "swap") for s in SWAP_STARTS})

    def fit_all(starts, refine):
        return [
            KMeans(k, n_init=starts, refine=refine, random_state=seed, n_threads=1).fit(X)
            for k in ks
        ]

    for starts, refine in options.values():  # warm-up
        KMeans(3, n_init=starts, refine=refine, random_state=seed).fit(X)
    times = {name: [] for name in options}
    fits = {}
    for _ in range(repeats):
        for name, (starts, refine) in options.items():
            started = time.perf_counter()
            fits[name] = fit_all(starts, refine)
            times[name].append(time.perf_counter() - started)
    base_name = f"{n_init} restarts"
    base = [km.inertia_ for km in fits[base_name]]
    result = {"n_samples": X.shape[0], "n_features": X.shape[1], "ks": ks, "options": {}}
    for name in options:
        relative = [(km.inertia_ - b) / b for km, b in zip(fits[name], base, strict=True)]
        result["options"][name] = {
            "seconds": statistics.median(times[name]),
            "relative_inertia": relative,
            "higher_at": [k for k, r in zip(ks, relative, strict=True) if r > SAME],
            "lower_at": [k for k, r in zip(ks, relative, strict=True) if r < -SAME],
        }
    seconds = result["options"][base_name]["seconds"]
    for option in result["options"].values():
        option["time_ratio"] = option["seconds"] / seconds
        option["qualifies"] = not option["higher_at"] and option["time_ratio"] < 1
    return result


def to_markdown(report):
    lines = [
        "## The k sweep: restarts or swap",
        "",
        f"`python -m benchmarks.compare sweep-refine --repeats {report['repeats']}"
        + (" --big" if report["big"] else "")
        + "` (`bench_sweep_refine.py`): the sweep's features of each data set, k over the "
        "default range, fitted with the sweep's k-means++ restarts and with 1, 3 or 10 starts "
        f'plus `refine="swap"`; one thread; median of {report["repeats"]} (options '
        f"alternated); load average {report['load_average'][0]:.1f} at start, "
        f"{report['load_average'][1]:.1f} at the end (the machine was shared).",
        "",
        "| data (n x d) | option | seconds (ratio) | inertia higher than the restarts at k "
        "(relative) | lower at k |",
        "|---|---|---:|---|---|",
    ]
    for name, case in report["cases"].items():
        for option, o in case["options"].items():
            higher = ", ".join(
                f"{k} ({r:+.1e})"
                for k, r in zip(case["ks"], o["relative_inertia"], strict=True)
                if r > SAME
            )
            lower = ", ".join(str(k) for k in o["lower_at"])
            lines.append(
                f"| {name} ({case['n_samples']} x {case['n_features']}) | {option} | "
                f"{o['seconds']:.2f} ({o['time_ratio']:.2f}x) | {higher or 'none'} | "
                f"{lower or 'none'} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare sweep-refine",
        description="The segmentation k sweep: restarts against fewer starts + refine='swap'.",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big", action="store_true", help="also 100,000 synthetic customers")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # degenerate fits at large k are not the subject here
    load_before = os.getloadavg()[0]
    cases = {}
    for name, (X, ks, n_init, seed) in sweep_inputs(args.big).items():
        cases[name] = run_case(X, ks, n_init, seed, args.repeats)
        print(f"{name}: done", flush=True)
    report = {
        "repeats": args.repeats,
        "big": args.big,
        "load_average": [load_before, os.getloadavg()[0]],
        "cases": cases,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for suffix, text in (
        (".json", json.dumps(report, indent=1) + "\n"),
        (".md", to_markdown(report)),
    ):
        path = RESULTS_DIR / f"sweep_refine{suffix}"
        tmp = path.with_suffix(suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
