"""customers_segmented.csv is written from the input and the segment columns side by side,
a chunk of rows at a time, never joined: the bytes must be those of pandas' to_csv on the
joined table, whatever the columns hold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation import io as seg_io
from segmentation import pipeline
from segmentation.io import write_csv_atomic


def _joined_bytes(df: pd.DataFrame, beside: pd.DataFrame, tmp_path) -> bytes:
    """What the run wrote before: the joined table through write_csv_atomic."""
    joined = pd.concat([df, beside.set_axis(df.index)], axis=1)
    return write_csv_atomic(joined, tmp_path / "joined.csv").read_bytes()


def _beside_bytes(df: pd.DataFrame, beside: pd.DataFrame, tmp_path) -> bytes:
    return write_csv_atomic(df, tmp_path / "beside.csv", beside=beside).read_bytes()


def _odd_table(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(1)
    floats = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    floats[::7] = np.nan
    floats[1::11] = -0.0
    floats[2::13] = np.inf
    floats[3::17] = 0.1 + 0.2
    text = np.array(["plain", 'say "hi"', "a,b", "two\nlines", "", "é ü ß", " x "], dtype=object)
    df = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "spend": floats,
            "city": pd.Series(text[np.arange(n) % len(text)], dtype=object),
            "tier": pd.Categorical(np.array(["gold", "silver", "bronze"])[np.arange(n) % 3]),
            "visits": pd.array([None if i % 5 == 0 else i for i in range(n)], dtype="Int64"),
            "member": np.arange(n) % 2 == 0,
            "joined": pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(n), unit="h"),
            "Segment": ["taken"] * n,
        },
        index=pd.RangeIndex(10, 10 + n),
    )
    labels = np.arange(n) % 3
    beside = pipeline._output_columns(
        df,
        labels,
        ["First", "Second", "Third"],
        pd.DataFrame(
            {
                "Distance_to_center": rng.random(n) * 3,
                "Second_nearest_segment": (labels + 1) % 3,
                "Assignment_margin": rng.random(n),
            }
        ),
    )
    return df, beside


@pytest.mark.parametrize("n", [0, 1, 7, 23])
@pytest.mark.parametrize("chunk", [1, 5, 50_000])
def test_side_by_side_gives_the_bytes_of_the_joined_table(n, chunk, tmp_path, monkeypatch):
    monkeypatch.setattr(seg_io, "CSV_CHUNK_ROWS", chunk)
    df, beside = _odd_table(n)
    assert list(beside.columns)[0] == "Segment_2"  # renamed: the input has a Segment column
    expected = _joined_bytes(df, beside, tmp_path)
    assert _beside_bytes(df, beside, tmp_path) == expected
    assert expected.count(b"\n") >= n + 1


def test_a_carriage_return_in_the_added_columns_quotes_every_text_value(tmp_path):
    df = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    beside = pd.DataFrame({"Segment_name": ["one\rtwo", "three"]})
    written = _beside_bytes(df, beside, tmp_path)
    assert written == _joined_bytes(df, beside, tmp_path)
    assert b'"a"' in written


def test_the_same_bytes_as_pandas_to_csv(tmp_path):
    """Against pandas itself (no datetime column: its format is the same in any chunking)."""
    df, beside = _odd_table(40)
    df = df.drop(columns="joined")
    joined = pd.concat([df, beside.set_axis(df.index)], axis=1)
    expected = joined.to_csv(index=False, lineterminator="\n").encode("utf-8")
    assert _beside_bytes(df, beside, tmp_path) == expected


def test_rows_must_match(tmp_path):
    with pytest.raises(ValueError, match="rows"):
        write_csv_atomic(
            pd.DataFrame({"a": [1, 2]}), tmp_path / "x.csv", beside=pd.DataFrame({"b": [1]})
        )


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.text(max_size=6),
    st.none(),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(cells, st.floats(), st.text(max_size=4)), max_size=12),
    extra=st.lists(st.floats(allow_nan=True), min_size=12, max_size=12),
    chunk=st.integers(min_value=1, max_value=13),
)
def test_any_table_any_chunking(rows, extra, chunk, tmp_path, monkeypatch):
    monkeypatch.setattr(seg_io, "CSV_CHUNK_ROWS", chunk)
    df = pd.DataFrame(rows, columns=["mixed", "number", "word"])
    if not rows:
        df = df.astype({"number": "float64"})
    beside = pd.DataFrame(
        {
            "Segment": np.arange(len(df), dtype=np.int64),
            "Margin": np.array(extra[: len(df)], dtype=np.float64),
        }
    )
    assert _beside_bytes(df, beside, tmp_path) == _joined_bytes(df, beside, tmp_path)


def test_the_segmentation_still_offers_the_joined_table():
    from segmentation.pipeline import RunConfig, segment
    from segmentation.synthetic import make_customers

    data = make_customers(300, seed=0)
    seg = segment(data, RunConfig(k=3, bootstrap=0))
    joined = seg.segmented
    assert list(joined.columns[: data.shape[1]]) == list(data.columns)
    assert list(joined.columns[data.shape[1] :]) == list(pipeline.OUTPUT_COLUMNS)
    assert (joined["Segment"].to_numpy() == seg.labels).all()
    distances = seg.distances
    assert distances.shape == (300, 3)
    nearest = distances[np.arange(300), seg.labels]
    assert np.array_equal(nearest, joined["Distance_to_center"].to_numpy())
    assert not math.isnan(float(joined["Assignment_margin"].mean()))
