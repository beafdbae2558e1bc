"""PCA: scikit-learn's ``PCA(svd_solver="full")`` answer, on both of our routes.

Tall data take the covariance route (``solver_ == "covariance_eigh"``), short or wide data the
SVD (``solver_ == "full"``); both are compared with scikit-learn, signs included, and with each
other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SkPCA

import kmeans_core.pca as pca_module
from kmeans_core import PCA

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

FITTED = [
    "components_",
    "explained_variance_",
    "explained_variance_ratio_",
    "singular_values_",
    "mean_",
]


def _correlated(n, d, seed, offset=3.0):
    """Correlated Gaussian data with distinct variances (well-separated eigenvalues)."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(10.0, 0.5, d)
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    return (rng.normal(size=(n, d)) * scales) @ rotation.T + offset


def assert_same_fit(ours, theirs, rtol):
    assert ours.n_components_ == theirs.n_components_
    assert ours.n_features_in_ == theirs.n_features_in_
    assert ours.n_samples_ == theirs.n_samples_
    for name in FITTED:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=name)
    assert ours.noise_variance_ == pytest.approx(theirs.noise_variance_, rel=rtol, abs=1e-300)


CASES = [
    # (shape, expected route)
    ((4000, 6), "covariance_eigh"),
    ((300, 12), "covariance_eigh"),
    ((60, 12), "full"),
    ((25, 40), "full"),
]


@pytest.mark.parametrize("n_components", [None, 1, 3, 0.5, 0.9, 0.999])
@pytest.mark.parametrize(("shape", "route"), CASES)
def test_fit_matches_sklearn(shape, route, n_components):
    X = _correlated(*shape, seed=shape[0])
    ours = PCA(n_components=n_components).fit(X)
    theirs = SkPCA(n_components=n_components, svd_solver="full").fit(X)
    assert ours.solver_ == route
    assert_same_fit(ours, theirs, rtol=1e-9)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize(("shape", "route"), CASES)
def test_transforms_match_sklearn(shape, route, whiten):
    X = _correlated(*shape, seed=1)
    X_new = _correlated(50, shape[1], seed=2)
    ours = PCA(n_components=3, whiten=whiten)
    theirs = SkPCA(n_components=3, whiten=whiten, svd_solver="full")
    np.testing.assert_allclose(ours.fit_transform(X), theirs.fit_transform(X), atol=1e-9)
    np.testing.assert_allclose(ours.transform(X_new), theirs.transform(X_new), atol=1e-9)
    Z = ours.transform(X_new)
    np.testing.assert_allclose(
        ours.inverse_transform(Z), theirs.inverse_transform(Z), rtol=1e-9, atol=1e-9
    )


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize(("shape", "route"), CASES)
def test_round_trip_with_every_component(shape, route, whiten):
    X = _correlated(*shape, seed=3)
    pca = PCA(whiten=whiten).fit(X)
    Z = pca.transform(X)
    assert Z.shape == (shape[0], min(shape))
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-9)
    if whiten:
        np.testing.assert_allclose(Z[:, :3].std(axis=0, ddof=1), 1.0, rtol=1e-9)


@pytest.mark.parametrize(("shape", "route"), CASES)
def test_float32_input(shape, route):
    X = _correlated(*shape, seed=4).astype(np.float32)
    ours = PCA(n_components=3).fit(X)
    theirs = SkPCA(n_components=3, svd_solver="full").fit(X)
    assert ours.solver_ == route
    assert ours.components_.dtype == np.float32 and ours.mean_.dtype == np.float32
    # scikit-learn works in float32 here; we agree to float32 accuracy.
    assert_same_fit(ours, theirs, rtol=2e-4)
    Z = ours.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z, theirs.transform(X), rtol=1e-3, atol=2e-3)


def test_covariance_route_agrees_with_the_svd_route(monkeypatch):
    X = _correlated(20_000, 16, seed=5, offset=100.0)
    fast = PCA(n_components=10).fit(X)
    monkeypatch.setattr(pca_module, "GRAM_MIN_SAMPLES_PER_FEATURE", 10**9)
    full = PCA(n_components=10).fit(X)
    assert (fast.solver_, full.solver_) == ("covariance_eigh", "full")
    for name in FITTED:
        np.testing.assert_allclose(getattr(fast, name), getattr(full, name), rtol=1e-8, atol=0)


