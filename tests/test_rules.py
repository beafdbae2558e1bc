"""IMM's threshold tree (segmentation.rules): exact on separated blobs, every cut the fewest
mistakes (brute force), the tree's shape and counts (hypothesis), and the rules of the real
data sets read back from the written text on the raw tables."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import data_file
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmeans_core import KMeans
from segmentation.io import read_table
from segmentation.pipeline import RunConfig, run, segment
from segmentation.profile import HIGH_Z
from segmentation.rules import Column, best_cut, imm_tree, segment_rules

INCOME = "Annual Income (k$)"
SPENDING = "Spending Score (1-100)"


# --------------------------------------------------------------------------- brute force


def brute_force_fewest(X, labels, centers, points, center_ids):
    """The fewest mistakes over every feature and every threshold between two neighbouring
    values (rows or centers at the node) that splits the node's centers, by definition."""
    fewest = None
    for feature in range(X.shape[1]):
        at_node = centers[center_ids, feature]
        values = np.unique(np.concatenate([X[points, feature], at_node]))
        for low, high in zip(values[:-1], values[1:], strict=True):
            theta = 0.5 * (low + high)
            if not at_node.min() <= theta < at_node.max():
                continue
            row_left = X[points, feature] <= theta
            own_left = centers[labels[points], feature] <= theta
            mistakes = int(np.sum(row_left != own_left))
            fewest = mistakes if fewest is None else min(fewest, mistakes)
    return fewest


