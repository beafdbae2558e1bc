"""Bad input gets a ValueError (TypeError for a wrong type) that says what is wrong, and the
warnings for an unfinished or degenerate fit are given (while the fit still succeeds)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kmeans_core import KMeans, kmeans_plusplus
from kmeans_core._kernels import WIDE_VECTORS
from kmeans_core.estimator import ConvergenceWarning, choose_algorithm

rng = np.random.default_rng(0)
X_GOOD = rng.normal(size=(40, 3))


def _with(values, row=3, col=1):
    X = X_GOOD.copy()
    X[row, col] = values
    return X


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (_with(np.nan), ValueError, "NaN"),
        (_with(np.inf), ValueError, "infinity"),
        (_with(-np.inf), ValueError, "infinity"),
        (np.arange(10.0), ValueError, "2-D"),
        (np.zeros((4, 3, 2)), ValueError, "2-D"),
        (np.zeros((0, 3)), ValueError, "sample"),
        (np.zeros((5, 0)), ValueError, "no features"),
        (np.array([["a", "b"], ["c", "d"], ["e", "f"]]), ValueError, "non-numeric"),
        (np.array([[1.0, "x"], [2.0, 3.0]], dtype=object), ValueError, "non-numeric"),
        ([[1.0, 2.0], [3.0]], ValueError, "numeric array"),
        (np.array([[1 + 2j, 3], [4, 5]]), ValueError, "complex"),
    ],
    ids=[
        "nan",
        "inf",
        "-inf",
        "1d",
        "3d",
        "no-rows",
        "no-features",
        "strings",
        "object",
        "ragged",
        "complex",
    ],
)
def test_bad_X_is_rejected_with_a_clear_message(X, error, match):
    with pytest.raises(error, match=match):
        KMeans(n_clusters=2, n_init=1).fit(X)
    with pytest.raises(error, match=match):
        kmeans_plusplus(X, 2)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_clusters": 0}, ValueError, "n_clusters must be at least 1"),
        ({"n_clusters": -3}, ValueError, "n_clusters must be at least 1"),
        ({"n_clusters": 41}, ValueError, "larger than the number of samples"),
        ({"n_clusters": 2.5}, TypeError, "n_clusters must be an int"),
        ({"n_clusters": "3"}, TypeError, "n_clusters must be an int"),
        ({"init": np.zeros((3, 3))}, ValueError, r"init array has shape \(3, 3\)"),
        ({"init": np.zeros((2, 4))}, ValueError, r"init array has shape \(2, 4\)"),
        ({"init": np.zeros(6)}, ValueError, "2-D"),
        ({"init": "kmeans++"}, ValueError, "Unknown init 'kmeans\\+\\+'"),
        ({"init": 3}, TypeError, "init must be"),
        ({"init": np.array([[np.nan] * 3, [0.0] * 3])}, ValueError, "NaN"),
        ({"algorithm": "full"}, ValueError, "Unknown algorithm 'full'"),
        ({"algorithm": "minibatch"}, ValueError, "Unknown algorithm"),
        ({"tol": -1e-3}, ValueError, "tol must be"),
        ({"tol": float("nan")}, ValueError, "tol must be"),
        ({"tol": "small"}, TypeError, "tol must be a number"),
        ({"max_iter": 0}, ValueError, "max_iter must be at least 1"),
        ({"max_iter": -5}, ValueError, "max_iter must be at least 1"),
        ({"max_iter": 10.5}, TypeError, "max_iter must be an int"),
        ({"n_init": 0}, ValueError, "n_init must be at least 1"),
        ({"n_init": "many"}, TypeError, "n_init must be 'auto' or an int"),
        ({"n_threads": 0}, ValueError, "n_threads"),
        ({"random_state": "seed"}, TypeError, "random_state must be"),
    ],
    ids=lambda value: repr(value) if not isinstance(value, dict) else None,
)
def test_bad_parameters_are_rejected_with_a_clear_message(params, error, match):
    params = {"n_clusters": 2, **params}
    with pytest.raises(error, match=match):
        KMeans(**params).fit(X_GOOD)


@pytest.mark.parametrize(
    ("sample_weight", "match"),
    [
        (np.ones(39), r"sample_weight must have shape \(40,\)"),
        (np.ones((40, 1)), r"sample_weight must have shape \(40,\)"),
        (np.r_[-1.0, np.ones(39)], "non-negative"),
        (np.zeros(40), "zero everywhere"),
        (np.r_[np.nan, np.ones(39)], "NaN"),
        (np.array(["a"] * 40), "numbers"),
    ],
    ids=["short", "2d", "negative", "all-zero", "nan", "text"],
)
def test_bad_sample_weight_is_rejected(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        KMeans(n_clusters=2).fit(X_GOOD, sample_weight=sample_weight)
    with pytest.raises(ValueError, match=match):
        kmeans_plusplus(X_GOOD, 2, sample_weight=sample_weight)


def test_kmeans_plusplus_rejects_bad_arguments():
    with pytest.raises(ValueError, match="larger than the number of samples"):
        kmeans_plusplus(X_GOOD, 41)
    with pytest.raises(ValueError, match="n_clusters must be at least 1"):
        kmeans_plusplus(X_GOOD, 0)
    with pytest.raises(ValueError, match="n_local_trials"):
        kmeans_plusplus(X_GOOD, 2, n_local_trials=0)
    with pytest.raises(TypeError, match="random_state"):
        kmeans_plusplus(X_GOOD, 2, random_state=1.5)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_using_an_unfitted_model_says_to_fit_first(method):
    with pytest.raises(ValueError, match="fit"):
        getattr(KMeans(n_clusters=2), method)(X_GOOD)


@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_wrong_number_of_features_after_fit(method):
    km = KMeans(n_clusters=2, random_state=0).fit(X_GOOD)
    with pytest.raises(ValueError, match="4 features, but KMeans is expecting 3 features"):
        getattr(km, method)(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="NaN"):
        getattr(km, method)(np.full((5, 3), np.nan))


def test_a_list_of_lists_and_integers_are_accepted():
    data = [[0, 0], [0, 1], [10, 10], [10, 11]]
    km = KMeans(n_clusters=2, random_state=0).fit(data)
    assert km.cluster_centers_.dtype == np.float64
    assert km.predict([[0, 0]])[0] == km.labels_[0]
    assert km.labels_[0] == km.labels_[1] != km.labels_[2] == km.labels_[3]


def test_reaching_max_iter_warns_and_still_fits():
    X = np.random.default_rng(1).normal(size=(2000, 2))
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        km = KMeans(n_clusters=8, max_iter=1, random_state=0).fit(X)
    assert km.n_iter_ == 1
    assert km.labels_.shape == (2000,)


def test_fewer_distinct_points_than_clusters_warns_and_still_fits():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]]), 10, axis=0)
    with pytest.warns(ConvergenceWarning, match="3 distinct points"):
        km = KMeans(n_clusters=5, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (5, 2)
    assert km.inertia_ == pytest.approx(0.0, abs=1e-20)
    assert np.unique(km.labels_).shape[0] == 3


def test_a_settled_fit_gives_no_warning():
    X = np.random.default_rng(2).normal(size=(500, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(n_clusters=3, random_state=0).fit(X)


def test_convergence_warning_is_a_user_warning():
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.parametrize(
    ("n_features", "n_clusters", "max_iter", "expected", "expected_wide"),
    [
        (2, 8, 300, "lloyd", "lloyd"),
        (64, 8, 300, "lloyd", "lloyd"),
        (3, 20, 300, "lloyd", "lloyd"),
        (4, 31, 300, "lloyd", "lloyd"),
        (4, 32, 300, "hamerly", "lloyd"),
        (5, 20, 300, "hamerly", "lloyd"),
        (16, 31, 300, "hamerly", "lloyd"),
        (16, 32, 300, "hamerly", "lloyd"),
        (16, 127, 300, "hamerly", "lloyd"),
        (64, 20, 300, "hamerly", "lloyd"),
        (64, 20, 29, "lloyd", "lloyd"),
        (16, 20, 10, "hamerly", "lloyd"),
        (3, 128, 300, "exponion", "lloyd"),
        (16, 128, 300, "yinyang", "lloyd"),
        (64, 128, 300, "yinyang", "lloyd"),
        (64, 128, 10, "lloyd", "lloyd"),
    ],
)
def test_auto_picks_the_measured_fastest_algorithm(
    n_features, n_clusters, max_iter, expected, expected_wide
):
    """The rule of ``choose_algorithm``, shape by shape, with 256-bit and 512-bit vectors, and
    what a fit on this machine reports it ran."""
    assert choose_algorithm(1000, n_features, n_clusters, max_iter, wide_vectors=False) == expected
    assert choose_algorithm(1000, n_features, n_clusters, max_iter, wide_vectors=True) == (
        expected_wide
    )
    X = np.random.default_rng(0).normal(size=(300, n_features))
    km = KMeans(n_clusters, random_state=0, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km.fit(X)
    assert km.algorithm_ == (expected_wide if WIDE_VECTORS else expected)
