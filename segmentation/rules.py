"""One readable rule per segment, from a threshold tree with one leaf per segment (IMM).

IMM, Iterative Mistake Minimization (Dasgupta, Frost, Moshkovitz & Rashtchian, "Explainable
k-Means and k-Medians Clustering", ICML 2020, Algorithm 1), builds a binary tree whose every
node cuts one feature at one threshold, top-down, from the k-means centers and labels:

- at a node, only the centers that reach it count, and the customers that reach it with their
  own center (a customer cut away from its center earlier is a *mistake* and goes no further);
- among all cuts ``x[i] <= theta`` that put at least two of these centers on different sides
  (``min_c mu_c[i] <= theta < max_c mu_c[i]``), it takes the one that separates the fewest
  customers from their own center;
- it recurses on both sides until every leaf holds one center: k leaves, k - 1 cuts.

Every path from the root to a leaf is then a conjunction of thresholds, the rule of that
leaf's segment. The tree is built in the matrix k-means saw (scaled, logs taken): the number of
mistakes of a cut is constant between two neighbouring values (of the customers or the
centers at the node), and the cut is placed in the middle of the widest such gap among the
best (then the first feature). The rules are then written in the table's own units: the
values of all customers (and the node's centers) on either side of the cut that lie nearest to
it are mapped back (scaling and ``log1p`` undone) and the threshold is the number with the
fewest significant digits strictly between them, near their midpoint (69 and 70 give 69.5;
1,503.2 and 1,611.9 give 1,600), so that the written rules route every customer exactly as the
tree does.

Categorical features enter k-means one-hot, as 0/1 columns; IMM may cut them too (between 0
and 1), and the rule reads ``Gender = Female`` or ``Gender ≠ Female`` (``Gender = Male`` when
there are two values).

Each segment's rule is judged on every customer: ``precision`` is the share of customers
matching the rule that are in the segment, ``coverage`` the share of the segment's customers
that match it; the leaves share out all customers, so the *accuracy* (the share whose rule is
their segment's) is ``1 - mistakes / n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Column",
    "TreeNode",
    "ThresholdTree",
    "SegmentRules",
    "best_cut",
    "imm_tree",
    "columns_of",
    "segment_rules",
]

#: How the rules were made, in words (the summary and the report say it).
METHOD = (
    "IMM threshold tree (Dasgupta, Frost, Moshkovitz & Rashtchian 2020): one leaf per segment, "
    "each cut chosen to separate the fewest customers from their own segment's center; "
    "thresholds in the table's units; categorical features cut as = / ≠ one value"
)


# --------------------------------------------------------------------------- the tree


@dataclass
class TreeNode:
    """One node of a threshold tree.

    Attributes
    ----------
    centers : ndarray of int
        The centers that reach the node.
    points : ndarray of int
        The rows that reach it together with their own center.
    feature : int
        The column cut here; -1 for a leaf.
    threshold : float
        The cut ``x[feature] <= threshold`` (left) in the matrix's units; NaN for a leaf.
    gap : tuple of two float
        The neighbouring values (rows or centers at the node) on either side of the cut.
    mistakes : int
        Rows of the node that this cut separates from their own center.
    left, right : int
        Indices of the children (-1 for a leaf).
    """

    centers: np.ndarray
    points: np.ndarray
    feature: int = -1
    threshold: float = math.nan
    gap: tuple[float, float] = (math.nan, math.nan)
    mistakes: int = 0
    left: int = -1
    right: int = -1

    @property
    def is_leaf(self) -> bool:
        return self.feature < 0


@dataclass
class ThresholdTree:
    """A threshold tree: ``nodes[0]`` is the root.

    Attributes
    ----------
    nodes : list of TreeNode
    leaf_of_center : dict of int to int
        The leaf of each center (a center that no cut can tell from another has none).
    """

    nodes: list[TreeNode]
    leaf_of_center: dict[int, int]

    @property
    def mistakes(self) -> int:
        """Rows separated from their own center, over all cuts."""
        return sum(node.mistakes for node in self.nodes)

    @property
    def leaves(self) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if node.is_leaf]

    def leaf_of(self, X: np.ndarray) -> np.ndarray:
        """The leaf every row of ``X`` falls in, following the cuts.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), dtype int64
        """
        leaf = np.zeros(X.shape[0], dtype=np.int64)
        for i, node in enumerate(self.nodes):  # parents come before their children
            if node.is_leaf:
                continue
            here = leaf == i
            goes_left = X[:, node.feature] <= node.threshold
            leaf[here & goes_left] = node.left
            leaf[here & ~goes_left] = node.right
        return leaf


def best_cut(X: np.ndarray, labels: np.ndarray, centers: np.ndarray, points, center_ids):
    """IMM's cut at one node: the fewest mistakes among cuts that split the node's centers.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,)
        The center of every row.
    centers : ndarray of shape (k, n_features)
    points : ndarray of int
        The rows at the node (their labels are among ``center_ids``).
    center_ids : ndarray of int
        The centers at the node, at least two.

    Returns
    -------
    tuple (feature, low, high, mistakes) or None
        The cut lies between the neighbouring values ``low < high``: ``x[feature] <= low``
        goes left, ``>= high`` right. Ties: the widest gap, then the first feature. None when
        the centers are equal in every feature.
    """
    best = None
    for feature in range(X.shape[1]):
        x = X[points, feature]
        own = centers[labels[points], feature]
        at_node = centers[center_ids, feature]
        first, last = at_node.min(), at_node.max()
        if first == last:
            continue
        # A row is a mistake for the cut theta when theta lies in [min(x, own), max(x, own)).
        low_ends = np.sort(np.minimum(x, own))
        high_ends = np.sort(np.maximum(x, own))
        values = np.unique(np.concatenate([x, at_node]))
        starts = values[(values >= first) & (values < last)]
        ends = values[np.searchsorted(values, starts, side="right")]
        mistakes = np.searchsorted(low_ends, starts, side="right") - np.searchsorted(
            high_ends, starts, side="right"
        )
        width = ends - starts
        fewest = mistakes.min()
        widest = int(np.argmax(np.where(mistakes == fewest, width, -np.inf)))
        candidate = (int(fewest), -float(width[widest]), feature)
        if best is None or candidate < best[0]:
            best = (candidate, float(starts[widest]), float(ends[widest]))
    if best is None:
        return None
    (mistakes, _, feature), low, high = best
    return feature, low, high, mistakes


def imm_tree(X, labels, centers) -> ThresholdTree:
    """Build the IMM threshold tree of a clustering (Dasgupta et al. 2020, Algorithm 1).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    labels : array-like of shape (n_samples,)
        The center of every row, in [0, k).
    centers : array-like of shape (k, n_features)

    Returns
    -------
    ThresholdTree
        With k leaves, one per center, unless two centers are equal in every feature (they
        then share a leaf, which goes to the one with more rows).
    """
    X, labels, centers = _checked(X, labels, centers)
    nodes = [TreeNode(np.arange(centers.shape[0]), np.arange(X.shape[0]))]
    leaf_of_center: dict[int, int] = {}
    todo = [0]
    while todo:
        index = todo.pop(0)  # breadth first: parents before children, ids read top-down
        node = nodes[index]
        cut = (
            None
            if node.centers.size < 2
            else best_cut(X, labels, centers, node.points, node.centers)
        )
        if cut is None:
            counts = np.bincount(labels[node.points], minlength=centers.shape[0])[node.centers]
            leaf_of_center[int(node.centers[np.argmax(counts)])] = index
            continue
        feature, low, high, mistakes = cut
        threshold = 0.5 * (low + high)
        center_left = centers[node.centers, feature] <= threshold
        row_left = X[node.points, feature] <= threshold
        own_left = centers[labels[node.points], feature] <= threshold
        kept = row_left == own_left
        node.feature, node.threshold, node.gap, node.mistakes = (
            feature,
            threshold,
            (low, high),
            mistakes,
        )
        for side, centers_here, rows_here in (
            ("left", node.centers[center_left], node.points[kept & row_left]),
            ("right", node.centers[~center_left], node.points[kept & ~row_left]),
        ):
            setattr(node, side, len(nodes))
            todo.append(len(nodes))
            nodes.append(TreeNode(centers_here, rows_here))
    return ThresholdTree(nodes, leaf_of_center)


def _checked(X, labels, centers):
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    centers = np.asarray(centers, dtype=np.float64)
    if X.ndim != 2 or centers.ndim != 2 or X.shape[1] != centers.shape[1]:
        raise ValueError(f"X {X.shape} and centers {centers.shape} need the same columns.")
    if labels.shape != (X.shape[0],) or not np.all((labels >= 0) & (labels < centers.shape[0])):
        raise ValueError(f"labels need one center in [0, {centers.shape[0]}) per row of X.")
    return X, labels, centers


# --------------------------------------------------------------------------- in the table's words


@dataclass(frozen=True)
class Column:
    """How a column of the k-means matrix reads in the table's units.

    A numeric feature was ``(log1p(value) if log else value - center) / scale``; a one-hot
    column is 1 when the categorical feature ``name`` equals ``level`` (one of ``levels``).
    """

    name: str
    center: float = 0.0
    scale: float = 1.0
    log: bool = False
    level: str | None = None
    levels: tuple[str, ...] = ()

    @property
    def is_category(self) -> bool:
        return self.level is not None

    def original(self, value: float) -> float:
        """A value of the matrix in the table's units."""
        value = value * self.scale + self.center
        return math.expm1(value) if self.log else value


