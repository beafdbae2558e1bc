"""A property-based fuzz of ``segment run`` on CSV files: whatever the file holds, the run ends
in exit code 0 with valid outputs, or exit code 2 with one sentence; never a traceback, a
warning or exit code 1, and the input file is never changed.

Files vary in delimiter, quoting, line ending, encoding (UTF-8 with and without a byte order
mark, UTF-16, Windows-1252), blank lines, column names (empty, repeated, odd characters) and
cells (numbers of every size and spelling, NaN/inf tokens, huge values, stray text, quotes and
delimiters inside values). The run goes through ``segmentation.cli.main`` in this process with
``warnings`` turned into errors, so that a NumPy or pandas warning fails the test.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmentation.cli import main
from segmentation.outputs import OUTPUT_COLUMNS

DELIMITERS = [",", ";", "\t", "|"]
QUOTING = [csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]
# Tokens that have broken, or could break, a reader or the arithmetic.
HOSTILE_TOKENS = [
    "",
    " ",
    "nan",
    "NaN",
    "NA",
    "null",
    "None",
    "inf",
    "-inf",
    "Infinity",
    "1e308",
    "-1.7e308",
    "1e306",
    "1e400",
    "1e-320",
    "0001",
    "n/a!",
    "#REF!",
    "1,5",
    "1.234,5",
    "12 345",
    "€12",
    "thirty",
    '"',
    "a,b",
    "x;y",
    "\t",
    "é",
    "12abc",
    "--5",
    "0x1F",
    "1_000",
    "99999999999999999999999",
]

_names = st.one_of(
    st.sampled_from(["", " ", "a", "a", "A", "id", "Age", "x.1", "Unnamed: 0", "Segment", "€"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=6),
)
_numbers = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: f"{v:.2f}"),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
)
# A column of one scale: everyday amounts, or values near the float64 limit (1e300 to 1e307).
_scales = st.sampled_from([1.0, 1.0, 1.0, 1e-300, 1e300, 3e306])
# Control characters too (a NUL makes the file binary, refused elsewhere: left out here).
_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=10
)


@st.composite
def _column(draw, n_rows: int) -> list[str]:
    """Mostly numbers with a few hostile tokens, or text, or anything."""
    kind = draw(st.sampled_from(["numbers", "numbers", "numbers", "text", "anything"]))
    if kind == "numbers":
        if draw(st.booleans()):
            cells = draw(st.lists(_numbers, min_size=n_rows, max_size=n_rows))
        else:
            scale = draw(_scales)
            values = st.floats(min_value=-1.0, max_value=1.0).map(lambda v: repr(v * scale))
            cells = draw(st.lists(values, min_size=n_rows, max_size=n_rows))
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
            if cells:
                row = draw(st.integers(0, n_rows - 1))
                cells[row] = draw(st.sampled_from(HOSTILE_TOKENS))
        return cells
    if kind == "text":
        return draw(
            st.lists(st.sampled_from(["x", "y", "z", "Zoë"]), min_size=n_rows, max_size=n_rows)
        )
    return draw(
        st.lists(
            st.one_of(_numbers, st.sampled_from(HOSTILE_TOKENS), _text),
            min_size=n_rows,
            max_size=n_rows,
        )
    )


@st.composite
def csv_files(draw) -> tuple[bytes, str]:
    """The bytes of a CSV file, and how it was made (for the failure message)."""
    # Up to 1% of a column may be stray cells: 100 rows and more allow one.
    n_rows = draw(st.one_of(st.integers(0, 30), st.integers(100, 150)))
    n_columns = draw(st.integers(1, 5))
    names = [draw(_names) for _ in range(n_columns)]
    columns = [draw(_column(n_rows)) for _ in range(n_columns)]
    delimiter = draw(st.sampled_from(DELIMITERS))
    quoting = draw(st.sampled_from(QUOTING))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    writer.writerow(names)
    for row in zip(*columns, strict=True) if n_rows else ():
        writer.writerow(row)
    lines = buffer.getvalue().split(newline)
    for _ in range(draw(st.integers(0, 3))):  # blank lines anywhere
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", " ", "\t"])))
    text = newline.join(lines)
    encoding = draw(st.sampled_from(ENCODINGS))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8"
        data = text.encode(encoding)
    made = f"{n_rows} rows, {names!r}, {delimiter!r}, quoting {quoting}, {encoding}"
    return data, made


def _run(argv: list[str]) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(csv_files())
def test_any_csv_file_ends_in_a_result_or_one_sentence(file):
    data, made = file
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "customers.csv"
        path.write_bytes(data)
        out = Path(folder) / "out"
        code, stdout, stderr = _run(
            ["run", "--input", str(path), "--k-range", "2-3", "--out", str(out)]
        )
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
        assert code in (0, 2), (made, stderr)
        if code == 2:
            assert stdout == "", made
            lines = stderr.splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (made, stderr)
            for marker in ("Traceback", "Warning", "bug"):
                assert marker not in stderr, (made, stderr)
            return
        assert stderr == "", (made, stderr)
        summary = json.loads((out / "cluster_summary.json").read_text(encoding="utf-8"))
        segmented = pd.read_csv(out / "customers_segmented.csv", dtype=str, keep_default_na=False)
        assert len(segmented) == summary["n_customers"], made
        # the segment column comes first of the added ones (renamed if the input had one)
        segments = segmented.iloc[:, -len(OUTPUT_COLUMNS)].astype(int)
        assert segments.between(0, summary["k"] - 1).all(), made
        assert (out / "model.json").is_file() and (out / "report.html").is_file()
