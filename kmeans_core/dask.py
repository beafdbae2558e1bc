"""KMeans on Dask arrays: the engine's Lloyd, one pass over the persisted chunks per iteration.

``from kmeans_core.dask import KMeans`` fits a ``dask.array`` of shape (n_samples, n_features)
chunked by rows only (a NumPy array is chunked for the user). Every chunk is centered once and
kept in the memory of a worker, in that worker's *shard* (``_Shard``, a Dask actor): the chunks
are spread over the workers by rows, where they already are when that keeps the load even.
Each pass over the data is then one call per worker, sent by the client straight to the worker
(no graph to build, no task through the scheduler: a round trip of a few milliseconds on an idle
machine against about 15 for a task), and only small results come back: per chunk, the cluster
sums, weights and number of changed labels, which the client adds in a tree fixed by the chunk
index (``_reduce``). The labels and the per-block cluster sums stay in the shards between
iterations, and the kernels move only the points that changed cluster, as on one machine. On
each chunk the engine's own Lloyd kernels (``kmeans_core.lloyd``) run, one chunk per worker
thread, the GIL released; so the answer does not depend on how many workers or threads there
are, nor on which finishes first. The update is the engine's: tol relative to the mean variance
of the features, strict convergence when no label changed, empty clusters given the points
farthest from their centers (largest first, ties to the lower global row), and a last
assignment step unless the labels stopped changing. From the same initial centers the labels,
``n_iter_`` and centers (to rounding) are those of ``kmeans_core.KMeans(algorithm="lloyd")`` on
one machine. Without a distributed client (Dask's threaded or synchronous scheduler), one shard
in this process holds every chunk, with the same steps and the same bits.

The initial centers come from k-means|| (Bahmani et al., "Scalable K-Means++", 2012):
``init_rounds`` passes each add every row independently with probability ``l * w * d^2 / phi``
(``l = oversampling_factor * n_clusters``), from random numbers that are a function of (seed,
round, global row) alone (``_uniforms``), so the draw does not depend on the chunks or the
workers; the candidates, weighted by the weight of the rows nearest to each, are reclustered on
the client by the engine's weighted k-means++ and weighted Lloyd. The nearest candidates come
from Lloyd's kernels on the chunk's own copy in tiles (``_nearest_on_layouts``).

A worker that leaves the cluster during a fit (it died, or its nanny restarted it) takes its
shard with it: the client notices within a second (``LOST_CHECK_SECONDS``), builds the shards
again from the input on the workers left, and restarts the fit from its first step with the
same seeds (``WorkerLostWarning``); as the answer does not depend on the workers, it is the
same. After ``MAX_RESTARTS`` restarts, or with no worker left, ``WorkerLostError``.

This is the only module of the engine that imports dask, and ``import kmeans_core`` does not
import it. numba kernels are compiled (or loaded from numba's cache) once per worker process on
first use; ``fit`` first runs every kernel the workers will need on a tiny array in the client,
so the cache files are written before any worker looks for them (no two processes compile the
same kernel at once).
"""

from __future__ import annotations

import copy
import numbers
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import dask
import dask.array as da
import numpy as np

from kmeans_core._convergence import absolute_tol, converged_after

# The engine's internals (its kernels, Lloyd's assigner) are used only in the first section
# below: the one place to adapt when they change.
from kmeans_core._kernels import slp_vectorizer
from kmeans_core._kernels.common import (
    all_distances,
    column_sums,
    inertia_blocks,
    n_blocks_for,
    transposed_if_few_features,
)
from kmeans_core._kernels.update import add_block_sums, average_and_shift
from kmeans_core._loop import squared_norms, tiles_of
from kmeans_core.estimator import ALGORITHMS, ConvergenceWarning
from kmeans_core.estimator import KMeans as _LocalKMeans
from kmeans_core.init import kmeans_plusplus
from kmeans_core.lloyd import (
    SCREEN_DISTANCES_FROM_SAMPLES,
    LloydAssigner,
    kernel_for,
    nearest_centers,
)

# ------------------------------------------------------ the engine's internals, and only here
#: Lloyd's kernel for a chunk may change from this many rows on (warmed for both sides).
WARM_ROWS = SCREEN_DISTANCES_FROM_SAMPLES


def _lloyd_assigner(X, sample_weight, n_clusters):
    """The engine's Lloyd assigner for one chunk, on one thread, with its copy of the data in
    tiles when its kernel reads one: the template of every run's assigner (``_run_assigner``)."""
    n_samples, n_features = X.shape
    tile_format = LloydAssigner.tile_format(n_samples, n_features, n_clusters)
    X_tiles = None
    if tile_format is not None:
        X_tiles = tiles_of(X, n_blocks_for(n_samples), 1, tile_format)
    return LloydAssigner(X, sample_weight, n_clusters, 1, X_tiles)


class _LloydRun:
    """What one run keeps of a chunk between its Lloyd passes, as ``kmeans_core._loop.run_kmeans``
    keeps it for the whole data: an assigner of its own (sharing the template's data and tiles,
    with its own record of changes and of the screen's fallbacks), the labels and the per-block
    cluster sums, which the kernels update by moving the points that changed cluster."""

    def __init__(self, template, n_clusters):
        assigner = copy.copy(template)
        assigner.block_changes = np.zeros_like(template.block_changes)
        if hasattr(template, "block_fallbacks"):
            assigner.block_fallbacks = np.zeros_like(template.block_fallbacks)
            assigner.extra_args = (assigner.block_fallbacks,)
        n_samples, n_features = template.X.shape
        dtype = template.X.dtype
        self.assigner = assigner
        self.labels = np.full(n_samples, -1, dtype=np.int32)
        self.block_sums = np.zeros((assigner.n_blocks, n_clusters, n_features), dtype=dtype)
        self.block_weights = np.zeros((assigner.n_blocks, n_clusters), dtype=dtype)

    def assign(self, centers):
        """One Lloyd pass: returns the number of labels that changed (every label, the first
        time)."""
        return int(
            self.assigner.assign(
                np.ascontiguousarray(centers, dtype=self.assigner.X.dtype),
                self.labels,
                self.block_sums,
                self.block_weights,
            )
        )

    def sums(self):
        """The chunk's cluster sums (k, d) and weights (k,), its blocks added in order."""
        k, d = self.block_sums.shape[1:]
        sums = np.empty((k, d), dtype=self.block_sums.dtype)
        weights = np.empty(k, dtype=self.block_sums.dtype)
        add_block_sums(self.block_sums, self.block_weights, sums, weights)
        return sums, weights


