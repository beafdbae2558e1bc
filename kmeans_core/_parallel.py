"""Run a block kernel on several threads.

Kernels work on a range of row blocks ``[first_block, stop_block)`` and release the GIL
(``nogil=True``), so plain Python threads run them in parallel. Serial kernels compile several
times faster than numba ``prange`` ones, which keeps a cold start short. The blocks depend only
on the data, and every block writes its own outputs, so results do not depend on the thread count.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def available_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: Below this much work per call (about one unit per nanosecond on one core), a fit runs on one
#: thread: handing blocks to a second thread costs tens of microseconds, and more while the
#: second core wakes from an idle pause (benchmarks/README.md).
SERIAL_BELOW = 1_000_000


def threads_for(work, n_threads=None):
    """Threads to use for calls of ``work`` units each: one below ``SERIAL_BELOW``, else
    ``n_threads`` (None: every core)."""
    if work < SERIAL_BELOW:
        return 1
    return n_threads or available_cores()


def _get_pool(n_workers):
    global _pool, _pool_size
    if _pool is None or _pool_size < n_workers:
        if _pool is not None:
            _pool.shutdown(wait=True)
        _pool = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="kmeans_core")
        _pool_size = n_workers
    return _pool


@functools.lru_cache(maxsize=64)
def _block_ranges(n_blocks, n_threads):
    """``n_threads`` contiguous ranges ``(first_block, stop_block)`` covering the blocks."""
    return tuple(
        (t * n_blocks // n_threads, (t + 1) * n_blocks // n_threads) for t in range(n_threads)
    )


def run_blocks(kernel, n_blocks, n_threads, *args):
    """Call ``kernel(*args, first_block, stop_block)`` over ``n_threads`` contiguous ranges of
    blocks at once; return the results in range order."""
    n_threads = max(1, min(n_threads or available_cores(), n_blocks))
    if n_threads == 1:
        return [kernel(*args, 0, n_blocks)]
    ranges = _block_ranges(n_blocks, n_threads)
    futures = [_get_pool(n_threads - 1).submit(kernel, *args, *r) for r in ranges[1:]]
    first = kernel(*args, *ranges[0])  # the calling thread takes the first range
    return [first] + [f.result() for f in futures]
