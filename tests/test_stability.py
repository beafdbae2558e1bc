"""Bootstrap stability per segment (Hennig's clusterboot): the definition, and real data."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmeans_core import KMeans
from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.preprocess import Preprocessor, infer_roles
from segmentation.stability import (
    Stability,
    best_jaccard,
    bootstrap_stability,
    check_bootstrap,
    stability_label,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def kmeans_labels(X: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(KMeans(k, n_init=10, random_state=0).fit(X).labels_)


# --------------------------------------------------------------------------- the definition


def test_best_jaccard_by_hand():
    original = np.array([0, 0, 0, 1, 1, 2])
    found = np.array([1, 1, 0, 0, 0, 0])
    # segment 0 {0,1,2}: with {0,1} 2/3, with {2,3,4,5} 1/6; segment 1 {3,4}: 2/4;
    # segment 2 {5}: 1/4.
    np.testing.assert_allclose(best_jaccard(original, found, 3, 2), [2 / 3, 0.5, 0.25])
    # A segment absent from the draw scores 0 (clusterboot's zerobyzero=0).
    assert best_jaccard(np.array([0, 0]), np.array([0, 0]), 2, 1)[1] == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=40),
    st.permutations(range(4)),
)
def test_best_jaccard_is_one_for_the_same_partition_under_any_names(labels, names):
    original = np.array(labels)
    found = np.asarray(names)[original]  # the same groups, renamed
    scores = best_jaccard(original, found, 4, 4)
    present = np.isin(np.arange(4), original)
    assert np.all(scores[present] == 1.0)
    assert np.all(scores[~present] == 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3)), min_size=1, max_size=60))
def test_best_jaccard_matches_sets(pairs):
    original = np.array([a for a, _ in pairs])
    found = np.array([b for _, b in pairs])
    scores = best_jaccard(original, found, 3, 4)
    for segment in range(3):
        mine = {i for i, a in enumerate(original) if a == segment}
        best = 0.0
        for cluster in range(4):
            theirs = {i for i, b in enumerate(found) if b == cluster}
            if mine | theirs:
                best = max(best, len(mine & theirs) / len(mine | theirs))
        assert scores[segment] == pytest.approx(best)


def test_each_replicate_compares_the_segments_on_the_distinct_customers_drawn():
    """clusterboot's definition, rebuilt with Python sets from the rows each replicate drew."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    labels = (X[:, 0] > 0).astype(int)
    drawn = []

    def cluster(rows, seed):
        drawn.append(rows.copy())
        return (X[rows, 1] > 0).astype(int)  # a different split: Jaccard well below 1

    result = bootstrap_stability(X, labels, 2, n_boot=5, seed=3, cluster=cluster)
    assert result.jaccard.shape == (5, 2)
    for rows, scores in zip(drawn, result.jaccard, strict=True):
        assert np.all(np.diff(rows) > 0)  # distinct customers, each once
        assert 0.5 * 30 < len(rows) < 30  # about 63% of them are drawn
        for segment in (0, 1):
            mine = {r for r in rows if labels[r] == segment}
            best = max(
                len(mine & theirs) / len(mine | theirs)
                for theirs in ({r for r in rows if X[r, 1] > 0}, {r for r in rows if X[r, 1] <= 0})
            )
            assert scores[segment] == pytest.approx(best)


def test_a_clustering_that_finds_the_segments_again_is_perfectly_stable():
    X = np.random.default_rng(1).normal(size=(50, 3))
    labels = np.arange(50) % 3
    result = bootstrap_stability(X, labels, 3, n_boot=8, cluster=lambda rows, seed: labels[rows])
    np.testing.assert_array_equal(result.mean, [1.0, 1.0, 1.0])
    assert result.labels == ["highly stable"] * 3
    assert list(result.dissolved) == [0, 0, 0] and list(result.recovered) == [8, 8, 8]


def test_replicates_do_not_depend_on_how_many_there_are():
    X = np.random.default_rng(2).normal(size=(120, 2))
    labels = kmeans_labels(X, 3)
    ten = bootstrap_stability(X, labels, 3, n_boot=10, seed=5)
    twenty = bootstrap_stability(X, labels, 3, n_boot=20, seed=5)
    np.testing.assert_array_equal(twenty.jaccard[:10], ten.jaccard)
    other = bootstrap_stability(X, labels, 3, n_boot=10, seed=6)
    assert not np.array_equal(other.jaccard, ten.jaccard)