#: The nearest of many centers (the k-means|| candidates) come from Lloyd's fit kernel for that
#: many centers while its per-block sums, which it writes too, take at most this many bytes;
#: beyond, from the labels kernel.
SCRATCH_SUMS_BYTES = 32 * 2**20


def _nearest_on_layouts(X, sample_weight, centers, layouts):
    """Index of the nearest of ``centers`` for every row of ``X``: the labels of the direct
    distances, as ``_nearest``, by the Lloyd fit kernel ``kernel_for`` picks for this many
    centers (the float32 screen where there are wide vectors), reading the copies of ``X`` in
    tiles and the squared norms kept in ``layouts`` (a dict, filled on first use)."""
    n_samples, n_features = X.shape
    n_centers = centers.shape[0]
    n_blocks = n_blocks_for(n_samples)
    if n_blocks * n_centers * n_features * X.itemsize > SCRATCH_SUMS_BYTES:
        return _nearest(X, centers)
    kernel = kernel_for(n_features, n_centers, n_samples=n_samples)
    data = [X]
    if kernel.tiles is not None:
        if kernel.tiles not in layouts:
            layouts[kernel.tiles] = tiles_of(X, n_blocks, 1, kernel.tiles)
        data.append(layouts[kernel.tiles])
    if kernel.norms:
        if ("norms", kernel.tiles) not in layouts:
            layouts["norms", kernel.tiles] = squared_norms(X, kernel.tiles, 1)
        data.append(layouts["norms", kernel.tiles])
    labels = np.full(n_samples, -1, dtype=np.int32)  # -1: every block summed afresh
    sums = np.empty((n_blocks, n_centers, n_features), dtype=X.dtype)
    weights = np.empty((n_blocks, n_centers), dtype=X.dtype)
    changes = np.zeros(n_blocks, dtype=np.int64)
    extra = (np.zeros(n_blocks, dtype=np.int64),) if kernel.screened else ()
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    with slp_vectorizer():
        kernel.fit_kernel(
            *data,
            sample_weight,
            *kernel.prepare(centers),
            *extra,
            n_blocks,
            labels,
            sums,
            weights,
            changes,
            0,
            n_blocks,
        )
    return labels


def _chunk_layouts(assigner):
    """The copies of a chunk's rows its template assigner made, by format, for
    ``_nearest_on_layouts``."""
    if assigner.X_tiles is None:
        return {}
    return {assigner.kernel.tiles: assigner.X_tiles}


def _column_sums(X):
    """Sums of the columns of ``X`` in float64, the blocks added in order: (d,)."""
    n_blocks = n_blocks_for(X.shape[0])
    partial = np.empty((n_blocks, X.shape[1]), dtype=np.float64)
    column_sums(X, n_blocks, partial, 0, n_blocks)
    return partial.sum(axis=0)


def _squared_distances(X, centers):
    """Squared distances from every row of ``X`` to every center: (n, m)."""
    n_blocks = n_blocks_for(X.shape[0])
    out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    all_distances(X, centers, transposed_if_few_features(centers), n_blocks, out, 0, n_blocks)
    return out


def _inertia(X, sample_weight, centers, labels):
    """Weighted sum of squared distances to the assigned centers, the blocks added in order."""
    n_blocks = n_blocks_for(X.shape[0])
    per_block = np.zeros(n_blocks, dtype=np.float64)
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    inertia_blocks(X, sample_weight, centers, labels, n_blocks, per_block, 0, n_blocks)
    return float(per_block.sum())


def _nearest(X, centers):
    return nearest_centers(X, np.ascontiguousarray(centers, dtype=X.dtype), 1)


def _add_in_order(sums, weights):
    """Add stacked sums (m, k, d) and weights (m, k) in their order (the engine's update
    kernel, without fast-math): returns (k, d), (k,)."""
    out_sums = np.empty(sums.shape[1:], dtype=sums.dtype)
    out_weights = np.empty(weights.shape[1:], dtype=weights.dtype)
    add_block_sums(sums, weights, out_sums, out_weights)
    return out_sums, out_weights


# ---------------------------------------------------------------------------------------------

#: A NumPy input is cut into about this many row chunks (each at most ``MAX_CHUNK_BYTES``).
NUMPY_CHUNKS = 16
MIN_CHUNK_ROWS = 4096
MAX_CHUNK_BYTES = 128 * 2**20
#: Partial results are added this many at a time, in block order, up the reduction tree.
FAN_IN = 8
#: The k-means|| candidates are reclustered this many times (the best kept): cheap, in the
#: client, on a few hundred weighted points (benchmarks/README.md, "Dask").
RECLUSTER_RUNS = 10
#: k-means|| rounds by default (see benchmarks/README.md, "Dask").
INIT_ROUNDS = 5


class _Chunk:
    """One row chunk, centered: its rows (in ``assigner.X``, the engine's Lloyd assigner),
    weights, position (``index``, first global row ``offset``) and float64 sums of squares."""

    def __init__(self, index, assigner, sample_weight, offset, squares):
        self.index = index
        self.assigner = assigner
        self.sample_weight = sample_weight
        self.offset = offset
        self.squares = squares

    @property
    def X(self):
        return self.assigner.X


def _tree(parts, combine):
    """Reduce delayed ``parts`` with ``combine(*group)`` over consecutive groups of ``FAN_IN``,
    level by level: the same tree, and so the same bits, for the same number of parts."""
    while len(parts) > 1:
        parts = [
            dask.delayed(combine)(*parts[i : i + FAN_IN]) for i in range(0, len(parts), FAN_IN)
        ]
    return parts[0]


def _reduce(parts, combine):
    """``_tree`` on values in the client: the same groups of ``FAN_IN``, in chunk order."""
    while len(parts) > 1:
        parts = [combine(*parts[i : i + FAN_IN]) for i in range(0, len(parts), FAN_IN)]
    return parts[0]


