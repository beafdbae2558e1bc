"""RFM scores (quintiles, 5 best) and the named segments of R's rfm package, on hand-made
scores and on the online-retail transactions; the cross-table of an RFM run."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.cli import main
from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.pipeline import RunConfig, run_rfm
from segmentation.rfm import (
    RFM_OTHERS,
    RFM_SEGMENT_MAP,
    quintile_scores,
    rfm_scores,
    rfm_segment_names,
    transactions_to_rfm,
)

DATA = Path(__file__).resolve().parents[1] / "data"
NAMES = [row[0] for row in RFM_SEGMENT_MAP]


@pytest.fixture(scope="module")
def retail_rfm():
    path = DATA / "online_retail.parquet"
    if not path.is_file():
        pytest.fail(f"real data not available at {path}")
    rfm, _ = transactions_to_rfm(read_table(path))
    return rfm, rfm_scores(rfm)


# --------------------------------------------------------------------------- quintiles


def test_quintile_scores_are_ntile_with_ties_in_row_order():
    # dplyr::ntile(x, 5) on ten values: two per score, ties by position.
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    assert quintile_scores(values).tolist() == [2, 1, 3, 1, 4, 5, 2, 5, 4, 3]
    # Recency: the smallest (most recent) scores 5; of the two 1s the first ranks lower.
    assert quintile_scores([10, 1, 1, 30, 20], higher_is_better=False).tolist() == [3, 4, 5, 1, 2]


def test_quintile_scores_split_unequal_counts_evenly():
    scores = quintile_scores(np.arange(13))
    assert np.bincount(scores)[1:].tolist() == [3, 3, 2, 3, 2]
    assert quintile_scores([7.0]).tolist() == [1]


# --------------------------------------------------------------------------- the map


def test_known_score_triples_get_the_vignettes_names():
    cases = {
        (5, 5, 5): "Champions",
        (4, 4, 4): "Champions",
        (2, 3, 3): "Loyal Customers",
        (5, 1, 1): "New Customers",
        (3, 1, 1): "Promising",
        (5, 2, 3): "Potential Loyalist",
        (2, 2, 2): "Need Attention",
        (2, 1, 2): "About To Sleep",
        (1, 5, 4): "Can't Lose Them",
        (2, 5, 4): "Loyal Customers",  # R 2 is enough for Loyal Customers
        (2, 2, 5): "At Risk",
        (1, 2, 2): "At Risk",
        (1, 1, 2): "Hibernating",
        (5, 4, 1): RFM_OTHERS,  # frequent recent buyer who spends little: no row holds it
        (1, 1, 5): RFM_OTHERS,
    }
    r, f, m = (np.array(column) for column in zip(*cases, strict=True))
    assert rfm_segment_names(r, f, m).tolist() == list(cases.values())


def test_every_score_triple_takes_the_first_row_that_holds_it():
    triples = np.array(list(itertools.product(range(1, 6), repeat=3)))
    names = rfm_segment_names(*triples.T)

    def holds(row, triple):
        return all(lo <= score <= hi for (lo, hi), score in zip(row[1:], triple, strict=True))

    for triple, name in zip(triples, names, strict=True):
        first = next((row[0] for row in RFM_SEGMENT_MAP if holds(row, triple)), RFM_OTHERS)
        assert name == first, triple
    # Every name can be reached, except "Lost": the vignette gives it Hibernating's ranges.
    assert set(names) == (set(NAMES) - {"Lost"}) | {RFM_OTHERS}


# --------------------------------------------------------------------------- online retail


def test_online_retail_scores_are_quintiles(retail_rfm):
    rfm, scores = retail_rfm
    n = len(rfm)
    assert scores.index.equals(rfm.index)
    for column, values in (
        ("R_score", -rfm["Recency"]),
        ("F_score", rfm["Frequency"]),
        ("M_score", rfm["Monetary"]),
    ):
        counts = scores[column].value_counts().sort_index()
        assert counts.index.tolist() == [1, 2, 3, 4, 5]
        assert (abs(counts - n / 5) <= 1).all(), (column, counts.tolist())
        # A better value never has a lower score.
        order = np.argsort(values.to_numpy(), kind="stable")
        assert np.all(np.diff(scores[column].to_numpy()[order]) >= 0), column
    # The most recent buyers (1 day) all score R 5, the one-invoice buyers F 1 or 2 only.
    assert (scores.loc[rfm["Recency"] == 1, "R_score"] == 5).all()
    assert set(scores.loc[rfm["Frequency"] == 1, "F_score"]) == {1, 2}


def test_online_retail_customers_all_get_a_name(retail_rfm):
    rfm, scores = retail_rfm
    assert scores["RFM_segment"].isin([*NAMES, RFM_OTHERS]).all()
    counts = scores["RFM_segment"].value_counts()
    assert counts.sum() == len(rfm) == 4338
    # Every 5-5-5 customer is a Champion, and the champions outnumber the rest of the names.
    best = (scores[["R_score", "F_score", "M_score"]] == 5).all(axis=1)
    assert best.sum() > 100 and (scores.loc[best, "RFM_segment"] == "Champions").all()
    assert counts.index[0] in {"Champions", "Loyal Customers"}
    assert counts[RFM_OTHERS] < 0.1 * len(rfm)


def test_online_retail_known_customers(retail_rfm):
    rfm, scores = retail_rfm
    table = rfm.join(scores).set_index("CustomerID")
    # 14646: the largest spender, 73 invoices, last seen 2 days before the end.
    assert table.loc["14646", ["R_score", "F_score", "M_score"]].tolist() == [5, 5, 5]
    assert table.loc["14646", "RFM_segment"] == "Champions"
    # 12346: one order of 77,183.60 eleven months before the end, never again.
    assert table.loc["12346", ["R_score", "F_score", "M_score"]].tolist() == [1, 1, 5]
    assert table.loc["12346", "RFM_segment"] == RFM_OTHERS
    # The customer with the best recency, frequency and monetary value among those who
    # bought on the last day is a Champion.
    last_day = table[table["Recency"] == 1]
    top = last_day.sort_values(["Frequency", "Monetary"]).index[-1]
    assert table.loc[top, "RFM_segment"] == "Champions"


def test_scores_refuse_bad_tables():
    good = pd.DataFrame({"Recency": [1, 2], "Frequency": [1, 3], "Monetary": [5.0, 7.5]})
    with pytest.raises(SegmentationError, match="'Monetary' is missing"):
        rfm_scores(good.drop(columns="Monetary"))
    with pytest.raises(SegmentationError, match="the table is empty"):
        rfm_scores(good.iloc[:0])
    with pytest.raises(SegmentationError, match="'Frequency' has missing"):
        rfm_scores(good.assign(Frequency=[1.0, np.nan]))
    with pytest.raises(SegmentationError, match="'Recency' has text"):
        rfm_scores(good.assign(Recency=["1", "two"]))


# --------------------------------------------------------------------------- an RFM run


@pytest.fixture(scope="module")
def retail_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("rfm_run")
    config = RunConfig(
        transactions=DATA / "online_retail.parquet", k=4, k_range=(4, 4), out=out, plots=False
    )
    return run_rfm(config), out


def test_segmented_csv_holds_scores_beside_the_segments(retail_run, retail_rfm):
    result, out = retail_run
    _, scores = retail_rfm
    written = pd.read_csv(out / "customers_segmented.csv", dtype={"CustomerID": str})
    assert written.columns[-5:].tolist() == [
        "Assignment_margin",
        "R_score",
        "F_score",
        "M_score",
        "RFM_segment",
    ]
    pd.testing.assert_frame_equal(written[scores.columns], scores, check_dtype=False)
    table = pd.read_csv(out / "rfm_customers.csv", dtype={"CustomerID": str})
    pd.testing.assert_frame_equal(table[scores.columns], scores, check_dtype=False)


def test_summary_crosstab_counts_the_csv(retail_run):
    result, out = retail_run
    summary = json.loads((out / "cluster_summary.json").read_text())
    crosstab = summary["rfm"]["crosstab"]
    assert crosstab["columns"] == [*NAMES, RFM_OTHERS]
    assert [row["name"] for row in summary["rfm"]["segment_map"]] == NAMES
    written = pd.read_csv(out / "customers_segmented.csv")
    expected = pd.crosstab(written["Segment"], written["RFM_segment"])
    for row in crosstab["rows"]:
        assert row["total"] == summary["segments"][row["id"]]["size"]
        for name, count in row["counts"].items():
            assert count == expected.loc[row["id"]].get(name, 0), (row["id"], name)
    assert sum(crosstab["totals"].values()) == summary["n_customers"] == 4338
    # What each score stands for: ranges that follow one another (ties may share an end).
    ranges = summary["rfm"]["score_ranges"]
    for column, better_is_lower in (("R_score", True), ("F_score", False), ("M_score", False)):
        spans = [ranges[column][str(score)] for score in range(1, 6)]
        ordered = spans[::-1] if better_is_lower else spans
        for (low, high), (next_low, _) in zip(ordered[:-1], ordered[1:], strict=True):
            assert low <= high <= next_low, (column, ordered)
    assert ranges["R_score"]["5"][0] == 1 and ranges["F_score"]["1"][0] == 1
    assert crosstab["totals"]["Lost"] == 0
    # The k-means segment with the most recent, frequent, big spenders holds most Champions.
    means = {s["id"]: s["profile"]["features"]["Monetary"]["mean"] for s in summary["segments"]}
    richest = max(means, key=means.get)
    champions = {row["id"]: row["counts"]["Champions"] for row in crosstab["rows"]}
    assert max(champions, key=champions.get) == richest


def test_online_retail_segments_get_rules_in_days_invoices_and_money(retail_run):
    from test_rules import check_rules_on_the_raw_table

    result, out = retail_run
    summary = json.loads((out / "cluster_summary.json").read_text())
    table = pd.read_csv(out / "rfm_customers.csv")
    check_rules_on_the_raw_table(summary, table, result.segmentation.labels)
    rules = " ".join(s["rule"] for s in summary["segments"])
    # Thresholds are read in days, invoices and money (the logs k-means saw are undone).
    for name, value in re.findall(r"(Recency|Frequency|Monetary) (?:<=|>) ([\d.]+)", rules):
        low, high = table[name].min(), table[name].max()
        assert low < float(value) < high, (name, value)
    assert summary["rules"]["accuracy"] >= 0.7


def test_report_and_console_show_the_crosstab(retail_run, tmp_path, capsys):
    result, out = retail_run
    page = (out / "report.html").read_text()
    assert "<h2>RFM segments</h2>" in page and "Can&#x27;t Lose Them" in page
    assert "What the scores stand for" in page
    from segmentation.cli import _console, _print_rfm_crosstab

    _print_rfm_crosstab(_console(), result.segmentation.rfm["crosstab"])
    printed = capsys.readouterr().out
    assert "Champions" in printed and "#3" in printed
    champions = result.segmentation.rfm["crosstab"]["totals"]["Champions"]
    assert f"{champions:,}" in printed


def test_plain_runs_have_no_rfm_section(tmp_path):
    from segmentation.pipeline import run

    result = run(RunConfig(k=2, k_range=(2, 2), out=tmp_path, plots=False, n_synthetic=60))
    assert "rfm" not in result.summary
    assert "R_score" not in result.segmentation.segmented.columns


def test_rfm_command_with_bad_as_of_is_one_sentence(tmp_path, capsys):
    code = main(
        [
            "rfm",
            "--transactions",
            str(DATA / "online_retail.parquet"),
            "--as-of",
            "2000-01-01",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: No transaction is left")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "customers_segmented.csv").exists()
