"""The scikit-learn tutorial script a newcomer compares ``segment run`` with, as a whole process.

Mall customers, the way the usual tutorial does it: read the CSV, ``StandardScaler`` on the
numeric columns, ``KMeans(n_init=10)`` for k = 2..10 with ``silhouette_score``, the best k fitted
again with ``n_init=20``, a PCA scatter plot saved as PNG, the customers with their segment
written as CSV and a small JSON summary. ``python -m benchmarks.cold_start`` times it as a fresh
process against a fresh ``segment run --input data/mall_customers.csv``.

Usage: ``python benchmarks/sklearn_tutorial.py [INPUT.csv] [OUT_DIR]``.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.metrics import silhouette_score  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv):
    source = Path(argv[0]) if argv else ROOT / "data" / "mall_customers.csv"
    out = Path(argv[1]) if len(argv) > 1 else Path("tutorial_outputs")
    out.mkdir(parents=True, exist_ok=True)

    data = pd.read_csv(source)
    features = data.select_dtypes("number").drop(columns=["CustomerID"], errors="ignore")
    X = StandardScaler().fit_transform(features)

    scores = {}
    for k in range(2, 11):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(X)
        scores[k] = float(silhouette_score(X, labels))
    best_k = max(scores, key=scores.get)
    final = KMeans(n_clusters=best_k, n_init=20, random_state=0).fit(X)

    coords = PCA(n_components=2).fit_transform(X)
    fig, ax = plt.subplots(figsize=(8, 6))
    ax.scatter(coords[:, 0], coords[:, 1], c=final.labels_, cmap="tab10", s=15)
    ax.set_title(f"Customer segments (k={best_k})")
    fig.savefig(out / "segments.png", dpi=100)
    plt.close(fig)

    data.assign(segment=final.labels_).to_csv(out / "customers_segmented.csv", index=False)
    summary = {"k": best_k, "silhouette": scores, "inertia": float(final.inertia_)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
