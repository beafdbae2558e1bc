"""The nearest-center kernels one by one, per (point, center) pair.

``python -m benchmarks.compare kernels [--features 2 8 16 ...] [--clusters 3 8 ...]`` times,
on one core, the three ways the engine finds the nearest center of every point of random data:
``_kernels.tiles.assign_labels`` (direct distances, eight points at a time, from the data
copied in tiles), ``_kernels.products.assign_labels`` (certified dot products, eight points and
four centers at a time, from the tiles) and ``_kernels.common.assign_labels`` (direct
distances, one point and four centers at a time, from the rows). It prints nanoseconds per
(point, center) pair, best of 5, and the cost of making the tiles;
``kmeans_core._loop.TILES_BELOW_FEATURES`` and ``products_pay_off`` are set from these figures.
Writes ``results/kernels.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kmeans_core._kernels import common, products, slp_vectorizer, tiles
from kmeans_core._loop import squared_norms, tiles_of

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _best_of(repeats, fn, *args):
    fn(*args)  # compile, or load from numba's cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n_features, n_clusters, repeats=5, seed=0):
    """Nanoseconds per (point, center) pair: tiles, products, rows, and making the tiles (per
    pair)."""
    rng = np.random.default_rng(seed)
    n_samples = max(20_000, min(400_000, int(2e8 / (n_features * n_clusters))))
    X = rng.standard_normal((n_samples, n_features))
    centers = rng.standard_normal((n_clusters, n_features))
    rows_labels = np.empty(n_samples, dtype=np.int32)
    tile_labels = np.empty(n_samples, dtype=np.int32)
    centers_t = common.transposed_if_few_features(centers)
    row_centers = centers if centers_t is not None else common.padded_to_tiles(centers)
    rows = _best_of(repeats, common.assign_labels, X, row_centers, centers_t, 1, rows_labels, 0, 1)
    X_tiles = tiles_of(X, 1, 1)
    product_labels = np.empty(n_samples, dtype=np.int32)
    sq_norms = squared_norms(X)
    product_args = (X, X_tiles, sq_norms, *products.products_of(centers), 1, product_labels, 0, 1)
    with slp_vectorizer():
        tile = _best_of(repeats, tiles.assign_labels, X_tiles, centers, 1, tile_labels, 0, 1)
        product = _best_of(repeats, products.assign_labels, *product_args)
    making = _best_of(repeats, tiles.to_tiles, X, 1, X_tiles, 0, 1)
    for name, labels in (("tiles", tile_labels), ("products", product_labels)):
        if not np.array_equal(rows_labels, labels):
            raise AssertionError(f"d={n_features} k={n_clusters}: {name} and rows disagree")
    per_pair = 1e9 / (n_samples * n_clusters)
    return {
        "n_samples": n_samples,
        "n_features": n_features,
        "n_clusters": n_clusters,
        "tiles_ns_per_pair": tile * per_pair,
        "products_ns_per_pair": product * per_pair,
        "rows_ns_per_pair": rows * per_pair,
        "making_tiles_ns_per_pair": making * per_pair,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare kernels",
        description="Nearest-center kernels on one core: tiles, dot products and rows.",
    )
    parser.add_argument("--features", type=int, nargs="+", default=[2, 8, 16, 24, 32, 64])
    parser.add_argument("--clusters", type=int, nargs="+", default=[3, 8, 20, 128])
    parser.add_argument("--repeats", type=int, default=5, help="best of this many (default 5)")
    args = parser.parse_args(argv)
    if min(args.features) < 1 or min(args.clusters) < 1 or args.repeats < 1:
        parser.error("--features, --clusters and --repeats must be positive.")

    results = []
    print("ns per (point, center) pair on one core: tiles / products / rows (+ making the tiles)")
    for n_features in args.features:
        cells = []
        for n_clusters in args.clusters:
            r = measure(n_features, n_clusters, args.repeats)
            results.append(r)
            cells.append(
                f"k={n_clusters}: {r['tiles_ns_per_pair']:.2f} / {r['products_ns_per_pair']:.2f}"
                f" / {r['rows_ns_per_pair']:.2f} (+{r['making_tiles_ns_per_pair']:.2f})"
            )
        print(f"d={n_features:<3} " + "   ".join(cells), flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "kernels.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS_DIR / 'kernels.json'}")
    return 0
