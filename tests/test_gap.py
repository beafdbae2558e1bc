"""The gap statistic (Tibshirani, Walther & Hastie 2001): known k found, no structure said."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from kmeans_core import KMeans
from segmentation.io import read_table
from segmentation.preprocess import Preprocessor, infer_roles
from segmentation.select_k import gap_choice, gap_statistic

DATA = Path(__file__).resolve().parents[1] / "data"
FRANTI = DATA / "franti"


def blobs(centers, n_per_blob: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    return np.vstack(
        [c + spread * rng.standard_normal((n_per_blob, centers.shape[1])) for c in centers]
    )


def test_gap_finds_four_separated_blobs():
    X = blobs([[0, 0], [10, 0], [0, 10], [10, 10]], 100, 1.0, seed=1)
    gaps = gap_statistic(X, range(2, 9), seed=0)
    assert [row["k"] for row in gaps] == list(range(1, 9))
    assert gap_choice(gaps) == 4


def test_gap_finds_the_sixteen_clusters_of_franti_dim032():
    X = np.loadtxt(FRANTI / "dim032.txt")
    truth = np.loadtxt(FRANTI / "dim032_gt.txt")
    gaps = gap_statistic(X, range(12, 21), seed=0)
    assert gap_choice(gaps) == truth.shape[0] == 16


@pytest.mark.parametrize(
    "name",
    ["gaussian blob", "uniform square", "stretched diagonal blob"],
)
def test_gap_prefers_one_segment_without_structure(name):
    rng = np.random.default_rng(3)
    if name == "gaussian blob":
        X = rng.standard_normal((600, 2))
    elif name == "uniform square":
        X = rng.uniform(size=(600, 2))
    else:
        # 10:1, at 45 degrees: against a box aligned with the axes it would look clustered;
        # the references follow the principal components, so it does not.
        X = rng.standard_normal((600, 2)) * [10.0, 1.0] @ np.array([[1, 1], [-1, 1]]) / np.sqrt(2)
    gaps = gap_statistic(X, range(2, 7), seed=0)
    assert gap_choice(gaps) == 1


def test_gap_se_and_the_reference_count():
    X = blobs([[0, 0], [6, 6]], 80, 1.0, seed=2)
    one = gap_statistic(X, [2, 3], n_refs=1, seed=0)
    assert all(row["gap_se"] == 0.0 for row in one)  # one reference: no spread
    many = gap_statistic(X, [2, 3], n_refs=20, seed=0)
    assert all(row["gap_se"] > 0 for row in many)
    assert all(row["gap"] == pytest.approx(row["log_w_ref"] - row["log_w"]) for row in many)


def test_gap_does_not_depend_on_units_or_origin():
    X = blobs([[0, 0, 0], [5, 5, 0], [0, 5, 5]], 60, 1.0, seed=4)
    base = gap_statistic(X, range(2, 6), seed=0)
    moved = gap_statistic(X * 1000.0 + 7.0, range(2, 6), seed=0)
    for a, b in zip(base, moved, strict=True):
        assert b["gap"] == pytest.approx(a["gap"], abs=1e-6)


def test_gap_reuses_the_sweeps_inertia_and_samples_large_data():
    X = blobs([[0, 0], [8, 0], [0, 8]], 100, 1.0, seed=5)
    fitted = gap_statistic(X, [2, 3, 4], seed=0)
    given = {row["k"]: np.exp(row["log_w"]) for row in fitted}
    again = gap_statistic(X, [2, 3, 4], seed=0, inertias=given)
    assert [row["gap"] for row in again] == pytest.approx([row["gap"] for row in fitted])
    sampled = gap_statistic(X, [2, 3, 4], seed=0, max_rows=150, inertias=given)
    assert gap_choice(sampled) == 3
    # The sample's own W_k were fitted (the sweep's are of all 300 rows).
    assert sampled[1]["log_w"] < fitted[1]["log_w"]


def gap_fit_by_fit(X, ks, *, seed, inertias, n_refs=10, n_init=3):
    """The statistic as it was computed one KMeans fit after another (whole data): the oracle
    for the fits side by side."""
    ks = sorted({1, *ks})
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    centered = X - X.mean(axis=0)
    rotated = centered @ np.linalg.svd(centered, full_matrices=False)[2].T
    low, high = rotated.min(axis=0), rotated.max(axis=0)

    def log_w(points, k, fit_seed, known=None):
        if known is not None:
            inertia = known
        elif k == 1:
            inertia = float(((points - points.mean(axis=0)) ** 2).sum())
        else:
            inertia = KMeans(k, n_init=n_init, random_state=fit_seed).fit(points).inertia_
        return math.log(max(inertia, np.finfo(float).tiny))

    data = {k: log_w(rotated, k, seed, inertias.get(k)) for k in ks}
    reference = np.empty((n_refs, len(ks)))
    for b in range(n_refs):
        points = rng.uniform(low, high, size=rotated.shape)
        ref_seed = int(rng.integers(0, 2**31 - 1))
        reference[b] = [log_w(points, k, ref_seed) for k in ks]
    mean, sd = reference.mean(axis=0), reference.std(axis=0)
    return [(k, mean[i] - data[k], sd[i] * math.sqrt(1.0 + 1.0 / n_refs)) for i, k in enumerate(ks)]


@pytest.mark.parametrize("name", ["mall_customers.csv", "wholesale_customers.csv"])
def test_the_fits_side_by_side_give_the_gap_of_the_fits_one_by_one(name):
    data = read_table(DATA / name)
    X = Preprocessor().fit_transform(data, infer_roles(data))
    ks = range(2, 11)
    inertias = {k: KMeans(k, n_init=20, random_state=0).fit(X).inertia_ for k in (2, 5, 9)}
    fast = gap_statistic(X, ks, seed=0, inertias=inertias)
    former = gap_fit_by_fit(X, ks, seed=0, inertias=inertias)
    assert [(row["k"], row["gap"], row["gap_se"]) for row in fast] == former  # exactly


def test_the_choice_figure_gets_a_gap_panel_when_the_gap_was_computed():
    import io

    from matplotlib.image import imread

    from segmentation.plots import elbow_silhouette

    rows = [
        {"k": k, "inertia": 100.0 / k, "silhouette": 0.3, "gap": 0.1 * k, "gap_se": 0.01}
        for k in range(2, 6)
    ]
    gap = {"k1": {"gap": 0.1, "gap_se": 0.01}, "choice": 5}
    plain = imread(io.BytesIO(elbow_silhouette(rows, 3, 4)))
    with_gap = imread(io.BytesIO(elbow_silhouette(rows, 3, 4, gap)))
    assert with_gap.shape[1] == plain.shape[1] * 3 // 2  # three panels of the same width
