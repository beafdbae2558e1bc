"""What a process loads: ``import kmeans_core`` and a small problem never load numba, and the
engine never loads an optional heavy library. Each check runs in a fresh interpreter, since
this test session has imported everything already."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Top-level packages the engine must not load on import: numba (and its compiler, llvmlite)
#: only serves problems above the NumPy path's size; the others are optional or the toolkit's.
NOT_ON_IMPORT = ("numba", "llvmlite", "dask", "distributed", "sklearn", "scipy", "pandas")

LOADED = """
import json, sys
{code}
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


def _loaded_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has loaded after running ``code``."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(code=code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_kmeans_core_loads_no_numba_and_no_optional_library():
    loaded = _loaded_after("import kmeans_core")
    assert "kmeans_core" in loaded
    assert loaded.isdisjoint(NOT_ON_IMPORT), sorted(loaded & set(NOT_ON_IMPORT))


def test_a_small_problem_is_solved_without_numba():
    """Every public entry point on 300 rows: fits (restarts, random init, swaps), seeding,
    the metrics and PCA; all run in NumPy."""
    loaded = _loaded_after(
        "import numpy as np\n"
        "from kmeans_core import KMeans, PCA, kmeans_plusplus, metrics\n"
        "X = np.random.default_rng(0).normal(size=(300, 4))\n"
        "labels = KMeans(5, n_init=10, random_state=0).fit(X).labels_\n"
        "KMeans(5, init='random', random_state=0, refine=None).fit(X.astype(np.float32))\n"
        "kmeans_plusplus(X, 5, random_state=0)\n"
        "metrics.cluster_scores(X, labels)\n"
        "metrics.silhouette_samples(X, labels)\n"
        "PCA(2).fit_transform(X)\n"
    )
    assert "numba" not in loaded


def test_the_kernels_path_does_load_numba():
    """The check above can fail: the drivers of the kernels' path import numba."""
    assert "numba" in _loaded_after("import kmeans_core.lloyd")