def _add_lloyd_parts(*parts):
    """(sums, weights, n_changed) of consecutive chunks, added in chunk order."""
    sums, weights = _add_in_order(np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts]))
    return sums, weights, sum(p[2] for p in parts)


def _add_floats(*parts):
    """Float64 sums of consecutive chunks (scalars or arrays), in chunk order."""
    total = np.array(parts[0], dtype=np.float64, copy=True)
    for p in parts[1:]:
        total = total + p
    return total


def _concat_rows(*parts):
    """Rows picked by consecutive chunks: (global rows (m,), rows (m, d)), in chunk order."""
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


_MASK64 = np.uint64(2**64 - 1)


def _mix64(z):
    """splitmix64's finalizer on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _uniforms(seed, round_, start, stop):
    """Uniform numbers in [0, 1), one per global row in ``[start, stop)``, a function of (seed,
    round, row) alone: the same for a row whatever chunk holds it."""
    with np.errstate(over="ignore"):
        key = _mix64(
            np.uint64(seed) ^ _mix64(np.uint64(round_ + 1) * np.uint64(0x9E3779B97F4A7C15))
        )
        rows = np.arange(start, stop, dtype=np.uint64)
        z = _mix64(key + (rows + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


# ------------------------------------------------------------------- tasks on the raw chunks
def _prepare(X, sample_weight, index, offset, mean, n_clusters):
    """Center a chunk and build its Lloyd assigner."""
    X = np.ascontiguousarray(X)
    X_centered = np.subtract(X, mean, dtype=X.dtype)
    squares = np.einsum("ij,ij->j", X_centered, X_centered, dtype=np.float64)
    assigner = _lloyd_assigner(X_centered, sample_weight, n_clusters)
    return _Chunk(index, assigner, sample_weight, offset, squares)


def _chunk_sums(X, sample_weight):
    """(column sums (d,), total weight, whether every value is finite) of a raw chunk."""
    X = np.ascontiguousarray(X)
    sums = _column_sums(X)
    finite = bool(np.isfinite(sums).all()) or bool(np.isfinite(X).all())
    return sums, float(sample_weight.sum()), finite


def _add_chunk_sums(*parts):
    sums = _add_floats(*[p[0] for p in parts])
    return sums, float(_add_floats(*[p[1] for p in parts])), all(p[2] for p in parts)


# ------------------------------------------------- steps on a prepared chunk (run by a shard)
# Each is ``step(chunk, state, *args)``; ``state`` is the chunk's dict of what passes keep:
# "lloyd" (the run's ``_LloydRun``) and "labels" (its labels), "closest" and "layouts"
# (k-means||), ("final", run) (a run's labels).
def _squares_step(chunk, state):
    return chunk.squares


def _lloyd_step(chunk, state, centers):
    """One Lloyd pass over a chunk: its (sums, weights, number of labels changed)."""
    run = state.get("lloyd")
    if run is None:
        run = state["lloyd"] = _LloydRun(chunk.assigner, centers.shape[0])
        state["labels"] = run.labels
    n_changed = run.assign(centers)
    return (*run.sums(), n_changed)


def _final_step(chunk, state, centers, reassign, run):
    """The last pass of a run: if ``reassign``, one more Lloyd pass against the final centers,
    as on one machine; the labels kept as the run's; the chunk's inertia."""
    if reassign:
        state["lloyd"].assign(centers)
    labels = state["labels"]
    state["final", run] = labels
    return _inertia(chunk.X, chunk.sample_weight, centers, labels)


def _farthest_step(chunk, state, centers, n_far):
    """The ``n_far`` points of the chunk farthest from their own centers (labels of the last
    Lloyd pass), as (squared distances, global rows, rows, weights, labels)."""
    X, labels = chunk.X, state["labels"]
    distances = ((X - centers[labels]) ** 2).sum(axis=1)
    n_far = min(n_far, X.shape[0])
    order = np.lexsort((np.arange(X.shape[0]), -distances))[:n_far]
    return (
        distances[order],
        chunk.offset + order,
        X[order],
        chunk.sample_weight[order],
        labels[order],
    )


def _weighted_keys(chunk, seed, round_):
    """Efraimidis-Spirakis keys ``log(u) / w``: the rows with the largest keys are a weighted
    draw without replacement (zero weight: never drawn)."""
    u = _uniforms(seed, round_, chunk.offset, chunk.offset + chunk.X.shape[0])
    with np.errstate(divide="ignore"):
        return np.log(u) / chunk.sample_weight.astype(np.float64)


def _first_center_step(chunk, state, seed):
    """The chunk's best row of a weighted draw of one row (largest ``log(u) / w``)."""
    keys = _weighted_keys(chunk, seed, 0)
    i = int(np.argmax(keys))
    return keys[i], chunk.offset + i, chunk.X[i]


def _top_rows_step(chunk, state, seed, round_, n_rows):
    """The chunk's ``n_rows`` largest keys: (keys, global rows, rows)."""
    keys = _weighted_keys(chunk, seed, round_)
    order = np.lexsort((np.arange(keys.shape[0]), -keys))[:n_rows]
    return keys[order], chunk.offset + order, chunk.X[order]


def _layouts(chunk, state):
    """The chunk's copies in tiles for ``_nearest_on_layouts``: at first those its template
    assigner made; those made for other kernels are kept until k-means|| ends."""
    if "layouts" not in state:
        state["layouts"] = _chunk_layouts(chunk.assigner)
    return state["layouts"]


#: ``_closest_step`` works on this many rows at a time (its temporary arrays stay in cache).
CLOSEST_ROWS = 4096


def _closest_step(chunk, state, candidates):
    """Keep the squared distance of every row to its nearest candidate so far; return their
    weighted sum (the chunk's share of phi). The nearest new candidate by Lloyd's kernel, then
    one distance per row: several times faster than every distance and a minimum."""
    X = chunk.X
    labels = _nearest_on_layouts(X, chunk.sample_weight, candidates, _layouts(chunk, state))
    candidates = candidates.astype(X.dtype, copy=False)
    nearest = np.empty(X.shape[0], dtype=X.dtype)
    # One buffer for every block: Dask's workers return freed memory to the system at once
    # (MALLOC_TRIM_THRESHOLD_), so a new array per block would be mapped and faulted anew.
    buffer = np.empty((min(CLOSEST_ROWS, X.shape[0]), X.shape[1]), dtype=X.dtype)
    for start in range(0, X.shape[0], CLOSEST_ROWS):
        rows = slice(start, start + CLOSEST_ROWS)
        difference = buffer[: min(CLOSEST_ROWS, X.shape[0] - start)]
        np.take(candidates, labels[rows], axis=0, out=difference, mode="clip")  # unbuffered
        np.subtract(X[rows], difference, out=difference)
        np.einsum("ij,ij->i", difference, difference, out=nearest[rows])
    closest = state.get("closest")
    if closest is not None:
        np.minimum(closest, nearest, out=nearest)
    state["closest"] = nearest
    return float(np.dot(nearest.astype(np.float64), chunk.sample_weight))


