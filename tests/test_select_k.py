"""Choosing k: the Kneedle elbow, the sweep's metrics and the one rule of select_k."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.errors import SegmentationError
from segmentation.select_k import (
    RULE,
    RULES,
    check_k_rule,
    choose_k,
    choose_n_init,
    fit_sweep,
    gap_choice,
    kneedle,
    needs_gap,
    sweep,
)


def blobs(n_per_blob: int, centers, spread: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = np.asarray(centers, dtype=float)
    X = np.vstack(
        [c + spread * rng.standard_normal((n_per_blob, centers.shape[1])) for c in centers]
    )
    y = np.repeat(np.arange(len(centers)), n_per_blob)
    return X, y


# --------------------------------------------------------------------------- kneedle


def test_kneedle_finds_the_hand_computed_elbow():
    # x_norm = [0, .25, .5, .75, 1]; y_norm = [1, 18/88, 8/88, 3/88, 0];
    # (1 - y_norm) - x_norm = [0, .545, .409, .216, 0]: the maximum is at k=2.
    assert kneedle([1, 2, 3, 4, 5], [100, 30, 20, 15, 12]) == 2


def test_kneedle_elbow_moves_with_the_bend():
    # A sharp drop until k=4, then almost flat: difference curve peaks at 4.
    ks = [2, 3, 4, 5, 6, 7, 8]
    inertia = [1000, 700, 400, 380, 365, 355, 350]
    assert kneedle(ks, inertia) == 4


@pytest.mark.parametrize(
    "inertia",
    [
        [10, 8, 6, 4, 2],  # a straight line: no point above the diagonal
        [10, 9.5, 8.5, 6, 0],  # concave: the curve bends the wrong way
        [5, 5, 5, 5, 5],  # flat
    ],
)
def test_kneedle_returns_none_without_an_elbow(inertia):
    assert kneedle([1, 2, 3, 4, 5], inertia) is None


def test_kneedle_needs_three_points():
    assert kneedle([2, 3], [10.0, 1.0]) is None


@settings(max_examples=40, deadline=None)
@given(
    drops=st.lists(st.floats(0.01, 100.0), min_size=3, max_size=10),
    exponent=st.integers(-30, 30),
)
def test_kneedle_ignores_the_units_of_inertia(drops, exponent):
    # Normalising both axes makes the elbow independent of the unit of inertia (a power of
    # two, so that the rescaled curve is exact and ties cannot flip by rounding).
    inertia = np.cumsum(drops[::-1])[::-1]  # decreasing
    ks = list(range(2, 2 + len(inertia)))
    assert kneedle(ks, inertia) == kneedle(ks, inertia * 2.0**exponent)


# --------------------------------------------------------------------------- choose_k


def rows_from(sil: dict[int, float], inertia: dict[int, float]) -> list[dict]:
    return [
        {
            "k": k,
            "inertia": inertia[k],
            "silhouette": sil[k],
            "calinski_harabasz": 100.0 + k,
            "davies_bouldin": 1.0 - 0.01 * k,
        }
        for k in sorted(sil)
    ]


# Inertia with its elbow at k=3 (x_norm .25 -> y_norm small).
ELBOW_AT_3 = {2: 100.0, 3: 30.0, 4: 24.0, 5: 20.0, 6: 18.0}


def test_choose_k_takes_the_highest_silhouette():
    rows = rows_from({2: 0.30, 3: 0.40, 4: 0.55, 5: 0.45, 6: 0.41}, ELBOW_AT_3)
    k, rule, reason = choose_k(rows)
    assert k == 4
    assert rule == RULE
    assert "0.550" in reason and "k=3" in reason  # the best silhouette and where the elbow is


def gaps_choosing(k_gap: int, ks=range(1, 7)) -> list[dict]:
    """Gap rows whose Tibshirani choice is ``k_gap``: rising to it, flat after it."""
    return [
        {"k": k, "gap": min(k, k_gap) * 0.1, "gap_se": 0.01, "log_w": 0.0, "log_w_ref": 0.0}
        for k in ks
    ]


def test_gap_choice_is_tibshiranis_rule():
    rows = [
        {"k": 1, "gap": 0.50, "gap_se": 0.02},
        {"k": 2, "gap": 0.60, "gap_se": 0.02},  # 0.50 < 0.60 - 0.02: go on
        {"k": 3, "gap": 0.70, "gap_se": 0.05},  # 0.60 < 0.70 - 0.05: go on
        {"k": 4, "gap": 0.74, "gap_se": 0.05},  # 0.70 >= 0.74 - 0.05: stop at 3
        {"k": 5, "gap": 0.90, "gap_se": 0.01},
    ]
    assert gap_choice(rows) == 3
    assert gap_choice(rows[:3]) is None  # still rising at the last k
    assert gap_choice(gaps_choosing(1)) == 1


def test_auto_takes_the_silhouette_when_the_structure_is_reasonable():
    # The elbow (3) and the gap (3) agree, but a silhouette of 0.55 decides alone.
    rows = rows_from({2: 0.30, 3: 0.40, 4: 0.55, 5: 0.45, 6: 0.41}, ELBOW_AT_3)
    assert not needs_gap(rows, "auto")
    k, _, reason = choose_k(rows, "auto", gaps_choosing(3))
    assert k == 4
    assert "reasonable structure" in reason


def test_auto_below_reasonable_structure_takes_what_elbow_and_gap_agree_on():
    rows = rows_from({2: 0.43, 3: 0.34, 4: 0.33, 5: 0.32, 6: 0.31}, ELBOW_AT_3)
    assert needs_gap(rows, "auto")
    k, rule, reason = choose_k(rows, "auto", gaps_choosing(3))
    assert k == 3
    assert rule == RULES["auto"]
    assert "elbow and the gap statistic agree" in reason and "0.430 at k=2" in reason


def test_auto_below_reasonable_structure_keeps_the_silhouette_when_a_criterion_agrees():
    rows = rows_from({2: 0.31, 3: 0.20, 4: 0.21, 5: 0.20, 6: 0.19}, ELBOW_AT_3)
    k, _, reason = choose_k(rows, "auto", gaps_choosing(2))
    assert k == 2
    assert "the gap statistic agrees" in reason and "elbow at k=3" in reason


def test_auto_below_reasonable_structure_keeps_the_silhouette_when_all_differ():
    rows = rows_from({2: 0.20, 3: 0.30, 4: 0.42, 5: 0.32, 6: 0.31}, ELBOW_AT_3)
    k, _, reason = choose_k(rows, "auto", gaps_choosing(5))
    assert k == 4
    assert "weak structure" in reason and "gap statistic at k=5" in reason
    # Without the gap statistic (K-Prototypes) the two that are left vote.
    assert choose_k(rows, "auto")[0] == 4


@pytest.mark.parametrize(
    ("rule", "expected"), [("silhouette", 4), ("elbow", 3), ("gap", 5), ("auto", 4)]
)
def test_each_rule_chooses_its_own_k(rule, expected):
    rows = rows_from({2: 0.20, 3: 0.30, 4: 0.42, 5: 0.32, 6: 0.31}, ELBOW_AT_3)
    k, words, _ = choose_k(rows, rule, gaps_choosing(5))
    assert k == expected
    assert words == RULES[rule]


def test_gap_rule_preferring_one_segment_takes_the_smallest_k_and_says_why():
    rows = rows_from({2: 0.35, 3: 0.34, 4: 0.33, 5: 0.32, 6: 0.31}, ELBOW_AT_3)
    k, _, reason = choose_k(rows, "gap", gaps_choosing(1))
    assert k == 2
    assert "prefers a single segment" in reason and "Gap(1)=0.100 >= Gap(2) - s_2 = 0.090" in reason


def test_gap_rule_still_rising_takes_the_largest_k():
    rows = rows_from({2: 0.35, 3: 0.34, 4: 0.33, 5: 0.32, 6: 0.31}, ELBOW_AT_3)
    k, _, reason = choose_k(rows, "gap", gaps_choosing(9))
    assert k == 6
    assert "still rises" in reason


def test_elbow_rule_without_an_elbow_takes_the_highest_silhouette():
    straight = {k: 100.0 - 10 * k for k in range(2, 7)}
    rows = rows_from({2: 0.35, 3: 0.44, 4: 0.33, 5: 0.32, 6: 0.31}, straight)
    k, _, reason = choose_k(rows, "elbow")
    assert k == 3
    assert "no elbow" in reason


def test_an_unknown_rule_is_an_error():
    with pytest.raises(SegmentationError, match="`k_rule` must be one of auto, silhouette"):
        check_k_rule("best")
    with pytest.raises(SegmentationError, match="`k_rule`"):
        choose_k(rows_from({2: 0.3, 3: 0.4, 4: 0.2}, {2: 9.0, 3: 4.0, 4: 3.0}), "median")


def test_choose_k_reason_says_when_the_other_indices_agree():
    rows = rows_from({2: 0.3, 3: 0.40, 4: 0.55, 5: 0.45, 6: 0.41}, ELBOW_AT_3)
    rows[2]["calinski_harabasz"] = 500.0  # k=4 becomes the CH peak
    reason = choose_k(rows)[2]
    assert "Calinski-Harabasz (500) also peaks here" in reason
    # Davies-Bouldin is lowest at k=6 in these rows (1 - 0.06).
    assert "Davies-Bouldin is lowest at k=6" in reason


def test_choose_k_skips_undefined_silhouettes():
    rows = rows_from({2: math.nan, 3: 0.2, 4: 0.25, 5: math.nan, 6: 0.1}, ELBOW_AT_3)
    assert choose_k(rows)[0] == 4


def test_choose_k_of_nothing_is_an_error():
    with pytest.raises(SegmentationError, match="No k was tried, so none can be chosen"):
        choose_k([])


# --------------------------------------------------------------------------- sweep


def test_sweep_measures_every_k_and_finds_separated_blobs():
    X, _ = blobs(40, [[0, 0], [8, 0], [0, 8], [8, 8]], 0.6, seed=1)
    seen = []
    rows = sweep(X, range(2, 7), seed=0, progress=seen.append)
    assert [row["k"] for row in rows] == [2, 3, 4, 5, 6]
    assert seen == [2, 3, 4, 5, 6]
    for row in rows:
        assert set(row) == {"k", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin"}
        assert -1.0 <= row["silhouette"] <= 1.0
        assert row["davies_bouldin"] > 0 and row["calinski_harabasz"] > 0
    inertias = [row["inertia"] for row in rows]
    assert all(a >= b for a, b in zip(inertias, inertias[1:], strict=False))
    assert choose_k(rows)[0] == 4


def test_sweep_models_match_their_rows():
    X, _ = blobs(30, [[0, 0, 0], [6, 6, 6], [0, 6, 0]], 0.5, seed=2)
    rows, models = fit_sweep(X, [2, 3], seed=3)
    for row in rows:
        model = models[row["k"]]
        assert model.cluster_centers_.shape == (row["k"], 3)
        assert model.inertia_ == pytest.approx(row["inertia"])


def test_sweep_is_reproducible_with_a_seed():
    X, _ = blobs(50, [[0, 0], [5, 1], [1, 5]], 1.0, seed=4)
    assert sweep(X, [2, 3, 4], seed=7) == sweep(X, [2, 3, 4], seed=7)


def test_sweep_samples_the_silhouette_above_the_threshold():
    X, _ = blobs(100, [[0, 0], [6, 0], [0, 6]], 0.8, seed=5)
    exact = sweep(X, [3], seed=0)[0]["silhouette"]
    sampled = sweep(X, [3], seed=0, sample_threshold=120)
    again = sweep(X, [3], seed=0, sample_threshold=120)
    assert sampled == again  # the sample is seeded
    # Well-separated blobs: a 120-row sample estimates the exact value closely.
    assert sampled[0]["silhouette"] == pytest.approx(exact, abs=0.05)


@pytest.mark.parametrize(
    ("ks", "message"),
    [
        ([1, 2], "Cannot try k=1 on 20 customers; k must be between 2 and 19"),
        ([2, 30], "Cannot try k=30 on 20 customers"),
        ([], "The k range is empty"),
    ],
)
def test_sweep_rejects_impossible_k(ks, message):
    X, _ = blobs(10, [[0, 0], [5, 5]], 0.5, seed=6)  # 20 rows
    with pytest.raises(SegmentationError, match=message):
        sweep(X, ks, seed=0)


def test_restarts_shrink_as_data_grows():
    assert choose_n_init(200) >= choose_n_init(5_000) >= choose_n_init(100_000) >= 1
