"""kmeans_core: a from-scratch K-Means engine (NumPy + numba), exact against scikit-learn.

Public names: ``KMeans``, ``fit_many`` (many small fits side by side), ``KPrototypes``,
``kmeans_plusplus``, ``PCA``, ``metrics``, ``reference``, ``trace``.
"""

from kmeans_core import metrics, reference
from kmeans_core.estimator import KMeans, fit_many
from kmeans_core.init import kmeans_plusplus
from kmeans_core.kprototypes import KPrototypes
from kmeans_core.pca import PCA
from kmeans_core.trace import trace

__version__ = "0.1.0"

__all__ = [
    "KMeans",
    "KPrototypes",
    "PCA",
    "fit_many",
    "kmeans_plusplus",
    "metrics",
    "reference",
    "trace",
    "__version__",
]
