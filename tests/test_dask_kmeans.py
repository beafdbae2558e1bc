"""kmeans_core.dask.KMeans: exact against the engine's Lloyd on one machine, the same bits
whatever the workers, k-means|| as good as k-means++, clear errors on bad input."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import kmeans_core

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from conftest import init_centers, make_dataset  # noqa: E402

from kmeans_core import dask as kmeans_dask  # noqa: E402
from kmeans_core.dask import KMeans as DaskKMeans  # noqa: E402
from kmeans_core.dask import WorkerLostError, WorkerLostWarning, _uniforms  # noqa: E402

# (data set, row chunks): every Lloyd kernel (screened products, tiles, products, rows), even
# and uneven chunks, a single chunk.
PARITY_CASES = [
    ("blobs", 500),
    ("overlapping", (1000, 1500, 2500)),
    ("d20_k24", 700),
    ("d40_k6", 2000),
    ("weighted", 1024),
    ("d64", 1000),
]


def _assert_same_fit(ours, local, labels):
    np.testing.assert_array_equal(labels, local.labels_)
    assert ours.n_iter_ == local.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, local.cluster_centers_, rtol=0, atol=1e-9)
    assert ours.inertia_ == pytest.approx(local.inertia_, rel=1e-10)


@pytest.mark.parametrize(("name", "chunks"), PARITY_CASES)
def test_same_fit_as_lloyd_on_one_machine(dask_client, name, chunks):
    X, k, weight = make_dataset(name)
    init = init_centers(X, k, seed=1)
    local = kmeans_core.KMeans(k, init=init, algorithm="lloyd").fit(X, sample_weight=weight)
    Xd = da.from_array(X, chunks=(chunks, -1))
    wd = None if weight is None else da.from_array(weight, chunks=(Xd.chunks[0],))
    with dask_client.as_current():
        ours = DaskKMeans(k, init=init).fit(Xd, sample_weight=wd)
        labels = ours.labels_.compute()
    assert isinstance(ours.labels_, da.Array)
    assert isinstance(ours.cluster_centers_, np.ndarray)
    _assert_same_fit(ours, local, labels)


def test_float32_same_fit_as_lloyd_on_one_machine(dask_client):
    X, k, _ = make_dataset("overlapping", dtype=np.float32)
    init = init_centers(X, k, seed=2)
    local = kmeans_core.KMeans(k, init=init, algorithm="lloyd").fit(X)
    with dask_client.as_current():
        ours = DaskKMeans(k, init=init).fit(da.from_array(X, chunks=(1200, -1)))
        labels = ours.labels_.compute()
    assert ours.cluster_centers_.dtype == np.float32
    np.testing.assert_array_equal(labels, local.labels_)
    assert ours.n_iter_ == local.n_iter_
    np.testing.assert_allclose(ours.cluster_centers_, local.cluster_centers_, rtol=0, atol=1e-4)


def test_empty_cluster_takes_the_farthest_point_as_on_one_machine(dask_client):
    X, k, _ = make_dataset("blobs")
    init = init_centers(X, k, seed=3)
    init[2] = 1e3  # nearest to no point: empty after the first assignment
    local = kmeans_core.KMeans(k, init=init, algorithm="lloyd").fit(X)
    with dask_client.as_current():
        ours = DaskKMeans(k, init=init).fit(da.from_array(X, chunks=(300, -1)))
        labels = ours.labels_.compute()
    _assert_same_fit(ours, local, labels)
    assert np.bincount(labels, minlength=k).min() > 0


def test_stopped_by_max_iter_still_matches(dask_client):
    X, k, _ = make_dataset("overlapping")
    init = init_centers(X, k)
    local = kmeans_core.KMeans(k, init=init, algorithm="lloyd", max_iter=3)
    with pytest.warns(kmeans_core.estimator.ConvergenceWarning):
        local.fit(X)
    with dask_client.as_current():
        with pytest.warns(kmeans_core.estimator.ConvergenceWarning):
            ours = DaskKMeans(k, init=init, max_iter=3).fit(da.from_array(X, chunks=(800, -1)))
        _assert_same_fit(ours, local, ours.labels_.compute())


def _fit_bits(X, **params):
    model = DaskKMeans(**params).fit(da.from_array(X, chunks=(700, -1)))
    return model.cluster_centers_, model.inertia_, model.n_iter_, model.labels_.compute()


def test_the_same_bits_on_one_or_two_workers_and_any_threads(dask_client):
    X, k, _ = make_dataset("overlapping")
    params = dict(n_clusters=k, random_state=7)
    with dask_client.as_current():
        two_workers = _fit_bits(X, **params)
    one = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    )
    with distributed.Client(one, set_as_default=False) as client, client.as_current():
        one_worker = _fit_bits(X, **params)
    one.close()
    with dask.config.set(scheduler="sync"):
        one_thread = _fit_bits(X, **params)
    with dask.config.set(scheduler="threads", num_workers=4):
        four_threads = _fit_bits(X, **params)
    for other in (one_worker, one_thread, four_threads):
        assert other[0].tobytes() == two_workers[0].tobytes()
        assert other[1] == two_workers[1]
        assert other[2] == two_workers[2]
        np.testing.assert_array_equal(other[3], two_workers[3])


def _kill_a_worker_before(patch, client, step_name, call_number):
    """Kill a worker process of ``client``'s cluster (SIGKILL) just before the fit's
    ``call_number``-th pass of ``step_name``: that pass finds its shard's worker gone."""
    run = kmeans_dask._Shards.run
    calls = []

    def killing_run(self, step, *args):
        if step.__name__ == step_name:
            calls.append(step)
            if len(calls) == call_number:
                os.kill(next(iter(client.run(os.getpid).values())), signal.SIGKILL)
        return run(self, step, *args)

    patch.setattr(kmeans_dask._Shards, "run", killing_run)