def _sample_step(chunk, state, seed, round_, factor):
    """Rows drawn independently with probability ``factor * w * d^2`` (factor = l / phi), the
    squared distances ``d^2`` those kept by ``_closest_step``."""
    u = _uniforms(seed, round_, chunk.offset, chunk.offset + chunk.X.shape[0])
    picked = np.flatnonzero(u < factor * chunk.sample_weight * state["closest"])
    return chunk.offset + picked, chunk.X[picked]


def _candidate_weights_step(chunk, state, candidates):
    """Weight of the chunk's rows nearest to each candidate (m,), in float64."""
    labels = _nearest_on_layouts(chunk.X, chunk.sample_weight, candidates, _layouts(chunk, state))
    return np.bincount(labels, weights=chunk.sample_weight, minlength=candidates.shape[0])


# ------------------------------------------------------------------------------------ shards
class _Shard:
    """The prepared chunks one worker holds, and what each pass keeps of them (their labels).

    On a distributed cluster each worker holding chunks runs one shard as a Dask actor: a pass
    is then one call per worker, straight from the client to the worker (no task through the
    scheduler), and the chunks stay in the worker's memory between passes. Without a
    distributed client, one shard in this process holds every chunk.
    """

    def __init__(self, chunks, n_threads=1):
        self.chunks = sorted(chunks, key=lambda chunk: chunk.index)
        self.states = [{} for _ in self.chunks]
        self.n_threads = max(1, min(int(n_threads), len(self.chunks)))

    def run(self, step, *args):
        """``step(chunk, state, *args)`` on every chunk (the GIL released in the kernels, so
        ``n_threads`` chunks at a time): [(chunk index, result)]."""
        pairs = list(zip(self.chunks, self.states, strict=True))
        if self.n_threads == 1:
            results = [step(chunk, state, *args) for chunk, state in pairs]
        else:
            with ThreadPoolExecutor(self.n_threads) as pool:
                results = list(pool.map(lambda pair: step(*pair, *args), pairs))
        return [(chunk.index, result) for chunk, result in zip(self.chunks, results, strict=True)]

    def forget(self, *keys):
        """Drop what the passes kept under ``keys`` ("lloyd", "labels", "closest", ...)."""
        for state in self.states:
            for key in keys:
                state.pop(key, None)

    def keep_final(self, run):
        """Drop the labels of every run but ``run``."""
        for state in self.states:
            for key in [k for k in state if isinstance(k, tuple) and k != ("final", run)]:
                del state[key]

    def final_labels(self, index, run):
        position = [chunk.index for chunk in self.chunks].index(index)
        return self.states[position]["final", run]


def _labels_of(shard, index, run):
    """A chunk's labels of a run, fetched from its shard (an actor on this worker)."""
    return shard.final_labels(index, run).result()


class WorkerLostError(RuntimeError):
    """The Dask workers holding a fit's chunks were lost more often than the fit restarts."""


class WorkerLostWarning(UserWarning):
    """A Dask worker holding a fit's chunks was lost; the fit restarted on the workers left."""


#: A fit restarts this many times after losing a worker (then ``WorkerLostError``) ...
MAX_RESTARTS = 2
#: ... if a worker is left, or comes back within this many seconds (a nanny restarts one).
WORKER_WAIT_SECONDS = 30


class _WorkerLost(Exception):
    """A worker holding shards left the cluster (died, or was restarted) during a fit."""


#: While it waits for the workers, the client checks every this many seconds that the workers
#: holding the shards are still in the cluster: a worker that dies in a pass must not leave the
#: fit waiting for ever.
LOST_CHECK_SECONDS = 1.0
#: A call to a shard that failed waits up to this many seconds for the scheduler to tell whether
#: the shard's worker left the cluster.
LOST_CONFIRM_SECONDS = 5.0


