"""Units for columns whose values are too large or too small for float64 arithmetic.

Kept apart from :mod:`segmentation.preprocess` (which needs pandas) so that the figures, which
use it too, can be drawn by a process that imports only NumPy and matplotlib.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HUGE", "TINY", "measuring_units"]

#: Cubes (skewness) and sums of squares of values beyond this magnitude can overflow float64
#: (1.8e308), and those of values below TINY underflow to zero; such columns are measured in
#: units of their largest value (:func:`measuring_units`; the log says so).
HUGE = 1e80
TINY = 1e-80


def measuring_units(magnitude) -> np.ndarray:
    """The unit each column is measured in: 1 for ordinary columns, so that their statistics
    are the direct formulas' bit for bit, and the largest magnitude itself for columns beyond
    :data:`HUGE` or below :data:`TINY`, whose powers would overflow or underflow.

    Parameters
    ----------
    magnitude : array-like of shape (n_columns,)
        The largest absolute value of each column.

    Returns
    -------
    ndarray of shape (n_columns,)
    """
    magnitude = np.asarray(magnitude, dtype=np.float64)
    unusual = (magnitude > HUGE) | ((magnitude > 0.0) & (magnitude < TINY))
    return np.where(unusual, magnitude, 1.0)