def columns_of(preprocessor) -> list[Column]:
    """The :class:`Column` of every feature a fitted ``Preprocessor`` puts in the matrix."""
    columns = [
        Column(name, float(center), float(scale), name in preprocessor.log_columns_)
        for name, center, scale in zip(
            preprocessor.numeric_features_, preprocessor.center_, preprocessor.scale_, strict=True
        )
    ]
    for name in preprocessor.categorical_features_:
        levels = tuple(preprocessor.categories_[name])
        columns += [Column(name, level=level, levels=levels) for level in levels]
    return columns


def _short_between(low: float, high: float) -> float:
    """The number with the fewest significant digits strictly between ``low`` and ``high``
    found by rounding their midpoint (the midpoint itself when none is)."""
    middle = 0.5 * (low + high)
    for digits in range(1, 18):
        rounded = float(f"{middle:.{digits}g}")
        if low < rounded < high:
            return rounded
    return middle


def _number(value: float) -> str:
    return np.format_float_positional(value, trim="-")


@dataclass
class SegmentRules:
    """Every segment's rule, judged on the customers.

    Attributes
    ----------
    rules : list of str or None
        By segment id; None for a segment that no cut can tell from another.
    precision, coverage : list of float or None
        By segment id: the share of the customers matching the rule that are in the segment
        (None when none match), and of the segment's customers that match it (None when empty).
    matching : list of int
        Customers matching each rule.
    accuracy : float
        Share of all customers whose rule is their segment's.
    mistakes : int
        Customers that IMM's cuts separate from their own segment's center.
    tree : list of dict
        The nodes in the table's words: ``{"id", "condition", "mistakes", "yes", "no"}`` for a
        cut (``yes``: the node where the condition holds), ``{"id", "segment"}`` for a leaf.
    """

    rules: list[str | None]
    precision: list[float | None]
    coverage: list[float | None]
    matching: list[int]
    accuracy: float
    mistakes: int
    tree: list[dict] = field(default_factory=list)

    def segment_fields(self, segment_id: int) -> dict:
        """``rule``, ``rule_precision``, ``rule_coverage`` and ``rule_matching`` (customers
        matching the rule) of one segment."""
        return {
            "rule": self.rules[segment_id],
            "rule_precision": self.precision[segment_id],
            "rule_coverage": self.coverage[segment_id],
            "rule_matching": self.matching[segment_id],
        }

    def to_dict(self) -> dict:
        """The summary's ``rules`` section (JSON-ready)."""
        return {
            "method": METHOD,
            "accuracy": self.accuracy,
            "mistakes": self.mistakes,
            "tree": self.tree,
        }


