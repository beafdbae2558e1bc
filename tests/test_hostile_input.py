"""Hostile and unusual input, in process: each gets a correct result with the decision in the
log, or one sentence naming the column or row; never a NumPy warning (``warnings`` are errors
here), never a silently flattened column.

The same cases through a real ``segment`` process are in test_cli_process.py.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmentation.errors import SegmentationError
from segmentation.io import read_table, unique_column_names
from segmentation.preprocess import MAX_BAD_SHARE, Preprocessor, infer_roles


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "Age": rng.integers(18, 70, n),
            "Income": rng.normal(50, 10, n).round(2),
            "Spend": rng.normal(300, 80, n).round(2),
        }
    )


def _fit(df: pd.DataFrame, **options) -> tuple[Preprocessor, np.ndarray]:
    pre = Preprocessor(**options)
    return pre, pre.fit_transform(df, infer_roles(df))


# ---------------------------------------------------------------- numbers near the limit


@pytest.mark.parametrize("scaler", ["standard", "robust", "minmax"])
def test_values_whose_squares_overflow_are_scaled_as_smaller_ones(scaler):
    df = _table()
    huge = df.assign(Spend=df["Spend"] * 1e304)  # up to about 6e306: squares overflow
    pre, X = _fit(huge, scaler=scaler, log_transform="none")
    _, expected = _fit(df, scaler=scaler, log_transform="none")
    # The scaled matrix does not depend on the unit: the column is not flattened.
    np.testing.assert_allclose(X, expected, rtol=1e-9, atol=1e-9)
    assert np.all(np.isfinite(X)) and X[:, 2].std() > 0.1
    assert any("'Spend' has values so large (up to" in line for line in pre.log_)


@pytest.mark.parametrize("scaler", ["standard", "robust", "minmax"])
def test_the_scaler_of_ordinary_data_is_the_direct_formula_bit_for_bit(scaler):
    df = _table()
    pre, _ = _fit(df, scaler=scaler, log_transform="none")
    block = np.ascontiguousarray(df.to_numpy(dtype=np.float64))  # as the preprocessor holds it
    if scaler == "standard":
        center, scale = block.mean(axis=0), block.std(axis=0)
    elif scaler == "robust":
        center = np.median(block, axis=0)
        q25, q75 = np.percentile(block, [25.0, 75.0], axis=0)
        center, scale = center, q75 - q25
    else:
        center, scale = block.min(axis=0), block.max(axis=0) - block.min(axis=0)
    assert np.array_equal(pre.center_, center) and np.array_equal(pre.scale_, scale)


def test_huge_values_are_profiled_in_their_own_units():
    from segmentation.profile import build_profiles

    df = _table()
    labels = (df["Age"] > 40).to_numpy().astype(int)
    plain = build_profiles(df.astype(float), labels, 2)
    huge = build_profiles(df.assign(Spend=df["Spend"] * 1e304).astype(float), labels, 2)
    for segment_plain, segment_huge in zip(plain.segments, huge.segments, strict=True):
        spend, spend_huge = (
            s["profile"]["features"]["Spend"] for s in (segment_plain, segment_huge)
        )
        assert spend_huge["mean"] == pytest.approx(spend["mean"] * 1e304, rel=1e-12)
        assert spend_huge["z"] == pytest.approx(spend["z"], rel=1e-12)


def test_values_at_the_float64_limit_are_refused_with_the_column_and_row():
    df = _table()
    df["Spend"] = df["Spend"].astype(float)
    df.loc[7, "Spend"] = 1.5e308
    with pytest.raises(
        SegmentationError, match=r"'Spend' has values too close to the float64.*row 8"
    ):
        infer_roles(df)


# ---------------------------------------------------------------- infinities


@pytest.mark.parametrize("value", [np.inf, "inf", "-inf"])
def test_an_all_infinite_column_is_dropped_with_a_warning(value):
    df = _table()
    df["Ratio"] = pd.Series([value] * len(df), dtype=object if isinstance(value, str) else float)
    if isinstance(value, str):
        df["Ratio"] = df["Ratio"].astype("str")
    roles = infer_roles(df)
    assert roles.dropped["Ratio"].startswith("no finite value")
    pre = Preprocessor().fit(df, roles)
    assert any(line.startswith("Warning: dropped 'Ratio': no finite") for line in pre.log_)


def test_a_few_infinities_are_missing_values_and_many_are_refused():
    df = _table()
    df["Spend"] = df["Spend"].astype(float)
    df.loc[[5, 9], "Spend"] = [np.inf, -np.inf]  # 2 of 300: within 1%
    pre, X = _fit(df)
    assert np.all(np.isfinite(X))
    assert any(
        "treated 2 values of 'Spend' that are infinite as missing (data rows 6: inf, 10: -inf)"
        in line
        for line in pre.log_
    )
    df.loc[:9, "Spend"] = np.inf  # 10 of 300
    with pytest.raises(SegmentationError, match=r"'Spend' has infinite values \(10 of 300 values"):
        infer_roles(df)


# ---------------------------------------------------------------- stray text among numbers


def _with_typos(rows: list[int], n: int = 300) -> pd.DataFrame:
    df = _table(n)
    df["Income"] = df["Income"].astype("str")
    for row in rows:
        df.loc[row, "Income"] = f"n.a.{row}"
    return df


def test_a_few_stray_text_cells_are_missing_values_named_in_the_log():
    df = _with_typos([12, 200])
    pre, X = _fit(df)
    assert "Income" in pre.numeric_features_ and np.all(np.isfinite(X))
    line = next(line for line in pre.log_ if "'Income'" in line and "not a number" in line)
    assert "2 values" in line and "13: 'n.a.12'" in line and "201: 'n.a.200'" in line
    # the filled cells take the median, as any gap
    median = float(np.median(pd.to_numeric(df["Income"], errors="coerce").dropna()))
    assert pre.numeric_fill_["Income"] == median


def test_more_stray_text_than_the_share_is_refused_with_count_and_rows():
    n_bad = int(300 * MAX_BAD_SHARE) + 1
    df = _with_typos(list(range(40, 40 + n_bad)))
    with pytest.raises(SegmentationError, match=rf"'Income' has text.*{n_bad} of 300 values.*41"):
        infer_roles(df)


def test_unique_numbers_with_a_stray_text_cell_are_a_feature_not_an_identifier():
    # Every value differs (amounts with cents): as text this looked like an id column.
    df = _with_typos([3])
    df["Income"] = df["Income"].where(df.index == 3, (np.arange(300) * 1.37 + 0.01).astype(str))
    roles = infer_roles(df)
    assert "Income" in roles.numeric_features and "Income" not in roles.id_columns


def test_new_data_with_a_stray_text_cell_is_assigned_like_a_gap():
    train = _table()
    pre, _ = _fit(train)
    new = _with_typos([4])
    X = pre.transform(new)
    gap = new.assign(Income=pd.to_numeric(new["Income"], errors="coerce"))
    np.testing.assert_array_equal(X, pre.transform(gap))


# ---------------------------------------------------------------- reading


def test_empty_and_repeated_header_names_are_renamed_and_logged(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text(" a ,a,,b,a_2\n1,2,3,4,5\n6,7,8,9,10\n")
    df = read_table(path)
    assert list(df.columns) == ["a", "a_3", "Unnamed: 2", "b", "a_2"]
    log = df.attrs["read_log"]
    assert "Columns 1 and 2 are both named 'a' in the header; column 2 is called 'a_3'." in log
    assert "Column 3 has no name in the header; it is called 'Unnamed: 2'." in log


def test_unique_column_names_leave_good_names_alone():
    log: list[str] = []
    assert unique_column_names(["x", "y", 3], log) == ["x", "y", "3"] and log == []


def test_a_long_row_is_refused_with_its_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    with pytest.raises(SegmentationError, match="4 fields on line 3 where the rows before have 3"):
        read_table(path)


def test_rows_longer_than_the_header_are_refused_not_indexed(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(SegmentationError, match="more fields in its rows than names in its header"):
        read_table(path)


def test_a_short_row_has_missing_cells(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n7,8,9\n")
    df = read_table(path)
    assert df["c"].isna().tolist() == [False, True, False]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_files_are_read(tmp_path, encoding):
    path = tmp_path / "u16.csv"
    path.write_text("Name,Age,Spend\nZoë,31,12.5\nJosé,45,8.25\n", encoding=encoding)
    df = read_table(path)
    assert df["Name"].tolist() == ["Zoë", "José"] and df["Spend"].tolist() == [12.5, 8.25]
    assert df.attrs["read_as"].startswith("UTF-16")


def test_a_very_long_line_is_read(tmp_path):
    path = tmp_path / "long.csv"
    note = "x" * 2_000_000
    path.write_text(f"a,note\n1,{note}\n2,short\n")
    df = read_table(path)
    assert df["note"].str.len().tolist() == [2_000_000, 5]


def test_thousands_of_columns_are_read(tmp_path):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(20, 3000)), columns=[f"f{i}" for i in range(3000)])
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    df = read_table(path)
    assert df.shape == (20, 3000) and (df.dtypes == np.float64).all()


def test_a_parquet_name_on_a_csv_file_is_refused(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(SegmentationError, match="named like a Parquet file but is not one"):
        read_table(path)


def test_a_cut_parquet_file_is_refused(tmp_path):
    good = tmp_path / "good.parquet"
    _table().to_parquet(good)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(SegmentationError, match="damaged Parquet file: its end is missing"):
        read_table(cut)


# ---------------------------------------------------------------- through a real process


def _customers_text(n: int = 300, seed: int = 5) -> pd.DataFrame:
    from segmentation.synthetic import make_customers

    return make_customers(n, seed=seed)


def _accepted_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    """Hostile files that must give a result: name -> (file, a sentence of the log)."""
    cases = {}
    customers = _customers_text()

    def keep(name: str, frame: pd.DataFrame, expected: str, **csv) -> None:
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False, **csv)
        cases[name] = (path, expected)

    numeric = customers.select_dtypes("number")
    income = "Annual Income (k$)"
    keep(
        "values near the float64 limit",
        numeric.assign(**{income: numeric[income] * 1e304}),
        f"'{income}' has values so large (up to",
    )
    keep("an all-infinite column", customers.assign(Ratio="inf"), "'Ratio': no finite value")
    stray = customers.astype({income: "str"})
    stray.loc[17, income] = "n/a!"
    keep("a stray text cell", stray, "data row 18: 'n/a!'")
    keep("UTF-16 with a byte order mark", customers, "UTF-16", encoding="utf-16")
    long_line = customers.assign(Note=["x" * 1_000_000] + ["short"] * (len(customers) - 1))
    keep("a very long line", long_line, "Read 300 rows")
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(40, 1000)), columns=[f"f{i}" for i in range(1000)])
    keep("1,000 columns", wide, "Scaled 1000 numeric features")
    path = folder / "repeated header names.csv"
    text = numeric.to_csv(index=False)
    names = text.split("\n", 1)[0].split(",")
    path.write_text(",".join([names[0], names[0], "", *names[3:]]) + "\n" + text.split("\n", 1)[1])
    cases["repeated and empty header names"] = (path, "are both named")
    path = folder / "short rows.csv"
    rows = numeric.to_csv(index=False).splitlines()
    rows[5] = rows[5].rsplit(",", 1)[0]
    path.write_text("\n".join(rows) + "\n")
    cases["a short row"] = (path, "Filled 1 missing value")
    return cases


@pytest.fixture(scope="module")
def accepted(tmp_path_factory):
    """Every accepted hostile file run once as a ``segment run`` process, with its hash
    before and after."""
    from test_cli_process import _command

    folder = tmp_path_factory.mktemp("hostile")
    cases = _accepted_inputs(folder)

    def execute(name: str):
        path, _ = cases[name]
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        out = folder / "out" / name.replace(" ", "_")
        process = subprocess.run(
            [*_command(), "run", "--input", str(path), "--k-range", "2-3", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        after = hashlib.sha256(path.read_bytes()).hexdigest()
        return process, out, before == after

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(cases, pool.map(execute, cases), strict=True)), cases


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "values near the float64 limit",
        "an all-infinite column",
        "a stray text cell",
        "UTF-16 with a byte order mark",
        "a very long line",
        "1,000 columns",
        "repeated and empty header names",
        "a short row",
    ],
)
def test_hostile_files_give_a_result_and_log_the_decision(accepted, name):
    outcomes, cases = accepted
    process, out, unchanged = outcomes[name]
    assert process.returncode == 0, process.stderr
    assert process.stderr == ""  # no warning, no progress bar (stderr is not a terminal)
    assert process.stdout.startswith("Segmented")
    assert unchanged
    summary = json.loads((out / "cluster_summary.json").read_text())
    log = " ".join(summary["cleaning_log"])
    assert cases[name][1] in log, log
    segmented = pd.read_csv(out / "customers_segmented.csv", low_memory=False)
    assert segmented["Segment"].nunique() == summary["k"]


def test_a_feature_called_segment_keeps_the_console_table_apart():
    from segmentation.profile import build_profiles

    df = _table().rename(columns={"Age": "Segment", "Income": "Size"}).astype(float)
    labels = (df["Spend"] > 300).to_numpy().astype(int)
    table = build_profiles(df, labels, 2).table()
    assert list(table.columns) == ["Segment", "Name", "Size", "Share", "Segment", "Size", "Spend"]
    assert table.iloc[:, 0].tolist() == [0, 1]