class _Shards:
    """Every prepared chunk, spread over shards: a pass (``run``) is one call per shard, its
    results returned in chunk order. A call to a shard whose worker left the cluster raises
    ``_WorkerLost`` (within ``LOST_CHECK_SECONDS``), never waits for ever.

    Parameters
    ----------
    prepared : list of dask.delayed
        The prepared chunks (``_prepare``), in order.
    lengths : list of int
        Their numbers of rows.
    n_threads : int
        Threads of the in-process shard (without a distributed client).
    """

    def __init__(self, prepared, lengths, n_threads):
        self.n_chunks = len(prepared)
        self.n_rows = int(sum(lengths))
        self.client = _distributed_client()
        self._actors = []
        if self.client is None:
            self.shards = [_Shard(dask.compute(*prepared), n_threads)]
            self.owner = [0] * self.n_chunks
            return
        client = self.client
        futures = client.compute(prepared)
        self._wait(futures)
        workers = client.scheduler_info()["workers"]
        holders = client.who_has(futures)
        assignment = _balanced(
            [holders[f.key][0] if holders.get(f.key) else None for f in futures],
            [int(n) for n in lengths],
            list(workers),
        )
        self.workers = sorted(set(assignment), key=list(workers).index)
        self.owner = [self.workers.index(w) for w in assignment]
        self._actors = [
            client.submit(
                _Shard,
                [f for f, w in zip(futures, assignment, strict=True) if w == worker],
                workers[worker]["nthreads"],
                workers=[worker],
                allow_other_workers=False,
                actor=True,
                pure=False,
            )
            for worker in self.workers
        ]
        self._wait(self._actors, self.workers)
        self.shards = [actor.result() for actor in self._actors]

    # ------------------------------------------------------------------- losing a worker
    def _gone(self, workers):
        """Whether a worker of ``workers`` (addresses) or of an actor left the cluster."""
        present = self.client.scheduler_info()["workers"]
        if any(worker not in present for worker in workers):
            return True
        return any(actor.status not in ("finished", "pending") for actor in self._actors)

    def _lost(self, error):
        """Whether ``error``, raised by a call to a shard, means its worker was lost: the
        scheduler soon says so (the call may fail first); a worker that cannot be reached
        (``OSError``) counts as lost too."""
        deadline = time.monotonic() + LOST_CONFIRM_SECONDS
        while time.monotonic() < deadline:
            if self._gone(self.workers):
                return True
            time.sleep(0.1)
        return isinstance(error, OSError)

    def _wait(self, futures, workers=()):
        """Wait for Dask futures (restricted to ``workers``, if given): ``_WorkerLost`` if one
        of those workers left the cluster first, as a task restricted to it would wait for it
        for ever (unrestricted tasks the scheduler runs elsewhere)."""
        from distributed import wait

        while True:
            try:
                wait(futures, timeout=LOST_CHECK_SECONDS)
                break
            except TimeoutError:
                if self._gone(workers):
                    raise _WorkerLost() from None
        if any(f.status == "error" for f in futures) and self._gone(workers):
            raise _WorkerLost()

    def _call(self, method, *args):
        """``method(*args)`` on every shard at once: the results, in shard order."""
        if self.client is None:
            return [getattr(shard, method)(*args) for shard in self.shards]
        try:
            calls = [getattr(shard, method)(*args) for shard in self.shards]
            results = []
            for call in calls:
                while True:
                    try:
                        results.append(call.result(timeout=LOST_CHECK_SECONDS))
                        break
                    except TimeoutError:
                        if self._gone(self.workers):
                            raise _WorkerLost() from None
            return results
        except _WorkerLost:
            raise
        except Exception as error:  # a worker lost, or an error in the step itself
            if self._lost(error):
                raise _WorkerLost() from None
            raise

    # ----------------------------------------------------------------------------- passes
    def run(self, step, *args):
        """``step(chunk, state, *args)`` on every chunk; the results in chunk order."""
        pairs = [pair for result in self._call("run", step, *args) for pair in result]
        pairs.sort(key=lambda pair: pair[0])
        return [result for _, result in pairs]

    def forget(self, *keys):
        self._call("forget", *keys)

    def keep_final(self, run):
        self._call("keep_final", run)

    def labels(self, run, lengths):
        """The labels of a run: a dask array, its chunks held by the cluster."""
        if self.client is None:
            labels = [self.shards[0].final_labels(i, run) for i in range(self.n_chunks)]
            return da.concatenate([da.from_array(lab, chunks=lab.shape) for lab in labels])
        futures = [
            self.client.submit(
                _labels_of,
                self.shards[self.owner[i]],
                i,
                run,
                workers=[self.workers[self.owner[i]]],
                # Lost after the fit, a chunk is computed again elsewhere (and fails, its shard
                # gone) rather than wait for ever for a worker that is not coming back.
                allow_other_workers=True,
                pure=False,
            )
            for i in range(self.n_chunks)
        ]
        self._wait(futures, self.workers)
        for future in futures:
            future.result()  # an error in the shard itself, raised here
        return da.concatenate(
            [
                da.from_delayed(f, shape=(n,), dtype=np.int32)
                for f, n in zip(futures, lengths, strict=True)
            ]
        )

    def close(self):
        """Release the shards (the actors and the chunks they hold)."""
        self.shards = []
        self._actors = []


def _balanced(holders, lengths, workers):
    """A worker for every chunk: the one holding it while that worker's rows stay within an
    even share, else the worker with the fewest rows so far (moving the chunk there once)."""
    share = sum(lengths) / len(workers)
    load = dict.fromkeys(workers, 0)
    out = [None] * len(lengths)
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        holder = holders[i]
        if holder in load and load[holder] + lengths[i] <= share * 1.001:
            out[i] = holder
        else:
            out[i] = min(workers, key=lambda w: (load[w], workers.index(w)))
        load[out[i]] += lengths[i]
    return out


def _distributed_client():
    """The distributed client the Dask computations of this thread would use, or None (no
    client, or another scheduler chosen in ``dask.config``)."""
    if dask.config.get("scheduler", None) not in (None, "dask.distributed", "distributed"):
        return None
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


