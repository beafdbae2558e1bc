"""Lloyd's algorithm: every iteration computes the distance from every point to every center.

The Lloyd step lives here: the kernels that find every point's nearest center (one registry,
``KERNELS``), the rule that picks one for a shape (``kernel_for``), and ``LloydAssigner``, which
runs it in the shared iteration loop (``_loop.run_kmeans``). Every kernel gives the labels of
the direct distances, so which one runs changes only the time:

- with AVX-512 and enough work per point, a float32 screen sixteen points at a time, by dot
  products or direct distances, each answer certified (``_kernels/screen.py``);
- with enough features and clusters (``_loop.products_pay_off``), certified dot products in
  the data's precision, eight points at a time (``_kernels/products.py``);
- below ``_loop.TILES_BELOW_FEATURES`` features, direct distances eight points at a time
  (``_kernels/tiles.py``);
- else one point and four centers at a time from the rows (``_kernels/rows.py``).

All but the last read a copy of the data in tiles. ``predict`` takes the float64 kernels of the
same rule: the same labels as the fit.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import NamedTuple

import numpy as np

from kmeans_core._kernels import WIDE_VECTORS, slp_vectorizer
from kmeans_core._kernels import products as product_kernels
from kmeans_core._kernels import rows as row_kernels
from kmeans_core._kernels import screen as screen_kernels
from kmeans_core._kernels import tiles as tile_kernels
from kmeans_core._kernels.common import assign_labels, n_blocks_for, padded_to_tiles
from kmeans_core._loop import (
    DATA_TILES,
    SCREEN_TILES,
    Assigner,
    TileFormat,
    products_pay_off,
    squared_norms,
    tiles_of,
    tiles_pay_off,
)
from kmeans_core._parallel import run_blocks

#: With AVX-512, Lloyd screens in float32 (``_kernels/screen.py``) from this much work per point
#: (features x clusters) on; below it the certificate's bookkeeping costs more than the search
#: saves (``benchmarks/README.md``, "Engine thresholds").
SCREEN_FROM_WORK = 40
#: ... by dot products from this much work on, else by direct distances.
SCREEN_PRODUCTS_FROM_WORK = 128
#: ... and by direct distances only from this many points: below, the float64 tiles are as
#: fast and compile in seconds less.
SCREEN_DISTANCES_FROM_SAMPLES = 50_000
#: A fit leaves the screen for the float64 kernels after a pass in which more than one point in
#: this many fell back to direct distances (a cluster far from the others defeats the screen).
LEAVE_THE_SCREEN_FROM = 32
#: Whether Lloyd may screen in float32: where the compiled code has AVX-512's wide vectors.
#: Tests set it to run the screened kernels on any machine (they are exact everywhere).
SCREENED = WIDE_VECTORS


class LloydKernel(NamedTuple):
    """One way to find every point's nearest center in a Lloyd pass.

    The pass is ``fit_kernel(*data, *prepare(centers), *extra, n_blocks, labels, sums,
    weights, block_changes, first_block, stop_block)`` where ``data`` is ``X``, then ``X``
    in ``tiles`` if any, then the points' squared norms laid out like them if ``norms``, then
    ``sample_weight``; ``extra`` is ``(block_fallbacks,)`` for a ``screened`` kernel (OUT: how
    many points of each block the screen could not certify). ``predict`` calls
    ``labels_kernel`` on the same data without ``sample_weight`` (the tiles alone for
    ``tiles``), with ``prepare(centers)``, ``n_blocks, labels, first_block, stop_block``.
    """

    name: str
    fit_kernel: Callable
    labels_kernel: Callable | None
    #: The copy of the data in tiles it reads, or None.
    tiles: TileFormat | None
    #: Whether it reads the points' squared norms.
    norms: bool
    #: The centers, as its arguments.
    prepare: Callable
    screened: bool = False


def _rows_centers(centers):
    # Padded to whole groups of four centers; no transposed copy (many features).
    return padded_to_tiles(centers), None


def _tile_centers(centers):
    return (centers,)


def _screened_distances(centers):
    return *screen_kernels.screened_centers(centers, False), padded_to_tiles(centers)


def _screened_products(centers):
    return *screen_kernels.screened_centers(centers, True), padded_to_tiles(centers)


#: Every Lloyd kernel, by name.
KERNELS = {
    kernel.name: kernel
    for kernel in (
        LloydKernel(
            "screened products",
            screen_kernels.lloyd_assign_and_sum,
            None,
            SCREEN_TILES,
            True,
            _screened_products,
            screened=True,
        ),
        LloydKernel(
            "screened distances",
            screen_kernels.lloyd_assign_and_sum,
            None,
            SCREEN_TILES,
            True,
            _screened_distances,
            screened=True,
        ),
        LloydKernel(
            "products",
            product_kernels.lloyd_assign_and_sum,
            product_kernels.assign_labels,
            DATA_TILES,
            True,
            product_kernels.products_of,
        ),
        LloydKernel(
            "tiles",
            tile_kernels.lloyd_assign_and_sum,
            tile_kernels.assign_labels,
            DATA_TILES,
            False,
            _tile_centers,
        ),
        LloydKernel(
            "rows",
            row_kernels.lloyd_assign_and_sum,
            assign_labels,
            None,
            False,
            _rows_centers,
        ),
    )
}


def kernel_for(n_features, n_clusters, screened=None, n_samples=None):
    """The ``LloydKernel`` for ``n_samples`` points (None: many) of this shape; ``screened``
    (None: ``SCREENED``) allows the float32 screen."""
    if screened is None:
        screened = SCREENED
    work = n_features * n_clusters
    if screened and work >= SCREEN_FROM_WORK:
        if work >= SCREEN_PRODUCTS_FROM_WORK:
            return KERNELS["screened products"]
        if n_samples is None or n_samples >= SCREEN_DISTANCES_FROM_SAMPLES:
            return KERNELS["screened distances"]
    if products_pay_off(n_features, n_clusters):
        return KERNELS["products"]
    return KERNELS["tiles" if tiles_pay_off(n_features) else "rows"]


class LloydAssigner(Assigner):
    """Brute force: n * k distances per iteration, with the cluster sums in the same pass, by
    the kernel ``kernel_for`` picks. Its copy of the data in tiles takes as much memory again
    as X (half as much screened in float32)."""

    @staticmethod
    def tile_format(n_samples, n_features, n_clusters):
        return kernel_for(n_features, n_clusters, n_samples=n_samples).tiles

    def __init__(self, X, sample_weight, n_clusters, n_threads, X_tiles=None):
        super().__init__(X, sample_weight, n_clusters, n_threads, X_tiles)
        kernel = kernel_for(X.shape[1], n_clusters, n_samples=X.shape[0])
        # The fit hands over the tiles of ``tile_format``, that is of this kernel.
        self._tiles_format = kernel.tiles if X_tiles is not None else None
        self._use(kernel)

    def _use(self, kernel):
        """Run ``kernel`` from now on: the data as it reads them (``LloydKernel``)."""
        self.kernel = kernel
        if kernel.tiles != self._tiles_format:
            self.X_tiles = None
            if kernel.tiles is not None:
                self.X_tiles = tiles_of(self.X, self.n_blocks, self.n_threads, kernel.tiles)
            self._tiles_format = kernel.tiles
        data = [self.X]
        if kernel.tiles is not None:
            data.append(self.X_tiles)
        if kernel.norms:
            data.append(squared_norms(self.X, kernel.tiles, self.n_threads))
        self.data_args = (*data, self.sample_weight)
        self.extra_args = ()
        if kernel.screened:
            self.block_fallbacks = np.zeros(self.n_blocks, dtype=np.int64)
            self.extra_args = (self.block_fallbacks,)

    def assign(self, centers, labels, sums, weights):
        changed = sum(
            self.run(
                self.kernel.fit_kernel,
                *self.data_args,
                *self.kernel.prepare(centers),
                *self.extra_args,
                self.n_blocks,
                labels,
                sums,
                weights,
                self.block_changes,
            )
        )
        if self.kernel.screened:
            if self.block_fallbacks.sum() * LEAVE_THE_SCREEN_FROM > self.X.shape[0]:
                self._leave_the_screen()
        return changed

    def _leave_the_screen(self):
        """Go on with the float64 kernel of the same shape: the screen's certificate fails for
        too many points, as when a cluster lies far from the others (its centers' norms widen
        every point's margin). The labels are the same either way."""
        self._use(kernel_for(self.X.shape[1], self.n_clusters, screened=False))


def nearest_centers(X, centers, n_threads):
    """Index of the nearest center of every row of ``X`` (the first one on exact ties), from the
    same distances as a Lloyd fit."""
    labels = np.empty(X.shape[0], dtype=np.int32)
    n_blocks = n_blocks_for(X.shape[0])
    kernel = kernel_for(*centers.shape[::-1], screened=False)
    data = (X,)
    if kernel.tiles is not None:
        X_tiles = tiles_of(X, n_blocks, n_threads, kernel.tiles)
        data = (X, X_tiles) if kernel.norms else (X_tiles,)
    if kernel.norms:
        data = (*data, squared_norms(X, kernel.tiles, n_threads))
    # The row kernel is compiled without the SLP vectorizer (only the tile kernels need it).
    with slp_vectorizer() if kernel.tiles is not None else nullcontext():
        run_blocks(
            kernel.labels_kernel,
            n_blocks,
            n_threads,
            *data,
            *kernel.prepare(centers),
            n_blocks,
            labels,
        )
    return labels
