"""Customer segmentation on top of kmeans_core: load, clean, choose k, fit, profile, report."""

__version__ = "0.1.0"