def nearest(X, centers):
    return np.argmin(((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2), axis=1)


def identity_columns(d):
    return [Column(f"x{j}") for j in range(d)]


# --------------------------------------------------------------------------- exact cases


def test_separated_axis_aligned_blobs_get_exact_rules():
    rng = np.random.default_rng(0)
    corners = np.array([[0, 0], [0, 10], [10, 0], [10, 10], [20, 5]], dtype=float)
    truth = np.repeat(np.arange(5), 60)
    X = corners[truth] + rng.uniform(-1, 1, size=(truth.size, 2))
    km = KMeans(n_clusters=5, random_state=0).fit(X)
    labels = np.asarray(km.labels_)
    rules = segment_rules(X, labels, km.cluster_centers_, identity_columns(2), X)
    assert rules.mistakes == 0 and rules.accuracy == 1.0
    assert rules.precision == [1.0] * 5 and rules.coverage == [1.0] * 5
    assert sum(rules.matching) == X.shape[0]
    # The gaps between blobs are about 8 wide: the thresholds are short numbers.
    numbers = re.findall(r"(?<![x\d])-?\d+(?:\.\d+)?", " ".join(rules.rules))
    assert numbers and all(len(n.strip("-").replace(".", "").strip("0")) <= 2 for n in numbers)


def test_blobs_through_the_pipeline_read_in_original_units():
    # Spend is log-normal per blob: the pipeline takes its log; the rule speaks in money.
    rng = np.random.default_rng(1)
    n = 90
    visits = np.concatenate([rng.uniform(1, 4, n), rng.uniform(1, 4, n), rng.uniform(20, 30, n)])
    spend = np.concatenate(
        [rng.uniform(10, 50, n), rng.uniform(2000, 5000, n), rng.uniform(10, 50, n)]
    )
    data = pd.DataFrame({"Visits": visits.round(), "Spend": spend.round(2)})
    seg = segment(data, RunConfig(k=3, k_range=(3, 3), log_transform=["Spend"]))
    rules = seg.rules
    assert rules.accuracy == 1.0 and rules.precision == [1.0] * 3 and rules.coverage == [1.0] * 3
    text = " | ".join(rules.rules)
    spend_cut = float(re.search(r"Spend (?:<=|>) ([\d.]+)", text)[1])
    visits_cut = float(re.search(r"Visits (?:<=|>) ([\d.]+)", text)[1])
    assert 50 < spend_cut < 2000 and 4 < visits_cut < 20
    # Short numbers: the fewest significant digits that still fall in the gap.
    assert len(f"{spend_cut:g}".replace(".", "").strip("0")) <= 2


def test_a_leaf_per_center_even_without_points():
    # Center 2 has no rows: it still gets its leaf, and its rule matches nobody.
    X = np.array([[0.0], [0.2], [5.0], [5.2]])
    centers = np.array([[0.1], [5.1], [9.0]])
    labels = np.array([0, 0, 1, 1])
    tree = imm_tree(X, labels, centers)
    assert sorted(tree.leaf_of_center) == [0, 1, 2] and len(tree.leaves) == 3
    rules = segment_rules(X, labels, centers, identity_columns(1), X)
    assert rules.precision[:2] == [1.0, 1.0] and rules.coverage[2] is None
    assert rules.rules[2] is not None and rules.matching[2] == 0


def test_equal_centers_share_a_leaf_and_the_smaller_has_no_rule():
    X = np.array([[0.0], [0.1], [0.2], [3.0]])
    centers = np.array([[0.1], [0.1], [3.0]])
    labels = np.array([0, 0, 1, 2])
    rules = segment_rules(X, labels, centers, identity_columns(1), X)
    assert rules.rules[1] is None and rules.coverage[1] == 0.0
    assert rules.rules[0] == "x0 <= 2" and rules.rules[2] == "x0 > 2"  # 0.2 < 2 < 3


def test_categories_read_as_equal_or_not():
    X = np.array([[0.0, 1.0, 0.0], [0.1, 1.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.0, 1.0]])
    columns = [
        Column("Age"),
        Column("Gender", level="Female", levels=("Female", "Male")),
        Column("Gender", level="Male", levels=("Female", "Male")),
    ]
    centers = np.array([[0.05, 1.0, 0.0], [0.1, 0.0, 1.0]])
    rules = segment_rules(X, np.array([0, 0, 1, 1]), centers, columns, X)
    assert sorted(rules.rules) == ["Gender = Female", "Gender = Male"]
    assert rules.accuracy == 1.0


def test_bad_shapes_are_refused():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="same columns"):
        imm_tree(X, np.zeros(3, int), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="one center"):
        imm_tree(X, np.array([0, 1, 2]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must match"):
        segment_rules(X, np.zeros(3, int), np.eye(2), identity_columns(1), X)


# --------------------------------------------------------------------------- properties


@st.composite
def clusterings(draw):
    n = draw(st.integers(4, 40))
    d = draw(st.integers(1, 3))
    k = draw(st.integers(2, min(5, n)))
    # Few distinct values, so that ties and repeated coordinates are common.
    X = draw(arrays(np.float64, (n, d), elements=st.integers(-6, 6).map(float)))
    rows = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    centers = X[rows] + draw(arrays(np.float64, (k, d), elements=st.sampled_from([0.0, 0.25])))
    if np.unique(centers, axis=0).shape[0] < k:
        centers = centers + np.arange(k)[:, None] * 0.01  # distinct centers
    return X, nearest(X, centers), centers


@settings(max_examples=150, deadline=None)
@given(clusterings())
def test_imm_tree_properties(case):
    X, labels, centers = case
    n, k = X.shape[0], centers.shape[0]
    tree = imm_tree(X, labels, centers)
    leaves = tree.leaves
    # k leaves, one center each, k - 1 cuts.
    assert len(leaves) == k and len(tree.nodes) == 2 * k - 1
    assert sorted(int(tree.nodes[i].centers[0]) for i in leaves) == list(range(k))
    assert all(tree.nodes[i].centers.size == 1 for i in leaves)
    assert {tree.leaf_of_center[c] for c in range(k)} == set(leaves)
    # Every cut splits its node's centers and makes the fewest mistakes (brute force).
    for node in tree.nodes:
        if node.is_leaf:
            continue
        at_node = centers[node.centers, node.feature]
        assert at_node.min() <= node.threshold < at_node.max()
        assert node.mistakes == brute_force_fewest(X, labels, centers, node.points, node.centers)
        assert node.gap[0] < node.threshold < node.gap[1]
    # Every row lands in exactly one leaf; the rows away from their center's leaf are
    # exactly the mistakes.
    leaf = tree.leaf_of(X)
    assert set(leaf) <= set(leaves)
    own_leaf = np.array([tree.leaf_of_center[c] for c in labels])
    assert int(np.sum(leaf != own_leaf)) == tree.mistakes
    # The written rules route every row as the tree does: their counts are the tree's.
    rules = segment_rules(X, labels, centers, identity_columns(X.shape[1]), X)
    assert sum(rules.matching) == n
    assert rules.accuracy == pytest.approx(1 - tree.mistakes / n)
    for c in range(k):
        size = int(np.sum(labels == c))
        hits = int(np.sum((leaf == tree.leaf_of_center[c]) & (labels == c)))
        assert rules.matching[c] == int(np.sum(leaf == tree.leaf_of_center[c]))
        if rules.matching[c]:
            assert rules.precision[c] == pytest.approx(hits / rules.matching[c])
        else:
            assert rules.precision[c] is None
        if size:
            assert rules.coverage[c] == pytest.approx(hits / size)


def test_the_root_cut_matches_brute_force_on_random_data():
    rng = np.random.default_rng(7)
    for _ in range(20):
        X = rng.normal(size=(60, 3)).round(1)
        centers = rng.normal(size=(4, 3))
        labels = nearest(X, centers)
        points, ids = np.arange(60), np.arange(4)
        _, _, _, mistakes = best_cut(X, labels, centers, points, ids)
        assert mistakes == brute_force_fewest(X, labels, centers, points, ids)


# --------------------------------------------------------------------------- real data


_BOUND = re.compile(r"^(?:([\d.eE+-]+) < )?(.+?) (<=|>) ([\d.eE+-]+)$")


def rule_mask(rule: str, table: pd.DataFrame) -> np.ndarray:
    """Read a written rule back and apply it to the raw table."""
    mask = np.ones(len(table), dtype=bool)
    for part in rule.split(" and "):
        if " = " in part or " ≠ " in part:
            name, sign, level = re.split(r" (=|≠) ", part)
            equal = table[name].astype(str).str.strip().to_numpy() == level
            mask &= equal if sign == "=" else ~equal
            continue
        lower, name, sign, value = _BOUND.match(part).groups()
        column = table[name].to_numpy(dtype=float)
        mask &= column <= float(value) if sign == "<=" else column > float(value)
        if lower is not None:
            mask &= column > float(lower)
    return mask


def check_rules_on_the_raw_table(summary: dict, table: pd.DataFrame, labels) -> None:
    labels = np.asarray(labels)
    matched = np.zeros(len(table), dtype=int)
    for entry in summary["segments"]:
        mask = rule_mask(entry["rule"], table)
        matched += mask
        members = labels == entry["id"]
        hits = int(np.sum(mask & members))
        assert entry["rule_precision"] == pytest.approx(hits / mask.sum()), entry["rule"]
        assert entry["rule_coverage"] == pytest.approx(hits / members.sum()), entry["rule"]
        assert entry["rule_matching"] == int(mask.sum())
    assert (matched == 1).all()  # the rules share out the customers
    hits = sum(
        int(np.sum(rule_mask(s["rule"], table) & (labels == s["id"]))) for s in summary["segments"]
    )
    assert summary["rules"]["accuracy"] == pytest.approx(hits / len(table))


@pytest.fixture(scope="module")
def mall_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mall_rules")
    config = RunConfig(
        input=data_file("mall_customers.csv"), features=[INCOME, SPENDING], out=out, plots=False
    )
    return run(config), out


def test_mall_rules_name_the_known_segments(mall_run):
    result, _ = mall_run
    seg = result.segmentation
    assert seg.k == 5 and seg.rules.accuracy >= 0.95
    z = seg.profiles.z
    by_shape = {}
    for number in range(seg.k):
        shape = tuple(
            "+" if z.loc[number, f] >= HIGH_Z else "-" if z.loc[number, f] <= -HIGH_Z else "0"
            for f in (INCOME, SPENDING)
        )
        by_shape[shape] = number
    # High income, low spending: income above a threshold, spending below one.
    rule = seg.rules.rules[by_shape[("+", "-")]]
    assert re.search(rf"{re.escape(INCOME)} > \d", rule) and f"{SPENDING} <=" in rule, rule
    # High income, high spending and low income, high spending: spending above a threshold.
    assert f"{SPENDING} >" in seg.rules.rules[by_shape[("+", "+")]]
    assert f"{INCOME} <=" in seg.rules.rules[by_shape[("-", "+")]]
    for number in by_shape.values():
        assert seg.rules.precision[number] >= 0.9 and seg.rules.coverage[number] >= 0.9
    # Thresholds are round numbers inside the data's range (income 15-137, score 1-99).
    for value in re.findall(r"[<>]=? (\d+(?:\.\d+)?)", " ".join(seg.rules.rules)):
        assert 15 < float(value) < 99 and float(value) * 2 == round(float(value) * 2)


def test_mall_summary_and_report_hold_the_rules(mall_run):
    result, out = mall_run
    summary = json.loads((out / "cluster_summary.json").read_text())
    for entry in summary["segments"]:
        assert {"rule", "rule_precision", "rule_coverage", "rule_matching"} <= set(entry)
    assert sum(entry["rule_matching"] for entry in summary["segments"]) == 200
    assert summary["rules"]["method"].startswith("IMM")
    assert summary["rules"]["mistakes"] == round((1 - summary["rules"]["accuracy"]) * 200)
    tree = summary["rules"]["tree"]
    assert len(tree) == 9 and sum("segment" in node for node in tree) == 5
    table = read_table(data_file("mall_customers.csv"))
    check_rules_on_the_raw_table(summary, table, result.segmentation.labels)
    page = (out / "report.html").read_text()
    assert "One rule per segment" in page
    assert all(
        s["rule"].replace("<", "&lt;").replace(">", "&gt;") in page for s in summary["segments"]
    )


def test_mall_console_prints_the_rules(mall_run, capsys):
    from segmentation.cli import _print_run

    result, _ = mall_run
    _print_run(result)
    printed = capsys.readouterr().out
    assert "match their own segment's rule" in printed
    for number, rule in enumerate(result.segmentation.rules.rules):
        assert f"{number} {result.segmentation.names[number]}: {rule} (precision" in printed


def test_mall_with_gender_cuts_read_as_categories(tmp_path):
    path = data_file("mall_customers.csv")
    config = RunConfig(
        input=path, features=["Genre", INCOME, SPENDING], k=6, out=tmp_path, plots=False
    )
    result = run(config)
    rules = result.segmentation.rules.rules
    assert any("Genre = " in rule for rule in rules), rules
    assert not any("Genre=" in rule or "0.5" in rule for rule in rules), rules
    check_rules_on_the_raw_table(result.summary, read_table(path), result.segmentation.labels)


def test_wholesale_rules_are_in_money_not_logs(tmp_path):
    path = data_file("wholesale_customers.csv")
    features = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    config = RunConfig(input=path, features=features, k=4, out=tmp_path, plots=False)
    result = run(config)
    seg = result.segmentation
    assert seg.preprocessor.log_columns_  # the spending columns are logged for k-means
    table = read_table(path)
    check_rules_on_the_raw_table(result.summary, table, seg.labels)
    for value in re.findall(r"[<>]=? ([\d.]+)", " ".join(seg.rules.rules)):
        assert float(value) > 20  # annual spend in monetary units, not log1p values (< 12)
    assert seg.rules.accuracy >= 0.7


def test_kprototypes_segments_get_rules(tmp_path):
    path = data_file("mall_customers.csv")
    config = RunConfig(
        input=path,
        features=["Genre", "Age", INCOME, SPENDING],
        method="kprototypes",
        k=4,
        out=tmp_path,
        plots=False,
        report=False,
    )
    result = run(config)
    check_rules_on_the_raw_table(result.summary, read_table(path), result.segmentation.labels)
