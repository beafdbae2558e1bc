"""How many segments each k rule chooses, on every data set of data/ and on data without clusters.

``python -m benchmarks.bench_k_rules [--sets mall,wholesale,...]`` (or ``python -m
benchmarks.compare k-rules``) writes ``benchmarks/results/k_rules.json`` and
``benchmarks/results/k_rules.md`` (``--sets`` measures those again and keeps the other rows).

Each data set goes through :func:`segmentation.pipeline.segment` as ``segment run`` would
(columns, log transform, scaling, the k sweep with its restarts), with ``k_rule="gap"`` so
that the gap statistic is computed; then every rule of :func:`segmentation.select_k.choose_k`
chooses from the same sweep. The Fränti sets are tried from k=2 to five beyond their true k
(A2 to 40, A3 to 55), the customer data from 2 to 10 (``segment run``'s default). For the
customer data the table adds the lowest bootstrap stability of the segments at the k that
silhouette, elbow and gap choose (clusterboot, 50 replicates, as a run computes it).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
RESULTS = ROOT / "benchmarks" / "results"

#: Fränti & Sieranoja sets with their true number of clusters (data/franti/README.md).
FRANTI = {
    "s1": 15, "s2": 15, "s3": 15, "s4": 15, "a1": 20, "a2": 35, "a3": 50,
    "unbalance": 8, "dim032": 16,
}  # fmt: skip
CUSTOMERS = ("mall", "mall income+spending", "wholesale", "online retail RFM")
NO_CLUSTERS = ("gaussian blob", "uniform square")


def dataset(name: str):
    """(table, RunConfig options, true k or None) of a data set."""
    from segmentation.config import RunConfig
    from segmentation.io import read_table
    from segmentation.pipeline import RFM_FEATURES
    from segmentation.rfm import transactions_to_rfm

    if name == "mall":
        return read_table(DATA / "mall_customers.csv"), {}, None
    if name == "mall income+spending":
        features = ["Annual Income (k$)", "Spending Score (1-100)"]
        return read_table(DATA / "mall_customers.csv"), {"features": features}, None
    if name == "wholesale":
        return read_table(DATA / "wholesale_customers.csv"), {}, None
    if name == "online retail RFM":
        transactions = read_table(DATA / "online_retail.parquet")
        table, _ = transactions_to_rfm(transactions, **RunConfig().rfm_options())
        features = list(RFM_FEATURES)
        options = {"features": features, "id_column": "CustomerID", "log_transform": features}
        return table, options, None
    rng = np.random.default_rng(0)
    if name == "gaussian blob":
        return pd.DataFrame(rng.normal(size=(1000, 2)), columns=["x", "y"]), {}, 1
    if name == "uniform square":
        return pd.DataFrame(rng.uniform(size=(1000, 2)), columns=["x", "y"]), {}, 1
    X = np.loadtxt(DATA / "franti" / f"{name}.txt")
    columns = [f"x{i}" for i in range(X.shape[1])]
    k = FRANTI[name]
    high = {"a2": 40, "a3": 55}.get(name, max(10, k + 5))
    return pd.DataFrame(X, columns=columns), {"k_range": (2, high)}, k


def _min_stability(seg, k: int | None) -> float | None:
    from kmeans_core import KMeans
    from segmentation.stability import bootstrap_stability

    if k is None or k < 2:
        return None
    labels = KMeans(k, n_init=seg.choice.n_init, random_state=0).fit(seg.X).labels_
    # n_init None: the restarts a run gives each replicate
    result = bootstrap_stability(seg.X, labels, k, n_boot=50, seed=0)
    return round(float(result.mean.min()), 3)


def measure(name: str) -> dict:
    from segmentation.config import RunConfig
    from segmentation.pipeline import segment
    from segmentation.select_k import K_RULES, choose_k, gap_choice

    data, options, truth = dataset(name)
    config = RunConfig(k_rule="gap", bootstrap=0, plots=False, report=False, **options)
    start = time.perf_counter()
    seg = segment(data, config)
    seconds = time.perf_counter() - start
    rows, gap = seg.choice.sweep, seg.choice.gap
    gaps = [{"k": 1, **gap["k1"]}]
    gaps += [{"k": r["k"], "gap": r["gap"], "gap_se": r["gap_se"]} for r in rows]
    chosen = {rule: choose_k(rows, rule, gaps)[0] for rule in K_RULES}
    best = max(rows, key=lambda row: row["silhouette"])
    result = {
        "data": name,
        "n": int(seg.X.shape[0]),
        "d": int(seg.X.shape[1]),
        "k_range": [rows[0]["k"], rows[-1]["k"]],
        "truth": truth,
        "chosen": chosen,
        "gap_rule_k": gap_choice(gaps),  # 1 possible; the "gap" rule then runs k=2
        "best_silhouette": round(best["silhouette"], 3),
        "timings": {stage: round(s, 3) for stage, s in seg.timings.items()},
        "seconds": round(seconds, 2),
        "gap_curve": [[g["k"], round(g["gap"], 4), round(g["gap_se"], 4)] for g in gaps],
    }
    if name in CUSTOMERS:
        by_rule = {"silhouette": chosen["silhouette"], "elbow": chosen["elbow"]}
        by_rule["gap"] = result["gap_rule_k"]
        result["min_stability"] = {rule: _min_stability(seg, k) for rule, k in by_rule.items()}
    return result


def _markdown(results: list[dict]) -> str:
    lines = [
        "# k rules on the data sets of data/",
        "",
        "`python -m benchmarks.compare k-rules`; every rule chooses from the same k sweep "
        "(`segment run`'s columns, scaling, restarts; the gap statistic with 10 references "
        "uniform over the principal-component box). gap*: Tibshirani's rule itself (1 = no "
        "structure; the `gap` rule then runs the smallest k tried). Stability: the lowest "
        "segment's mean bootstrap Jaccard at the k of silhouette / elbow / gap (50 replicates).",
        "",
        "| data | n x d | k tried | truth | silhouette | elbow | gap* | **auto** | best sil. "
        "| stability at sil / elbow / gap |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r["chosen"]
        stability = r.get("min_stability")
        cell = (
            " / ".join("–" if v is None else f"{v:.2f}" for v in stability.values())
            if (stability)
            else ""
        )
        lines.append(
            f"| {r['data']} | {r['n']:,} x {r['d']} | {r['k_range'][0]}-{r['k_range'][1]} "
            f"| {r['truth'] if r['truth'] is not None else '–'} | {c['silhouette']} "
            f"| {c['elbow']} | {r['gap_rule_k']} | **{c['auto']}** | {r['best_silhouette']:.3f} "
            f"| {cell} |"
        )
    lines += [
        "",
        f"Machine: {platform.processor() or platform.machine()}, shared with other jobs; "
        "seconds per data set are in k_rules.json (`timings`: sweep and gap stages).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_k_rules")
    everything = [*CUSTOMERS, *FRANTI, *NO_CLUSTERS]
    parser.add_argument("--sets", default=",".join(everything), help="comma-separated names")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.sets.split(",") if name.strip()]
    # A subset of the sets replaces those rows of the current results and keeps the others.
    path = RESULTS / "k_rules.json"
    kept = {r["data"]: r for r in json.loads(path.read_text())} if path.is_file() else {}
    for name in names:
        r = kept[name] = measure(name)
        print(f"{name}: {r['chosen']} gap*={r['gap_rule_k']} truth={r['truth']}", flush=True)
    results = [kept[name] for name in everything if name in kept]
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "k_rules.md").write_text(_markdown(results))
    print(_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
