"""Honest about the data: no structure is said plainly, real clusters are not doubted, and the
k rules on the real data sets of data/ choose what README.md's table says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.config import RunConfig
from segmentation.io import read_table
from segmentation.outputs import summary_of
from segmentation.pipeline import RFM_FEATURES, segment
from segmentation.rfm import transactions_to_rfm
from segmentation.select_k import K_RULES, choose_k

DATA = Path(__file__).resolve().parents[1] / "data"


def customers(X: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(X, columns=[f"feature_{i}" for i in range(X.shape[1])])


# --------------------------------------------------------------------------- no structure


@pytest.mark.parametrize("shape", ["gaussian blob", "uniform square", "gaussian in 5-d"])
def test_data_without_clusters_come_with_warnings(shape):
    rng = np.random.default_rng(7)
    if shape == "gaussian blob":
        X = rng.normal(size=(500, 2)) * [3.0, 1.0]
    elif shape == "uniform square":
        X = rng.uniform(size=(500, 2))
    else:
        X = rng.normal(size=(500, 5))
    seg = segment(customers(X), RunConfig(k_range=(2, 6), bootstrap=20))
    summary = summary_of(seg)
    assert summary["warnings"] == seg.warnings
    assert seg.warnings, (seg.choice.reason, seg.stability.mean)
    assert any("gap statistic" in w or "not to be trusted" in w for w in seg.warnings)


@pytest.mark.parametrize(("name", "k"), [("s1", 15), ("a1", 20)])
def test_well_separated_franti_sets_come_without_warnings(name, k):
    X = np.loadtxt(DATA / "franti" / f"{name}.txt")
    seg = segment(customers(X), RunConfig(k_range=(k - 1, k + 1), bootstrap=20))
    assert seg.k == k
    assert seg.warnings == []
    assert min(seg.stability.mean) >= 0.75


def test_unstable_segments_are_named_in_the_warnings():
    # Two clear groups in five dimensions cut into six: some of the six are not found again.
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(200, 5)), rng.normal(size=(200, 5)) + 8])
    seg = segment(customers(X), RunConfig(k=6, bootstrap=30))
    unstable = seg.stability.unstable
    assert unstable
    sentence = next(w for w in seg.warnings if "not to be trusted" in w)
    for i in unstable:
        assert f"{i} {seg.names[i]} ({seg.stability.mean[i]:.2f})" in sentence
    summary = summary_of(seg)
    for i in unstable:
        assert summary["segments"][i]["stability_label"] == "not to be trusted"


def test_bootstrap_zero_skips_the_stability():
    X = np.random.default_rng(3).normal(size=(80, 2))
    seg = segment(customers(X), RunConfig(k=3, bootstrap=0))
    assert seg.stability is None
    summary = summary_of(seg)
    assert summary["stability"] is None
    assert "stability" not in summary["segments"][0]


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def rfm_table():
    transactions = read_table(DATA / "online_retail.parquet")
    table, _ = transactions_to_rfm(transactions, **RunConfig().rfm_options())
    return table


def rfm_config(**options) -> RunConfig:
    features = list(RFM_FEATURES)
    return RunConfig(features=features, id_column="CustomerID", log_transform=features, **options)


def gaps_of(seg) -> list[dict]:
    """The gap statistic's rows of a run that computed it (k = 1 first)."""
    rows, gap = seg.choice.sweep, seg.choice.gap
    return [
        {"k": 1, **gap["k1"]},
        *({"k": r["k"], "gap": r["gap"], "gap_se": r["gap_se"]} for r in rows),
    ]


def k_by_rule(seg) -> dict[str, int]:
    """What every rule chooses from the run's sweep."""
    return {rule: choose_k(seg.choice.sweep, rule, gaps_of(seg))[0] for rule in K_RULES}


def test_online_retail_rfm_k_by_rule(rfm_table):
    seg = segment(rfm_table, rfm_config(k_rule="gap", bootstrap=0))
    assert k_by_rule(seg) == {"auto": 5, "silhouette": 2, "elbow": 5, "gap": 5}
    auto = segment(rfm_table, rfm_config(bootstrap=0))  # the default rule, end to end
    assert auto.k == 5
    assert auto.choice.reason.startswith("k=5: the inertia elbow and the gap statistic agree")


def test_online_retail_rfm_five_segments_are_stable(rfm_table):
    seg = segment(rfm_table, rfm_config(k=5, bootstrap=20))
    assert all(label in ("stable", "highly stable") for label in seg.stability.labels)
    assert seg.warnings == []


def test_wholesale_customers_k_by_rule():
    data = read_table(DATA / "wholesale_customers.csv")
    seg = segment(data, RunConfig(k_rule="gap", bootstrap=0))
    assert k_by_rule(seg) == {"auto": 2, "silhouette": 2, "elbow": 5, "gap": 2}
    # auto: a silhouette of 0.31 is weak structure; the gap statistic agrees with it on 2.
    reason = choose_k(seg.choice.sweep, "auto", gaps_of(seg))[2]
    assert reason.startswith("k=2: highest silhouette (0.313), and the gap statistic agrees")


def test_mall_customers_income_and_spending_five_segments_without_warnings():
    data = read_table(DATA / "mall_customers.csv")
    config = RunConfig(features=["Annual Income (k$)", "Spending Score (1-100)"], bootstrap=30)
    seg = segment(data, config)
    assert seg.k == 5
    assert seg.choice.gap is None  # silhouette 0.55: reasonable structure, no gap needed
    assert seg.warnings == []
    assert seg.stability.labels == ["highly stable"] * 5
