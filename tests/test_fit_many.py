"""``fit_many``: many small fits side by side are the fits one by one, bit for bit.

The gap statistic's reference fits and the bootstrap's re-clusterings go through it, so its
answer must be each model's own ``fit``: the same labels, centers, inertia and iteration count,
and the same random numbers drawn in the same order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmeans_core import KMeans, _small, fit_many
from kmeans_core.init import greedy_kmeans_plusplus, kmeans_plusplus_draws

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FITTED = ("labels_", "cluster_centers_", "inertia_", "n_iter_", "algorithm_", "n_features_in_")


def assert_identical(a, b):
    """Bit for bit, dtype included."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def data_set(rng, kind, n_samples, n_features, n_clusters):
    if kind == "blobs":
        centers = rng.normal(scale=4.0, size=(n_clusters, n_features))
        return centers[rng.integers(0, n_clusters, n_samples)] + rng.normal(
            size=(n_samples, n_features)
        )
    if kind == "integers":  # exact ties and duplicate rows
        return rng.integers(0, 4, size=(n_samples, n_features)).astype(np.float64)
    # few distinct rows: coinciding k-means++ centers, clusters that empty out
    return rng.integers(0, 2, size=(n_samples, n_features)).astype(np.float64)


@st.composite
def many_fits(draw):
    """Models and their data: one or two widths, rows and clusters that often coincide, and
    some fits that do not go side by side (float32, random init, a named algorithm, swaps)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    models, datasets = [], []
    for _ in range(draw(st.integers(1, 8))):
        n_clusters = draw(st.integers(1, 4))
        n_samples = draw(st.integers(max(n_clusters, 2), 160))
        kind = draw(st.sampled_from(["blobs", "integers", "few_rows"]))
        X = data_set(rng, kind, n_samples, draw(st.sampled_from(widths)), n_clusters)
        params = {
            "n_init": draw(st.integers(1, 4)),
            "random_state": draw(st.integers(0, 2**31 - 1)),
            "max_iter": draw(st.sampled_from([1, 2, 300])),
            "tol": draw(st.sampled_from([1e-4, 0.0, 1e-2])),
        }
        variant = draw(st.sampled_from(["side", "side", "side", "float32", "random", "named"]))
        if variant == "float32":
            X = X.astype(np.float32)
        elif variant == "random":
            params["init"] = "random"
        elif variant == "named":
            params["algorithm"] = "lloyd"
        models.append((n_clusters, params))
        datasets.append(X)
    return models, datasets


def one_by_one_and_side_by_side(models, datasets, shared_state=None):
    def build():
        if shared_state is None:
            return [KMeans(k, **params) for k, params in models]
        # every model drawing from one generator: the order of the draws matters
        state = np.random.RandomState(shared_state)
        return [KMeans(k, **{**params, "random_state": state}) for k, params in models]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter reached, fewer distinct points than k
        alone = [model.fit(X) for model, X in zip(build(), datasets, strict=True)]
        seen = []
        side = fit_many(build(), iter(datasets), on_fit=lambda i, model: seen.append(i))
    assert sorted(seen) == list(range(len(models)))
    return alone, side


def assert_same_models(alone, side):
    for a, b in zip(alone, side, strict=True):
        for name in FITTED:
            assert_identical(getattr(b, name), getattr(a, name))


@SETTINGS
@given(fits=many_fits())
def test_fits_side_by_side_are_the_fits_one_by_one(fits):
    assert_same_models(*one_by_one_and_side_by_side(*fits))


@SETTINGS
@given(fits=many_fits(), seed=st.integers(0, 2**31 - 1))
def test_fits_side_by_side_draw_from_a_shared_generator_in_turn(fits, seed):
    assert_same_models(*one_by_one_and_side_by_side(*fits, shared_state=seed))


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_clusters=st.integers(2, 5),
    n_features=st.integers(1, 3),
    sizes=st.lists(st.integers(5, 120), min_size=2, max_size=6),
    kind=st.sampled_from(["blobs", "integers", "few_rows"]),
)
def test_data_sets_of_different_sizes_side_by_side(seed, n_clusters, n_features, sizes, kind):
    # One batch, every data set padded to the largest: the padding rows count nowhere.
    rng = np.random.default_rng(seed)
    datasets = [data_set(rng, kind, size, n_features, n_clusters) for size in sizes]
    models = [
        (n_clusters, {"n_init": 2, "random_state": seed % 1000 + i}) for i in range(len(sizes))
    ]
    assert_same_models(*one_by_one_and_side_by_side(models, datasets))


def test_fits_side_by_side_in_many_batches(monkeypatch):
    # One run per batch: a fit's restarts split across batches, and data sets of different
    # sizes padded in none or several.
    rng = np.random.default_rng(2)
    models = [(3, {"n_init": 5, "random_state": seed}) for seed in range(6)]
    datasets = [data_set(rng, "blobs", 40 + 7 * i, 2, 3) for i in range(6)]
    whole = one_by_one_and_side_by_side(models, datasets)[1]
    monkeypatch.setattr(_small, "SMALL_MAX_BATCH_WORK", 1)
    alone, batched = one_by_one_and_side_by_side(models, datasets)
    assert_same_models(alone, batched)
    assert_same_models(whole, batched)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fits=many_fits())
def test_center_after_center_is_all_centers_at_once(fits):
    # Large batches compute their k-means++ candidates one center at a time (the cache):
    # forced here on small ones, the same fits.
    models, datasets = fits
    alone = one_by_one_and_side_by_side(models, datasets)[0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_small, "SMALL_CACHE_ELEMENTS", 0)
        side = one_by_one_and_side_by_side(models, datasets)[1]
    assert_same_models(alone, side)


def test_bad_data_is_refused_as_by_fit():
    with pytest.raises(ValueError, match="larger than the number of samples"):
        fit_many([KMeans(5)], [np.zeros((3, 2))])
    with pytest.raises(ValueError, match="NaN"):
        fit_many([KMeans(2)], [np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]])])


@given(
    seed=st.integers(0, 2**31 - 1),
    n_clusters=st.integers(1, 12),
    n_runs=st.integers(1, 5),
    weighted=st.booleans(),
)
def test_kmeans_plusplus_draws_are_the_calls_draws(seed, n_clusters, n_runs, weighted):
    # The draws in one call are those of ``choice`` and ``uniform`` call after call.
    rng = np.random.default_rng(seed)
    weight = rng.integers(1, 5, 50).astype(float) if weighted else np.ones(50)
    one_call, call_by_call = np.random.RandomState(seed), np.random.RandomState(seed)
    first, draws = kmeans_plusplus_draws(one_call, weight, n_clusters, n_runs)
    trials = 2 + int(np.log(n_clusters))
    for run in range(n_runs):
        assert first[run] == call_by_call.choice(50, p=weight / weight.sum())
        for c in range(n_clusters - 1):
            assert_identical(draws[run, c], call_by_call.uniform(size=trials))
    assert one_call.randint(2**31) == call_by_call.randint(2**31)


def test_side_by_side_seeding_of_padded_data_sets_is_each_ones_seeding():
    rng = np.random.default_rng(4)
    sizes = [30, 57, 57, 44]
    padded = np.zeros((len(sizes), max(sizes), 3))
    weight = np.zeros((len(sizes), max(sizes)))
    alone, first, draws = [], [], []
    for run, size in enumerate(sizes):
        X = _small.center_data(data_set(rng, "blobs", size, 3, 5))[0]
        padded[run, :size], weight[run, :size] = X, 1.0
        seed_first, seed_draws = kmeans_plusplus_draws(
            np.random.RandomState(run), np.ones(size), 5, 1
        )
        first.append(seed_first[0])
        draws.append(seed_draws[0])
        centers = greedy_kmeans_plusplus(X, 5, np.ones(size), np.random.RandomState(run))[0]
        alone.append(centers)
    side = _small.kmeans_plusplus_of_runs(
        padded, weight, np.array(first), np.stack(draws), np.array(sizes)
    )
    assert_identical(side, np.stack(alone))


class GivenDraws:
    """A stand-in for a generator that gives ``greedy_kmeans_plusplus`` chosen numbers."""

    def __init__(self, first, draws):
        self.first, self.draws = first, iter(draws)

    def choice(self, n, size=None, replace=True, p=None):
        return self.first

    def uniform(self, size=None):
        return next(self.draws)


def test_a_draw_past_the_last_cumulative_sum_takes_each_data_sets_last_row():
    # Rounding can put a draw past the last cumulative sum (simulated by draws above 1): the
    # last row of each data set is taken, never a padding row.
    rng = np.random.default_rng(6)
    sizes = [30, 57]
    padded = np.zeros((2, 57, 2))
    weight = np.zeros((2, 57))
    draws = np.full((2, 3, 3), 1.5)
    alone = []
    for run, size in enumerate(sizes):
        X = _small.center_data(data_set(rng, "blobs", size, 2, 4))[0]
        padded[run, :size], weight[run, :size] = X, 1.0
        stand_in = GivenDraws(0, draws[run])
        alone.append(greedy_kmeans_plusplus(X, 4, np.ones(size), stand_in)[0])
    side = _small.kmeans_plusplus_of_runs(
        padded, weight, np.zeros(2, dtype=np.intp), draws, np.array(sizes)
    )
    assert_identical(side, np.stack(alone))