def test_rank_deficient_data_falls_back_to_the_svd():
    X = _correlated(3000, 6, seed=6)
    X[:, 5] = X[:, 0] - 2.0 * X[:, 1]  # an exactly dependent column: a zero eigenvalue
    ours = PCA().fit(X)
    assert ours.solver_ == "full"
    assert_same_fit(ours, SkPCA(svd_solver="full").fit(X), rtol=1e-9)
    # Keeping only the well-determined components, the covariance route is accurate enough.
    assert PCA(n_components=4).fit(X).solver_ == "covariance_eigh"


def test_real_data_wholesale_customers():
    path = DATA_DIR / "wholesale_customers.csv"
    if not path.exists():
        pytest.fail(f"real data not found: {path}")
    X = np.loadtxt(path, delimiter=",", skiprows=1)[:, 2:]  # the six spending columns
    X = np.log1p(X)
    ours = PCA(n_components=0.8).fit(X)
    theirs = SkPCA(n_components=0.8, svd_solver="full").fit(X)
    assert ours.solver_ == "covariance_eigh"
    assert_same_fit(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_bits_whatever_the_threads(monkeypatch, dtype):
    # The covariance's row blocks run on the engine's threads; odd counts split them unevenly.
    from kmeans_core import _parallel

    X = _correlated(50_000, 8, seed=7).astype(dtype)
    fits = []
    asked = []  # the thread counts the code asked for: proof that the patch reached it
    for n_threads in (1, 2, 3, 7):
        monkeypatch.setattr(
            _parallel, "threads_for", lambda work, n=n_threads: asked.append(n) or n
        )
        fits.append(PCA(n_components=4).fit(X))
    assert set(asked) == {1, 2, 3, 7}
    for other in fits[1:]:
        for name in FITTED:
            np.testing.assert_array_equal(getattr(fits[0], name), getattr(other, name))


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_components", [0, -1, 6, 1.0, 1.5, 0.0, -0.2])
def test_n_components_out_of_range(n_components):
    X = _correlated(100, 5, seed=0)
    with pytest.raises(ValueError, match="n_components"):
        PCA(n_components=n_components).fit(X)


@pytest.mark.parametrize("n_components", ["mle", True, [2], np.array(2.0 + 1j)])
def test_n_components_of_the_wrong_type(n_components):
    X = _correlated(100, 5, seed=0)
    with pytest.raises(TypeError, match="n_components"):
        PCA(n_components=n_components).fit(X)


def test_numpy_integer_n_components_is_accepted():
    X = _correlated(100, 5, seed=0)
    assert PCA(n_components=np.int64(2)).fit(X).n_components_ == 2


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_use_before_fit(method):
    with pytest.raises(ValueError, match=r"not fitted yet; call fit\(X\)"):
        getattr(PCA(), method)(np.zeros((3, 2)))


def test_wrong_number_of_features():
    pca = PCA(n_components=2).fit(_correlated(100, 5, seed=0))
    with pytest.raises(ValueError, match="X has 4 features, but PCA is expecting 5 features"):
        pca.transform(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="keeps 2 components"):
        pca.inverse_transform(np.zeros((3, 3)))


def test_bad_data():
    with pytest.raises(ValueError, match="at least 2"):
        PCA().fit(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        PCA().fit(np.array([[1.0, np.nan], [2.0, 3.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="2-D"):
        PCA().fit(np.arange(10.0))


# ------------------------------------------------------------------------------------------
# Invariants
# ------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    st.integers(min_value=2, max_value=400),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=0, max_value=2**31 - 1),
)
def test_components_are_orthonormal_and_signed_like_sklearn(n, d, seed):
    X = _correlated(n, d, seed=seed)
    pca = PCA().fit(X)
    C = pca.components_
    np.testing.assert_allclose(C @ C.T, np.eye(pca.n_components_), atol=1e-10)
    # sklearn's sign rule: the largest-magnitude entry of each component is positive.
    assert np.all(C[np.arange(C.shape[0]), np.argmax(np.abs(C), axis=1)] > 0)
    assert np.all(np.diff(pca.explained_variance_) <= 1e-12 * pca.explained_variance_[0])
    assert pca.explained_variance_ratio_.sum() == pytest.approx(1.0, rel=1e-9)
