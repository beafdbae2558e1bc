"""``segment run --method kprototypes``: categories stay categories, k is chosen with the mixed
cost and the mixed-distance silhouette, the model reproduces the engine's labels, and unseen
categories are counted at predict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score as sklearn_silhouette

from kmeans_core import KPrototypes
from segmentation.cli import main
from segmentation.config import RunConfig
from segmentation.errors import SegmentationError
from segmentation.model import SegmentationModel
from segmentation.pipeline import predict, segment


def mixed_customers(n, seed=0):
    """Customers with three numeric and three text columns following four hidden groups."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 4, n)
    centers = np.array([[25, 30, 12], [45, 80, 4], [60, 55, 8], [35, 95, 15]], dtype=float)
    numeric = centers[group] + rng.normal(scale=[6, 12, 3], size=(n, 3))
    levels = {
        "Region": ["north", "south", "east"],
        "Channel": ["web", "store"],
        "Plan": ["basic", "plus", "pro", "team"],
    }
    table = {
        "CustomerID": [f"C{i:04d}" for i in range(n)],
        "Age": numeric[:, 0],
        "Income": numeric[:, 1],
        "Visits": numeric[:, 2],
    }
    for name, values in levels.items():
        typical = np.array(values, dtype=object)[group % len(values)]
        other = np.array(values, dtype=object)[rng.integers(0, len(values), n)]
        table[name] = np.where(rng.random(n) < 0.75, typical, other)
    return pd.DataFrame(table)


@pytest.fixture(scope="module")
def customers():
    return mixed_customers(300, seed=4)


@pytest.fixture(scope="module")
def seg(customers):
    return segment(customers, RunConfig(method="kprototypes", k_range=(2, 5), n_init=2))


def test_categorical_features_stay_categorical(seg):
    model = seg.model
    assert model.method == "kprototypes"
    assert model.preprocessor.categorical_features_ == ["Region", "Channel", "Plan"]
    assert any(line.startswith("K-Prototypes: 3 categorical feature(s)") for line in seg.log)
    assert "Kept 'Plan' as 4 categories (Plan=basic, Plan=plus, Plan=pro, Plan=team)." in seg.log
    assert not any("One-hot" in line for line in seg.log)
    # the categorical part of every center is one mode per feature, one-hot
    modes = model.category_codes(model.centers)
    assert (modes >= 0).all()
    numeric = seg.X[:, :3]
    assert model.gamma == 0.5 * np.mean(np.asfortranarray(numeric).std(axis=0))


def test_labels_and_cost_are_the_engines(seg):
    """Refit the chosen k with the engine: the model's labels are its labels (segments numbered
    by size) and the model's cost is its cost, bit for bit."""
    model = seg.model
    numeric = seg.X[:, :3]
    codes = model.category_codes(seg.X)
    table = np.empty((len(numeric), 6), dtype=object)
    table[:, :3], table[:, 3:] = numeric, codes
    engine = KPrototypes(seg.k, gamma=model.gamma, n_init=2, random_state=0)
    engine.fit(table, categorical=[3, 4, 5])
    sizes = np.bincount(engine.labels_, minlength=seg.k)
    order = np.argsort(-sizes, kind="stable")
    np.testing.assert_array_equal(order[seg.labels], engine.labels_)
    costs = model.squared_distances_matrix(seg.X)
    assert sum(costs.min(axis=1).tolist()) == engine.cost_  # added row by row, as the engine
    chosen = next(row for row in seg.choice.sweep if row["k"] == seg.k)
    assert chosen["inertia"] == engine.cost_


def test_silhouette_is_that_of_the_mixed_distance(seg):
    model = seg.model
    numeric = seg.X[:, :3]
    codes = model.category_codes(seg.X)
    squared = ((numeric[:, None, :] - numeric[None, :, :]) ** 2).sum(axis=2)
    mismatches = (codes[:, None, :] != codes[None, :, :]).sum(axis=2)
    distance = np.sqrt(np.maximum(squared + model.gamma * mismatches, 0.0))
    np.fill_diagonal(distance, 0.0)
    expected = sklearn_silhouette(distance, seg.labels, metric="precomputed")
    assert seg.silhouette.mean == pytest.approx(expected, abs=1e-9)


