"""Real public data shipped in data/: the results a user of these data sets expects.

A missing data file fails the test: the data ship with the project.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import data_file

from segmentation.cli import main
from segmentation.io import read_table
from segmentation.pipeline import RunConfig, run
from segmentation.profile import HIGH_Z

INCOME = "Annual Income (k$)"
SPENDING = "Spending Score (1-100)"


@pytest.fixture(scope="module")
def mall_income_spending(tmp_path_factory):
    path = data_file("mall_customers.csv")
    out = tmp_path_factory.mktemp("mall2")
    result = run(RunConfig(input=path, features=[INCOME, SPENDING], out=out, report=False))
    return path, out, result


def test_mall_income_and_spending_gives_the_five_known_segments(mall_income_spending):
    _, _, result = mall_income_spending
    assert result.segmentation.k == 5
    assert result.segmentation.choice.reason.startswith("k=5")
    sweep = {row["k"]: row["silhouette"] for row in result.segmentation.choice.sweep}
    assert max(sweep, key=sweep.get) == 5


def test_mall_segments_are_the_four_corners_and_the_middle(mall_income_spending):
    _, _, result = mall_income_spending

    def level(z):
        return "+" if z >= HIGH_Z else ("-" if z <= -HIGH_Z else "0")

    shapes = {
        (level(z[INCOME]), level(z[SPENDING])) for _, z in result.segmentation.profiles.z.iterrows()
    }
    assert shapes == {("+", "+"), ("+", "-"), ("-", "+"), ("-", "-"), ("0", "0")}


def test_mall_segment_names_say_what_the_numbers_say(mall_income_spending):
    _, _, result = mall_income_spending
    names = result.segmentation.profiles.names
    assert len(set(names)) == 5
    for segment, name in enumerate(names):
        z = result.segmentation.profiles.z.loc[segment]
        lowered = name.lower()
        for column, word in ((INCOME, "income"), (SPENDING, "spending")):
            if z[column] >= HIGH_Z:
                assert f"high {word}" in lowered and f"low {word}" not in lowered, name
            elif z[column] <= -HIGH_Z:
                assert f"low {word}" in lowered, name
        if abs(z[INCOME]) < HIGH_Z and abs(z[SPENDING]) < HIGH_Z:
            assert name == "Average customers"


def test_mall_predict_on_the_training_file_reproduces_the_labels(
    mall_income_spending, tmp_path, capsys
):
    path, out, result = mall_income_spending
    code = main(
        [
            "predict",
            "--model",
            str(out / "model.json"),
            "--input",
            str(path),
            "--out",
            str(tmp_path / "p.csv"),
        ]
    )
    assert code == 0, capsys.readouterr().err
    np.testing.assert_array_equal(
        read_table(tmp_path / "p.csv")["Segment"], result.segmentation.labels
    )
    written = read_table(out / "customers_segmented.csv")
    original = read_table(path)
    # The zero-padded IDs and every other input column come out exactly as they went in.
    assert written["CustomerID"].tolist() == original["CustomerID"].tolist()
    assert written["CustomerID"].iloc[0] == "0001"


def test_mall_all_numeric_columns(tmp_path, capsys):
    path = data_file("mall_customers.csv")
    code = main(["run", "--input", str(path), "--k-range", "2-6", "--out", str(tmp_path), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["columns"]["features_used"] == ["Age", INCOME, SPENDING]
    assert summary["columns"]["id_columns"] == ["CustomerID"]
    assert 2 <= summary["k"] <= 10
    assert len({s["name"] for s in summary["segments"]}) == summary["k"]
    # Genre is not a feature by default but is profiled in every segment.
    assert all("Genre" in s["profile"]["categoricals"] for s in summary["segments"])


def test_wholesale_customers_run_with_log_transform(tmp_path, capsys):
    path = data_file("wholesale_customers.csv")
    code = main(["run", "--input", str(path), "--k-range", "2-6", "--out", str(tmp_path), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0
    assert summary["n_customers"] == 440
    # The spending columns are heavy-tailed, so auto takes their log.
    assert {"Fresh", "Milk", "Grocery", "Frozen"} <= set(summary["columns"]["log_transformed"])
    assert any("log1p" in line for line in summary["cleaning_log"])
    assert (tmp_path / "report.html").is_file()


def test_online_retail_through_segment_rfm(tmp_path, capsys):
    path = data_file("online_retail.parquet")
    code = main(
        ["rfm", "--transactions", str(path), "--k-range", "2-4", "--out", str(tmp_path), "--json"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    # The README of the data: standard cleaning leaves 397,884 rows and 4,338 customers.
    assert summary["n_customers"] == 4338
    assert any("397,884" in line for line in summary["cleaning_log"])
    assert summary["columns"]["features_used"] == ["Recency", "Frequency", "Monetary"]
    assert len(read_table(tmp_path / "customers_segmented.csv")) == 4338
