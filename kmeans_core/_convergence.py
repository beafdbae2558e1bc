"""When a K-Means loop stops: scikit-learn's convergence test, for every loop of the engine
(``_loop.run_kmeans``, ``_small.lloyd`` and the Dask driver's ``dask._run_lloyd``).

NumPy-free and kernel-free, so that each of those loops can import it without compiling
anything.
"""


def absolute_tol(tol, mean_variance):
    """The tolerance on the sum of squared center shifts: the user's ``tol`` is relative to
    the mean variance of the features."""
    return mean_variance * tol


def converged_after(n_changed, squared_shift, tol):
    """``(converged, strict)`` after an iteration that changed ``n_changed`` labels and moved
    the centers by ``squared_shift`` (the sum of the squared moves).

    Strict convergence when no label changed: the labels already match the final centers, so
    no last assignment step is needed. Otherwise converged when ``squared_shift`` is at most
    ``tol`` (already absolute: ``absolute_tol``).
    """
    if n_changed == 0:
        return True, True
    return squared_shift <= tol, False
