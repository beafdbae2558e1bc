"""The trained segmentation: preprocessing + cluster centers + names, saved as plain JSON.

A model file never runs code when it is loaded (no pickle): it is one JSON object,

.. code-block:: text

    {"format": "kmeans-segment-model", "format_version": 1, "package_version": "0.1.0",
     "preprocessor": {...}, "centers": [[...], ...], "segment_names": [...],
     "method": "kmeans", "metadata": {...}, "training": {...}, "sha256": "<hex>"}

A K-Prototypes model (``"method": "kprototypes"``) also holds ``"gamma"``; its centers are the
numeric means followed by each categorical feature's mode written one-hot, in the
preprocessor's category order (so the file names every category it knows).

``"training"`` is what drift is measured against (:mod:`segmentation.monitor`): the number of
training customers, their share per segment and, per feature, the training distribution (the
edges of decile bins and the share of customers in each, or the share of each category). A
model saved before it was stored has no ``"training"``: it still assigns customers, and
``segment monitor`` refuses it (centers alone cannot restore a distribution).

``sha256`` is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every
other field. :meth:`SegmentationModel.load` refuses a file that is not JSON, not of this format,
of another format version or another package release line (major.minor), whose checksum does
not match (it was edited), or whose parts do not fit together.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import __version__
from .errors import SegmentationError
from .io import read_input_bytes, to_jsonable, write_text_atomic
from .preprocess import Preprocessor

__all__ = [
    "SegmentationModel",
    "Assignment",
    "MODEL_FORMAT",
    "MODEL_FORMAT_VERSION",
    "METHODS",
    "embed_mixed",
]

MODEL_FORMAT = "kmeans-segment-model"
MODEL_FORMAT_VERSION = 1
#: How a model measures a customer against a segment: Euclidean distance to the center
#: (k-means), or squared distance on the numeric features plus gamma per categorical feature
#: that differs from the segment's mode (K-Prototypes).
METHODS = ("kmeans", "kprototypes")
# Distances are computed in blocks of rows so that (rows, k, features) stays small.
_ROWS_PER_BLOCK = 8192


def embed_mixed(X: np.ndarray, n_numeric: int, gamma: float) -> np.ndarray:
    """A copy of ``X`` (numeric features, then one-hot columns) with the one-hot columns times
    sqrt(gamma / 2): there the squared Euclidean distance between two rows is the K-Prototypes
    cost, squared differences of the numeric features plus gamma per differing category.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features_out)
    n_numeric : int
    gamma : float

    Returns
    -------
    ndarray of shape (n_samples, n_features_out)
    """
    out = np.array(X, dtype=np.float64, copy=True)
    out[:, n_numeric:] *= np.sqrt(gamma / 2.0)
    return out


def _canonical_bytes(document: dict) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _checksum(document: dict) -> str:
    content = {key: value for key, value in document.items() if key != "sha256"}
    return hashlib.sha256(_canonical_bytes(content)).hexdigest()


def _release_line(version: str) -> tuple[str, ...]:
    return tuple(str(version).split(".")[:2])


class Assignment(NamedTuple):
    """Where rows fall: their segment and their distance to every center.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), dtype int64
        The nearest center (ties go to the lower segment number).
    distances : ndarray of shape (n_samples, k)
        Euclidean distance of every row to every center (K-Prototypes: the square root of
        the mixed cost).
    """

    labels: np.ndarray
    distances: np.ndarray


class SegmentationModel:
    """Preprocessing and k cluster centers: assigns any table with the same columns to segments.

    Parameters
    ----------
    preprocessor : Preprocessor
        Fitted on the training table.
    centers : array-like of shape (k, n_features_out)
        Cluster centers in the preprocessed (scaled) space.
    segment_names : list of str, length k
        A distinct readable name per segment.
    metadata : dict, optional
        JSON-safe facts about the training (seed, parameters, k choice, columns ...).
    method : {"kmeans", "kprototypes"}, default "kmeans"
        With "kprototypes" the categorical part of each center is its segment's mode, one-hot,
        and a row's cost is the squared distance on the numeric features plus ``gamma`` per
        categorical feature that differs from the mode (a category not seen in training
        differs from every mode).
    gamma : float or None
        The weight of one categorical mismatch; only for "kprototypes".
    training : dict or None
        The training distribution drift is measured against, as
        :func:`segmentation.monitor.describe_training` makes it (JSON-safe); None for a model
        saved before it was stored.

    Raises
    ------
    SegmentationError
        If the parts do not fit together (center width, number of names, non-finite centers,
        a K-Prototypes center whose categorical part is not one mode per feature).
    """

    def __init__(
        self,
        preprocessor: Preprocessor,
        centers,
        segment_names,
        metadata=None,
        *,
        method: str = "kmeans",
        gamma: float | None = None,
        training: dict | None = None,
    ):
        centers = np.array(centers, dtype=np.float64, copy=True)
        if centers.ndim != 2 or centers.shape[0] < 1:
            raise SegmentationError(
                f"Model centers must be a (k, n_features) table, got shape {centers.shape}."
            )
        n_features = len(preprocessor.feature_names_out_)
        if centers.shape[1] != n_features:
            raise SegmentationError(
                f"Model centers have {centers.shape[1]} columns but the preprocessing makes "
                f"{n_features} features; the model is inconsistent."
            )
        if not np.all(np.isfinite(centers)):
            raise SegmentationError("Model centers contain NaN or infinite values.")
        names = [str(name) for name in segment_names]
        if len(names) != centers.shape[0]:
            raise SegmentationError(
                f"The model has {centers.shape[0]} centers but {len(names)} segment names."
            )
        if len(set(names)) != len(names):
            raise SegmentationError("Segment names in the model are not unique.")
        if method not in METHODS:
            raise SegmentationError(f"Unknown model method {method!r}; expected one of {METHODS}.")
        self.preprocessor = preprocessor
        self.centers = np.ascontiguousarray(centers)
        self.segment_names = names
        self.metadata = dict(metadata or {})
        self.method = method
        if training is not None and not isinstance(training, dict):
            raise SegmentationError("The model's training distribution must be an object.")
        self.training = training
        self.gamma = None
        if method == "kprototypes":
            if gamma is None or not np.isfinite(gamma) or gamma < 0:
                raise SegmentationError(
                    f"A K-Prototypes model needs a finite gamma >= 0, got {gamma!r}."
                )
            self.gamma = float(gamma)
            if not preprocessor.categorical_features_:
                raise SegmentationError("A K-Prototypes model needs a categorical feature.")
            for start, stop in self._category_blocks():
                block = self.centers[:, start:stop]
                if not (np.all((block == 0) | (block == 1)) and np.all(block.sum(axis=1) == 1)):
                    raise SegmentationError(
                        "A K-Prototypes model's centers must hold one mode per categorical "
                        "feature (one-hot); the model is inconsistent."
                    )

    @property
    def n_segments(self) -> int:
        """Number of segments k."""
        return self.centers.shape[0]

    @property
    def feature_names(self) -> list[str]:
        """Names of the preprocessed features (the columns of :attr:`centers`)."""
        return list(self.preprocessor.feature_names_out_)

    # ------------------------------------------------------------------ assigning

    def _category_blocks(self) -> list[tuple[int, int]]:
        """Column ranges of the one-hot block of each categorical feature."""
        start = len(self.preprocessor.numeric_features_)
        blocks = []
        for name in self.preprocessor.categorical_features_:
            stop = start + len(self.preprocessor.categories_[name])
            blocks.append((start, stop))
            start = stop
        return blocks

    def category_codes(self, X: np.ndarray) -> np.ndarray:
        """Category code of every row in every categorical feature, from the one-hot blocks.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features_out)

        Returns
        -------
        ndarray of shape (n_samples, n_categorical), dtype int32
            Index into the feature's categories; -1 for a category not seen in training.
        """
        codes = np.empty((X.shape[0], len(self.preprocessor.categorical_features_)), np.int32)
        for a, (start, stop) in enumerate(self._category_blocks()):
            block = X[:, start:stop]
            codes[:, a] = np.where(block.max(axis=1) > 0, np.argmax(block, axis=1), -1)
        return codes

    def embed(self, X: np.ndarray) -> np.ndarray:
        """Rows in a space where the squared Euclidean distance to ``embed(centers)`` is the
        model's cost: for K-Prototypes, each one-hot column times sqrt(gamma / 2) (two columns
        differ per mismatch); for k-means, ``X`` itself. Used for the silhouette, the
        Calinski-Harabasz and Davies-Bouldin scores and the projection.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features_out)

        Returns
        -------
        ndarray of shape (n_samples, n_features_out)
        """
        X = np.asarray(X, dtype=np.float64)
        if self.method != "kprototypes":
            return X
        return embed_mixed(X, len(self.preprocessor.numeric_features_), self.gamma)

    def _mixed_costs(self, X: np.ndarray) -> np.ndarray:
        """K-Prototypes costs (n_samples, k), in the engine's order of operations (the squared
        differences added feature by feature, then gamma times the mismatches), so that the
        nearest segment is the engine's to the last bit."""
        n_numeric = len(self.preprocessor.numeric_features_)
        modes = self.category_codes(self.centers)
        codes = self.category_codes(X)
        cost = np.zeros((X.shape[0], self.n_segments), dtype=np.float64)
        for f in range(n_numeric):
            diff = self.centers[None, :, f] - X[:, f, None]
            cost += diff * diff
        mismatches = np.zeros(cost.shape, dtype=np.int64)
        for a in range(codes.shape[1]):
            mismatches += codes[:, a, None] != modes[None, :, a]
        return cost + self.gamma * mismatches.astype(np.float64)

    def squared_distances_matrix(self, X: np.ndarray) -> np.ndarray:
        """Squared Euclidean distances from preprocessed rows to every center (K-Prototypes:
        the mixed cost).

        Computed as the sum of squared differences (not the expanded dot-product form), so
        that a point's nearest center is not blurred by cancellation.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features_out)

        Returns
        -------
        ndarray of shape (n_samples, k)
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.centers.shape[1]:
            raise SegmentationError(
                f"Expected rows with {self.centers.shape[1]} features, got shape {X.shape}."
            )
        out = np.empty((X.shape[0], self.n_segments), dtype=np.float64)
        for start in range(0, X.shape[0], _ROWS_PER_BLOCK):
            block = X[start : start + _ROWS_PER_BLOCK]
            if self.method == "kprototypes":
                out[start : start + block.shape[0]] = self._mixed_costs(block)
                continue
            diff = block[:, None, :] - self.centers[None, :, :]
            out[start : start + block.shape[0]] = np.einsum("ijk,ijk->ij", diff, diff)
        return out

    def assignment(self, X: np.ndarray) -> Assignment:
        """Nearest center of preprocessed rows, and the distances to every center.

        The one labelling path of the toolkit: training labels, ``segment predict`` and
        :meth:`predict` all come from here, so they agree bit for bit.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features_out)

        Returns
        -------
        Assignment
        """
        squared = self.squared_distances_matrix(X)
        labels = np.argmin(squared, axis=1).astype(np.int64)
        return Assignment(labels, np.sqrt(squared))

    def assign_matrix(self, X: np.ndarray) -> np.ndarray:
        """Nearest center of preprocessed rows (ties go to the lower segment number).

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features_out)

        Returns
        -------
        ndarray of shape (n_samples,), dtype int64
        """
        return self.assignment(X).labels

    def renamed(self, segment_names, metadata=None, training=None) -> SegmentationModel:
        """The same preprocessing and centers under other segment names and metadata (and the
        training distribution, when given; else this model's)."""
        return SegmentationModel(
            self.preprocessor,
            self.centers,
            segment_names,
            metadata,
            method=self.method,
            gamma=self.gamma,
            training=self.training if training is None else training,
        )

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Segment of every row of a table.

        Parameters
        ----------
        df : pandas.DataFrame of shape (n_rows, n_columns)
            Must hold the model's feature columns; other columns are ignored.

        Returns
        -------
        ndarray of shape (n_rows,), dtype int64
            Segment numbers 0 .. k-1 (index into :attr:`segment_names`).
        """
        return self.assign_matrix(self.preprocessor.transform(df))

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """Euclidean distances of every row of a table to every center.

        Parameters
        ----------
        df : pandas.DataFrame of shape (n_rows, n_columns)

        Returns
        -------
        ndarray of shape (n_rows, k)
        """
        return np.sqrt(self.squared_distances_matrix(self.preprocessor.transform(df)))

    # ------------------------------------------------------------------ saving and loading

    def to_dict(self) -> dict:
        """The model as a JSON-safe document, checksum included."""
        document = to_jsonable(
            {
                "format": MODEL_FORMAT,
                "format_version": MODEL_FORMAT_VERSION,
                "package_version": __version__,
                "preprocessor": self.preprocessor.to_dict(),
                "centers": self.centers,
                "segment_names": self.segment_names,
                "method": self.method,
                "metadata": self.metadata,
                **({"gamma": self.gamma} if self.method == "kprototypes" else {}),
                **({"training": self.training} if self.training is not None else {}),
            }
        )
        document["sha256"] = _checksum(document)
        return document

    def save(self, path, *, protect=None) -> Path:
        """Write the model as JSON, atomically (temporary file, then rename).

        Parameters
        ----------
        path : str or os.PathLike
        protect : iterable of paths, optional
            Input files that must never be overwritten.

        Returns
        -------
        pathlib.Path
        """
        text = json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False)
        return write_text_atomic(text + "\n", path, protect=protect)

    @classmethod
    def from_dict(cls, document, source: str = "The model") -> SegmentationModel:
        """Check and rebuild a model from its JSON document (see the module docstring).

        Parameters
        ----------
        document : dict
        source : str
            How to name the model in error messages (for example the file path).

        Raises
        ------
        SegmentationError
            For a document that is not ours, of another version, edited, or inconsistent.
        """
        if not isinstance(document, dict) or document.get("format") != MODEL_FORMAT:
            raise SegmentationError(
                f"{source} is not a segmentation model made by segment; give the model.json "
                "written by 'segment run'."
            )
        format_version = document.get("format_version")
        if format_version != MODEL_FORMAT_VERSION:
            raise SegmentationError(
                f"{source} has model format version {format_version!r}, but segment "
                f"{__version__} reads version {MODEL_FORMAT_VERSION}; train it again with "
                "'segment run'."
            )
        package_version = str(document.get("package_version"))
        if _release_line(package_version) != _release_line(__version__):
            raise SegmentationError(
                f"{source} was made by segment {package_version}, which this segment "
                f"({__version__}) does not read; train it again with 'segment run'."
            )
        stored = document.get("sha256")
        try:
            actual = _checksum(document)
        except (TypeError, ValueError):
            actual = None
        if not isinstance(stored, str) or stored != actual:
            raise SegmentationError(
                f"{source} has been modified since it was saved (its checksum does not match); "
                "train it again with 'segment run'."
            )
        try:
            preprocessor = Preprocessor.from_dict(document["preprocessor"])
            centers = np.asarray(document["centers"], dtype=np.float64)
            names = document["segment_names"]
            metadata = document.get("metadata") or {}
            method = document.get("method", "kmeans")
            gamma = document.get("gamma")
            training = document.get("training")
            if not isinstance(names, list) or not isinstance(metadata, dict):
                raise TypeError("segment_names must be a list and metadata an object")
            if gamma is not None and not isinstance(gamma, int | float):
                raise TypeError("gamma must be a number")
        except SegmentationError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SegmentationError(
                f"{source} is damaged ({type(exc).__name__}: {exc}); train it again with "
                "'segment run'."
            ) from None
        return cls(
            preprocessor, centers, names, metadata, method=method, gamma=gamma, training=training
        )

    @classmethod
    def load(cls, path) -> SegmentationModel:
        """Read and check a model file written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        SegmentationModel

        Raises
        ------
        SegmentationError
            If the file is missing or unreadable, not JSON, not a model of ours, of another
            format version, edited since it was saved, or inconsistent.
        """
        path = Path(path)
        source = f"Model file '{path}'"
        raw = read_input_bytes(
            path,
            source,
            check="check the `model` path",
            instead="give the model.json inside the output folder",
        )
        try:
            document = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise SegmentationError(
                f"{source} is not JSON, so not a model of segment; give the model.json "
                "written by 'segment run'."
            ) from None
        return cls.from_dict(document, source=source)

    def __repr__(self) -> str:
        return (
            f"SegmentationModel(k={self.n_segments}, method={self.method!r}, "
            f"features={self.feature_names!r}, "
            f"segments={self.segment_names!r})"
        )