def test_profiles_lead_with_categories_and_names_use_them(seg):
    for segment_profile in seg.profiles.segments:
        leading = segment_profile["profile"]["leading_categories"]
        assert set(leading) == {"Region", "Channel", "Plan"}
        for name, top in leading.items():
            shares = segment_profile["profile"]["categoricals"][name]
            assert top["share"] == max(shares.values())
    categories = {"north", "south", "east", "web", "store", "basic", "plus", "pro", "team"}
    assert any(word in categories for name in seg.names for word in name.replace(",", "").split())


def test_model_file_round_trip_reproduces_training_labels(seg, customers, tmp_path):
    path = seg.model.save(tmp_path / "model.json")
    document = json.loads(path.read_text())
    assert document["method"] == "kprototypes"
    assert document["gamma"] == seg.model.gamma
    assert document["preprocessor"]["categories"]["Channel"] == ["store", "web"]
    loaded = SegmentationModel.load(path)
    np.testing.assert_array_equal(loaded.predict(customers), seg.labels)


def test_predict_counts_unseen_categories(seg, customers, tmp_path):
    model_path = seg.model.save(tmp_path / "model.json")
    new = customers.copy()
    new.loc[:4, "Plan"] = "platinum"
    new.loc[7, "Region"] = "mars"
    new.to_csv(tmp_path / "new.csv", index=False)
    result = predict(model_path, tmp_path / "new.csv", tmp_path / "predicted.csv")
    assert result.unknown_categories == {"Region": 1, "Channel": 0, "Plan": 5}
    unchanged = np.ones(len(new), dtype=bool)
    unchanged[[0, 1, 2, 3, 4, 7]] = False
    np.testing.assert_array_equal(result.labels[unchanged], seg.labels[unchanged])
    # an unseen category differs from every mode: the row goes where the rest of it is nearest
    costs = seg.model.squared_distances_matrix(seg.model.preprocessor.transform(new))
    np.testing.assert_array_equal(result.labels, costs.argmin(axis=1))


def test_kprototypes_needs_a_categorical_feature(customers):
    config = RunConfig(method="kprototypes", features=["Age", "Income"], k=3)
    with pytest.raises(SegmentationError, match="needs at least one categorical feature"):
        segment(customers, config)


def test_unknown_method_is_refused(customers):
    with pytest.raises(SegmentationError, match="`method` must be one of kmeans, kprototypes"):
        segment(customers, RunConfig(method="kmodes"))


def test_cli_run_and_predict_with_kprototypes(customers, tmp_path, capsys):
    source = tmp_path / "customers.csv"
    customers.to_csv(source, index=False)
    out = tmp_path / "run"
    code = main(
        ["run", "--input", str(source), "--method", "kprototypes", "--k", "4", "--out", str(out)]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Region" in captured.out and "Plan" in captured.out
    trained = pd.read_csv(out / "customers_segmented.csv")
    new = customers.copy()
    new.loc[:2, "Channel"] = "kiosk"
    new.to_csv(tmp_path / "new.csv", index=False)
    code = main(
        [
            "predict",
            "--model",
            str(out / "model.json"),
            "--input",
            str(source),
            "--out",
            str(tmp_path / "same.csv"),
        ]
    )
    assert code == 0
    np.testing.assert_array_equal(pd.read_csv(tmp_path / "same.csv")["Segment"], trained["Segment"])
    capsys.readouterr()
    code = main(
        [
            "predict",
            "--json",
            "--model",
            str(out / "model.json"),
            "--input",
            str(tmp_path / "new.csv"),
            "--out",
            str(tmp_path / "new_out.csv"),
        ]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out)["unknown_categories"]["Channel"] == 3


def test_cli_kprototypes_without_categories_is_one_sentence(customers, tmp_path, capsys):
    source = tmp_path / "numbers.csv"
    customers[["CustomerID", "Age", "Income", "Visits"]].to_csv(source, index=False)
    code = main(
        ["run", "--input", str(source), "--method", "kprototypes", "--out", str(tmp_path / "o")]
    )
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "--method kprototypes needs at least one categorical" in lines[0]
