"""scikit-learn's estimator protocol: its own test suite, clone, Pipeline and GridSearchCV.

``KMeans`` and ``PCA`` never import scikit-learn; these tests hold them to scikit-learn's
``check_estimator`` checks, a peer's test suite that nobody here wrote.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans as SkKMeans
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from kmeans_core import PCA, KMeans

#: The checks scikit-learn 1.9's own KMeans is expected to fail (its suite marks the same two;
#: ``sklearn.utils._test_common.instance_generator``). k-means++ draws its random numbers per
#: row, so a row repeated twice and a row of weight 2 start from different centers and may end
#: in a different local minimum. The sparse one is not even run on ours, which refuse sparse X.
KMEANS_EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample_weight is not equivalent to removing/repeating samples (scikit-learn's KMeans "
        "fails it too): k-means++ draws per row."
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "sample_weight is not equivalent to removing/repeating samples (scikit-learn's KMeans "
        "fails it too); our estimators refuse sparse data, so the check is skipped."
    ),
}


def _expected_failures(estimator):
    return KMEANS_EXPECTED_FAILURES if isinstance(estimator, KMeans) else {}


# n_clusters=3: the checks' data sets are small (down to 10 samples). scikit-learn warns, on
# purpose, that they do not inherit from its BaseEstimator.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Estimator .* does not inherit from")
    _with_checks = parametrize_with_checks(
        [KMeans(n_clusters=3), KMeans(n_clusters=3, refine="swap"), PCA()],
        expected_failed_checks=_expected_failures,
    )


@_with_checks
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "check",
    [
        estimator_checks.check_clusterer_compute_labels_predict,
        estimator_checks.check_clustering,
        partial(estimator_checks.check_clustering, readonly_memmap=True),
    ],
    ids=["compute_labels_predict", "clustering", "clustering_readonly_memmap"],
)
def test_sklearn_clustering_checks(check):
    """The clusterer checks, which scikit-learn runs only on subclasses of its ClusterMixin."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check("KMeans", KMeans(n_clusters=3))


