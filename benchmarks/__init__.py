"""Benchmarks of kmeans_core against scikit-learn, faiss-cpu and scikit-learn-intelex.

Run them with ``python -m benchmarks.compare <fit|metrics|segment|cold>``; see README.md.
"""
