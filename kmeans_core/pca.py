"""Principal component analysis, with scikit-learn's ``PCA(svd_solver="full")`` answer.

Two ways to the same components:

* Tall data (``n_samples >= 10 * n_features``): the mean and the centered covariance matrix
  are built in one pass by a numba kernel (float64, block by block, never a centered copy of
  X; deterministic whatever the thread count, and immune to BLAS thread oversubscription) and
  the covariance is diagonalised with ``eigh``. That is far cheaper than an SVD of X, but an
  eigenvalue of the covariance is only known to about ``eps * largest eigenvalue``, so the
  result is kept only when every kept eigenvalue is at least ``1e-5`` of the largest (then
  variances are accurate to about 1e-10 relative). Otherwise:
* an SVD of the centered data (``np.linalg.svd``, LAPACK gesdd, as scikit-learn's full
  solver).

Either way the signs follow scikit-learn (``svd_flip(u_based_decision=False)``): in each
component, the entry of largest absolute value is positive.
"""

from __future__ import annotations

import numbers

import numpy as np

from kmeans_core import _small
from kmeans_core._base import EstimatorMixin
from kmeans_core._validation import InvalidParameterError, check_array

__all__ = ["PCA"]

#: The covariance route is tried only when there are at least this many samples per feature.
GRAM_MIN_SAMPLES_PER_FEATURE = 10
#: ... and kept only when every kept eigenvalue is at least this share of the largest.
GRAM_MIN_EIGENVALUE_RATIO = 1e-5
#: Rows of float32 data converted to float64 at a time for the covariance kernel.
GRAM_SLAB_ROWS = 1 << 16


def _flip_signs(components, U=None):
    """Make the largest-magnitude entry of each component positive (sklearn's v-based rule).

    Parameters
    ----------
    components : ndarray of shape (n_components, n_features), modified in place
    U : ndarray of shape (n_samples, n_components) or None, modified in place
    """
    max_abs = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), max_abs])
    components *= signs[:, np.newaxis]
    if U is not None:
        U *= signs[np.newaxis, :]


def _mean_and_centered_gram(X):
    """Mean and centered cross-product matrix ``(X - mean).T @ (X - mean)`` in one pass.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64

    Returns
    -------
    mean : ndarray of shape (n_features,), float64
    gram : ndarray of shape (n_features, n_features), float64, symmetric
    """
    n_samples, n_features = X.shape
    if _small.is_small(n_samples, n_features, n_features):
        return _small.mean_and_centered_gram(X)
    if X.dtype == np.float64:
        parts = [_block_grams(X)]
    else:
        parts = []
        for start in range(0, n_samples, GRAM_SLAB_ROWS):
            slab = np.ascontiguousarray(X[start : start + GRAM_SLAB_ROWS], dtype=np.float64)
            parts.append(_block_grams(slab))
    mean = np.zeros(n_features)
    gram = np.zeros((n_features, n_features))
    count = 0.0
    # Chan et al.'s merge, block after block in row order: deterministic.
    for counts, means, grams in parts:
        for nb, block_mean, block_gram in zip(counts, means, grams, strict=True):
            if nb == 0.0:
                continue
            merged = count + nb
            delta = block_mean[:n_features] - mean
            gram += np.triu(block_gram[:n_features, :n_features])
            gram += np.triu(np.outer(delta, delta)) * (count * nb / merged)
            mean += delta * (nb / merged)
            count = merged
    gram = np.triu(gram) + np.triu(gram, 1).T
    return mean, gram


def _block_grams(X):
    """Count, mean and centered Gram matrix of every row block of ``X`` (float64), from the
    kernel on the engine's threads: ``(counts, means, grams)`` as ``centered_gram_blocks``
    fills them."""
    from kmeans_core._kernels import pca_kernels as _pk
    from kmeans_core._kernels.common import n_blocks_for
    from kmeans_core._parallel import run_blocks, threads_for

    n_blocks = n_blocks_for(X.shape[0])
    width = _pk.gram_width(X.shape[1])
    counts = np.zeros(n_blocks)
    means = np.zeros((n_blocks, width))
    grams = np.zeros((n_blocks, width, width))
    run_blocks(
        _pk.centered_gram_blocks,
        n_blocks,
        threads_for(X.size),
        X,
        n_blocks,
        counts,
        means,
        grams,
    )
    return counts, means, grams


