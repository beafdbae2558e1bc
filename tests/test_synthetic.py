"""Synthetic customers: realistic ranges and types, reproducible, with findable structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmentation.synthetic import (
    AGE_RANGE,
    INCOME_RANGE,
    SPENDING_RANGE,
    TENURE_RANGE,
    make_customers,
)

NUMERIC = {
    "Age": AGE_RANGE,
    "Annual Income (k$)": INCOME_RANGE,
    "Spending Score (1-100)": SPENDING_RANGE,
    "Tenure (months)": TENURE_RANGE,
}


def test_columns_and_types():
    df = make_customers(400, seed=0)
    assert list(df.columns) == ["CustomerID", "Gender", *NUMERIC]
    assert len(df) == 400
    for column in NUMERIC:
        assert df[column].dtype == np.int64
    assert pd.api.types.is_string_dtype(df["CustomerID"].dtype)
    assert df["CustomerID"].iloc[0] == "C00001"
    assert df["CustomerID"].is_unique
    assert set(df["Gender"]) == {"Female", "Male"}


def test_same_seed_same_table_other_seed_other_table():
    pd.testing.assert_frame_equal(make_customers(300, seed=7), make_customers(300, seed=7))
    assert not make_customers(300, seed=7).equals(make_customers(300, seed=8))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_values_stay_in_realistic_ranges(n, seed):
    df = make_customers(n, seed=seed)
    assert len(df) == n
    for column, (low, high) in NUMERIC.items():
        assert df[column].between(low, high).all(), column
    # Membership cannot be longer than adult life.
    assert (df["Tenure (months)"] <= (df["Age"] - AGE_RANGE[0]) * 12 + 6).all()


def test_ids_stay_unique_and_aligned_beyond_99999():
    ids = make_customers(100_001, seed=1)["CustomerID"]
    assert ids.is_unique
    assert ids.str.len().nunique() == 1
    assert ids.iloc[-1] == "C100001"


def test_n_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        make_customers(0)


def test_five_groups_are_what_kmeans_finds():
    from kmeans_core import KMeans
    from kmeans_core.metrics import silhouette_score

    df = make_customers(400, seed=0)
    X = df[list(NUMERIC)].to_numpy(dtype=float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    scores = {}
    for k in range(2, 9):
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).labels_
        scores[k] = silhouette_score(X, labels)
    assert max(scores, key=scores.get) == 5
