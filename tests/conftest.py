"""Shared fixtures: the data shapes the engine tests run on, and the algorithms they cover.

Every data set is drawn from a fixed seed, so a failing case can be rebuilt with
``make_dataset(name)`` alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

#: Under CI (the environment variable CI set, as CI services do) hypothesis draws the same
#: examples on every run, so that a red build is reproducible; locally it explores afresh.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")

#: Every algorithm KMeans accepts; each must return what "lloyd" returns.
ALGORITHMS = ("lloyd", "hamerly", "elkan", "exponion", "yinyang", "auto")


#: The real data sets the project ships.
DATA = Path(__file__).resolve().parents[1] / "data"


def data_file(name: str) -> Path:
    """A file of data/, or a failure (not a skip): the real data sets ship with the project."""
    path = DATA / name
    if not path.is_file():
        pytest.fail(f"{path} is absent (the real data sets ship in the project's data/)")
    return path


def _blobs(rng, n, d, k, spread, scale=10.0):
    """``n`` points around ``k`` Gaussian centers in ``d`` dimensions."""
    centers = rng.uniform(-scale, scale, size=(k, d))
    return centers[rng.integers(0, k, n)] + rng.normal(scale=spread, size=(n, d))


def _build(name):
    """Return ``(X, n_clusters, sample_weight)`` for the data set called ``name``."""
    rng = np.random.default_rng(_SEEDS[name])
    weight = None
    if name == "blobs":
        X, k = _blobs(rng, 2000, 2, 5, spread=0.5), 5
    elif name == "overlapping":
        X, k = _blobs(rng, 5000, 8, 20, spread=4.0), 20
    elif name == "uniform":
        X, k = rng.uniform(size=(3000, 2)), 8
    elif name == "student_t":
        X, k = rng.standard_t(df=2, size=(2000, 8)), 10
    elif name == "lognormal":
        X, k = rng.lognormal(sigma=1.5, size=(1500, 3)), 6
    elif name == "duplicates":
        # 40 distinct points, each repeated many times.
        distinct = rng.normal(size=(40, 2))
        X, k = distinct[rng.integers(0, 40, 3000)], 10
    elif name == "one_cluster":
        X, k = rng.normal(size=(500, 8)), 1
    elif name == "k_equals_distinct":
        distinct = rng.normal(scale=5.0, size=(12, 3))
        X, k = distinct[np.arange(600) % 12], 12
    elif name == "d1":
        X, k = _blobs(rng, 1000, 1, 4, spread=2.0), 4
    elif name == "d64":
        X, k = _blobs(rng, 1000, 64, 16, spread=3.0), 16
    elif name == "tiny":
        X, k = _blobs(rng, 50, 2, 3, spread=1.0), 3
    elif name == "large_k50":
        X, k = _blobs(rng, 20_000, 2, 50, spread=1.5), 50
    elif name == "k128_d3":
        # Many clusters in few dimensions: Exponion searches small balls of centers here.
        X, k = _blobs(rng, 10_000, 3, 128, spread=1.0), 128
    elif name == "d20_k24":
        # Enough features and clusters for Lloyd's dot-product kernel, clusters overlapping.
        X, k = _blobs(rng, 4000, 20, 24, spread=5.0), 24
    elif name == "d40_k6":
        # Many features and few clusters: the bounds kernels work from the rows, without tiles.
        X, k = _blobs(rng, 2000, 40, 6, spread=4.0), 6
    elif name == "weighted":
        X, k = _blobs(rng, 3000, 8, 12, spread=3.0), 12
        weight = rng.uniform(0.1, 5.0, size=X.shape[0])
    else:
        raise KeyError(name)
    return np.ascontiguousarray(X, dtype=np.float64), k, weight


_SEEDS = {
    name: seed
    for seed, name in enumerate(
        [
            "blobs",
            "overlapping",
            "uniform",
            "student_t",
            "lognormal",
            "duplicates",
            "one_cluster",
            "k_equals_distinct",
            "d1",
            "d64",
            "tiny",
            "large_k50",
            "weighted",
            "k128_d3",
            "d20_k24",
            "d40_k6",
        ]
    )
}

#: Names of every data set ``make_dataset`` knows.
DATASETS = tuple(_SEEDS)

_CACHE: dict[str, tuple] = {}


def make_dataset(name, dtype=np.float64):
    """``(X, n_clusters, sample_weight)`` for a named data set (cached; copies returned)."""
    if name not in _CACHE:
        _CACHE[name] = _build(name)
    X, k, weight = _CACHE[name]
    return (
        X.astype(dtype, copy=True),
        k,
        None if weight is None else weight.astype(dtype, copy=True),
    )


def init_centers(X, n_clusters, seed=0):
    """``n_clusters`` distinct rows of ``X`` picked at random: an init array for both engines."""
    rng = np.random.default_rng(seed)
    distinct = np.unique(X, axis=0)
    rows = rng.choice(distinct.shape[0], size=n_clusters, replace=False)
    return np.ascontiguousarray(distinct[rows])


@pytest.fixture(scope="session")
def dataset():
    """The function ``make_dataset(name, dtype=np.float64) -> (X, n_clusters, weight)``."""
    return make_dataset


@pytest.fixture(scope="session")
def dask_client():
    """One Dask LocalCluster for the whole test run: two single-threaded workers, threads of
    this process (quick to start; the kernels release the GIL), the dashboard on a free port
    (None would take 8787, which another run may hold). Started only by the tests that ask for
    it; not the default client, so a test opts in with ``with dask_client.as_current():``."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()