class PCA(EstimatorMixin):
    """Principal component analysis (linear dimensionality reduction by SVD).

    Parameters
    ----------
    n_components : int, float in (0, 1) or None, default=None
        Number of components to keep. A float keeps the fewest components whose explained
        variance ratios add up to more than it; ``None`` keeps ``min(n_samples, n_features)``.
    whiten : bool, default=False
        Scale the projections to unit variance.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
        Principal axes, orthonormal rows, by decreasing explained variance.
    explained_variance_ : ndarray of shape (n_components_,)
        Variance along each axis (ddof=1).
    explained_variance_ratio_ : ndarray of shape (n_components_,)
        Share of the total variance along each axis.
    singular_values_ : ndarray of shape (n_components_,)
        Singular values of the centered data.
    mean_ : ndarray of shape (n_features,)
    noise_variance_ : float
        Mean variance of the dropped components (0 when none are dropped).
    n_components_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,), dtype object
        The column names of X, when X was a table (such as a pandas DataFrame) with string
        column names.
    n_samples_ : int
    solver_ : str
        ``"covariance_eigh"`` or ``"full"``: how this fit was computed.

    Notes
    -----
    Float32 input gives float32 attributes; its mean and covariance are accumulated in float64.
    """

    _fitted_attribute = "components_"

    def __init__(self, n_components=None, *, whiten=False):
        self.n_components = n_components
        self.whiten = whiten

    # ------------------------------------------------------------------ checks

    def _check_n_components(self, n_samples, n_features):
        """Return the requested number (int) or share (float) of components, checked."""
        limit = min(n_samples, n_features)
        nc = self.n_components
        if nc is None:
            return limit
        if isinstance(nc, bool) or not isinstance(nc, numbers.Real):
            raise InvalidParameterError(
                f"n_components must be None, an int or a float in (0, 1), got {type(nc).__name__}."
            )
        if isinstance(nc, numbers.Integral):
            if not 1 <= nc <= limit:
                raise ValueError(
                    f"n_components={nc} must be between 1 and min(n_samples, n_features)="
                    f"{limit}; ask for fewer components."
                )
            return int(nc)
        if not 0.0 < nc < 1.0:
            raise ValueError(
                f"n_components={nc} as a float is the share of variance to keep and must be "
                "strictly between 0 and 1; pass an int for a number of components."
            )
        return float(nc)

    def _check_test_data(self, X):
        self._check_fitted()
        return self._validate_data(X, reset=False)

    # ------------------------------------------------------------------ fitting

    def fit(self, X, y=None):
        """Fit the principal axes to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : PCA
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its projection on the kept axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
        """
        U, S, X = self._fit(X)
        if U is None:
            return self._transform(X)
        U = U[:, : self.n_components_]
        if self.whiten:
            U *= np.sqrt(X.shape[0] - 1)
        else:
            U *= S[: self.n_components_]
        return U

    def _fit(self, X):
        """Fit and return (U or None, singular values, checked X)."""
        X = self._validate_data(X, reset=True, min_samples=2)
        n_samples, n_features = X.shape
        requested = self._check_n_components(n_samples, n_features)
        dtype = X.dtype
        result = None
        if n_samples >= GRAM_MIN_SAMPLES_PER_FEATURE * n_features:
            result = self._fit_covariance(X, requested)
        if result is None:
            # As scikit-learn: center with the mean (float64 data: bit-identical to X.mean).
            mean64 = X.mean(axis=0, dtype=np.float64)
            result = self._fit_svd(X, mean64.astype(dtype, copy=False), requested)
        U, S, components, variance, n_kept, solver, mean = result

        total_var = variance.sum()
        ratio = variance / total_var
        limit = min(n_samples, n_features)
        self.noise_variance_ = float(variance[n_kept:].mean()) if n_kept < limit else 0.0
        self.mean_ = np.asarray(mean, dtype=dtype)
        self.n_samples_ = n_samples
        self.n_components_ = n_kept
        self.solver_ = solver
        self.components_ = np.ascontiguousarray(components[:n_kept], dtype=dtype)
        self.explained_variance_ = np.array(variance[:n_kept], dtype=dtype)
        self.explained_variance_ratio_ = np.array(ratio[:n_kept], dtype=dtype)
        self.singular_values_ = np.array(S[:n_kept], dtype=dtype)
        return U, S, X

    @staticmethod
    def _n_kept(requested, ratio):
        """Number of components to keep: the int asked for, or sklearn's rule for a share.

        For a share, the fewest components whose cumulated ratio exceeds it
        (``searchsorted(cumsum, share, side="right") + 1``, as scikit-learn).
        """
        if isinstance(requested, float):
            n = int(np.searchsorted(np.cumsum(ratio), requested, side="right")) + 1
            return min(n, ratio.shape[0])
        return requested

    def _fit_covariance(self, X, requested):
        """Eigendecomposition of the covariance; None when it would not be accurate enough."""
        n_samples, n_features = X.shape
        mean, gram = _mean_and_centered_gram(X)
        eigenvalues, eigenvectors = np.linalg.eigh(gram / (n_samples - 1))
        variance = eigenvalues[::-1].copy()
        variance[variance < 0.0] = 0.0
        components = np.ascontiguousarray(eigenvectors[:, ::-1].T)
        n_kept = self._n_kept(requested, variance / variance.sum())
        largest = variance[0]
        if largest <= 0.0 or variance[n_kept - 1] < GRAM_MIN_EIGENVALUE_RATIO * largest:
            return None
        _flip_signs(components)
        S = np.sqrt(variance * (n_samples - 1))
        return None, S, components, variance, n_kept, "covariance_eigh", mean

    def _fit_svd(self, X, mean, requested):
        """SVD of the centered data, in the data's precision (scikit-learn's full solver)."""
        n_samples = X.shape[0]
        centered = X - mean
        U, S, Vt = np.linalg.svd(centered, full_matrices=False)
        _flip_signs(Vt, U)
        variance = S**2 / (n_samples - 1)
        n_kept = self._n_kept(requested, variance / variance.sum())
        return U, S, Vt, variance, n_kept, "full", mean

    # ------------------------------------------------------------------ using the fit

    def _transform(self, X):
        # Project, then remove the projected mean: no centered copy of X (sklearn's order).
        X_new = X @ self.components_.T
        X_new -= self.mean_.reshape(1, -1) @ self.components_.T
        if self.whiten:
            scale = np.sqrt(self.explained_variance_)
            scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
            X_new /= scale
        return X_new

    def transform(self, X):
        """Project ``X`` on the principal axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
        """
        return self._transform(self._check_test_data(X))

    def inverse_transform(self, X):
        """Map projections back to the original space (undoing whitening if it was applied).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
        """
        self._check_fitted()
        X = check_array(X)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, but this PCA keeps {self.n_components_} "
                "components; pass the output of transform."
            )
        if self.whiten:
            scaled = np.sqrt(self.explained_variance_[:, np.newaxis]) * self.components_
            return X @ scaled + self.mean_
        return X @ self.components_ + self.mean_