def segment_rules(X, labels, centers, columns: list[Column], originals) -> SegmentRules:
    """IMM's tree of a segmentation, written as one rule per segment in the table's units.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The matrix k-means saw.
    labels : array-like of shape (n_samples,)
        The segment of every customer.
    centers : array-like of shape (k, n_features)
    columns : list of Column
        How each column of ``X`` reads (:func:`columns_of`).
    originals : array-like of shape (n_samples, n_features), or a list of n_features columns
        The same customers in the table's units (numeric features as in the table, gaps
        filled; one-hot columns as in ``X``): what the rules are judged on. As a list of
        columns they are read where they are (the table's own), not copied into a matrix.

    Returns
    -------
    SegmentRules
    """
    X, labels, centers = _checked(X, labels, centers)
    if isinstance(originals, list | tuple):
        originals = [np.asarray(column, dtype=np.float64) for column in originals]
    else:
        matrix = np.asarray(originals, dtype=np.float64)
        originals = [matrix[:, j] for j in range(matrix.shape[1])] if matrix.ndim == 2 else []
    shape = (len(originals[0]) if originals else 0, len(originals))
    if (
        shape != X.shape
        or any(column.shape != (X.shape[0],) for column in originals)
        or len(columns) != X.shape[1]
    ):
        raise ValueError(f"originals {shape} and columns ({len(columns)}) must match X {X.shape}.")
    tree = imm_tree(X, labels, centers)
    n, k = X.shape[0], centers.shape[0]

    # Each cut in the table's units: a short number between the neighbouring values of all
    # customers (and of the node's centers), so that the written rules route every customer
    # exactly as the tree does, the customers IMM let go at an earlier cut included.
    cuts: dict[int, float] = {}
    for i, node in enumerate(tree.nodes):
        if node.is_leaf:
            continue
        column = columns[node.feature]
        if column.is_category:
            cuts[i] = 0.5
            continue
        goes_left = X[:, node.feature] <= node.threshold
        values = originals[node.feature]
        at_node = np.array([column.original(v) for v in centers[node.centers, node.feature]])
        center_left = centers[node.centers, node.feature] <= node.threshold
        low = max(values[goes_left].max(initial=-np.inf), at_node[center_left].max())
        high = min(values[~goes_left].min(initial=np.inf), at_node[~center_left].min())
        cuts[i] = _short_between(low, high)

    # Route every customer by the written cuts: the rule it matches is its leaf's.
    leaf = np.zeros(n, dtype=np.int64)
    paths: dict[int, list[tuple[int, bool, float]]] = {0: []}
    for i, node in enumerate(tree.nodes):
        if node.is_leaf:
            continue
        here = leaf == i
        goes_left = originals[node.feature] <= cuts[i]
        leaf[here & goes_left] = node.left
        leaf[here & ~goes_left] = node.right
        paths[node.left] = [*paths[i], (node.feature, True, cuts[i])]
        paths[node.right] = [*paths[i], (node.feature, False, cuts[i])]

    rules, precision, coverage, matching = [], [], [], []
    correct = 0
    for segment in range(k):
        members = labels == segment
        size = int(members.sum())
        if segment not in tree.leaf_of_center:
            rules.append(None)
            precision.append(None)
            coverage.append(0.0 if size else None)
            matching.append(0)
            continue
        index = tree.leaf_of_center[segment]
        matches = leaf == index
        hits = int((matches & members).sum())
        correct += hits
        rules.append(_rule_text(paths[index], columns))
        matching.append(int(matches.sum()))
        precision.append(hits / matching[-1] if matching[-1] else None)
        coverage.append(hits / size if size else None)

    nodes = []
    for i, node in enumerate(tree.nodes):
        if node.is_leaf:
            segment = next((s for s, j in tree.leaf_of_center.items() if j == i), None)
            nodes.append({"id": i, "segment": segment})
        else:
            condition = _condition(columns[node.feature], True, cuts[i])
            nodes.append(
                {
                    "id": i,
                    "condition": condition,
                    "mistakes": node.mistakes,
                    "yes": node.left,
                    "no": node.right,
                }
            )
    return SegmentRules(
        rules=rules,
        precision=precision,
        coverage=coverage,
        matching=matching,
        accuracy=correct / n if n else 1.0,
        mistakes=tree.mistakes,
        tree=nodes,
    )


