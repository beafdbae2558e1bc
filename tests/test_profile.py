"""Segment profiles, readable names and per-customer explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segmentation.profile import (
    HIGH_Z,
    VERY_HIGH_Z,
    build_profiles,
    customer_explanations,
    display_name,
    level_phrase,
    name_segments,
)

# Six customers in two segments; every statistic below is worked out by hand from this table.
TABLE = pd.DataFrame(
    {
        "Income": [10.0, 20.0, 30.0, 70.0, 80.0, 90.0],
        "Spend": [5.0, 5.0, 8.0, 1.0, 1.0, 4.0],
    }
)
LABELS = np.array([0, 0, 0, 1, 1, 1])
GENDER = pd.DataFrame({"Gender": ["F", "F", "M", "M", "M", "M"]})


def test_sizes_shares_means_and_medians():
    profiles = build_profiles(TABLE, LABELS, 2, profile_categoricals=GENDER)
    first, second = profiles.segments
    assert (first["size"], second["size"]) == (3, 3)
    assert first["share"] == pytest.approx(0.5)
    assert first["profile"]["features"]["Income"]["mean"] == pytest.approx(20.0)
    assert first["profile"]["features"]["Spend"]["median"] == pytest.approx(5.0)
    assert second["profile"]["features"]["Income"]["median"] == pytest.approx(80.0)
    assert second["profile"]["features"]["Spend"]["mean"] == pytest.approx(2.0)


def test_z_scores_are_against_all_customers():
    profiles = build_profiles(TABLE, LABELS, 2)
    # Income: overall mean 50, population std sqrt(mean of squared deviations).
    std = np.sqrt(np.mean((TABLE["Income"] - 50.0) ** 2))
    assert profiles.segments[0]["profile"]["features"]["Income"]["z"] == pytest.approx(-30 / std)
    assert profiles.z.loc[1, "Income"] == pytest.approx(30 / std)
    assert profiles.overall["features"]["Income"]["mean"] == pytest.approx(50.0)


def test_categorical_shares_per_segment_and_overall():
    profiles = build_profiles(TABLE, LABELS, 2, profile_categoricals=GENDER)
    shares = profiles.segments[0]["profile"]["categoricals"]["Gender"]
    assert shares == pytest.approx({"F": 2 / 3, "M": 1 / 3})
    assert profiles.segments[1]["profile"]["categoricals"]["Gender"] == {"M": 1.0}
    assert profiles.overall["categoricals"]["Gender"] == pytest.approx({"M": 4 / 6, "F": 2 / 6})
    # A profiled (non-feature) categorical does not enter the z-scores or the names.
    assert "Gender=F" not in profiles.z.columns


def test_categorical_features_take_part_in_z_and_names():
    numeric = pd.DataFrame({"Age": [30.0, 31.0, 30.0, 31.0]})
    cats = pd.DataFrame({"Channel": ["Web", "Web", "Shop", "Shop"]})
    profiles = build_profiles(numeric, np.array([0, 0, 1, 1]), 2, categorical_features=cats)
    assert {"Channel=Web", "Channel=Shop"} <= set(profiles.z.columns)
    assert profiles.names == ["Mostly Web", "Mostly Shop"]


def test_an_empty_segment_is_named_and_has_no_statistics():
    profiles = build_profiles(TABLE, LABELS, 3)
    empty = profiles.segments[2]
    assert empty["size"] == 0 and empty["name"] == "Empty segment"
    assert np.isnan(empty["profile"]["features"]["Income"]["mean"])


def test_constant_feature_has_zero_z():
    table = TABLE.assign(Const=7.0)
    profiles = build_profiles(table, LABELS, 2)
    assert profiles.z["Const"].tolist() == [0.0, 0.0]


def test_profile_table_keeps_the_most_distinctive_features():
    table = TABLE.assign(Noise=[1.0, 2.0, 1.5, 1.0, 2.0, 1.5])
    profiles = build_profiles(table, LABELS, 2)
    frame = profiles.table(max_features=2)
    assert list(frame.columns) == ["Segment", "Name", "Size", "Share", "Income", "Spend"]


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("Annual Income (k$)", "income"),
        ("Spending Score (1-100)", "spending"),
        ("Tenure (months)", "tenure"),
        ("Detergents_Paper", "detergents paper"),
        ("Monetary", "spend"),
        ("totalOrders", "orders"),
        ("Age", "age"),
    ],
)
def test_display_names_are_short_and_plain(column, expected):
    assert display_name(column) == expected


@pytest.mark.parametrize(
    ("z", "expected"),
    [
        (VERY_HIGH_Z + 0.1, "very high income"),
        (HIGH_Z + 0.1, "high income"),
        (HIGH_Z - 0.1, "average income"),
        (-(HIGH_Z + 0.1), "low income"),
        (-(VERY_HIGH_Z + 0.1), "very low income"),
    ],
)
def test_level_words_follow_the_thresholds(z, expected):
    assert level_phrase("Annual Income (k$)", z) == expected


def test_special_words_for_age_and_recency():
    assert level_phrase("Age", -2.0) == "young"
    assert level_phrase("Age", 0.7) == "older"
    assert level_phrase("Recency", -0.8) == "recent buyers"
    assert level_phrase("Recency", 1.5) == "long lapsed"


def test_names_use_the_two_most_distinctive_features_in_column_order():
    z = pd.DataFrame(
        [[1.4, -0.9, 0.1], [-1.3, 0.8, 0.2], [0.1, 0.2, -0.1]],
        columns=["Annual Income (k$)", "Spending Score (1-100)", "Age"],
    )
    assert name_segments(z) == [
        "Very high income, low spending",
        "Very low income, high spending",
        "Average customers",
    ]


def test_colliding_names_take_the_next_feature():
    z = pd.DataFrame(
        [[1.0, 0.3, -0.2], [1.0, -0.2, 0.4]],
        columns=["Income", "Spend", "Age"],
    )
    # Both would be "High income"; each then adds its next most distinctive feature.
    assert name_segments(z) == ["High income, average spend", "High income, average age"]


def test_identical_segments_get_numbers():
    z = pd.DataFrame([[1.0], [1.0], [1.0]], columns=["Income"])
    assert name_segments(z) == ["High income", "High income (2)", "High income (3)"]


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 12), st.integers(1, 5)),
        elements=st.floats(-3, 3, allow_nan=False),
    )
)
def test_names_are_always_unique_and_capitalised(matrix):
    z = pd.DataFrame(matrix, columns=[f"Feature {i}" for i in range(matrix.shape[1])])
    names = name_segments(z)
    assert len(names) == matrix.shape[0]
    assert len(set(names)) == len(names)
    assert all(name[0].isupper() for name in names)


# --------------------------------------------------------------------------- customers


def test_customer_explanations_by_hand():
    distances = np.array([[1.0, 4.0, 2.0], [3.0, 3.0, 0.5], [0.0, 0.0, 1.0]])
    labels = np.array([0, 2, 0])
    frame = customer_explanations(distances, labels)
    assert frame["Distance_to_center"].tolist() == [1.0, 0.5, 0.0]
    assert frame["Second_nearest_segment"].tolist() == [2, 0, 1]
    # (d2 - d1) / d2: (2-1)/2, (3-0.5)/3, and 0 when both distances are 0.
    assert frame["Assignment_margin"].tolist() == pytest.approx([0.5, 2.5 / 3, 0.0])


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(2, 6)),
        elements=st.floats(0, 100, allow_nan=False),
    )
)
def test_margin_is_in_unit_interval_and_second_is_another_segment(distances):
    labels = np.argmin(distances, axis=1)
    frame = customer_explanations(distances, labels)
    margin = frame["Assignment_margin"].to_numpy()
    assert np.all((margin >= 0) & (margin <= 1))
    assert np.all(frame["Second_nearest_segment"].to_numpy() != labels)
