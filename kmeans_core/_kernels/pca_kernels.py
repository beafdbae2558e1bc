"""numba kernels for PCA: the mean and centered covariance of tall data in one pass.

Rows are split into a fixed number of chunks (a function of the data size only) run in
parallel; the caller merges the partial results in chunk order, so the result is bit-identical
for any number of threads. The kernel takes float64 only (one compiled signature); float32
data are converted slab by slab by the caller.
"""

import numba
import numpy as np
from numba import prange

#: Rows per block: a block is copied feature-major into a small buffer, centered on its own
#: mean, and multiplied by itself; the (n_features, block) buffer stays in cache.
GRAM_BLOCK_ROWS = 256
#: Upper bound on the number of row chunks.
GRAM_MAX_CHUNKS = 64
#: Fewest rows per chunk.
GRAM_MIN_CHUNK_ROWS = 4096


def gram_chunks_for(n_samples):
    """Number of row chunks for ``n_samples``: a function of the data only, never of threads."""
    return max(1, min(GRAM_MAX_CHUNKS, n_samples // GRAM_MIN_CHUNK_ROWS))


@numba.njit(parallel=True, fastmath=True, cache=True)
def centered_gram_chunks(X, n_chunks):
    """Per-chunk count, mean and centered cross-product matrix, in one pass over ``X``.

    Within a chunk, each block of rows is centered on its own mean (so no precision is lost
    to a large offset), its Gram matrix is added, and the block is merged into the chunk's
    running mean and Gram matrix with Chan et al.'s update
    ``G += G_block + (n * n_b / (n + n_b)) * delta delta^T``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
    n_chunks : int

    Returns
    -------
    counts : ndarray of shape (n_chunks,), float64
    means : ndarray of shape (n_chunks, n_padded), float64
    grams : ndarray of shape (n_chunks, n_padded, n_padded), float64
        Upper triangle only (entries below the diagonal are partial and must be ignored);
        ``n_padded`` is ``n_features`` rounded up to a multiple of 4, the padding is zero.
        The caller merges the chunks in chunk order.
    """
    n_samples, n_features = X.shape
    n_padded = (n_features + 3) // 4 * 4
    counts = np.zeros(n_chunks, dtype=np.float64)
    means = np.zeros((n_chunks, n_padded), dtype=np.float64)
    grams = np.zeros((n_chunks, n_padded, n_padded), dtype=np.float64)
    for ch in prange(n_chunks):
        start = ch * n_samples // n_chunks
        stop = (ch + 1) * n_samples // n_chunks
        block = np.zeros((n_padded, GRAM_BLOCK_ROWS), dtype=np.float64)
        block_mean = np.zeros(n_padded, dtype=np.float64)
        gram = grams[ch]
        mean = means[ch]
        count = 0.0
        for row0 in range(start, stop, GRAM_BLOCK_ROWS):
            nb = min(GRAM_BLOCK_ROWS, stop - row0)
            for t in range(nb):
                for a in range(n_features):
                    block[a, t] = X[row0 + t, a]
            for a in range(n_features):
                total = 0.0
                for t in range(nb):
                    total += block[a, t]
                block_mean[a] = total / nb
                for t in range(nb):
                    block[a, t] -= block_mean[a]
            # Tiles of 2 x 4 entries of the upper triangle: 6 loads feed 8 multiply-adds.
            for a in range(0, n_padded, 2):
                x0 = block[a, :nb]
                x1 = block[a + 1, :nb]
                for b in range(a - a % 4, n_padded, 4):
                    y0 = block[b, :nb]
                    y1 = block[b + 1, :nb]
                    y2 = block[b + 2, :nb]
                    y3 = block[b + 3, :nb]
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
                da = block_mean[a] - mean[a]
                for b in range(a, n_features):
                    gram[a, b] += weight * da * (block_mean[b] - mean[b])
            for a in range(n_features):
                mean[a] += (block_mean[a] - mean[a]) * (nb / merged)
            count = merged
        counts[ch] = count
    return counts, means, grams
