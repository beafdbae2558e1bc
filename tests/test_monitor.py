"""segment monitor: PSI, the training distribution in the model, shares, migration, the files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.cli import main
from segmentation.config import RunConfig
from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.model import SegmentationModel, _checksum
from segmentation.monitor import (
    PSI_EPSILON,
    bin_counts,
    drift,
    migration_matrix,
    monitor,
    population_stability_index,
    psi_noise,
    psi_reading,
    quantile_edges,
)
from segmentation.pipeline import segment
from segmentation.rfm import transactions_to_rfm

DATA = Path(__file__).resolve().parents[1] / "data"
MALL = DATA / "mall_customers.csv"
WHOLESALE = DATA / "wholesale_customers.csv"
RETAIL = DATA / "online_retail.parquet"
INCOME = "Annual Income (k$)"
SPENDING = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]


@pytest.fixture(scope="module")
def mall():
    return read_table(MALL)


@pytest.fixture(scope="module")
def mall_model(mall):
    return segment(mall, RunConfig(k_range=(2, 6))).model


# --------------------------------------------------------------------------- PSI


def test_psi_by_hand():
    # (0.4 - 0.5) ln(0.4 / 0.5) + (0.4 - 0.3) ln(0.4 / 0.3) + 0 = 0.0223144 + 0.0287682
    assert population_stability_index([0.5, 0.3, 0.2], [40, 40, 20]) == pytest.approx(
        0.1 * math.log(1.25) + 0.1 * math.log(4 / 3), rel=1e-12
    )
    assert population_stability_index([0.5, 0.3, 0.2], [40, 40, 20]) == pytest.approx(
        0.0510826, abs=1e-7
    )


def test_psi_empty_bin_takes_the_epsilon():
    # Nobody in the second bin: its share is 1e-4 in the formula.
    expected = 0.5 * math.log(1 / 0.5) + (PSI_EPSILON - 0.5) * math.log(PSI_EPSILON / 0.5)
    assert population_stability_index([0.5, 0.5], [10, 0]) == pytest.approx(expected)
    assert population_stability_index([0.5, 0.5], [10, 0]) == pytest.approx(4.6043, abs=1e-4)


def test_psi_known_values():
    # Ten equal bins, half of the batch moved from the first five to the last five bins
    # (shares 0.05 and 0.15): 5 * (-0.05 ln 0.5) + 5 * (0.05 ln 1.5) = 0.2747
    counts = [5] * 5 + [15] * 5
    assert population_stability_index([0.1] * 10, counts) == pytest.approx(
        0.25 * (math.log(2) + math.log(1.5)), rel=1e-12
    )
    assert psi_reading(0.0999) == "no change"
    assert psi_reading(0.1) == "moderate"
    assert psi_reading(0.25) == "moderate"
    assert psi_reading(0.2747) == "significant"


def test_psi_refuses_what_is_not_a_distribution():
    with pytest.raises(ValueError, match="one value per bin"):
        population_stability_index([0.5, 0.5], [1, 2, 3])
    with pytest.raises(ValueError, match="sum to 1"):
        population_stability_index([0.5, 0.6], [1, 2])
    with pytest.raises(ValueError, match="no customer"):
        population_stability_index([0.5, 0.5], [0, 0])


shares = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12).filter(lambda v: sum(v) > 1e-3)


@settings(max_examples=200, deadline=None)
@given(shares, st.data())
def test_psi_properties(expected, data):
    expected = np.asarray(expected) / np.sum(expected)
    counts = np.asarray(
        data.draw(st.lists(st.integers(0, 1000), min_size=len(expected), max_size=len(expected)))
    )
    if counts.sum() == 0:
        counts[0] = 1
    psi = population_stability_index(expected, counts)
    assert psi >= 0.0
    # Symmetric formula: the batch against training is training against the batch.
    actual = counts / counts.sum()
    assert population_stability_index(actual, expected) == pytest.approx(psi, rel=1e-9, abs=1e-12)
    # Equal distributions: 0.
    assert population_stability_index(expected, expected * 1000) == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-50, 50), min_size=2, max_size=300).filter(lambda v: len(set(v)) > 1))
def test_quantile_bins_each_hold_training_values(values):
    values = np.asarray(values, dtype=float)
    edges = quantile_edges(values)
    assert np.all(np.diff(edges) > 0)
    counts = bin_counts(edges, values)
    assert counts.sum() == values.size
    assert np.all(counts > 0)  # no empty training bin, so no epsilon on the training side
    assert 2 <= counts.size <= 10


def test_deciles_of_one_to_hundred():
    values = np.arange(1, 101, dtype=float)
    edges = quantile_edges(values)
    assert edges.tolist() == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert bin_counts(edges, values).tolist() == [10] * 10
    # Beyond the training range: the end bins.
    assert bin_counts(edges, [-5, 1000]).tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_noise_matches_the_chi_square_approximation():
    mean, q95 = psi_noise(np.full(10, 0.1), 2000, 1000)
    assert mean == pytest.approx(9 / 1000 + 9 / 2000, rel=0.1)
    assert mean < q95 < 3 * mean
    # Small batches leave bins empty: more noise than the approximation says.
    small_mean, _ = psi_noise(np.full(10, 0.1), 2000, 30)
    assert small_mean > 9 / 30


# --------------------------------------------------------------------------- the model


def test_model_stores_the_training_distribution(mall, mall_model, tmp_path):
    training = mall_model.training
    assert training["n_customers"] == 200
    income = training["features"][INCOME]
    assert income["kind"] == "numeric" and len(income["shares"]) == len(income["edges"]) + 1
    assert sum(income["shares"]) == pytest.approx(1.0)
    # Original units: the deciles of the income column.
    assert income["edges"][0] == np.quantile(mall[INCOME], 0.1, method="inverted_cdf")
    sizes = np.bincount(mall_model.predict(mall), minlength=mall_model.n_segments)
    assert training["segment_shares"] == pytest.approx((sizes / 200).tolist())
    loaded = SegmentationModel.load(mall_model.save(tmp_path / "model.json"))
    assert loaded.training == training


def test_categorical_feature_counts_unseen_categories(mall):
    model = segment(mall, RunConfig(features=["Genre", "Age", INCOME], k=3)).model
    spec = model.training["features"]["Genre"]
    assert spec == {"kind": "categorical", "categories": ["Female", "Male"], "shares": [0.56, 0.44]}
    batch = mall.copy()
    batch.loc[:99, "Genre"] = "Other"
    genre = {f.name: f for f in drift(model, batch).features}["Genre"]
    assert genre.bins == ["Female", "Male", "(not seen in training)"]
    assert genre.shares_now[2] == 0.5
    assert genre.reading == "significant"


def _without_training(model: SegmentationModel) -> dict:
    document = model.to_dict()
    del document["training"]
    document["sha256"] = _checksum(document)
    return document


def test_model_from_before_is_refused(mall, mall_model):
    old = SegmentationModel.from_dict(_without_training(mall_model))
    assert old.training is None
    assert np.array_equal(old.predict(mall), mall_model.predict(mall))  # it still assigns
    with pytest.raises(SegmentationError, match="fit it again with 'segment run'"):
        drift(old, mall)


# --------------------------------------------------------------------------- drift


def test_training_data_again_is_no_change(mall, mall_model):
    report = drift(mall_model, mall)
    assert report.verdict == "no change"
    assert report.reason.startswith("No change: every PSI is below 0.1")
    for feature in report.features:
        assert feature.psi == pytest.approx(0.0, abs=1e-12)
        assert feature.shares_now == pytest.approx(feature.shares_then)
    assert report.segments.shares_now == pytest.approx(report.segments.shares_then)
    assert report.warnings == []


def test_income_up_30_percent_is_significant_on_income_only(mall, mall_model):
    batch = mall.copy()
    batch[INCOME] = batch[INCOME] * 1.3
    report = drift(mall_model, batch)
    readings = {f.name: f.reading for f in report.features}
    assert readings == {
        "Age": "no change",
        INCOME: "significant",
        "Spending Score (1-100)": "no change",
    }
    assert report.verdict == "significant drift"
    assert f"'{INCOME}' significant" in report.reason
    assert "Age" not in report.reason


def test_small_batch_is_flagged_and_chance_is_not_drift(mall, mall_model):
    batch = mall.sample(40, random_state=1)
    report = drift(mall_model, batch)
    assert report.warnings and "40 customers, fewer than 10 per bin" in report.warnings[0]
    # Some readings exceed 0.1 by chance alone at this size; they do not make a verdict.
    assert any(f.reading != "no change" for f in report.features)
    assert all(not f.beyond_noise for f in report.features)
    assert report.verdict == "no change"
    assert "can show" in report.reason


def test_missing_feature_columns(mall_model, mall):
    with pytest.raises(SegmentationError, match="missing from the input"):
        drift(mall_model, mall.drop(columns=[INCOME]))


# --------------------------------------------------------------------------- real data


def test_wholesale_retail_channel_against_horeca():
    """Retail customers (channel 2) buy far more groceries, milk and detergents than the
    hotels, restaurants and cafés (channel 1) a model was trained on; the regions do not differ
    that much."""
    data = read_table(WHOLESALE)
    config = RunConfig(features=SPENDING, k_range=(2, 6))
    model = segment(data[data["Channel"] == 1], config).model
    report = drift(model, data[data["Channel"] == 2])
    psi = {f.name: f for f in report.features}
    assert report.verdict == "significant drift"
    for name in ("Grocery", "Detergents_Paper", "Milk"):
        assert psi[name].reading == "significant" and psi[name].psi > 2.0
        assert psi[name].beyond_noise
    assert psi["Fresh"].reading != "significant"
    by_region = drift(segment(data[data["Region"] == 3], config).model, data[data["Region"] != 3])
    assert by_region.verdict == "no change"
    assert all(f.psi < 0.25 for f in by_region.features)


@pytest.fixture(scope="module")
def retail():
    return pd.read_parquet(RETAIL)


def _rfm(transactions, start, end, as_of=None):
    dates = transactions["InvoiceDate"]
    window = transactions[(dates >= start) & (dates < end)]
    return transactions_to_rfm(window, as_of=as_of or end)[0]


def test_online_retail_quarters(retail):
    """RFM of the first quarter of 2011 as training (as segment rfm makes it): the third
    quarter's customers are alike, some of those who bought in both changed segment; the same
    third quarter measured a month after it ended has a shifted Recency only."""
    config = RunConfig(
        features=["Recency", "Frequency", "Monetary"],
        id_column="CustomerID",
        log_transform=["Recency", "Frequency", "Monetary"],
    )
    first = _rfm(retail, "2011-01-01", "2011-04-01")
    model = segment(first, config).model
    labels = model.predict(first)  # the columns customers_segmented.csv holds
    previous = first.assign(Segment=labels, Segment_name=np.asarray(model.segment_names)[labels])
    third = drift(model, _rfm(retail, "2011-07-01", "2011-10-01"), previous)
    assert third.verdict == "no change"
    assert "'Recency'" in third.reason and "a small shift beyond chance" in third.reason
    m = third.migration
    assert (m.matched, m.matched - m.stayed, int(m.new.sum()), int(m.gone.sum())) == (
        1036,
        335,
        1125,
        740,
    )
    late = drift(model, _rfm(retail, "2011-07-01", "2011-10-01", as_of="2011-11-01"))
    readings = {f.name: f.reading for f in late.features}
    assert readings == {"Recency": "significant", "Frequency": "no change", "Monetary": "no change"}


# --------------------------------------------------------------------------- migration


def test_migration_matrix_by_hand():
    previous = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "Segment": [0, 0, 1, 1, 2],
            "Segment_name": ["Big", "Big", "Small", "Small", "Gone"],
        }
    )
    ids = pd.Series(["b", "c", "d", "f", "g"])
    labels = np.array([0, 0, 1, 1, 0])
    m = migration_matrix(previous, ids, labels, ["Big", "Small"], "id")
    assert m.before == ["Big", "Small", "Gone"]
    # b: Big -> Big; c: Small -> Big; d: Small -> Small
    assert m.matrix.tolist() == [[1, 0], [1, 1], [0, 0]]
    assert m.new.tolist() == [1, 1]  # g -> Big, f -> Small
    assert m.gone.tolist() == [1, 0, 1]  # a (Big), e (Gone)
    assert (m.matched, m.stayed) == (3, 2)


def test_migration_new_counts_by_segment_now():
    previous = pd.DataFrame({"id": [1, 2], "Segment": [0, 1]})
    m = migration_matrix(previous, pd.Series([2.0, 3.0, 4.0]), [1, 0, 0], ["A", "B"], "id")
    assert m.before == ["Segment 0", "Segment 1"]
    assert m.matrix.tolist() == [[0, 0], [0, 1]]  # ids 2 and 2.0 are the same customer
    assert m.new.tolist() == [2, 0]
    assert m.gone.tolist() == [1, 0]
    assert not m.named and m.stayed == 1  # by number: id 2 was in segment 1 and is in 1


def test_migration_through_drift_finds_the_id_column(mall, mall_model):
    previous = mall.assign(Segment=mall_model.predict(mall))
    batch = mall.iloc[10:].copy()
    batch[INCOME] = batch[INCOME] * 1.3
    report = drift(mall_model, batch, previous)
    m = report.migration
    assert m.id_column == "CustomerID"
    assert m.matched == 190 and m.gone.sum() == 10 and m.new.sum() == 0
    assert m.matrix.sum(axis=0).tolist() == np.bincount(report.labels, minlength=6).tolist()


def test_migration_needs_an_id_column(mall, mall_model):
    batch = mall.drop(columns=["CustomerID"])
    previous = batch.assign(Segment=0)
    with pytest.raises(SegmentationError, match="`id_column`"):
        drift(mall_model, batch, previous)
    with pytest.raises(SegmentationError, match="more than once"):
        drift(mall_model, pd.concat([mall, mall]), mall.assign(Segment=0))


# --------------------------------------------------------------------------- files and CLI


def test_monitor_writes_json_and_page(tmp_path, capsys):
    trained = tmp_path / "trained"
    assert main(["run", "--input", str(MALL), "--k-range", "2-4", "--out", str(trained)]) == 0
    batch = read_table(MALL)
    batch[INCOME] = batch[INCOME] * 1.3
    batch.to_csv(tmp_path / "batch.csv", index=False)
    capsys.readouterr()
    code = main(
        [
            "monitor",
            "--model",
            str(trained / "model.json"),
            "--input",
            str(tmp_path / "batch.csv"),
            "--previous",
            str(trained / "customers_segmented.csv"),
            "--out",
            str(tmp_path / "drift"),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "significant drift" in printed and "Customers moved (by CustomerID)" in printed
    document = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert document["verdict"] == "significant drift"
    assert document["features"][INCOME]["reading"] == "significant"
    assert document["features"]["Age"]["psi"] == pytest.approx(0.0, abs=1e-12)
    assert document["n_batch"] == 200 and document["n_train"] == 200
    assert len(document["model"]["sha256"]) == 64
    assert document["migration"]["matched"] == 200
    assert [row["then"] for row in document["segments"]["shares"]] == pytest.approx(
        SegmentationModel.load(trained / "model.json").training["segment_shares"]
    )
    page = (tmp_path / "drift" / "drift.html").read_text()
    assert "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert "Significant drift" in page

    again = monitor(trained / "model.json", tmp_path / "batch.csv", out=tmp_path / "drift2")
    assert again.document["migration"] is None


def test_monitor_never_writes_over_the_folder_of_its_inputs(tmp_path, mall_model, mall):
    run_folder = tmp_path / "outputs"
    run_folder.mkdir()
    model_path = mall_model.save(run_folder / "model.json")
    mall.to_csv(tmp_path / "batch.csv", index=False)
    with pytest.raises(SegmentationError, match="holds the model"):
        monitor(model_path, tmp_path / "batch.csv", out=run_folder)
    assert sorted(p.name for p in run_folder.iterdir()) == ["model.json"]


def test_monitor_outputs_are_all_or_nothing(tmp_path, mall_model, mall):
    from segmentation.staging import verify_output_set

    model_path = mall_model.save(tmp_path / "model.json")
    mall.to_csv(tmp_path / "batch.csv", index=False)
    out = tmp_path / "drift"
    first = monitor(model_path, tmp_path / "batch.csv", out=out)
    manifest = verify_output_set(out)
    assert manifest["command"] == "monitor"
    assert sorted(entry["path"] for entry in manifest["files"]) == ["drift.html", "drift.json"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # A second run that fails half-way (an earlier table without segments) changes nothing.
    mall.to_csv(tmp_path / "no_segments.csv", index=False)
    with pytest.raises(SegmentationError, match="no 'Segment' column"):
        monitor(
            model_path, tmp_path / "batch.csv", previous_path=tmp_path / "no_segments.csv", out=out
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert first.paths["json"] == out / "drift.json"
