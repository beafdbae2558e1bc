"""Column roles and the Preprocessor: gaps, logs, one-hot, scalers, and the JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.preprocess import (
    MAX_CATEGORIES,
    SKEW_THRESHOLD,
    ColumnRoles,
    Preprocessor,
    infer_roles,
    is_id_name,
)

DATA = Path(__file__).resolve().parents[1] / "data"


def _customers(n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"K{i:03d}" for i in range(n)], dtype="str"),
            "Gender": pd.array(rng.choice(["Female", "Male"], n), dtype="str"),
            "City": pd.array(rng.choice(["Lyon", "Paris", "Nice"], n), dtype="str"),
            "Age": rng.integers(18, 70, n),
            "Income": rng.normal(50, 10, n).round(1),
            "Spend": rng.lognormal(3, 1.2, n).round(2),
        }
    )


def _real(name: str) -> pd.DataFrame:
    path = DATA / name
    if not path.exists():
        pytest.fail(f"real data not available at {path}")
    return read_table(path)


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize(
    "name", ["id", "ID", "customer_id", "Client ID", "CustomerID", "user-id", "Unnamed: 0", "uuid"]
)
def test_id_names_are_recognised(name):
    assert is_id_name(name)


@pytest.mark.parametrize("name", ["paid", "valid", "Idle", "Width", "Region", "Age", "Fluid"])
def test_ordinary_names_are_not_ids(name):
    assert not is_id_name(name)


def test_default_roles():
    roles = infer_roles(_customers())
    assert roles.id_columns == ["customer_id"]
    assert roles.numeric_features == ["Age", "Income", "Spend"]
    assert roles.categorical_features == []
    assert roles.profile_categoricals == ["Gender", "City"]
    assert roles.dropped == {}
    assert roles.features == ["Age", "Income", "Spend"]


def test_mall_customers_roles():
    roles = infer_roles(_real("mall_customers.csv"))
    assert roles.id_columns == ["CustomerID"]
    assert roles.numeric_features == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    assert roles.profile_categoricals == ["Genre"]


def test_unique_text_and_row_counters_are_ids_without_an_id_name():
    n = 25
    df = pd.DataFrame(
        {
            "code": pd.array([f"x{i}" for i in range(n)], dtype="str"),
            "row": np.arange(5, 5 + n),
            "Spend": np.linspace(1, 2, n),
            "Visits": np.tile([1, 2, 3, 4, 5], 5),
        }
    )
    roles = infer_roles(df)
    assert roles.id_columns == ["code", "row"]
    assert roles.numeric_features == ["Spend", "Visits"]
    # Too few rows to call a consecutive integer column a counter.
    short = df.head(6)
    assert "row" in infer_roles(short).numeric_features


def test_explicit_id_column_and_explicit_features():
    df = _customers()
    roles = infer_roles(df, features=["Income", "Gender"], id_column="City")
    assert roles.id_columns == ["customer_id", "City"]
    assert roles.numeric_features == ["Income"]
    assert roles.categorical_features == ["Gender"]
    assert roles.dropped == {
        "Age": "not among the chosen features",
        "Spend": "not among the chosen features",
    }


def test_constant_and_empty_columns_are_dropped_with_a_reason():
    df = _customers()
    df["Store"] = 3
    df["Notes"] = np.nan
    df["Country"] = pd.array(["FR"] * len(df), dtype="str")
    roles = infer_roles(df)
    assert roles.dropped["Store"].startswith("constant")
    assert roles.dropped["Notes"] == "all values missing"
    assert roles.dropped["Country"].startswith("constant")
    assert "Store" not in roles.numeric_features


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"features": ["Income", "Salary"]}, "'Salary' not in the input; the columns are"),
        ({"features": ["customer_id", "Age"]}, "looks like an identifier"),
        ({"id_column": "nope"}, "ID column 'nope' is not in the input"),
        ({"features": ["Gender"]}, "include at least one numeric column"),
        ({"features": [" "]}, "names no column"),
    ],
)
def test_bad_feature_choices_are_explained(kwargs, expected):
    with pytest.raises(SegmentationError) as info:
        infer_roles(_customers(), **kwargs)
    assert expected in str(info.value)


def test_missing_feature_message_lists_the_columns():
    with pytest.raises(SegmentationError) as info:
        infer_roles(_customers(), features=["Salary"])
    for column in _customers().columns:
        assert f"'{column}'" in str(info.value)


def test_no_numeric_column_is_refused():
    df = pd.DataFrame({"a": pd.array(["x", "y", "x"], dtype="str")})
    with pytest.raises(SegmentationError, match="no usable numeric column"):
        infer_roles(df)


def test_text_among_numbers_is_refused_with_the_row():
    df = _customers()
    df["Age"] = df["Age"].astype(str)
    df.loc[4, "Age"] = "forty"
    with pytest.raises(SegmentationError, match=r"'Age' has text where numbers.*row 5: 'forty'"):
        infer_roles(df)


def test_dates_cannot_be_features():
    df = _customers()
    df["Joined"] = pd.date_range("2020-01-01", periods=len(df))
    assert infer_roles(df).dropped["Joined"].startswith("dates")
    with pytest.raises(SegmentationError, match="holds dates"):
        infer_roles(df, features=["Joined", "Age"])


def test_high_cardinality_text_is_not_encoded_nor_profiled():
    n = 2 * MAX_CATEGORIES + 10
    df = pd.DataFrame(
        {
            "Street": pd.array([f"s{i % (MAX_CATEGORIES + 5)}" for i in range(n)], dtype="str"),
            "Spend": np.arange(n, dtype=float) ** 1.5,
        }
    )
    assert "too many" in infer_roles(df).dropped["Street"]
    with pytest.raises(SegmentationError, match="too many to one-hot"):
        infer_roles(df, features=["Street", "Spend"])


# ---------------------------------------------------------------- preprocessor


def test_gaps_are_filled_with_median_and_mode():
    df = pd.DataFrame(
        {
            "x": [1.0, np.nan, 3.0, 10.0, np.nan],
            "c": pd.array(["b", "a", None, "b", "a"], dtype="str"),
            "y": [5, 4, 3, 2, 1],
        }
    )
    roles = ColumnRoles(numeric_features=["x", "y"], categorical_features=["c"])
    pre = Preprocessor(scaler="none", log_transform="none").fit(df, roles)
    filled = pre.impute(df)
    assert filled["x"].tolist() == [1.0, 3.0, 3.0, 10.0, 3.0]  # median of 1, 3, 10
    assert filled["c"].tolist() == ["b", "a", "a", "b", "a"]  # a/b tie -> first in sorted order
    assert any("Filled 2 missing values in 'x' with the median 3" in line for line in pre.log_)
    assert any("most frequent value 'a'" in line for line in pre.log_)
    X = pre.transform(df)
    assert pre.feature_names_out_ == ["x", "y", "c=a", "c=b"]
    np.testing.assert_array_equal(X[:, 0], [1, 3, 3, 10, 3])
    np.testing.assert_array_equal(X[:, 2:], [[0, 1], [1, 0], [1, 0], [0, 1], [1, 0]])


def test_constant_columns_in_hand_made_roles_are_dropped_with_a_warning():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": [7, 7, 7]})
    pre = Preprocessor().fit(df, ColumnRoles(numeric_features=["x", "k"]))
    assert pre.numeric_features_ == ["x"]
    assert "Warning: dropped 'k': constant (every value is 7)." in pre.log_


@pytest.mark.parametrize(
    ("scaler", "reference"),
    [("standard", StandardScaler()), ("robust", RobustScaler()), ("minmax", MinMaxScaler())],
)
def test_scalers_match_scikit_learn(scaler, reference):
    df = _customers(200, seed=3)
    roles = ColumnRoles(numeric_features=["Age", "Income", "Spend"])
    X = Preprocessor(scaler=scaler, log_transform="none").fit_transform(df, roles)
    expected = reference.fit_transform(df[["Age", "Income", "Spend"]].to_numpy(float))
    np.testing.assert_allclose(X, expected, rtol=1e-12, atol=1e-12)


def test_scaler_none_keeps_values_and_zero_spread_never_divides_by_zero():
    df = pd.DataFrame({"x": [1.0, 2.0, 4.0], "y": [0.0, 0.0, 0.0]})
    roles = ColumnRoles(numeric_features=["x"])
    np.testing.assert_array_equal(
        Preprocessor(scaler="none", log_transform="none").fit_transform(df, roles)[:, 0],
        [1.0, 2.0, 4.0],
    )
    # Robust scaling of a column whose middle half is one value falls back to its std.
    df = pd.DataFrame({"z": [0.0] * 8 + [4.0, 8.0]})
    X = Preprocessor(scaler="robust", log_transform="none").fit_transform(
        df, ColumnRoles(numeric_features=["z"])
    )
    assert np.all(np.isfinite(X)) and X[-1, 0] == pytest.approx(8.0 / df["z"].std(ddof=0))


def test_one_hot_columns_are_not_scaled_and_unseen_categories_are_all_zero():
    df = _customers(60)
    roles = infer_roles(df, features=["Income", "City"])
    pre = Preprocessor().fit(df, roles)
    assert pre.feature_names_out_ == ["Income", "City=Lyon", "City=Nice", "City=Paris"]
    X = pre.transform(df)
    assert set(np.unique(X[:, 1:])) == {0.0, 1.0}
    assert np.all(X[:, 1:].sum(axis=1) == 1.0)
    new = df.head(3).copy()
    new["City"] = pd.array(["Berlin", "Nice", None], dtype="str")
    Y = pre.transform(new)
    np.testing.assert_array_equal(Y[0, 1:], [0, 0, 0])
    np.testing.assert_array_equal(Y[1, 1:], [0, 1, 0])
    mode = pre.categorical_fill_["City"]
    assert Y[2, 1 + ["Lyon", "Nice", "Paris"].index(mode)] == 1.0


def test_auto_log_takes_skewed_non_negative_columns_only():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "spend": rng.lognormal(3, 1.0, 500),
            "debt": -rng.lognormal(3, 1.0, 500) + 5.0,  # skewed the other way, and negative
            "gain": rng.lognormal(3, 1.0, 500) - 100.0,  # skewed right but negative values
            "age": rng.normal(40, 10, 500),
        }
    )
    pre = Preprocessor(log_transform="auto").fit(df, infer_roles(df))
    assert pre.skewness_["spend"] == pytest.approx(df["spend"].skew(), rel=1e-12)
    assert pre.log_columns_ == ["spend"]
    assert any("Applied log1p to 'spend' (skewness" in line for line in pre.log_)
    assert any("'gain' is skewed" in line and "negative" in line for line in pre.log_)
    X = pre.transform(df)
    logged = np.log1p(df["spend"].to_numpy())
    np.testing.assert_allclose(X[:, 0], (logged - logged.mean()) / logged.std(), atol=1e-12)


def test_explicit_log_list_is_checked():
    df = _customers()
    pre = Preprocessor(log_transform="Income,Spend").fit(df, infer_roles(df))
    assert pre.log_columns_ == ["Income", "Spend"]
    with pytest.raises(SegmentationError, match="'Gender', which is not a numeric feature"):
        Preprocessor(log_transform=["Gender"]).fit(df, infer_roles(df))
    df["Income"] = df["Income"] - 60
    with pytest.raises(SegmentationError, match="needs values >= 0"):
        Preprocessor(log_transform=["Income"]).fit(df, infer_roles(df))
    assert Preprocessor(log_transform="none").fit(df, infer_roles(df)).log_columns_ == []


def test_wholesale_spending_columns_get_a_log_and_mall_columns_do_not():
    wholesale = _real("wholesale_customers.csv")
    pre = Preprocessor().fit(wholesale, infer_roles(wholesale))
    spending = ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    assert pre.log_columns_ == spending
    assert all(pre.skewness_[c] > SKEW_THRESHOLD for c in spending)
    mall = _real("mall_customers.csv")
    assert Preprocessor().fit(mall, infer_roles(mall)).log_columns_ == []


def test_bad_options_and_bad_new_data_are_refused():
    df = _customers()
    roles = infer_roles(df)
    with pytest.raises(SegmentationError, match="Unknown scaler 'zscore'"):
        Preprocessor(scaler="zscore").fit(df, roles)
    pre = Preprocessor().fit(df, roles)
    with pytest.raises(SegmentationError, match="'Spend' needed by the model is missing"):
        pre.transform(df.drop(columns="Spend"))
    bad = df.copy()
    bad["Age"] = bad["Age"].astype(str)
    bad.loc[2, "Age"] = "n.a."
    with pytest.raises(SegmentationError, match="'Age' has text where numbers"):
        pre.transform(bad)
    bad = df.copy()
    bad.loc[0, "Income"] = np.inf
    with pytest.raises(SegmentationError, match="infinite"):
        pre.transform(bad)


def test_numbers_stored_as_text_are_accepted_on_new_data():
    df = _customers()
    pre = Preprocessor().fit(df, infer_roles(df))
    as_text = df.astype({"Age": "str", "Income": "str"})
    np.testing.assert_array_equal(pre.transform(as_text), pre.transform(df))


def test_round_trip_through_json_is_bit_identical():
    df = _customers(120, seed=5)
    df.loc[[3, 9], "Income"] = np.nan
    df.loc[[4], "City"] = None
    roles = infer_roles(df, features=["Age", "Income", "Spend", "City"])
    for scaler in ("standard", "robust", "minmax", "none"):
        pre = Preprocessor(scaler=scaler).fit(df, roles)
        X = pre.transform(df)
        restored = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
        Y = restored.transform(df)
        assert X.tobytes() == Y.tobytes()
        assert restored.feature_names_out_ == pre.feature_names_out_
        assert restored.log_ == pre.log_


@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(
        st.tuples(
            st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
            st.floats(-1e3, 1e3, allow_nan=False),
            st.sampled_from(["u", "v", "w", None]),
        ),
        min_size=3,
        max_size=40,
    ),
    scaler=st.sampled_from(["standard", "robust", "minmax", "none"]),
)
def test_round_trip_invariant(values, scaler):
    df = pd.DataFrame(values, columns=["a", "b", "c"])
    df["c"] = df["c"].astype("str").where(df["c"].notna())
    roles = ColumnRoles(numeric_features=["a", "b"], categorical_features=["c"])
    if not any(df[name].dropna().nunique() > 1 for name in ("a", "b", "c")):
        # Every column constant or empty: refusing is the right answer, and the only one.
        with pytest.raises(SegmentationError, match="No usable feature is left"):
            Preprocessor(scaler=scaler).fit(df, roles)
        return
    pre = Preprocessor(scaler=scaler).fit(df, roles)
    X = pre.transform(df)
    assert X.shape == (len(df), len(pre.feature_names_out_))
    assert np.all(np.isfinite(X))
    Y = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict()))).transform(df)
    assert X.tobytes() == Y.tobytes()


def test_damaged_dict_is_refused():
    df = _customers()
    data = Preprocessor().fit(df, infer_roles(df)).to_dict()
    damages = {
        "center": ("center", data["center"][:-1], "damaged .*scaler size does not match"),
        "feature_names_out": ("feature_names_out", ["nope"], "damaged .*feature names do not"),
        "scaler": ("scaler", "magic", "Unknown scaler 'magic'; choose one of standard"),
    }
    for key, value, message in damages.values():
        with pytest.raises(SegmentationError, match=message):
            Preprocessor.from_dict({**data, key: value})
    with pytest.raises(SegmentationError, match="damaged"):
        Preprocessor.from_dict({"scaler": "standard"})


def test_log_reports_roles_and_scaling():
    df = _customers()
    df["Store"] = 1
    pre = Preprocessor().fit(df, infer_roles(df))
    assert pre.log_[0] == "Kept 'customer_id' as an identifier (in the output, not a feature)."
    assert "Warning: dropped 'Store': constant (every value is 1)." in pre.log_
    assert pre.log_[-1] == "Scaled 3 numeric features to mean 0 and standard deviation 1."
