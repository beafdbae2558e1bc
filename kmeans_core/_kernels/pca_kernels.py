"""numba kernels for PCA: the mean and centered covariance of tall data in one pass.

The rows are split into the engine's row *blocks* (``common.n_blocks_for``, a function of the
data size only), run on the engine's threads (``_parallel.run_blocks``); the caller merges the
partial results in block order, so the result is bit-identical for any number of threads. The
kernel takes float64 only (one compiled signature); float32 data are converted slab by slab by
the caller.
"""

import numba
import numpy as np

from kmeans_core._kernels.common import block_bounds

#: Rows per batch: a batch is copied feature-major into a small buffer, centered on its own
#: mean, and multiplied by itself; the (n_features, batch) buffer stays in cache.
GRAM_BATCH_ROWS = 256


def gram_width(n_features):
    """The side of the kernel's Gram matrices: ``n_features`` rounded up to a multiple of 4."""
    return (n_features + 3) // 4 * 4


@numba.njit(nogil=True, fastmath=True, cache=True)
def centered_gram_blocks(X, n_blocks, counts, means, grams, first_block, stop_block):
    """Per-block count, mean and centered cross-product matrix, in one pass over ``X``.

    Within a block, each batch of rows is centered on its own mean (so no precision is lost
    to a large offset), its Gram matrix is added, and the batch is merged into the block's
    running mean and Gram matrix with Chan et al.'s update
    ``G += G_batch + (n * n_b / (n + n_b)) * delta delta^T``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
    n_blocks, first_block, stop_block : int
        The row blocks, and the range of them to do.
    counts : ndarray of shape (n_blocks,), float64 (OUT)
    means : ndarray of shape (n_blocks, n_padded), float64, zeros (OUT)
    grams : ndarray of shape (n_blocks, n_padded, n_padded), float64, zeros (OUT)
        Upper triangle only (entries below the diagonal are partial and must be ignored);
        ``n_padded`` is ``gram_width(n_features)``, the padding is zero. The caller merges the
        blocks in block order.
    """
    n_samples, n_features = X.shape
    n_padded = grams.shape[1]
    batch = np.zeros((n_padded, GRAM_BATCH_ROWS), dtype=np.float64)
    batch_mean = np.zeros(n_padded, dtype=np.float64)
    for blk in range(first_block, stop_block):
        start, stop = block_bounds(blk, n_blocks, n_samples)
        gram = grams[blk]
        mean = means[blk]
        count = 0.0
        for row0 in range(start, stop, GRAM_BATCH_ROWS):
            nb = min(GRAM_BATCH_ROWS, stop - row0)
            for t in range(nb):
                for a in range(n_features):
                    batch[a, t] = X[row0 + t, a]
            for a in range(n_features):
                total = 0.0
                for t in range(nb):
                    total += batch[a, t]
                batch_mean[a] = total / nb
                for t in range(nb):
                    batch[a, t] -= batch_mean[a]
            # Tiles of 2 x 4 entries of the upper triangle: 6 loads feed 8 multiply-adds.
            for a in range(0, n_padded, 2):
                x0 = batch[a, :nb]
                x1 = batch[a + 1, :nb]
                for b in range(a - a % 4, n_padded, 4):
                    y0 = batch[b, :nb]
                    y1 = batch[b + 1, :nb]
                    y2 = batch[b + 2, :nb]
                    y3 = batch[b + 3, :nb]
                    s00 = s01 = s02 = s03 = 0.0
                    s10 = s11 = s12 = s13 = 0.0
                    for t in range(nb):
                        u0 = x0[t]
                        u1 = x1[t]
                        s00 += u0 * y0[t]
                        s01 += u0 * y1[t]
                        s02 += u0 * y2[t]
                        s03 += u0 * y3[t]
                        s10 += u1 * y0[t]
                        s11 += u1 * y1[t]
                        s12 += u1 * y2[t]
                        s13 += u1 * y3[t]
                    gram[a, b] += s00
                    gram[a, b + 1] += s01
                    gram[a, b + 2] += s02
                    gram[a, b + 3] += s03
                    gram[a + 1, b] += s10
                    gram[a + 1, b + 1] += s11
                    gram[a + 1, b + 2] += s12
                    gram[a + 1, b + 3] += s13
            merged = count + nb
            weight = count * nb / merged
            for a in range(n_features):
                da = batch_mean[a] - mean[a]
                for b in range(a, n_features):
                    gram[a, b] += weight * da * (batch_mean[b] - mean[b])
            for a in range(n_features):
                mean[a] += (batch_mean[a] - mean[a]) * (nb / merged)
            count = merged
        counts[blk] = count
