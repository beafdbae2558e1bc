"""SegmentationModel: nearest-center assignment, JSON save/load, and refusal of foreign files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation import __version__
from segmentation.errors import SegmentationError
from segmentation.io import read_table, write_csv_atomic
from segmentation.model import MODEL_FORMAT, MODEL_FORMAT_VERSION, SegmentationModel
from segmentation.preprocess import Preprocessor, infer_roles
from segmentation.synthetic import make_customers

DATA = Path(__file__).resolve().parents[1] / "data"


def _fitted(n: int = 120, k: int = 4, seed: int = 0):
    df = make_customers(n, seed=seed)
    roles = infer_roles(df, features=["Age", "Annual Income (k$)", "Gender"])
    pre = Preprocessor().fit(df, roles)
    X = pre.transform(df)
    rng = np.random.default_rng(seed)
    centers = X[rng.choice(n, size=k, replace=False)] + 0.01  # off the data points: no ties
    names = [f"Segment {i}" for i in range(k)]
    model = SegmentationModel(pre, centers, names, {"seed": np.int64(seed), "k": k})
    return df, X, model


def _brute_force_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    return np.array([[np.sqrt(np.sum((x - c) ** 2)) for c in centers] for x in X])


def _rehash(document: dict) -> dict:
    """Recompute the checksum as the module docstring defines it (canonical JSON, SHA-256)."""
    content = {key: value for key, value in document.items() if key != "sha256"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    document["sha256"] = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return document


def test_predict_and_transform_match_brute_force():
    df, X, model = _fitted()
    expected = _brute_force_distances(X, model.centers)
    np.testing.assert_allclose(model.transform(df), expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(df), expected.argmin(axis=1))
    assert model.predict(df).dtype == np.int64
    assert model.n_segments == 4
    assert model.feature_names == ["Age", "Annual Income (k$)", "Gender=Female", "Gender=Male"]


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 6),
    n=st.integers(1, 50),
)
def test_assignment_is_the_nearest_center(seed, k, n):
    rng = np.random.default_rng(seed)
    _, _, model = _fitted(k=k)
    X = rng.normal(size=(n, model.centers.shape[1]))
    distances = _brute_force_distances(X, model.centers)
    labels = model.assign_matrix(X)
    chosen = distances[np.arange(n), labels]
    np.testing.assert_allclose(chosen, distances.min(axis=1), rtol=1e-12, atol=1e-12)


def test_ties_go_to_the_lower_segment():
    _, _, model = _fitted(k=2)
    model = SegmentationModel(model.preprocessor, np.zeros((2, model.centers.shape[1])), ["a", "b"])
    assert model.assign_matrix(np.ones((3, model.centers.shape[1]))).tolist() == [0, 0, 0]


def test_save_load_round_trip_reproduces_predictions(tmp_path):
    df, _, model = _fitted()
    path = model.save(tmp_path / "model.json")
    document = json.loads(path.read_text("utf-8"))
    assert document["format"] == MODEL_FORMAT
    assert document["format_version"] == MODEL_FORMAT_VERSION
    assert document["package_version"] == __version__
    assert len(document["sha256"]) == 64
    loaded = SegmentationModel.load(path)
    assert loaded.centers.tobytes() == model.centers.tobytes()
    assert loaded.segment_names == model.segment_names
    assert loaded.metadata == {"seed": 0, "k": 4}
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    # Through a CSV file, as 'segment predict' sees the training data.
    write_csv_atomic(df, tmp_path / "customers.csv")
    again = read_table(tmp_path / "customers.csv")
    np.testing.assert_array_equal(loaded.predict(again), model.predict(df))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "model.json"]


def test_save_refuses_to_overwrite_an_input(tmp_path):
    _, _, model = _fitted()
    source = tmp_path / "input.csv"
    source.write_text("a\n1\n", "utf-8")
    with pytest.raises(SegmentationError, match="input file"):
        model.save(source, protect=[source])
    assert source.read_text("utf-8") == "a\n1\n"


def test_kmeans_labels_are_what_the_model_predicts():
    from kmeans_core import KMeans

    df = make_customers(300, seed=2)
    pre = Preprocessor().fit(df, infer_roles(df))
    X = pre.transform(df)
    km = KMeans(n_clusters=5, n_init=4, random_state=0).fit(X)
    model = SegmentationModel(pre, km.cluster_centers_, [f"s{i}" for i in range(5)])
    np.testing.assert_array_equal(model.predict(df), km.labels_)


def test_predicting_the_mall_customers_file_again_gives_the_same_labels(tmp_path):
    path = DATA / "mall_customers.csv"
    if not path.exists():
        pytest.fail(f"real data not available at {path}")
    df = read_table(path)
    pre = Preprocessor().fit(df, infer_roles(df))
    X = pre.transform(df)
    model = SegmentationModel(pre, X[[0, 50, 100, 150, 199]] + 1e-3, list("abcde"))
    labels = model.predict(df)
    model.save(tmp_path / "model.json")
    reloaded = SegmentationModel.load(tmp_path / "model.json")
    np.testing.assert_array_equal(reloaded.predict(read_table(path)), labels)


# ---------------------------------------------------------------- refusals


def _saved(tmp_path) -> tuple[Path, dict]:
    _, _, model = _fitted()
    path = model.save(tmp_path / "model.json")
    return path, json.loads(path.read_text("utf-8"))


def _load_error(path) -> str:
    with pytest.raises(SegmentationError) as info:
        SegmentationModel.load(path)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["centers"][0].__setitem__(0, d["centers"][0][0] + 1e-9),
        lambda d: d["segment_names"].__setitem__(0, "VIP"),
        lambda d: d["preprocessor"]["center"].__setitem__(0, 0.0),
        lambda d: d["metadata"].__setitem__("seed", 99),
    ],
    ids=["center", "name", "scaler", "metadata"],
)
def test_tampered_file_is_refused(tmp_path, edit):
    path, document = _saved(tmp_path)
    edit(document)
    path.write_text(json.dumps(document), "utf-8")
    assert "has been modified since it was saved" in _load_error(path)


def test_missing_checksum_is_refused(tmp_path):
    path, document = _saved(tmp_path)
    del document["sha256"]
    path.write_text(json.dumps(document), "utf-8")
    assert "modified" in _load_error(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"hello": "world"}', "not a segmentation model"),
        (b"[1, 2, 3]", "not a segmentation model"),
        (b"CustomerID,Age\n1,20\n", "not JSON"),
        (b"\x80\x81\x00\xff", "not JSON"),
        (b"", "not JSON"),
    ],
    ids=["foreign-json", "json-list", "csv", "binary", "empty"],
)
def test_files_that_are_not_our_models_are_refused(tmp_path, content, expected):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    assert expected in _load_error(path)


def test_missing_file_and_folder_are_refused(tmp_path):
    assert "does not exist" in _load_error(tmp_path / "nope.json")
    assert "folder" in _load_error(tmp_path)


def test_other_format_version_is_refused_even_with_a_valid_checksum(tmp_path):
    path, document = _saved(tmp_path)
    document["format_version"] = MODEL_FORMAT_VERSION + 1
    path.write_text(json.dumps(_rehash(document)), "utf-8")
    assert f"format version {MODEL_FORMAT_VERSION + 1}" in _load_error(path)


def test_other_release_line_is_refused_and_a_patch_release_is_read(tmp_path):
    path, document = _saved(tmp_path)
    major, minor, *_ = __version__.split(".")
    document["package_version"] = f"{int(major) + 1}.0.0"
    path.write_text(json.dumps(_rehash(document)), "utf-8")
    assert f"made by segment {int(major) + 1}.0.0" in _load_error(path)
    document["package_version"] = f"{major}.{minor}.99"
    path.write_text(json.dumps(_rehash(document)), "utf-8")
    assert SegmentationModel.load(path).n_segments == 4


def test_inconsistent_parts_are_refused_even_with_a_valid_checksum(tmp_path):
    path, document = _saved(tmp_path)
    narrow = json.loads(json.dumps(document))
    narrow["centers"] = [row[:-1] for row in narrow["centers"]]
    path.write_text(json.dumps(_rehash(narrow)), "utf-8")
    assert "inconsistent" in _load_error(path)
    short = json.loads(json.dumps(document))
    short["segment_names"] = short["segment_names"][:-1]
    path.write_text(json.dumps(_rehash(short)), "utf-8")
    assert "segment names" in _load_error(path)
    broken = json.loads(json.dumps(document))
    del broken["preprocessor"]["numeric_fill"]
    path.write_text(json.dumps(_rehash(broken)), "utf-8")
    assert "damaged" in _load_error(path)
    ragged = json.loads(json.dumps(document))
    ragged["centers"][0] = ragged["centers"][0][:1]
    path.write_text(json.dumps(_rehash(ragged)), "utf-8")
    assert "damaged" in _load_error(path)


def test_constructor_checks_its_parts():
    _, _, model = _fitted(k=3)
    pre, centers = model.preprocessor, model.centers
    with pytest.raises(SegmentationError, match="3 centers but 2 segment names"):
        SegmentationModel(pre, centers, ["a", "b"])
    with pytest.raises(SegmentationError, match="not unique"):
        SegmentationModel(pre, centers, ["a", "a", "b"])
    bad = centers.copy()
    bad[1, 1] = np.nan
    with pytest.raises(SegmentationError, match="NaN"):
        SegmentationModel(pre, bad, ["a", "b", "c"])
    with pytest.raises(SegmentationError, match="columns"):
        SegmentationModel(pre, centers[:, :2], ["a", "b", "c"])


def test_predict_refuses_a_table_without_the_features():
    df, _, model = _fitted()
    expected = r"'Age', 'Annual Income \(k\$\)', 'Gender' needed by the model are missing"
    with pytest.raises(SegmentationError, match=expected):
        model.predict(pd.DataFrame({"x": [1, 2]}))
    with pytest.raises(SegmentationError, match="missing"):
        model.predict(df.drop(columns=["Gender"]))