def test_our_kmeans_fails_the_checks_scikit_learns_fails():
    """The expected failures are exactly scikit-learn's own KMeans's failures, no more."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = estimator_checks.check_estimator(
            SkKMeans(n_clusters=3, n_init=1), on_fail=None, on_skip=None
        )
    failed = {r["check_name"] for r in theirs if r["status"] == "failed"}
    assert failed == set(KMEANS_EXPECTED_FAILURES)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 1.0], [0.0, 6.0, -1.0]])
    X = centers[rng.integers(0, 3, 300)] + rng.normal(size=(300, 3))
    return X * np.array([1.0, 100.0, 0.01])  # scales apart, so that scaling matters


def test_get_params_set_params_and_repr():
    km = KMeans(n_clusters=4, random_state=0)
    assert km.get_params() == {
        "algorithm": "auto",
        "init": "k-means++",
        "max_iter": 300,
        "max_swaps": None,
        "n_clusters": 4,
        "n_init": "auto",
        "n_threads": None,
        "random_state": 0,
        "refine": None,
        "tol": 1e-4,
    }
    assert km.set_params(max_iter=50, algorithm="hamerly") is km
    assert (km.max_iter, km.algorithm) == (50, "hamerly")
    with pytest.raises(ValueError, match="Invalid parameter 'n_components' for estimator KMeans"):
        km.set_params(n_components=2)
    assert repr(KMeans()) == "KMeans()"
    assert repr(km) == "KMeans(algorithm='hamerly', max_iter=50, n_clusters=4, random_state=0)"
    init = np.zeros((2, 3), dtype=np.float32)
    assert repr(KMeans(2, init=init)) == (
        "KMeans(init=<array of shape (2, 3), float32>, n_clusters=2)"
    )
    assert repr(PCA()) == "PCA()"
    assert repr(PCA(2, whiten=True)) == "PCA(n_components=2, whiten=True)"


def test_clone_keeps_the_parameters_and_drops_the_fit(blobs):
    init = blobs[:3].copy()
    km = KMeans(n_clusters=3, init=init, max_iter=20).fit(blobs)
    copy = clone(km)
    assert copy.get_params().keys() == km.get_params().keys()
    assert copy.max_iter == 20
    np.testing.assert_array_equal(copy.init, init)
    assert not hasattr(copy, "cluster_centers_")
    np.testing.assert_array_equal(copy.fit(blobs).labels_, km.labels_)


def test_unfitted_estimators_raise_not_fitted_error(blobs):
    with pytest.raises(NotFittedError, match=r"This KMeans instance is not fitted yet"):
        KMeans(3).predict(blobs)
    with pytest.raises(ValueError, match=r"This PCA instance is not fitted yet"):
        PCA(2).transform(blobs)


def test_feature_names_from_a_dataframe(blobs):
    df = pd.DataFrame(blobs, columns=["recency", "frequency", "monetary"])
    km = KMeans(n_clusters=3, random_state=0).fit(df)
    assert km.n_features_in_ == 3
    assert km.feature_names_in_.dtype == object
    assert list(km.feature_names_in_) == ["recency", "frequency", "monetary"]
    np.testing.assert_array_equal(km.predict(df), km.labels_)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        km.predict(blobs)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        km.predict(df[["monetary", "frequency", "recency"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 3"):
            km.predict(blobs[:, :2])
    km.fit(blobs)
    assert not hasattr(km, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but KMeans was fitted without"):
        km.predict(df)
    pca = PCA(2).fit(df)
    assert list(pca.feature_names_in_) == list(df.columns)
    # Names that are not all strings are not feature names; a mix is refused.
    assert not hasattr(PCA(2).fit(pd.DataFrame(blobs)), "feature_names_in_")
    with pytest.raises(TypeError, match="only supported if all input features have string"):
        PCA(2).fit(pd.DataFrame(blobs, columns=["a", 1, "c"]))


def test_pipeline_with_a_scaler(blobs):
    pipe = Pipeline([("scale", StandardScaler()), ("km", KMeans(n_clusters=3, random_state=0))])
    labels = pipe.fit_predict(blobs)
    scaled = StandardScaler().fit_transform(blobs)
    alone = KMeans(n_clusters=3, random_state=0).fit(scaled)
    np.testing.assert_array_equal(labels, alone.labels_)
    np.testing.assert_array_equal(pipe.predict(blobs), alone.labels_)
    assert pipe.score(blobs) == pytest.approx(alone.score(scaled), rel=1e-12)
    pipe.set_params(km__n_clusters=2)
    assert pipe.named_steps["km"].n_clusters == 2
    assert np.unique(pipe.fit_predict(blobs)).shape == (2,)


def test_grid_search_over_our_estimators(blobs):
    pipe = Pipeline([("pca", PCA()), ("km", KMeans(random_state=0))])
    search = GridSearchCV(
        pipe, {"pca__n_components": [1, 2], "km__n_clusters": [2, 3, 4]}, cv=3
    ).fit(blobs)
    assert len(search.cv_results_["params"]) == 6
    # score is minus the inertia: more clusters and fewer components always score higher.
    assert search.best_params_ == {"km__n_clusters": 4, "pca__n_components": 1}
    best = search.best_estimator_
    projected = PCA(1).fit_transform(blobs)
    np.testing.assert_array_equal(
        best.predict(blobs), KMeans(n_clusters=4, random_state=0).fit(projected).labels_
    )


def test_kmeans_core_never_imports_sklearn():
    """Fitting, repr, parameters and DataFrames do not import scikit-learn; only its tags would."""
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from kmeans_core import KMeans, PCA\n"
        "X = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 3)), columns=list('abc'))\n"
        "km = KMeans(3, random_state=0).fit(X); km.predict(X); repr(km); km.get_params()\n"
        "PCA(2).fit_transform(X)\n"
        "assert not any(m.split('.')[0] == 'sklearn' for m in sys.modules), 'imported'\n"
        "km.__sklearn_tags__()\n"
        "assert 'sklearn' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