def _condition(column: Column, goes_left: bool, cut: float) -> str:
    """One cut in words: ``Income <= 69.5``, ``Income > 69.5``, ``Gender = Female`` ..."""
    if column.is_category:
        required, excluded = (set(), {column.level}) if goes_left else ({column.level}, set())
        return _category_text(column, required, excluded)
    return f"{column.name} {'<=' if goes_left else '>'} {_number(cut)}"


def _category_text(column: Column, required: set, excluded: set) -> str:
    allowed = [level for level in column.levels if level not in excluded]
    if required:
        return " and ".join(f"{column.name} = {level}" for level in sorted(required))
    if len(allowed) == 1:
        return f"{column.name} = {allowed[0]}"
    if len(excluded) == 1:
        return f"{column.name} ≠ {next(iter(excluded))}"
    return f"{column.name} not in {{{', '.join(sorted(excluded))}}}"


def _rule_text(path: list[tuple[int, bool, float]], columns: list[Column]) -> str:
    """A path's cuts as one rule: the tightest bounds per feature, in the order first cut."""
    numeric: dict[str, list[float]] = {}  # name -> [lower (>), upper (<=)]
    categories: dict[str, tuple[Column, set, set]] = {}  # name -> (column, required, excluded)
    order: list[str] = []
    for feature, goes_left, cut in path:
        column = columns[feature]
        if column.name not in order:
            order.append(column.name)
        if column.is_category:
            _, required, excluded = categories.setdefault(column.name, (column, set(), set()))
            (excluded if goes_left else required).add(column.level)
            continue
        bounds = numeric.setdefault(column.name, [-math.inf, math.inf])
        if goes_left:
            bounds[1] = min(bounds[1], cut)
        else:
            bounds[0] = max(bounds[0], cut)
    parts = []
    for name in order:
        if name in categories:
            parts.append(_category_text(*categories[name]))
            continue
        lower, upper = numeric[name]
        if math.isinf(lower):
            parts.append(f"{name} <= {_number(upper)}")
        elif math.isinf(upper):
            parts.append(f"{name} > {_number(lower)}")
        else:
            parts.append(f"{_number(lower)} < {name} <= {_number(upper)}")
    return " and ".join(parts)