@pytest.mark.parametrize(
    ("name", "k", "n_init"), [("mall_customers.csv", 6, None), ("wholesale_customers.csv", 4, 3)]
)
def test_the_re_clusterings_side_by_side_are_the_fits_one_by_one(name, k, n_init):
    """The engine's re-clusterings run side by side (``fit_many``); the oracle fits each draw
    alone, as a ``cluster`` callable does."""
    data = read_table(DATA / name)
    X = Preprocessor().fit_transform(data, infer_roles(data))
    labels = kmeans_labels(X, k)
    starts = n_init or 20

    def one_by_one(rows, seed):
        return KMeans(k, n_init=starts, random_state=seed).fit(X[rows]).labels_

    fast = bootstrap_stability(X, labels, k, n_boot=12, seed=7, n_init=n_init)
    former = bootstrap_stability(X, labels, k, n_boot=12, seed=7, cluster=one_by_one)
    assert fast.n_init == starts
    np.testing.assert_array_equal(fast.jaccard, former.jaccard)  # exactly


def test_a_draw_with_fewer_customers_than_segments_is_clustered_into_fewer():
    X = np.arange(8, dtype=float).reshape(4, 2)
    result = bootstrap_stability(X, np.array([0, 1, 2, 3]), 4, n_boot=6, seed=1)
    assert result.jaccard.shape == (6, 4)
    assert (result.jaccard <= 1).all() and result.mean.min() < 1  # a segment left out


def test_many_customers_are_drawn_m_out_of_n_and_it_says_so():
    X = np.random.default_rng(3).normal(size=(500, 2))
    labels = kmeans_labels(X, 2)
    seen = []
    result = bootstrap_stability(
        X, labels, 2, n_boot=4, max_rows=100, progress=lambda d, t: seen.append((d, t))
    )
    assert result.draw_size == 100 and result.sampled
    assert "100 of the 500 customers" in result.description
    assert "m-out-of-n" in result.to_dict()["description"]
    assert seen == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (0.95, "highly stable"),
        (0.85, "highly stable"),
        (0.8, "stable"),
        (0.75, "stable"),
        (0.7, "doubtful"),
        (0.6, "doubtful"),
        (0.59, "not to be trusted"),
        (0.0, "not to be trusted"),
    ],
)
def test_clusterboots_reading(value, label):
    assert stability_label(value) == label


@pytest.mark.parametrize("bad", [-1, "-3", "many", 2.5, True, None])
def test_bad_replicate_counts_are_refused(bad):
    with pytest.raises(SegmentationError, match="`bootstrap`"):
        check_bootstrap(bad)


def test_replicate_counts_are_read():
    assert check_bootstrap("50") == 50 and check_bootstrap(0) == 0


def test_segment_fields_for_the_summary():
    result = Stability(
        jaccard=np.array([[0.9, 0.4], [0.8, 0.6]]), n_customers=10, draw_size=10, n_init=1, seed=0
    )
    assert result.segment(0) == {
        "stability": 0.85,
        "stability_label": "highly stable",
        "stability_se": 0.05,
        "stability_dissolved": 0,
        "stability_recovered": 2,
    }
    assert result.segment(1)["stability_label"] == "not to be trusted"
    assert result.unstable == [1]


# --------------------------------------------------------------------------- real data


def test_franti_s1_fifteen_clusters_are_highly_stable():
    X = np.loadtxt(DATA / "franti" / "s1.txt")
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    result = bootstrap_stability(X, kmeans_labels(X, 15), 15, n_boot=15, seed=0)
    assert result.mean.min() >= 0.85, result.mean


def test_wholesale_customers_two_segments_are_highly_stable():
    data = read_table(DATA / "wholesale_customers.csv")
    X = Preprocessor().fit_transform(data, infer_roles(data))
    result = bootstrap_stability(X, kmeans_labels(X, 2), 2, n_boot=30, seed=0)
    assert result.labels == ["highly stable", "highly stable"], result.mean


def test_a_gaussian_cloud_cut_in_three_is_not_to_be_trusted():
    X = np.random.default_rng(4).normal(size=(800, 6))
    result = bootstrap_stability(X, kmeans_labels(X, 3), 3, n_boot=30, seed=0)
    assert result.unstable, result.mean


def test_the_stability_figure_is_drawn_for_every_segment():
    from matplotlib.image import imread

    from segmentation.plots import segment_stability
    from segmentation.stability import READINGS

    png = segment_stability(
        np.array([0.95, 0.7, 0.4]), np.array([0.01, 0.05, np.nan]), ["a", "b", "c"],
        readings=READINGS, n_boot=50,
    )  # fmt: skip
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = imread(io.BytesIO(png))
    more = segment_stability(
        np.full(8, 0.9), np.full(8, 0.01), list("abcdefgh"), readings=READINGS, n_boot=50
    )
    assert imread(io.BytesIO(more)).shape[0] > image.shape[0]  # a row per segment
