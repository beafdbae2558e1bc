"""Transactions -> recency, frequency, monetary, with every cleaning rule counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.errors import SegmentationError
from segmentation.io import read_table, write_csv_atomic
from segmentation.rfm import transactions_to_rfm

DATA = Path(__file__).resolve().parents[1] / "data"


def _transactions() -> pd.DataFrame:
    rows = [
        # invoice, customer, date, quantity, price
        ("1001", 1.0, "2021-01-01 10:00", 2, 5.0),  # customer 1: 10
        ("1001", 1.0, "2021-01-01 10:00", 1, 3.0),  # customer 1: 3 (same invoice)
        ("1002", 1.0, "2021-01-05 09:00", 4, 2.5),  # customer 1: 10
        ("C1003", 1.0, "2021-01-06 11:00", -1, 2.5),  # cancellation
        ("1004", 2.0, "2021-01-03 23:59", 1, 100.0),  # customer 2: 100
        ("1005", 2.0, "2021-01-03 08:00", 0, 10.0),  # quantity 0
        ("1006", np.nan, "2021-01-09 10:00", 5, 1.0),  # no customer
        ("1007", 3.0, "2021-01-09 18:00", 3, 0.0),  # price 0
        ("1008", 3.0, "2021-01-08 12:00", 1, 7.5),  # customer 3: 7.5
        ("1009", 3.0, "2021-01-02 00:00", 2, 1.25),  # customer 3: 2.5
    ]
    df = pd.DataFrame(rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "Price"])
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    return df


def test_hand_made_log_gives_hand_derived_values():
    rfm, log = transactions_to_rfm(_transactions(), price_col="Price")
    # The last sale left after cleaning is 2021-01-08 (1006 and 1007 are dropped), so recency
    # is counted to 2021-01-09: customer 1 last bought on the 5th, 2 on the 3rd, 3 on the 8th.
    expected = pd.DataFrame(
        {
            "CustomerID": pd.array(["1", "2", "3"], dtype="str"),
            "Recency": np.array([4, 6, 1], dtype=np.int64),
            "Frequency": np.array([2, 1, 2], dtype=np.int64),
            "Monetary": [23.0, 100.0, 10.0],
        }
    )
    pd.testing.assert_frame_equal(rfm, expected)
    assert log == [
        "Read 10 transaction rows.",
        "Dropped 1 row without a customer.",
        "Dropped 1 cancellation row (invoice starting with 'C').",
        "Dropped 1 row with quantity <= 0 or missing.",
        "Dropped 1 row with price <= 0 or missing.",
        "Recency is counted up to 2021-01-09 (the day after the last sale).",
        "Kept 6 of 10 rows: 3 customers with recency, frequency and monetary value.",
    ]


def test_as_of_keeps_only_earlier_purchases():
    rfm, log = transactions_to_rfm(_transactions(), price_col="Price", as_of="2021-01-05")
    # Invoices 1002 and 1008 fall on or after the 5th and are left out.
    assert rfm["CustomerID"].tolist() == ["1", "2", "3"]
    assert rfm["Recency"].tolist() == [4, 2, 3]
    assert rfm["Frequency"].tolist() == [1, 1, 1]
    assert rfm["Monetary"].tolist() == [13.0, 100.0, 2.5]
    assert "Dropped 2 rows on or after the as-of day, 2021-01-05." in log


def test_same_result_from_a_csv_file(tmp_path):
    df = _transactions()
    path = tmp_path / "tx.csv"
    write_csv_atomic(df, path)
    from_file = read_table(path)
    assert not pd.api.types.is_datetime64_any_dtype(from_file["InvoiceDate"])
    direct, _ = transactions_to_rfm(df, price_col="Price")
    via_csv, _ = transactions_to_rfm(from_file, price_col="Price")
    pd.testing.assert_frame_equal(via_csv, direct)


def test_text_customer_ids_are_trimmed():
    df = _transactions()
    df["CustomerID"] = df["CustomerID"].map(lambda v: None if pd.isna(v) else f" A{int(v)} ")
    rfm, _ = transactions_to_rfm(df, price_col="Price")
    assert rfm["CustomerID"].tolist() == ["A1", "A2", "A3"]


def test_missing_column_is_named_with_the_available_ones():
    with pytest.raises(SegmentationError) as info:
        transactions_to_rfm(_transactions())  # the price column is called "Price" here
    message = str(info.value)
    assert "price column 'UnitPrice'" in message and "`price_col`" in message
    assert "'Price'" in message and "'InvoiceNo'" in message


def test_unparseable_dates_are_refused():
    df = _transactions()
    df["InvoiceDate"] = df["InvoiceDate"].astype(str)
    df.loc[3, "InvoiceDate"] = "sometime in June"
    with pytest.raises(SegmentationError, match="not dates.*'sometime in June'"):
        transactions_to_rfm(df, price_col="Price")


def test_text_quantities_and_bad_as_of_are_refused():
    df = _transactions()
    df["Quantity"] = df["Quantity"].astype(str)
    df.loc[0, "Quantity"] = "two"
    with pytest.raises(SegmentationError, match="'Quantity' has text where numbers"):
        transactions_to_rfm(df, price_col="Price")
    with pytest.raises(SegmentationError, match="`as_of` 'yesterday-ish' is not a date"):
        transactions_to_rfm(_transactions(), price_col="Price", as_of="yesterday-ish")


def test_nothing_left_is_refused():
    with pytest.raises(SegmentationError, match="No transaction is left"):
        transactions_to_rfm(_transactions(), price_col="Price", as_of="2020-01-01")


def test_online_retail_gives_4338_customers():
    path = DATA / "online_retail.parquet"
    if not path.exists():
        pytest.fail(f"real data not available at {path}")
    df = read_table(path)
    rfm, log = transactions_to_rfm(df)
    assert len(rfm) == 4338
    assert rfm["CustomerID"].is_unique
    assert rfm["CustomerID"].str.fullmatch(r"\d+").all()  # 17850.0 became "17850"
    assert "Kept 397,884 of 541,909 rows: 4,338 customers" in log[-1]
    assert "Dropped 135,080 rows without a customer." in log
    # Independent totals over the same cleaning, computed the plain pandas way.
    clean = df.dropna(subset=["CustomerID"])
    clean = clean[~clean["InvoiceNo"].str.startswith("C")]
    clean = clean[(clean["Quantity"] > 0) & (clean["UnitPrice"] > 0)]
    assert rfm["Frequency"].sum() == clean.groupby("CustomerID")["InvoiceNo"].nunique().sum()
    total = (clean["Quantity"] * clean["UnitPrice"]).sum()
    assert rfm["Monetary"].sum() == pytest.approx(total, rel=1e-12)
    assert rfm["Recency"].min() >= 1 and (rfm["Recency"] == 1).any()
    assert (rfm["Monetary"] > 0).all() and (rfm["Frequency"] >= 1).all()