class KMeans:
    """K-Means on a Dask array, exact against the engine's Lloyd on one machine.

    Parameters
    ----------
    n_clusters : int, default=8
    init : {"k-means||", "random"} or ndarray of shape (n_clusters, n_features)
        "k-means||" (default): scalable k-means++ (module docstring). "random": distinct rows
        drawn with probability proportional to their weight. An array: those centers.
        ("k-means++" needs a pass over the data per center; use "k-means||".)
    n_init : "auto" or int, default="auto"
        Runs from different initial centers, the lowest inertia kept; "auto" means 1 for
        k-means|| or an array, 10 for random.
    max_iter : int, default=300
    tol : float, default=1e-4
        Tolerance on the sum of squared center shifts, relative to the mean variance of the
        features.
    algorithm : str, default="auto"
        Any name ``kmeans_core.KMeans`` accepts; every algorithm returns Lloyd's result, and on
        Dask Lloyd runs (``algorithm_`` says so).
    random_state : None, int, numpy RandomState or Generator, default=None
    n_threads : int, default=None
        Threads for the work done in the client (reclustering the k-means|| candidates), and,
        without a distributed client, for the chunks (default: every core). On a cluster each
        chunk runs the kernels on one thread: the workers' threads are the parallelism.
    oversampling_factor : float, default=2.0
        k-means|| draws about ``oversampling_factor * n_clusters`` rows per round.
    init_rounds : int, default=5
        k-means|| rounds.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : dask array of shape (n_samples,), int32, lazy (its chunks are held by the cluster)
    inertia_ : float
    n_iter_ : int
    n_features_in_ : int
    algorithm_ : str
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means||",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        algorithm="auto",
        random_state=None,
        n_threads=None,
        oversampling_factor=2.0,
        init_rounds=INIT_ROUNDS,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_threads = n_threads
        self.oversampling_factor = oversampling_factor
        self.init_rounds = init_rounds

    # ----------------------------------------------------------------------------- checks
    def _local(self, init, n_init):
        return _LocalKMeans(
            self.n_clusters,
            init=init,
            n_init=n_init,
            max_iter=self.max_iter,
            tol=self.tol,
            algorithm="lloyd",
            n_threads=self.n_threads,
        )

    def _check_params(self, n_samples, n_features, dtype):
        from kmeans_core._validation import check_array, check_n_clusters

        check_n_clusters(self.n_clusters, n_samples)
        if self.algorithm != "auto" and self.algorithm not in ALGORITHMS:
            raise ValueError(
                f"Unknown algorithm {self.algorithm!r}; choose one of {['auto', *ALGORITHMS]}."
            )
        factor = self.oversampling_factor
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
            raise ValueError(f"oversampling_factor must be a number > 0, got {factor!r}.")
        rounds = self.init_rounds
        if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
            raise ValueError(f"init_rounds must be a positive int, got {rounds!r}.")
        init = self.init
        if isinstance(init, str):
            if init == "k-means++":
                raise ValueError(
                    "init='k-means++' takes a pass over the data per center on Dask; use "
                    "'k-means||' (its scalable form, the default), 'random' or an array."
                )
            if init not in ("k-means||", "random"):
                raise ValueError(
                    f"Unknown init {init!r}; use 'k-means||', 'random' or an array of shape "
                    "(n_clusters, n_features)."
                )
            local_init = "random" if init == "random" else "k-means++"
        else:
            init = check_array(init, name="init", dtype=(dtype,))
            if init.shape != (self.n_clusters, n_features):
                raise ValueError(
                    f"init array has shape {init.shape}, but it must be (n_clusters, n_features)"
                    f" = ({self.n_clusters}, {n_features})."
                )
            local_init = init
        # The remaining parameters are checked by the engine's own estimator.
        local = self._local(local_init, self.n_init)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                shape_only = np.broadcast_to(np.zeros(1, dtype=dtype), (n_samples, n_features))
                _, n_init = local._check_params(shape_only)
            except RuntimeWarning:  # an array init with n_init > 1: one run, as the engine does
                n_init = 1
        return init, n_init

    # --------------------------------------------------------------------------------- fit
    def fit(self, X, y=None, sample_weight=None):
        """Compute the clustering.

        Parameters
        ----------
        X : dask array or array-like of shape (n_samples, n_features)
            Chunked by rows only. float32 stays float32; other types become float64.
        y : ignored
        sample_weight : dask array or array-like of shape (n_samples,), default=None

        Returns
        -------
        self : KMeans
        """
        X, weights = _as_dask(X, sample_weight)
        n_samples, n_features = X.shape
        init, n_init = self._check_params(n_samples, n_features, X.dtype)
        max_candidates = (
            self.n_clusters
            + 1
            + self.init_rounds * int(np.ceil(self.oversampling_factor * self.n_clusters))
        )
        _warm_kernels(X.dtype, self.n_clusters, n_features, X.chunks[0], max_candidates)

        offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).tolist()
        blocks = X.to_delayed().ravel().tolist()
        weight_blocks = weights.to_delayed().ravel().tolist()

        # First pass: the column means (and whether every value is finite).
        sums, total_weight, finite = dask.compute(
            _tree(
                [
                    dask.delayed(_chunk_sums)(b, w)
                    for b, w in zip(blocks, weight_blocks, strict=True)
                ],
                _add_chunk_sums,
            )
        )[0]
        if not finite:
            raise ValueError(
                "X contains NaN or infinity; impute or drop the missing/infinite values first."
            )
        if not total_weight > 0:
            raise ValueError("sample_weight is zero everywhere; at least one must be positive.")
        mean = (sums / n_samples).astype(X.dtype)

        # Second pass: center every chunk once and keep it in the workers' memory, in shards.
        prepared = [
            dask.delayed(_prepare)(b, w, index, off, mean, self.n_clusters)
            for index, (b, w, off) in enumerate(zip(blocks, weight_blocks, offsets, strict=True))
        ]
        # Every run's seed drawn first: a fit restarted after a worker was lost draws the same.
        seeds = [None] * n_init
        if isinstance(init, str):
            random_state = _check_random_state(self.random_state)
            seeds = [_seed_from(random_state) for _ in range(n_init)]
        else:
            init = np.asarray(init, dtype=X.dtype) - mean
        n_threads = self.n_threads or os.cpu_count() or 1
        for attempt in range(MAX_RESTARTS + 1):
            shards = None
            try:
                shards = _Shards(prepared, X.chunks[0], n_threads)
                run, inertia, centers, n_iter, converged = self._runs(shards, init, seeds)
                self.labels_ = shards.labels(run, X.chunks[0])
                break
            except _WorkerLost:
                self._after_losing_a_worker(attempt, shards)
            finally:
                if shards is not None:
                    shards.close()

        self.cluster_centers_ = centers + mean
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.n_features_in_ = n_features
        self.algorithm_ = "lloyd"
        if not converged:
            warnings.warn(
                f"KMeans stopped at max_iter={self.max_iter} before converging; raise max_iter "
                "or tol for a settled result.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _runs(self, shards, init, seeds):
        """Every run on the shards, from its seed or from ``init`` (an array, centered): the
        best as (run, inertia, centers, n_iter, converged), its labels kept in the shards."""
        squares = _reduce(shards.run(_squares_step), _add_floats)
        tol = absolute_tol(self.tol, float(squares.mean() / shards.n_rows))
        best = None
        for run, seed in enumerate(seeds):
            if isinstance(init, str) and init == "k-means||":
                centers = self._kmeans_parallel(shards, seed)
            elif isinstance(init, str):
                centers = _random_rows(shards, self.n_clusters, seed)
            else:
                centers = init
            result = (run, *_run_lloyd(shards, centers, self.max_iter, tol, run))
            if best is None or result[1] < best[1]:
                best = result
            shards.keep_final(best[0])  # the labels of the best run so far only
        return best

    def _after_losing_a_worker(self, attempt, shards):
        """Restart the fit on the workers left (``WorkerLostWarning``), or give up after
        ``MAX_RESTARTS`` restarts or when no worker comes back (``WorkerLostError``)."""
        client = shards.client if shards is not None else _distributed_client()
        if attempt < MAX_RESTARTS:
            try:
                client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
            except TimeoutError:
                pass
            else:
                warnings.warn(
                    "A Dask worker holding part of the data was lost during the fit; the fit "
                    "restarted from its first iteration on the workers left (the same answer).",
                    WorkerLostWarning,
                    stacklevel=3,
                )
                return
        raise WorkerLostError(
            f"The fit stopped after losing Dask workers that held its data (tries: "
            f"{attempt + 1}); check the workers' memory limits and logs, then run it again."
        ) from None

    def _kmeans_parallel(self, shards, seed):
        """k-means|| initial centers (in the centered coordinates of the chunks): (k, d)."""
        k = self.n_clusters
        oversampling = self.oversampling_factor * k
        _, _, first = _reduce(shards.run(_first_center_step, seed), _best_key)
        candidates = first[None, :]
        new = candidates
        shards.forget("closest")
        for round_ in range(1, self.init_rounds + 1):
            phi = float(_reduce(shards.run(_closest_step, new), _add_floats))
            if phi <= 0:
                break  # every row sits on a candidate
            _, new = _reduce(
                shards.run(_sample_step, seed, round_, oversampling / phi), _concat_rows
            )
            if new.shape[0] == 0:
                continue
            candidates = np.concatenate([candidates, new])
        shards.forget("closest")
        if candidates.shape[0] < k:
            extra = _random_rows(shards, k, seed)
            candidates = np.concatenate([candidates, extra])
        weights = _reduce(shards.run(_candidate_weights_step, candidates), _add_floats)
        shards.forget("layouts")
        return self._recluster(candidates, weights, seed)

    def _recluster(self, candidates, weights, seed):
        """Weighted greedy k-means++ then weighted Lloyd on the candidates, in the client,
        ``RECLUSTER_RUNS`` times; the lowest weighted inertia on the candidates is kept."""
        k = self.n_clusters
        rng = np.random.RandomState(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
        weights = weights.astype(candidates.dtype)
        if np.count_nonzero(weights) < k:
            weights = weights + np.finfo(candidates.dtype).tiny  # every candidate may be picked
        best = None
        for _ in range(RECLUSTER_RUNS):
            centers, _ = kmeans_plusplus(candidates, k, sample_weight=weights, random_state=rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                local = self._local(centers, 1).fit(candidates, sample_weight=weights)
            if best is None or local.inertia_ < best.inertia_:
                best = local
        return best.cluster_centers_

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_`` (a lazy dask array of shape (n_samples,))."""
        return self.fit(X, sample_weight=sample_weight).labels_

    # ----------------------------------------------------------------------------- predict
    def _check_test_data(self, X):
        if not hasattr(self, "cluster_centers_"):
            raise ValueError(
                "This KMeans instance is not fitted yet; call fit(X) before using this method."
            )
        was_dask = isinstance(X, da.Array)
        X, _ = _as_dask(X, None, dtype=self.cluster_centers_.dtype)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but this KMeans was fitted with "
                f"{self.n_features_in_} features."
            )
        return X, was_dask

    def predict(self, X):
        """Index of the nearest center of each sample: shape (n_samples,); a lazy dask array
        for a dask input, else a NumPy array."""
        X, was_dask = self._check_test_data(X)
        labels = X.map_blocks(_predict_block, self.cluster_centers_, drop_axis=1, dtype=np.int32)
        return labels if was_dask else labels.compute()

    def transform(self, X):
        """Euclidean distance of each sample to each center: (n_samples, n_clusters); lazy for
        a dask input."""
        X, was_dask = self._check_test_data(X)
        k = self.cluster_centers_.shape[0]
        out = X.map_blocks(
            _transform_block, self.cluster_centers_, chunks=(X.chunks[0], (k,)), dtype=X.dtype
        )
        return out if was_dask else out.compute()

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` against the fitted centers (a float)."""
        X, _ = self._check_test_data(X)
        X, weights = _as_dask(X, sample_weight, dtype=self.cluster_centers_.dtype)
        parts = [
            dask.delayed(_score_block)(b, w, self.cluster_centers_)
            for b, w in zip(X.to_delayed().ravel(), weights.to_delayed().ravel(), strict=True)
        ]
        return -float(dask.compute(_tree(parts, _add_floats))[0])


# --------------------------------------------------------------------------- the Lloyd loop
def _run_lloyd(shards, centers_init, max_iter, tol, run):
    """The engine's iteration loop (``kmeans_core._loop.run_kmeans``) over the shards' chunks:
    one call per shard and iteration, the chunks' sums added in chunk order. The run's labels
    stay in the shards. Returns (inertia, centers, n_iter, converged)."""
    centers = np.array(centers_init, order="C", copy=True)
    n_clusters = centers.shape[0]
    shift = np.zeros(n_clusters, dtype=centers.dtype)
    converged = strict = False
    shards.forget("lloyd", "labels")
    for n_iter in range(1, max_iter + 1):  # noqa: B007 (n_iter is returned)
        parts = shards.run(_lloyd_step, centers)
        centers_new, weight_in_clusters, n_changed = _reduce(parts, _add_lloyd_parts)
        centers_new = np.array(centers_new, copy=True)
        weight_in_clusters = np.array(weight_in_clusters, copy=True)
        empty = np.flatnonzero(weight_in_clusters == 0)
        if empty.shape[0]:
            _relocate(shards, centers, centers_new, weight_in_clusters, empty)
        squared_shift = average_and_shift(centers_new, weight_in_clusters, centers, shift)
        centers = centers_new
        converged, strict = converged_after(n_changed, squared_shift, tol)
        if converged:
            break

    inertia = _reduce(shards.run(_final_step, centers, not strict, run), _add_floats)
    shards.forget("lloyd", "labels")
    return float(inertia), centers, n_iter, converged


def _relocate(shards, centers_old, centers_new, weight_in_clusters, empty):
    """Give every empty cluster one of the points farthest from their own centers (the
    farthest to the first empty cluster; equal distances: the lower global row first). Works on
    the sums, before they are averaged, as the engine does."""
    n_empty = empty.shape[0]
    parts = shards.run(_farthest_step, centers_old, n_empty)
    distances, rows, X, weights, old_labels = (np.concatenate(a) for a in zip(*parts, strict=True))
    if distances.max() == 0:
        return  # more clusters than distinct points: every point already sits on a center
    order = np.lexsort((rows, -distances))[:n_empty]
    for new_id, i in zip(empty, order, strict=True):
        old_id = old_labels[i]
        centers_new[old_id] -= X[i] * weights[i]
        centers_new[new_id] = X[i] * weights[i]
        weight_in_clusters[new_id] = weights[i]
        weight_in_clusters[old_id] -= weights[i]


def _best_key(*parts):
    """The part with the largest key (the first on ties: the lower global row)."""
    best = parts[0]
    for p in parts[1:]:
        if p[0] > best[0]:
            best = p
    return best


def _top_keys(n_rows):
    def combine(*parts):
        keys, rows, X = (np.concatenate(a) for a in zip(*parts, strict=True))
        order = np.lexsort((rows, -keys))[:n_rows]
        return keys[order], rows[order], X[order]

    return combine


def _random_rows(shards, n_rows, seed):
    """``n_rows`` distinct rows drawn with probability proportional to their weight."""
    _, _, X = _reduce(shards.run(_top_rows_step, seed, 0, n_rows), _top_keys(n_rows))
    return X


# ------------------------------------------------------------------------- blocks of predict
def _predict_block(X, centers):
    return _nearest(np.ascontiguousarray(X), centers)


def _transform_block(X, centers):
    return np.sqrt(_squared_distances(np.ascontiguousarray(X), centers))


def _score_block(X, sample_weight, centers):
    X = np.ascontiguousarray(X)
    return _inertia(X, np.ascontiguousarray(sample_weight), centers, _nearest(X, centers))


# ------------------------------------------------------------------------------------ inputs
def _as_dask(X, sample_weight, dtype=None):
    """``X`` as a float dask array chunked by rows only, and the weights chunked alike."""
    if isinstance(X, da.Array):
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D of shape (n_samples, n_features), got {X.ndim}-D of shape "
                f"{X.shape}."
            )
        if any(np.isnan(c) for c in X.chunks[0]):
            raise ValueError("X has chunks of unknown size; call X.compute_chunk_sizes() first.")
        if X.numblocks[1] != 1:
            raise ValueError(
                f"X is chunked along its columns ({X.numblocks[1]} column chunks); keep every "
                "feature in one chunk: X.rechunk({1: -1})."
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must hold numbers, got dtype {X.dtype}.")
    else:
        from kmeans_core._validation import check_array

        X = check_array(X, finite=False)
        rows = max(MIN_CHUNK_ROWS, -(-X.shape[0] // NUMPY_CHUNKS))
        rows = max(1, min(rows, MAX_CHUNK_BYTES // (X.itemsize * X.shape[1])))
        X = da.from_array(X, chunks=(rows, X.shape[1]))
    if X.shape[0] < 1:
        raise ValueError("X has 0 samples, but at least 1 is required.")
    if X.shape[1] < 1:
        raise ValueError(f"X has no features (shape {X.shape}).")
    if any(c == 0 for c in X.chunks[0]):
        raise ValueError(
            "X has empty row chunks; rechunk it (X.rechunk({0: 'auto'})) so every chunk has rows."
        )
    target = dtype or (X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
    if X.dtype != target:
        X = X.astype(target)
    if sample_weight is None:
        weights = da.ones(X.shape[0], chunks=(X.chunks[0],), dtype=target)
    else:
        weights = sample_weight if isinstance(sample_weight, da.Array) else None
        if weights is None:
            from kmeans_core._validation import check_sample_weight

            weights = da.from_array(
                check_sample_weight(sample_weight, X.shape[0], target), chunks=(X.chunks[0],)
            )
        elif weights.shape != (X.shape[0],):
            raise ValueError(
                f"sample_weight must have shape ({X.shape[0]},) to match X, got {weights.shape}."
            )
        weights = weights.astype(target).rechunk((X.chunks[0],))
    return X, weights


def _check_random_state(random_state):
    from kmeans_core._validation import check_random_state

    return check_random_state(random_state)


def _seed_from(random_state):
    """A 63-bit seed drawn from the random state (an int seed always gives the same one)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    return int(random_state.randint(2**31)) << 32 | int(random_state.randint(2**31))


# ------------------------------------------------------------------------------------- numba
_WARMED = set()


def _warm_kernels(dtype, n_clusters, n_features, chunk_rows, max_candidates):
    """Run, in the client, every kernel the chunks will call, on small arrays of this dtype and
    shape (as many rows as the smallest and the largest chunk, up to ``WARM_ROWS``: Lloyd's
    kernel depends on the number of rows; and for k-means||, every kernel its nearest
    candidates may take, up to ``max_candidates``), so numba compiles (or loads) them here first
    and writes its cache files before the workers load them."""
    for n_rows in sorted({min(min(chunk_rows), WARM_ROWS), min(max(chunk_rows), WARM_ROWS)}):
        _warm(dtype, n_clusters, n_features, max(n_rows, n_clusters), max_candidates)


def _warm(dtype, n_clusters, n_features, n_rows, max_candidates):
    key = (np.dtype(dtype).str, n_clusters, n_features, n_rows >= WARM_ROWS, max_candidates)
    if key in _WARMED:
        return
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, n_features)).astype(dtype)
    w = np.ones(X.shape[0], dtype=dtype)
    centers = np.ascontiguousarray(X[:n_clusters])
    chunk, state = _prepare(X, w, 0, 0, X.mean(axis=0).astype(dtype), n_clusters), {}
    _lloyd_step(chunk, state, centers)
    _final_step(chunk, state, centers, True, 0)
    kernels = {}  # a number of candidates for each kernel their nearest may take
    for n_candidates in range(1, max_candidates + 1):
        kernel = kernel_for(n_features, n_candidates, n_samples=n_rows)
        kernels.setdefault(kernel.name, n_candidates)
    for n_candidates in kernels.values():
        candidates = rng.normal(size=(n_candidates, n_features)).astype(dtype)
        _closest_step(chunk, state, candidates)
    _candidate_weights_step(chunk, state, centers)
    _transform_block(X, centers)
    _predict_block(X, centers)
    _chunk_sums(X, w)
    _WARMED.add(key)