@pytest.mark.slow
def test_a_worker_lost_during_the_fit_restarts_it_with_the_same_answer(monkeypatch):
    """Worker processes killed in k-means|| and in the Lloyd loop: the fit rebuilds its chunks
    on the workers left and returns the bits of an undisturbed fit; with no restart left, one
    clear error. Its own cluster: worker processes (the shared one's are threads). Two features:
    kernels that compile in a moment if a new worker process must compile them."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(6000, 2)) + rng.integers(0, 4, size=(6000, 1)) * 2.0
    params = dict(n_clusters=4, random_state=3)
    with dask.config.set(scheduler="sync"):
        expected = _fit_bits(X, **params)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with distributed.Client(cluster, set_as_default=False) as client, client.as_current():
        for step, call_number in (("_closest_step", 2), ("_lloyd_step", 3)):
            client.wait_for_workers(2, timeout=60)
            with monkeypatch.context() as patch:
                _kill_a_worker_before(patch, client, step, call_number)
                with pytest.warns(WorkerLostWarning, match="restarted from its first iteration"):
                    got = _fit_bits(X, **params)
            assert got[0].tobytes() == expected[0].tobytes(), step
            assert got[1:3] == expected[1:3], step
            np.testing.assert_array_equal(got[3], expected[3])

        client.wait_for_workers(2, timeout=60)
        with monkeypatch.context() as patch:
            patch.setattr(kmeans_dask, "MAX_RESTARTS", 0)
            _kill_a_worker_before(patch, client, "_lloyd_step", 2)
            with pytest.raises(WorkerLostError, match=r"^The fit stopped after losing Dask wor"):
                _fit_bits(X, **params)
    cluster.close()


def test_kmeans_parallel_draw_does_not_depend_on_the_chunks():
    whole = _uniforms(123, 2, 0, 1000)
    pieces = np.concatenate([_uniforms(123, 2, a, b) for a, b in [(0, 7), (7, 500), (500, 1000)]])
    assert whole.tobytes() == pieces.tobytes()
    assert not np.array_equal(whole, _uniforms(123, 3, 0, 1000))
    assert not np.array_equal(whole, _uniforms(124, 2, 0, 1000))
    assert 0 <= whole.min() and whole.max() < 1 and abs(whole.mean() - 0.5) < 0.05

    X, k, _ = make_dataset("overlapping")
    with dask.config.set(scheduler="sync"):
        a = DaskKMeans(k, random_state=5).fit(da.from_array(X, chunks=(700, -1)))
        b = DaskKMeans(k, random_state=5).fit(da.from_array(X, chunks=(2048, -1)))
        np.testing.assert_array_equal(a.labels_.compute(), b.labels_.compute())
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_kmeans_parallel_as_good_as_kmeans_plusplus():
    """Over ten seeds each, the final inertia from k-means|| is on average no worse than from
    the engine's greedy k-means++ on one machine (geometric mean of the ratios over the data
    sets), and within 1% on every data set."""
    ratios = []
    for name in ("overlapping", "weighted", "student_t", "d20_k24"):
        X, k, weight = make_dataset(name)
        Xd = da.from_array(X, chunks=(2500, -1))
        wd = None if weight is None else da.from_array(weight, chunks=(Xd.chunks[0],))
        ours, theirs = [], []
        with dask.config.set(scheduler="sync"):
            for seed in range(10):
                ours.append(DaskKMeans(k, random_state=seed).fit(Xd, sample_weight=wd).inertia_)
                local = kmeans_core.KMeans(k, random_state=seed).fit(X, sample_weight=weight)
                theirs.append(local.inertia_)
        ratios.append(np.mean(ours) / np.mean(theirs))
    assert max(ratios) < 1.01, ratios
    assert np.exp(np.mean(np.log(ratios))) <= 1.0, ratios


def test_predict_transform_score_match_the_engine(dask_client):
    X, k, _ = make_dataset("d20_k24")
    with dask_client.as_current():
        model = DaskKMeans(k, random_state=0).fit(X)  # NumPy input: chunked for the user
        local = kmeans_core.KMeans(k, init=model.cluster_centers_, max_iter=1)
        local.cluster_centers_ = model.cluster_centers_
        local.n_features_in_ = X.shape[1]
        Xd = da.from_array(X, chunks=(900, -1))
        labels = model.predict(Xd)
        assert isinstance(labels, da.Array)
        np.testing.assert_array_equal(labels.compute(), local.predict(X))
        np.testing.assert_array_equal(model.predict(X), local.predict(X))
        np.testing.assert_allclose(model.transform(Xd).compute(), local.transform(X), rtol=1e-12)
        assert model.score(Xd) == pytest.approx(local.score(X), rel=1e-12)
        assert model.score(Xd) == pytest.approx(-model.inertia_, rel=1e-12)
        np.testing.assert_array_equal(model.fit_predict(Xd).compute(), local.predict(X))
    assert model.algorithm_ == "lloyd" and model.n_features_in_ == X.shape[1]


def test_random_init_and_n_init():
    X, k, _ = make_dataset("blobs")
    with dask.config.set(scheduler="sync"):
        one = DaskKMeans(k, init="random", n_init=1, random_state=0).fit(X)
        best = DaskKMeans(k, init="random", n_init=4, random_state=0).fit(X)
    assert best.inertia_ <= one.inertia_
    assert np.unique(one.labels_.compute()).shape[0] == k


def test_import_kmeans_core_does_not_import_dask():
    code = "import sys, kmeans_core; print('dask' in sys.modules, 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    ("make_X", "params", "match"),
    [
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), {}, "NaN"),
        (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.inf, X), {}, "NaN or inf"),
        (lambda X: X[:5], {}, "larger than the number of samples"),
        (lambda X: da.from_array(X, chunks=(100, 1)), {}, "chunked along its columns"),
        (lambda X: da.from_array(X, chunks=((0, 300, 300, 0), -1)), {}, "empty row chunks"),
        (lambda X: da.from_array(X)[da.from_array(X)[:, 0] > 0], {}, "unknown size"),
        (lambda X: X, {"init": "k-means++"}, "k-means\\|\\|"),
        (lambda X: X, {"init": "kmeans"}, "Unknown init"),
        (lambda X: X, {"init": np.zeros((3, 2))}, "init array has shape"),
        (lambda X: X, {"oversampling_factor": 0}, "oversampling_factor"),
        (lambda X: X, {"init_rounds": 0}, "init_rounds"),
        (lambda X: X, {"algorithm": "fast"}, "Unknown algorithm"),
        (lambda X: X, {"tol": -1.0}, "tol"),
        (lambda X: X[:, 0], {}, "2-D"),
    ],
)
def test_bad_input_raises_a_clear_error(make_X, params, match):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2))
    with dask.config.set(scheduler="sync"), pytest.raises(ValueError, match=match):
        DaskKMeans(8, **params).fit(make_X(X))


def test_predict_before_fit_or_with_other_features():
    with pytest.raises(ValueError, match="not fitted"):
        DaskKMeans(2).predict(np.zeros((3, 2)))
    with dask.config.set(scheduler="sync"):
        model = DaskKMeans(2, random_state=0).fit(np.random.default_rng(0).normal(size=(50, 2)))
    with pytest.raises(ValueError, match="3 features"):
        model.predict(np.zeros((4, 3)))
