"""Reading CSV/Parquet the way real files come, and atomic, input-protecting writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.errors import SegmentationError
from segmentation.io import (
    ensure_output_dir,
    read_table,
    sniff_delimiter,
    to_jsonable,
    write_bytes_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_text_atomic,
)

DATA = Path(__file__).resolve().parents[1] / "data"

ROWS = [
    ("0001", "Male", 19, 15.5, 39),
    ("0002", "Female", 21, 16.25, 81),
    ("0003", "Female", 20, 17.0, 6),
]
HEADER = ("CustomerID", "Gender", "Age", "Income", "Score")


def _csv_text(delimiter: str, newline: str = "\n") -> str:
    lines = [delimiter.join(HEADER)]
    for row in ROWS:
        lines.append(delimiter.join(str(value) for value in row))
    return newline.join(lines) + newline


def _check_expected(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(HEADER)
    assert df["CustomerID"].tolist() == ["0001", "0002", "0003"]
    assert df["Gender"].tolist() == ["Male", "Female", "Female"]
    assert df["Age"].dtype == np.int64 and df["Age"].tolist() == [19, 21, 20]
    assert df["Income"].dtype == np.float64 and df["Income"].tolist() == [15.5, 16.25, 17.0]
    assert df["Score"].tolist() == [39, 81, 6]


@pytest.mark.parametrize(
    ("delimiter", "newline", "bom"),
    [
        (",", "\n", False),
        (";", "\n", False),
        ("\t", "\n", False),
        ("|", "\n", False),
        (",", "\r\n", False),
        (",", "\n", True),
        (";", "\r\n", True),
    ],
    ids=["comma", "semicolon", "tab", "pipe", "crlf", "bom", "semicolon-crlf-bom"],
)
def test_csv_variants_read_the_same_table(tmp_path, delimiter, newline, bom):
    raw = _csv_text(delimiter, newline).encode("utf-8")
    if bom:
        raw = b"\xef\xbb\xbf" + raw
    path = tmp_path / "customers.csv"
    path.write_bytes(raw)
    _check_expected(read_table(path))


def test_csv_without_final_newline_and_quoted_fields(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('name,city,spend\n"Smith, J",Paris,10\n"Doe, A","New York",20', "utf-8")
    df = read_table(path)
    assert df["name"].tolist() == ["Smith, J", "Doe, A"]
    assert df["spend"].tolist() == [10, 20]


def test_semicolon_csv_with_decimal_commas(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text("id;spend;visits\n1;12,5;3\n2;7,25;4\n", "utf-8")
    df = read_table(path)
    assert df["spend"].tolist() == [12.5, 7.25]
    assert df["visits"].tolist() == [3, 4]


def test_integer_column_with_gaps_stays_integer_and_writes_back_unchanged(tmp_path):
    source = tmp_path / "gaps.csv"
    source.write_text("code,age,income\n0007,31,\n0008,,52.5\n0010,40,60.25\n", "utf-8")
    df = read_table(source)
    assert df["code"].tolist() == ["0007", "0008", "0010"]
    assert str(df["age"].dtype) == "Int64"
    assert df["age"].isna().tolist() == [False, True, False]
    out = tmp_path / "out.csv"
    write_csv_atomic(df, out)
    assert out.read_text("utf-8") == source.read_text("utf-8")


def test_mixed_text_column_stays_text(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\n1,x\n2,3\n", "utf-8")
    df = read_table(path)
    assert df["a"].dtype == np.int64
    assert df["b"].tolist() == ["x", "3"]


def test_sniff_delimiter_falls_back_to_comma_for_one_column():
    assert sniff_delimiter("spend\n1\n2\n") == ","
    assert sniff_delimiter("") == ","


def test_parquet_round_trip_by_extension_and_by_magic(tmp_path):
    df = pd.DataFrame(
        {
            "id": pd.array(["a", "b", "c"], dtype="str"),
            "x": [1.5, 2.5, np.nan],
            "n": [1, 2, 3],
        }
    )
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    back = read_table(path)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert back["n"].dtype == np.int64
    # Same bytes without the extension: recognised by the PAR1 magic.
    renamed = tmp_path / "t.data"
    renamed.write_bytes(path.read_bytes())
    pd.testing.assert_frame_equal(read_table(renamed), back)


def test_mall_customers_ids_keep_their_zero_padding():
    path = DATA / "mall_customers.csv"
    if not path.exists():
        pytest.fail(f"real data not available at {path}")
    df = read_table(path)
    assert len(df) == 200
    assert df["CustomerID"].iloc[0] == "0001"
    assert df["CustomerID"].is_unique
    for column in ("Age", "Annual Income (k$)", "Spending Score (1-100)"):
        assert df[column].dtype == np.int64


# ---------------------------------------------------------------- errors


def _error_for(path) -> str:
    with pytest.raises(SegmentationError) as info:
        read_table(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_file_is_refused(tmp_path):
    assert "does not exist" in _error_for(tmp_path / "nope.csv")


def test_directory_is_refused(tmp_path):
    assert "folder" in _error_for(tmp_path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in _error_for(path)


def test_blank_file_is_refused(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n\n  \n", "utf-8")
    assert "empty" in _error_for(path)


@pytest.mark.parametrize("text", ["a,b,c\n", "a,b,c\r\n", "a;b\n\n"])
def test_header_only_is_refused(tmp_path, text):
    path = tmp_path / "header.csv"
    path.write_text(text, "utf-8")
    assert "no rows" in _error_for(path)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert "binary" in _error_for(path)


def test_zip_file_such_as_xlsx_is_refused(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64)
    assert "binary" in _error_for(path)


def test_undecodable_text_is_refused(tmp_path):
    # A UTF-16 byte order mark, then a lone surrogate: no encoding makes text of it.
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xff\xfe" + "name,spend\n".encode("utf-16-le") + b"\x00\xd8")
    assert "is not valid UTF-16 text" in _error_for(path)


def test_damaged_parquet_is_refused(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    assert "Parquet" in _error_for(path)


def test_unreadable_file_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "locked.csv"
    path.write_text("a\n1\n", "utf-8")
    real_open = open

    def failing_open(file, mode="r", *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    assert "cannot be read" in _error_for(path)


# ---------------------------------------------------------------- writing


def test_ensure_output_dir_creates_nested_folders(tmp_path):
    folder = ensure_output_dir(tmp_path / "a" / "b")
    assert folder.is_dir()
    assert list(folder.iterdir()) == []  # the write probe leaves nothing behind


def test_ensure_output_dir_refuses_a_file_in_the_way(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    with pytest.raises(SegmentationError, match="existing file"):
        ensure_output_dir(blocker)
    with pytest.raises(SegmentationError, match="cannot be created"):
        ensure_output_dir(blocker / "sub")


def test_ensure_output_dir_refuses_an_unwritable_folder(tmp_path, monkeypatch):
    def no_temp_files(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("segmentation.io.tempfile.NamedTemporaryFile", no_temp_files)
    with pytest.raises(SegmentationError, match="not writable"):
        ensure_output_dir(tmp_path)


def test_atomic_writes_produce_the_content(tmp_path):
    write_text_atomic("héllo\n", tmp_path / "a.txt")
    assert (tmp_path / "a.txt").read_text("utf-8") == "héllo\n"
    write_bytes_atomic(b"\x00\x01", tmp_path / "b.bin")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    write_json_atomic(
        {"k": np.int64(5), "x": np.float64(0.5), "v": np.arange(3), "n": np.nan},
        tmp_path / "c.json",
    )
    assert json.loads((tmp_path / "c.json").read_text("utf-8")) == {
        "k": 5,
        "x": 0.5,
        "v": [0, 1, 2],
        "n": None,
    }
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write_csv_atomic(df, tmp_path / "d.csv")
    assert (tmp_path / "d.csv").read_text("utf-8") == "a,b\n1,x\n2,y\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin", "c.json", "d.csv"]


def test_failed_replace_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    target.write_text("old", "utf-8")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("segmentation.io.os.replace", failing_replace)
    with pytest.raises(SegmentationError, match="Cannot write"):
        write_json_atomic({"new": True}, target)
    assert target.read_text("utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_writes_refuse_to_overwrite_an_input(tmp_path):
    source = tmp_path / "input.csv"
    source.write_text("a\n1\n", "utf-8")
    df = pd.DataFrame({"a": [2]})
    with pytest.raises(SegmentationError, match="input file"):
        write_csv_atomic(df, source, protect=[source])
    # The same file reached through another spelling of its path is still protected.
    other_spelling = tmp_path / "." / "input.csv"
    with pytest.raises(SegmentationError, match="input file"):
        write_text_atomic("x", other_spelling, protect=[str(source), None])
    assert source.read_text("utf-8") == "a\n1\n"
    write_csv_atomic(df, tmp_path / "output.csv", protect=[source])


def test_written_files_are_readable_by_others(tmp_path):
    path = write_text_atomic("x", tmp_path / "r.txt")
    assert os.stat(path).st_mode & 0o044  # not the 0600 of a temporary file


def test_to_jsonable_handles_nested_numpy():
    value = to_jsonable({"a": (np.float32(1.5), [np.bool_(True)]), 3: np.inf})
    assert value == {"a": [1.5, [True]], "3": None}
    json.dumps(value, allow_nan=False)


def test_number_formats(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text(
        "sci,big,signed,odd\n1e3,123456789012345678901234,+5,inf\n2.5E-1,1,-3,7\n", "utf-8"
    )
    df = read_table(path)
    assert df["sci"].dtype == np.float64 and df["sci"].tolist() == [1000.0, 0.25]
    assert df["big"].dtype == np.float64  # beyond int64: kept as a float, not an overflow
    assert df["signed"].dtype == np.int64 and df["signed"].tolist() == [5, -3]
    assert df["odd"].tolist() == ["inf", "7"]  # "inf" is not a customer value: stays text
