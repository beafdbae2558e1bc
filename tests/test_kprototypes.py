"""KPrototypes against kmodes (same labels, cost and iterations for a seed), its invariants, and
its input checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kmeans_core import KPrototypes
from kmeans_core.kprototypes import UnknownCategoryWarning

kmodes_kprototypes = pytest.importorskip("kmodes.kprototypes")
KModesKPrototypes = kmodes_kprototypes.KPrototypes

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mixed_data(n, seed, n_numeric=3, levels=(3, 5, 4), n_groups=4):
    """An object array of ``n`` rows: numeric columns first, then one text column per entry of
    ``levels``, all loosely following ``n_groups`` hidden groups."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n)
    centers = rng.normal(0, 3, (n_groups, n_numeric))
    X = np.empty((n, n_numeric + len(levels)), dtype=object)
    X[:, :n_numeric] = centers[group] + rng.normal(size=(n, n_numeric))
    for a, n_levels in enumerate(levels):
        drift = rng.integers(0, 2, n)
        X[:, n_numeric + a] = [
            f"{'abcdef'[a]}{(g + d) % n_levels}" for g, d in zip(group, drift, strict=True)
        ]
    return X, list(range(n_numeric, n_numeric + len(levels)))


def mixed_cost(X, categorical, centroids, gamma):
    """Cost of every row against every prototype, in plain NumPy: (n, k)."""
    numeric_cols = [j for j in range(X.shape[1]) if j not in categorical]
    num = X[:, numeric_cols].astype(float)
    centers = centroids[:, numeric_cols].astype(float)
    squared = ((num[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    mismatches = (X[:, None, categorical] != centroids[None, :, categorical]).sum(axis=2)
    return squared + gamma * mismatches


@pytest.fixture(scope="module")
def data():
    return mixed_data(400, seed=7)


# --- the same result as kmodes -------------------------------------------------------------


@pytest.mark.parametrize("init", ["Cao", "Huang", "random"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_as_kmodes(init, seed):
    X, categorical = mixed_data(300, seed)
    theirs = KModesKPrototypes(n_clusters=5, init=init, n_init=2, random_state=seed)
    theirs.fit(X, categorical=categorical)
    ours = KPrototypes(5, init=init.lower(), n_init=2, random_state=seed)
    ours.fit(X, categorical=categorical)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.cost_ == theirs.cost_
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.gamma_ == theirs.gamma
    numeric_theirs, modes_theirs = theirs._enc_cluster_centroids
    np.testing.assert_array_equal(ours.numeric_centers_, numeric_theirs)
    np.testing.assert_array_equal(ours.categorical_modes_, modes_theirs.astype(np.int32))


def test_given_centers_same_as_kmodes(data):
    X, categorical = data
    start = X[[3, 50, 120, 250]]
    numeric = start[:, :3].astype(float)
    codes = np.array(
        [
            [
                np.searchsorted(np.unique(X[:, j]), v)
                for j, v in zip(categorical, row[3:], strict=True)
            ]
            for row in start
        ]
    )
    theirs = KModesKPrototypes(n_clusters=4, init=[numeric, codes], gamma=1.5)
    theirs.fit(X, categorical=categorical)
    ours = KPrototypes(4, init=start, gamma=1.5).fit(X, categorical=categorical)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.cost_ == theirs.cost_
    assert ours.n_iter_ == theirs.n_iter_


def test_cost_no_worse_than_kmodes_on_average():
    ours, theirs = [], []
    for seed in range(4):
        X, categorical = mixed_data(250, 100 + seed, levels=(6, 3, 5, 2), n_groups=6)
        ours.append(
            KPrototypes(6, n_init=1, random_state=seed).fit(X, categorical=categorical).cost_
        )
        theirs.append(
            KModesKPrototypes(n_clusters=6, n_init=1, random_state=seed)
            .fit(X, categorical=categorical)
            .cost_
        )
    assert np.mean(ours) <= np.mean(theirs) * (1 + 1e-12)


def kmodes_pass_state(numeric, codes, labels, centers, modes, k):
    """kmodes' bookkeeping (sums, counts, frequencies, membership) for a labelled state."""
    from collections import defaultdict

    n = len(labels)
    membership = np.zeros((k, n), dtype=bool)
    membership[labels, np.arange(n)] = True
    freq = [[defaultdict(float) for _ in range(codes.shape[1])] for _ in range(k)]
    for i, c in enumerate(labels):
        for a, code in enumerate(codes[i]):
            freq[c][a][code] += 1
    sums = np.array([numeric[labels == c].sum(axis=0) for c in range(k)])
    counts = np.bincount(labels, minlength=k).astype(float)
    return [centers.copy(), modes.copy()], sums, counts, freq, membership


def test_refill_of_an_emptied_cluster_same_as_kmodes():
    """A singleton whose twin prototype comes first moves and empties its cluster; kmodes
    refills it with a random row of the largest cluster, and so do we, with the same draws."""
    from kmeans_core.kprototypes import one_pass

    numeric = np.array([[0.0], [0.0], [0.0], [5.0], [6.0], [5.0], [0.0]])
    codes = np.array([[0], [0], [0], [1], [1], [0], [0]], dtype=np.int32)
    labels = np.array([1, 0, 0, 2, 2, 2, 0])
    centers = np.array([[0.0], [0.0], [16.0 / 3.0]])
    modes = np.array([[0], [0], [1]], dtype=np.int32)
    gamma = 0.7
    centroids, sums, counts, freq, membership = kmodes_pass_state(
        numeric, codes, labels, centers, modes, 3
    )
    ours = dict(
        centers=centers.copy(),
        modes=modes.copy(),
        labels=labels.copy(),
        counts=counts.copy(),
        sums=sums.copy(),
        freq=np.zeros((3, 1, 2), dtype=np.int64),
    )
    np.add.at(ours["freq"], (labels, 0, codes[:, 0]), 1)
    theirs_random, ours_random = np.random.RandomState(5), np.random.RandomState(5)
    for _ in range(3):
        centroids, sums, counts, freq, membership, moves = kmodes_kprototypes._k_prototypes_iter(
            numeric,
            codes,
            centroids,
            sums,
            counts,
            freq,
            membership,
            kmodes_kprototypes.euclidean_dissim,
            kmodes_kprototypes.matching_dissim,
            gamma,
            theirs_random,
            None,
        )
        our_moves = one_pass(
            numeric,
            codes,
            ours["centers"],
            ours["modes"],
            gamma,
            ours["labels"],
            ours["counts"],
            ours["sums"],
            ours["freq"],
            ours_random,
        )
        assert our_moves == moves
        np.testing.assert_array_equal(ours["labels"], membership.argmax(axis=0))
        np.testing.assert_array_equal(ours["centers"], centroids[0])
        np.testing.assert_array_equal(ours["modes"], centroids[1])
        np.testing.assert_array_equal(ours["counts"], counts)
    untouched = np.random.RandomState(5).get_state()[2]
    assert ours_random.get_state()[2] != untouched  # a refill drew a row
    assert ours_random.randint(1 << 30) == theirs_random.randint(1 << 30)  # the same draws


@st.composite
def small_problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(12, 120))
    n_numeric = draw(st.integers(1, 4))
    n_categorical = draw(st.integers(1, 3))
    X = np.empty((n, n_numeric + n_categorical), dtype=object)
    X[:, :n_numeric] = rng.normal(size=(n, n_numeric)) * rng.uniform(0.1, 5, n_numeric)
    for a in range(n_categorical):
        X[:, n_numeric + a] = rng.choice(list("pqrstu")[: draw(st.integers(1, 6))], n)
    k = draw(st.integers(1, 10))
    init = draw(st.sampled_from(["Cao", "Huang", "random"]))
    gamma = draw(st.one_of(st.none(), st.floats(0.0, 5.0)))
    return X, list(range(n_numeric, X.shape[1])), k, init, gamma, seed


@SETTINGS
@given(small_problems())
def test_same_as_kmodes_on_random_problems(problem):
    X, categorical, k, init, gamma, seed = problem
    theirs = KModesKPrototypes(n_clusters=k, init=init, n_init=2, gamma=gamma, random_state=seed)
    ours = KPrototypes(k, init=init.lower(), n_init=2, gamma=gamma, random_state=seed)
    try:
        theirs.fit(X, categorical=categorical)
    except ValueError as error:  # every initialisation left a cluster empty, 100 times
        assert "could not initialize" in str(error)
        with pytest.raises(ValueError, match=f"Could not initialise {k} non-empty clusters"):
            ours.fit(X, categorical=categorical)
        return
    ours.fit(X, categorical=categorical)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.cost_ == theirs.cost_
    assert ours.n_iter_ == theirs.n_iter_


def test_gives_up_where_kmodes_gives_up():
    """12 rows, one category, 9 clusters: every initialisation leaves a cluster empty (the
    numeric prototypes are drawn around the mean), and kmodes gives up after 100 tries."""
    X = np.empty((12, 2), dtype=object)
    X[:, 0] = np.random.default_rng(0).normal(scale=3, size=12)
    X[:, 1] = "p"
    with pytest.raises(ValueError, match="could not initialize"):
        KModesKPrototypes(n_clusters=9, random_state=0).fit(X, categorical=[1])
    with pytest.raises(ValueError, match="Could not initialise 9 non-empty clusters in 100 tries"):
        KPrototypes(9, random_state=0).fit(X, categorical=[1])


# --- invariants -----------------------------------------------------------------------------


def fit_or_reject(model, X, categorical):
    """Fit, or tell hypothesis the problem does not count: one where every initialisation
    leaves a cluster empty (tested on its own, above)."""
    try:
        return model.fit(X, categorical=categorical)
    except ValueError as error:
        assume("non-empty clusters" not in str(error))
        raise


@SETTINGS
@given(small_problems())
def test_labels_are_nearest_prototypes_and_cost_is_their_cost(problem):
    X, categorical, k, init, gamma, seed = problem
    model = KPrototypes(k, init=init.lower(), n_init=2, gamma=gamma, random_state=seed)
    labels = fit_or_reject(model, X, categorical).labels_
    costs = mixed_cost(X, categorical, model.cluster_centroids_, model.gamma_)
    best = costs.min(axis=1)
    np.testing.assert_allclose(costs[np.arange(len(X)), labels], best, rtol=1e-12, atol=1e-12)
    assert model.cost_ == pytest.approx(best.sum(), rel=1e-12, abs=1e-12)
    np.testing.assert_array_equal(model.predict(X), labels)
    np.testing.assert_array_equal(model.fit_predict(X, categorical=categorical), labels)


@SETTINGS
@given(small_problems(), st.randoms(use_true_random=False))
def test_predict_follows_a_permutation_of_rows(problem, rnd):
    X, categorical, k, init, gamma, seed = problem
    model = KPrototypes(k, init=init.lower(), n_init=1, gamma=gamma, random_state=seed)
    fit_or_reject(model, X, categorical)
    order = np.array(rnd.sample(range(len(X)), len(X)))
    np.testing.assert_array_equal(model.predict(X[order]), model.labels_[order])


def test_modes_are_most_frequent_category_of_the_numeric_mean_cluster(data):
    """Converged without a refill, the prototypes are each cluster's means and modes."""
    X, categorical = data
    model = KPrototypes(4, n_init=1, max_iter=300, random_state=0).fit(X, categorical=categorical)
    centroids = model.cluster_centroids_
    for c in range(4):
        members = X[model.labels_ == c]
        np.testing.assert_allclose(
            centroids[c, :3].astype(float), members[:, :3].astype(float).mean(axis=0), rtol=1e-9
        )
        for j in categorical:
            values, counts = np.unique(members[:, j], return_counts=True)
            assert counts[values == centroids[c, j]][0] == counts.max()


def test_deterministic_for_a_seed(data):
    X, categorical = data
    runs = [
        KPrototypes(5, init="huang", n_init=3, random_state=4).fit(X, categorical=categorical)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].labels_, runs[1].labels_)
    np.testing.assert_array_equal(runs[0].numeric_centers_, runs[1].numeric_centers_)
    assert runs[0].cost_ == runs[1].cost_


def test_dataframe_same_as_array(data):
    X, categorical = data
    frame = pd.DataFrame(X[:, :3].astype(float), columns=["age", "income", "visits"])
    for name, j in zip(["region", "plan", "channel"], categorical, strict=True):
        frame[name] = pd.Series(X[:, j]).astype("category" if name == "plan" else object)
    from_array = KPrototypes(4, n_init=2, random_state=1).fit(X, categorical=categorical)
    by_dtype = KPrototypes(4, n_init=2, random_state=1).fit(frame)
    by_name = KPrototypes(4, n_init=2, random_state=1).fit(
        frame, categorical=["region", "plan", "channel"]
    )
    for model in (by_dtype, by_name):
        np.testing.assert_array_equal(model.labels_, from_array.labels_)
        assert model.cost_ == from_array.cost_
        assert model.categorical_ == [3, 4, 5]
    assert list(by_dtype.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(by_dtype.predict(frame), from_array.labels_)


def test_centroids_in_the_layout_of_x():
    X, categorical = mixed_data(200, 3)
    X = X[:, [3, 0, 4, 1, 5, 2]]  # categorical columns first and interleaved
    model = KPrototypes(3, n_init=1, random_state=0).fit(X, categorical=[0, 2, 4])
    centroids = model.cluster_centroids_
    assert centroids.shape == (3, 6)
    for j, cats in zip([0, 2, 4], model.categories_, strict=True):
        assert set(centroids[:, j]) <= set(cats)
    np.testing.assert_array_equal(centroids[:, [1, 3, 5]].astype(float), model.numeric_centers_)
    # the centroids are valid given centers and reproduce the fit in one pass
    again = KPrototypes(3, init=centroids, gamma=model.gamma_).fit(X, categorical=[0, 2, 4])
    np.testing.assert_array_equal(again.labels_, model.labels_)


def test_unknown_category_at_predict_is_counted_not_a_crash(data):
    X, categorical = data
    model = KPrototypes(4, n_init=1, random_state=0).fit(X, categorical=categorical)
    new = X[:10].copy()
    new[:3, categorical[0]] = "never seen"
    new[5, categorical[2]] = "also new"
    with pytest.warns(UnknownCategoryWarning, match=r"4 categorical value\(s\) were not seen"):
        labels = model.predict(new)
    costs = mixed_cost(new, categorical, model.cluster_centroids_, model.gamma_)
    np.testing.assert_array_equal(labels, costs.argmin(axis=1))
    assert model.unknown_categories(new) == {3: 3, 4: 0, 5: 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(X[:10])  # known categories: no warning


def test_k_equal_to_distinct_rows_puts_a_prototype_on_each():
    X, categorical = mixed_data(5, 0)
    X = np.concatenate([X] * 4)
    model = KPrototypes(5, random_state=0).fit(X, categorical=categorical)
    assert model.cost_ == 0.0
    assert model.n_iter_ == 0
    np.testing.assert_array_equal(model.labels_, np.tile(np.arange(5), 4))


# --- input checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (None, {"categorical": None}, "categorical is required for an array"),
        (None, {"categorical": []}, "No categorical columns"),
        (None, {"categorical": [0, 1, 2, 3, 4, 5]}, "Every column is categorical"),
        (None, {"categorical": [3, 9]}, "out of range"),
        (None, {"categorical": [3, 3]}, "more than once"),
        ("nan_numeric", {}, "missing or infinite values in its numeric columns"),
        ("nan_category", {}, "Categorical column 4 (has missing values|mixes kinds)"),
        ("text_numeric", {}, "Column 1 holds values that are not numbers"),
    ],
)
def test_bad_input_is_a_clear_error(data, change, kwargs, message):
    X, categorical = data
    X = X.copy()
    if change == "nan_numeric":
        X[5, 1] = np.nan
    elif change == "nan_category":
        X[5, 4] = np.nan
    elif change == "text_numeric":
        X[5, 1] = "twelve"
    kwargs = {"categorical": categorical, **kwargs}
    with pytest.raises(ValueError, match=message):
        KPrototypes(3).fit(X, **kwargs)


def test_missing_category_in_a_text_column_is_a_clear_error(data):
    X, categorical = data
    frame = pd.DataFrame(X[:, :3].astype(float), columns=list("abc"))
    frame["plan"] = pd.Series(X[:, 3]).where(np.arange(len(X)) != 7, None)
    with pytest.raises(ValueError, match="Categorical column 'plan'"):
        KPrototypes(3).fit(frame)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_clusters": 500}, "larger than the number of samples"),
        ({"n_init": 0}, "n_init must be a positive int"),
        ({"max_iter": 0}, "max_iter must be a positive int"),
        ({"gamma": -1.0}, "gamma must be a non-negative number"),
        ({"init": "kmeans++"}, "init must be one of cao, huang, random"),
        ({"n_clusters": 3, "init": np.zeros((2, 6))}, r"init must have shape \(3, 6\)"),
    ],
)
def test_bad_parameters_are_clear_errors(data, params, message):
    X, categorical = data
    with pytest.raises(ValueError, match=message):
        KPrototypes(**params).fit(X, categorical=categorical)


def test_fewer_distinct_rows_than_clusters():
    X, categorical = mixed_data(3, 0)
    X = np.concatenate([X] * 5)
    with pytest.raises(ValueError, match="only 3 distinct rows, fewer than n_clusters=4"):
        KPrototypes(4).fit(X, categorical=categorical)


def test_estimator_protocol_and_generator_seed(data):
    X, categorical = data
    model = KPrototypes(4, init="huang", n_init=2)
    assert model.get_params()["init"] == "huang"
    assert repr(model.set_params(random_state=np.random.default_rng(3))).startswith(
        "KPrototypes(init='huang', n_clusters=4, n_init=2"
    )
    first = model.fit(X, categorical=categorical).labels_
    again = KPrototypes(4, init="huang", n_init=2, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(again.fit(X, categorical=categorical).labels_, first)


def test_predict_checks_layout_and_fit(data):
    X, categorical = data
    with pytest.raises(AttributeError, match="not fitted yet"):
        KPrototypes(3).predict(X)
    with pytest.raises(AttributeError, match="not fitted yet"):
        _ = KPrototypes(3).cluster_centroids_
    model = KPrototypes(3, n_init=1, random_state=0).fit(X, categorical=categorical)
    with pytest.raises(ValueError, match="must have the fitted layout"):
        model.predict(X[:, :5], categorical=[3, 4])
