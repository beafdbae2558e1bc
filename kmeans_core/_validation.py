"""Input checks shared by the estimator, k-means++, the metrics and PCA.

Every check raises ``ValueError`` with a message that says what was wrong and what to do about
it; a parameter of the wrong type or out of range raises ``InvalidParameterError``, which is both
a ``ValueError`` and a ``TypeError``.
"""

from __future__ import annotations

import numbers

import numpy as np


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or out of its range. Both a ``ValueError`` and a
    ``TypeError`` (as scikit-learn's own), so that either ``except`` catches it."""


def check_int(value, name, *, minimum=None, none=False, accepted="an int"):
    """Check that ``value`` is an int (not a bool) of at least ``minimum``, or None if ``none``.

    ``accepted`` says in the message what else the parameter takes (checked by the caller).
    Raises ``InvalidParameterError``.
    """
    if value is None and none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be {accepted}, got {value!r}.")
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"{name} must be at least {minimum}, got {value}.")


def check_array(X, *, name="X", dtype=(np.float64, np.float32), min_samples=1, finite=True):
    """Return ``X`` as a C-contiguous 2-D float array, or raise a clear error.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str
        How the array is called in error messages.
    dtype : tuple of dtypes
        Accepted float dtypes; anything else is converted to the first one.
    min_samples : int
        Fewest rows accepted.
    finite : bool
        Whether to check here that every value is finite (``check_finite``); a caller that
        passes over the data anyway may check a result of that pass instead.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), C-contiguous, float32 or float64
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(
            f"{name} is a sparse matrix, but dense data is required; pass {name}.toarray() if it "
            "fits in memory."
        )
    if hasattr(X, "dtype") and getattr(X, "ndim", None) is not None:
        arr = np.asarray(X)
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if arr.dtype.kind in "OUSV" or arr.dtype == bool:
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError) as exc:
            # The same type as NumPy's own error, whose message says which value was wrong.
            raise type(exc)(
                f"{name} contains non-numeric values (dtype {arr.dtype}): {exc}; "
                "convert or drop those columns first."
            ) from None
    if arr.dtype.kind == "c":
        raise ValueError(
            f"{name} contains complex numbers. Complex data not supported: pass real values."
        )
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, n_features), got {arr.ndim}-D of shape "
            f"{arr.shape}. Reshape your data: X.reshape(-1, 1) for a single feature, "
            "X.reshape(1, -1) for a single sample."
        )
    if arr.dtype not in dtype:
        arr = arr.astype(dtype[0])
    arr = np.ascontiguousarray(arr)
    if arr.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {arr.shape[0]} sample(s), but at least {min_samples} are required."
        )
    if arr.shape[1] < 1:
        raise ValueError(
            f"{name} has no features: 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
            "required."
        )
    if finite:
        check_finite(arr, name=name)
    return arr


def check_finite(arr, *, name="X"):
    """Raise a clear error if ``arr`` holds NaN or infinity."""
    if not np.isfinite(arr).all():
        kind = "NaN" if np.isnan(arr).any() else "infinity"
        raise ValueError(
            f"{name} contains {kind}; impute or drop the missing/infinite values first."
        )


def check_sample_weight(sample_weight, n_samples, dtype):
    """Return weights as a contiguous array of ``dtype`` and length ``n_samples``.

    ``None`` means every sample weighs 1. Weights must be finite, non-negative and not all zero.
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=dtype)
    if isinstance(sample_weight, numbers.Number):
        return np.full(n_samples, sample_weight, dtype=dtype)
    try:
        w = np.asarray(sample_weight, dtype=dtype)
    except (ValueError, TypeError):
        raise ValueError("sample_weight must contain numbers.") from None
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"sample_weight must have shape ({n_samples},) to match X, got {w.shape}.")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if (w < 0).any():
        raise ValueError("sample_weight must be non-negative; found negative weights.")
    if not (w > 0).any():
        raise ValueError("sample_weight is zero everywhere; at least one weight must be positive.")
    return np.ascontiguousarray(w)


def check_random_state(seed):
    """Turn ``seed`` into a random generator.

    ``None`` gives NumPy's global RandomState, an int gives ``np.random.RandomState(seed)`` (as
    scikit-learn does, so the same int draws the same numbers), and a ``RandomState`` or
    ``Generator`` is returned as it is.
    """
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    raise InvalidParameterError(
        f"random_state must be None, an int, a numpy RandomState or a numpy Generator, "
        f"got {type(seed).__name__}."
    )


def check_n_clusters(n_clusters, n_samples):
    """Check that ``n_clusters`` is an int in [1, n_samples]."""
    check_int(n_clusters, "n_clusters", minimum=1)
    if n_clusters > n_samples:
        raise ValueError(
            f"n_clusters={n_clusters} is larger than the number of samples ({n_samples}); "
            "use fewer clusters or more data."
        )


def check_labels(labels, n_samples):
    """Return cluster labels as a contiguous int64 array of length ``n_samples``."""
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n_samples:
        raise ValueError(f"labels must have shape ({n_samples},) to match X, got {lab.shape}.")
    return np.ascontiguousarray(lab)
