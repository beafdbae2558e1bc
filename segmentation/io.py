"""Read customer tables (CSV or Parquet) and write every output atomically.

Reading is careful about what real files look like: the delimiter is sniffed, the encoding
(UTF-8 with or without a byte order mark, UTF-16, or Windows-1252 as Excel saves it in Western
Europe) and the decimal mark (point, or comma with optional ``.`` thousands separators such as
``1.234,56``) are detected and reported, Windows line endings are accepted, and a column is
turned into numbers only when that loses nothing (zero-padded IDs such as ``"0001"`` stay
text), so that writing the table back reproduces every input column.

Writing never leaves half a file: each output goes to a temporary file in the same folder, is
flushed to disk, then renamed over the target with :func:`os.replace`. Inputs are protected:
pass ``protect=[input_path, ...]`` and a write to one of them is refused. That a run's files
appear together or not at all is one level up: :mod:`segmentation.staging`.
"""

from __future__ import annotations

import codecs
import csv
import inspect
import io
import json
import logging
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import SegmentationError

__all__ = [
    "read_table",
    "read_input_bytes",
    "DECIMAL_MARKS",
    "ensure_output_dir",
    "write_csv_atomic",
    "write_json_atomic",
    "write_text_atomic",
    "write_bytes_atomic",
    "to_jsonable",
    "pause_point",
]

PARQUET_EXTENSIONS = (".parquet", ".pq")
PARQUET_MAGIC = b"PAR1"
# The sniffer only has to tell these apart; anything else falls back to a comma.
CANDIDATE_DELIMITERS = ",;\t|"
SNIFF_BYTES = 64 * 1024

#: The decimal marks a CSV file may use: "." (1234.56) or "," (1234,56 or 1.234,56).
DECIMAL_MARKS = (".", ",")
#: Byte order marks, longest first (UTF-32's little-endian mark starts with UTF-16's).
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: Text that is not UTF-8 is read as Windows-1252, what Excel writes in Western Europe (latin-1
#: with "€" and typographic quotes in place of control characters); latin-1 reads the rest.
_LEGACY_ENCODINGS = ("cp1252", "latin-1")
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with a byte order mark",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 (little-endian, no byte order mark)",
    "utf-16-be": "UTF-16 (big-endian, no byte order mark)",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
    "latin-1": "latin-1",
}
#: Rows written at a time by :func:`write_csv_atomic`.
CSV_CHUNK_ROWS = 50_000
#: Rows looked at to detect the decimal mark.
DECIMAL_SAMPLE_ROWS = 2000

# "0001", "-007": a leading zero before another digit means the text is a code, not a number.
_ZERO_PADDED = r"[+-]?0\d+$"
# With a decimal comma: "12,75", "-1.234,5", "1.234.567" (points group thousands), "42".
_GROUPED = r"[+-]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)"
_COMMA_NUMBER = _GROUPED + r"(?:,\d+)?"
_COMMA_DECIMAL = _GROUPED + r",\d+"
# A point that can only be a decimal point: "3.5", ".25", "1.2345" (not "1.234" or "1.234.567").
_POINT_DECIMAL = r"[+-]?(?!(?:[1-9]\d{0,2}(?:\.\d{3})+)$)\d*\.\d+(?:[eE][+-]?\d+)?"
_INTEGER = r"[+-]?\d+"
# Plain decimal numbers with an optional exponent; "inf", "nan" and "1_000" stay text.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- reading


def read_table(path, *, encoding=None, decimal=None) -> pd.DataFrame:
    """Read a customer table from a CSV or Parquet file.

    Parameters
    ----------
    path : str or os.PathLike
        A CSV file (delimiter ``,``, ``;``, tab or ``|``, sniffed; LF or CRLF line endings) or
        a Parquet file (recognised by the extension ``.parquet``/``.pq`` or by its ``PAR1``
        magic bytes).
    encoding : str or None
        The CSV file's text encoding (any Python codec name, such as ``"cp1252"``); None
        detects it: a byte order mark (UTF-8, UTF-16, UTF-32), UTF-16 without one, UTF-8, else
        Windows-1252 (Excel's Western European encoding).
    decimal : {".", ","} or None
        The CSV file's decimal mark; None detects it: a comma when the file is not
        comma-separated and its numbers such as ``12,5`` or ``1.234,56`` outnumber those with a
        decimal point. With a comma, points group thousands.

    Returns
    -------
    pandas.DataFrame of shape (n_rows, n_columns)
        CSV columns whose every value is a number become ``int64`` (``Int64`` when some values
        are missing, so that integers stay integers) or ``float64``; other columns stay text.
        Columns with zero-padded numbers such as ``"0001"`` stay text. For a CSV file,
        ``df.attrs["read_as"]`` says how it was read (encoding, delimiter, decimal mark, and
        which were detected), a phrase that is also logged.

    Raises
    ------
    SegmentationError
        If the file is missing, is a directory, cannot be read, is empty (no bytes, or a
        header and no rows), is binary (neither text nor Parquet), is not valid text in the
        given encoding, or the encoding or decimal mark asked for is unknown.
    """
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SegmentationError(
                f"Unknown `encoding` '{encoding}'; give a name such as utf-8, cp1252 or latin-1."
            ) from None
    if decimal is not None and decimal not in DECIMAL_MARKS:
        raise SegmentationError(
            f"`decimal` must be '.' or ',' (the decimal mark of the file), got '{decimal}'."
        )
    path = Path(path)
    head = read_input_bytes(
        path,
        f"Input file '{path}'",
        check="check the path",
        instead="give a CSV or Parquet file",
        limit=SNIFF_BYTES,
    )
    if not head:
        raise SegmentationError(f"Input file '{path}' is empty (0 bytes).")
    with _arrow_memory_from_the_system():
        if head.startswith(PARQUET_MAGIC) or path.suffix.lower() in PARQUET_EXTENSIONS:
            df = _read_parquet(path, head)
        else:
            df = _read_csv(path, head, encoding=encoding, decimal=decimal)
    if df.shape[1] == 0:
        raise SegmentationError(f"Input file '{path}' has no columns.")
    if len(df) == 0:
        raise SegmentationError(f"Input file '{path}' has a header but no rows.")
    return df


@contextmanager
def _arrow_memory_from_the_system() -> Iterator[None]:
    """Arrow's allocations in the block from the C library's allocator, which gives freed
    memory back to the system (``release_unused`` trims it), rather than Arrow's default
    pool, which keeps it for Arrow's next allocation: a file's text columns, each freed once
    it became numbers, stayed in the process (a 1M-row CSV file's read peaked at 3.2 times
    the file's size instead of 2). Arrays made in the block stay valid after it."""
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.default_memory_pool().release_unused()
        pa.set_memory_pool(previous)


def table_size(path) -> tuple[str, int] | None:
    """What a table file holds, cheaply (without reading it): ``("parquet", bytes of its
    values in memory)`` from the Parquet metadata, or ``("csv", size of the file)``; None when
    the file cannot be looked at (reading it says why).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    tuple of (str, int) or None
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            magic = handle.read(len(PARQUET_MAGIC))
    except OSError:
        return None
    if magic == PARQUET_MAGIC:
        try:
            import pyarrow.parquet as pq

            metadata = pq.ParquetFile(path).metadata
        except Exception:  # a damaged file: read_table says so in its own words
            return None
        # 8 bytes a value: numbers are float64 or int64 once read.
        return "parquet", metadata.num_rows * metadata.num_columns * 8
    return "csv", size


def read_input_bytes(
    path: Path, source: str, *, check: str, instead: str, limit: int | None = None
) -> bytes:
    """The bytes of an input file (the first ``limit`` of them), or one sentence why not.

    Parameters
    ----------
    path : pathlib.Path
    source : str
        How messages name the file (``"Input file 'x.csv'"``).
    check : str
        What to do when it does not exist (``"check the path"``).
    instead : str
        What to give when it is a folder (``"give a CSV or Parquet file"``).
    limit : int or None
        Read at most this many bytes.

    Raises
    ------
    SegmentationError
        If the file does not exist, is a folder or cannot be read.
    """
    if not path.exists():
        raise SegmentationError(f"{source} does not exist; {check}.")
    if path.is_dir():
        raise SegmentationError(f"{source} is a folder, not a file; {instead}.")
    try:
        with open(path, "rb") as handle:
            return handle.read() if limit is None else handle.read(limit)
    except OSError as exc:
        raise SegmentationError(f"{source} cannot be read ({_reason(exc)}).") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


#: How Parquet is read (peak memory about 1.5 times the values instead of 3): page by page
#: rather than each column chunk's compressed bytes at once (``pre_buffer=False``, passed
#: to pyarrow), and each column handed to pandas as it is (zero-copy where pandas can use
#: Arrow's buffer), freeing Arrow's copy as it goes, not consolidated into one block per
#: dtype (a copy of the whole table). pandas before 3.0 takes no ``to_pandas_kwargs``.
_PARQUET_TO_PANDAS = (
    {"to_pandas_kwargs": {"split_blocks": True, "self_destruct": True}}
    if "to_pandas_kwargs" in inspect.signature(pd.read_parquet).parameters
    else {}
)


def _read_parquet(path: Path, head: bytes) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401  (pandas needs it; say so plainly if it is missing)
    except ImportError:
        raise SegmentationError(
            f"Reading the Parquet file '{path}' needs pyarrow; "
            "install it with 'pip install pyarrow'."
        ) from None
    if not head.startswith(PARQUET_MAGIC):
        raise SegmentationError(
            f"Input file '{path}' is named like a Parquet file but is not one (it does not "
            "start with Parquet's PAR1 mark); if it is a CSV file, give it the .csv extension."
        )
    try:
        df = pd.read_parquet(path, pre_buffer=False, **_PARQUET_TO_PANDAS)
    except OSError as exc:
        # pyarrow raises ArrowInvalid (an OSError subclass is not guaranteed) for damaged files.
        raise SegmentationError(
            f"Input file '{path}' cannot be read as Parquet ({_reason(exc)}); is it damaged?"
        ) from None
    except Exception as exc:  # pyarrow.lib.ArrowInvalid and friends
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "magic bytes not found in footer" in first_line:
            raise SegmentationError(
                f"Input file '{path}' is a damaged Parquet file: its end is missing, as in a "
                "file cut short while copying; copy or export it again."
            ) from None
        raise SegmentationError(
            f"Input file '{path}' cannot be read as Parquet ({first_line}); is it damaged?"
        ) from None
    read_log: list[str] = []
    df.columns = unique_column_names(list(df.columns), read_log)
    df.attrs["read_log"] = read_log
    return df


def _read_csv(path: Path, head: bytes, *, encoding, decimal) -> pd.DataFrame:
    checked = _checked_text_streamed(path, head, encoding)
    if checked is None:  # not UTF-8 (or not the encoding given): the whole text says why
        checked = _checked_text_whole(path, head, encoding)
    start, used_encoding, has_nul, blank = checked
    if has_nul:
        raise SegmentationError(
            f"Input file '{path}' is binary, not CSV or Parquet; export it as CSV (UTF-8)."
        )
    if blank:
        raise SegmentationError(f"Input file '{path}' is empty (it holds only blank space).")
    delimiter = sniff_delimiter(start)
    options = dict(
        sep=delimiter,
        dtype=str,
        skip_blank_lines=True,
        skipinitialspace=True,
        encoding=used_encoding,
    )
    try:
        with warnings.catch_warnings():
            # index_col=False: rows longer than the header are an error (pandas warns that it
            # would cut them), not a silent index made of the first column.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # A chunk of rows at a time: pandas holds a chunk's values as Python strings
            # (several times the text) before they become compact text columns.
            with pd.read_csv(
                path,
                keep_default_na=True,
                index_col=False,
                chunksize=CSV_READ_CHUNK_ROWS,
                **options,
            ) as reader:
                chunks = list(reader)
        header = pd.read_csv(path, header=None, nrows=1, keep_default_na=False, **options).iloc[0]
    except pd.errors.EmptyDataError:
        raise SegmentationError(f"Input file '{path}' is empty.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
        raise SegmentationError(_malformed(path, exc)) from None
    if not chunks:  # a header and no rows
        return pd.DataFrame(columns=unique_column_names(list(header), []))
    read_log: list[str] = []
    names = unique_column_names(list(header), read_log)
    for chunk in chunks:
        chunk.columns = names
    # Every chunk but the last has CSV_READ_CHUNK_ROWS rows: the first holds the sample.
    used_decimal = decimal if decimal is not None else detect_decimal(chunks[0], delimiter)
    # One column at a time: its text joined, converted, then let go (and Arrow's memory for
    # it given back), so that the text of the whole table and all of its numbers are never
    # held at once. One new frame rather than thousands of column assignments.
    # Each chunk as a dict of its columns (Series of Arrow text, one block each), so that a
    # column is let go in constant time: popping a column off a frame copies its list of
    # blocks, which over thousands of columns is quadratic (minutes at 3,000 columns).
    n_rows = sum(len(chunk) for chunk in chunks)
    pieces = [dict(chunk.items()) for chunk in chunks]
    del chunks
    converted = {}
    for name in names:
        text = pd.concat([piece.pop(name) for piece in pieces], ignore_index=True)
        converted[name] = _convert_text_column(text, decimal=used_decimal)
        del text
        pa.default_memory_pool().release_unused()
    df = pd.DataFrame(converted, index=pd.RangeIndex(n_rows))
    df.attrs["read_as"] = _describe_format(
        used_encoding, encoding is None, delimiter, used_decimal, decimal is None
    )
    df.attrs["read_log"] = read_log
    logger.info("Read %s as %s.", path, df.attrs["read_as"])
    return df


#: Rows parsed at a time from a CSV file, and bytes decoded at a time to check its encoding.
CSV_READ_CHUNK_ROWS = 100_000
DECODE_CHUNK_BYTES = 16 * 2**20


def _checked_text_streamed(path: Path, head: bytes, encoding):
    """The encoding check of :func:`_checked_text_whole`, a piece of the file at a time, for
    UTF-8 (detected) or a given encoding: ``(first SNIFF_BYTES characters, encoding, whether
    it holds a NUL, whether it is blank)``, or None when the file is not valid in it (or may
    be UTF-16 without a byte order mark): the whole text is then decoded to say why."""
    if encoding is not None:
        name = encoding
    else:
        marked = [name for mark, name in _BYTE_ORDER_MARKS if head.startswith(mark)][:1]
        if not marked and b"\x00" in head:
            return None
        name = marked[0] if marked else "utf-8"
    decoder = codecs.getincrementaldecoder(name)()
    start, has_nul, blank, first = "", False, True, True
    try:
        with open(path, "rb") as handle:
            while True:
                piece = handle.read(DECODE_CHUNK_BYTES)
                text = decoder.decode(piece, final=not piece)
                if first and encoding is not None:
                    text = text.removeprefix("\ufeff")
                first = first and not text
                if len(start) < SNIFF_BYTES:
                    start += text[: SNIFF_BYTES - len(start)]
                has_nul = has_nul or "\x00" in text
                blank = blank and not text.strip()
                if not piece:
                    return start, name, has_nul, blank
    except UnicodeError:
        return None
    except OSError as exc:
        raise SegmentationError(f"Input file '{path}' cannot be read ({_reason(exc)}).") from None


def _checked_text_whole(path: Path, head: bytes, encoding):
    """:func:`_decode` on the whole file, as :func:`_checked_text_streamed` answers."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SegmentationError(f"Input file '{path}' cannot be read ({_reason(exc)}).") from None
    text, used_encoding = _decode(path, raw, head, encoding)
    return text[:SNIFF_BYTES], used_encoding, "\x00" in text, not text.strip()


def _malformed(path: Path, exc: Exception) -> str:
    """One sentence on a CSV file pandas could not tokenize: which line, how many fields."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if ragged:
        expected, line, seen = ragged.groups()
        return (
            f"Input file '{path}' has {seen} fields on line {line} where the rows before have "
            f"{expected}; fix that row (a delimiter inside a value needs quotes)."
        )
    if "does not match length of data" in message:
        return (
            f"Input file '{path}' has more fields in its rows than names in its header; "
            "give every column a name in the first line."
        )
    return f"Input file '{path}' is not a well-formed CSV table ({message})."


def unique_column_names(names: list, log: list[str]) -> list[str]:
    """Header names made usable: stripped, an empty one named ``Unnamed: i`` (as pandas does,
    0-based), a repeated one given a suffix (``a``, ``a_2``); each renaming said in ``log``.

    Parameters
    ----------
    names : list
        The names as the file holds them (any type; missing counts as empty).
    log : list of str
        Receives one sentence per renamed column.

    Returns
    -------
    list of str
    """
    stripped = ["" if pd.isna(name) else str(name).strip() for name in names]
    reserved = {name for name in stripped if name}  # the names the file does give
    first_seen: dict[str, int] = {}
    used: set[str] = set()
    result = []
    for i, name in enumerate(stripped):
        final = name if name and name not in used else (name or f"Unnamed: {i}")
        suffix = 2
        while final in used or (final != name and final in reserved):
            final = f"{name or f'Unnamed: {i}'}_{suffix}"
            suffix += 1
        if not name:
            log.append(f"Column {i + 1} has no name in the header; it is called '{final}'.")
        elif final != name:
            log.append(
                f"Columns {first_seen[name] + 1} and {i + 1} are both named '{name}' in the "
                f"header; column {i + 1} is called '{final}'."
            )
        first_seen.setdefault(name, i)
        used.add(final)
        result.append(final)
    return result


def _decode(path: Path, raw: bytes, head: bytes, encoding) -> tuple[str, str]:
    """The file's text and the encoding it was read with (``encoding``, or detected)."""
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except UnicodeError as exc:
            where = f" (bad byte at position {exc.start})" if hasattr(exc, "start") else ""
            raise SegmentationError(
                f"Input file '{path}' is not valid {encoding} text{where}; check `encoding`."
            ) from None
        return text.removeprefix("\ufeff"), encoding
    candidates = [name for mark, name in _BYTE_ORDER_MARKS if raw.startswith(mark)][:1]
    if not candidates and b"\x00" in head:
        candidates = [_utf16_without_bom(head)]
        if candidates == [None]:
            raise SegmentationError(
                f"Input file '{path}' is binary, not CSV or Parquet; export it as CSV (UTF-8)."
            )
    if not candidates:
        candidates = ["utf-8", *_LEGACY_ENCODINGS]
    for name in candidates:
        try:
            return raw.decode(name), name
        except UnicodeDecodeError as exc:
            error = exc
    raise SegmentationError(
        f"Input file '{path}' is not valid {_ENCODING_NAMES[candidates[0]]} text (bad byte at "
        f"position {error.start}); give its `encoding` or save it as UTF-8 CSV."
    )


def _utf16_without_bom(head: bytes) -> str | None:
    """``"utf-16-le"`` or ``"utf-16-be"`` when the bytes look like mostly-ASCII UTF-16."""
    sample = head[: 4096 - 4096 % 2] if len(head) >= 2 else head
    even, odd = sample[0::2], sample[1::2]
    if not odd:
        return None
    even_zeros, odd_zeros = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_zeros > 0.9 and even_zeros < 0.1:
        return "utf-16-le"
    if even_zeros > 0.9 and odd_zeros < 0.1:
        return "utf-16-be"
    return None


def detect_decimal(df: pd.DataFrame, delimiter: str) -> str:
    """The decimal mark of a table read as text: "," or ".".

    A comma-separated file has decimal points. Otherwise the first ``DECIMAL_SAMPLE_ROWS``
    rows vote: values such as ``12,5`` or ``1.234,56`` for a comma, values such as ``3.5`` or
    ``0.25`` (a point that cannot be a thousands separator) for a point; a tie is a point.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns), text columns
    delimiter : str

    Returns
    -------
    str
    """
    if delimiter == "," or df.empty:
        return "."
    values = df.head(DECIMAL_SAMPLE_ROWS).stack().astype(str).str.strip()
    commas = int(values.str.fullmatch(_COMMA_DECIMAL).sum())
    points = int(values.str.fullmatch(_POINT_DECIMAL).sum())
    return "," if commas > points else "."


def _describe_format(encoding, encoding_detected, delimiter, decimal, decimal_detected) -> str:
    """How a CSV file was read, as a phrase (encoding, delimiter, decimal mark)."""
    name = _ENCODING_NAMES.get(encoding, encoding)
    if not encoding_detected:
        how = "as asked"
    elif encoding in _LEGACY_ENCODINGS:
        how = "detected: not UTF-8"
    else:
        how = "detected"
    separator = {"\t": "tab"}.get(delimiter, f"'{delimiter}'")
    mark = "decimal comma" if decimal == "," else "decimal point"
    return (
        f"{name} ({how}), {separator}-separated, "
        f"{mark} ({'detected' if decimal_detected else 'as asked'})"
    )


def sniff_delimiter(sample: str) -> str:
    """Guess the delimiter of a CSV sample among ``, ; tab |``; a comma when unsure.

    Parameters
    ----------
    sample : str
        The first few kilobytes of the file.

    Returns
    -------
    str
        One character.
    """
    # Only whole lines: a cut last line would confuse the sniffer's consistency check.
    lines = sample.splitlines()
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]
    lines = [line for line in lines if line.strip()][:50]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        pass
    # The sniffer gives up on some valid files (quoted fields, one line): the delimiter that
    # occurs most often in the header, if any, is a good second guess.
    header = lines[0]
    counts = {d: header.count(d) for d in CANDIDATE_DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _convert_text_column(column: pd.Series, *, decimal: str) -> pd.Series:
    """Turn a column read as text into numbers when every value is a number and nothing is lost.

    Integers become ``int64`` (or ``Int64`` with gaps, so they are written back without a
    ``.0``), other numbers ``float64``. Zero-padded codes stay text. With ``decimal=","``,
    numbers are written ``1234,5`` or ``1.234,5`` (points group thousands).
    """
    # Arrow's compute functions directly: pandas' string methods cost about a millisecond a
    # call whatever the length, which a table of thousands of short columns pays thousands
    # of times. Arrow parses numbers correctly rounded, as Python does.
    text = _arrow_text(column)
    stripped = pc.utf8_trim_whitespace(text)
    blank = pc.fill_null(pc.equal(stripped, ""), True)
    values = pc.filter(stripped, pc.invert(blank))
    if len(values) == 0:
        # Nothing to go on: an all-missing column is numeric (NaN), which is what a user expects.
        return pd.Series(np.nan, index=column.index, dtype="float64", name=column.name)
    if decimal == ",":
        if not _all_match(values, _COMMA_NUMBER):
            return column
        # Into the decimal point's spelling: "1.234,5" -> "1234.5".
        stripped = pc.replace_substring(pc.replace_substring(stripped, ".", ""), ",", ".")
        values = pc.filter(stripped, pc.invert(blank))
    elif not _all_match(values, _NUMBER):
        return column
    if pc.any(pc.match_substring_regex(values, "^" + _ZERO_PADDED)).as_py():
        return column
    cleaned = pc.if_else(blank, pa.scalar(None, stripped.type), stripped)
    missing = blank.to_numpy(zero_copy_only=False)
    if _all_match(values, _INTEGER):
        try:
            integers = pc.cast(pc.replace_substring_regex(cleaned, r"^\+", ""), pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            pass  # beyond int64: keep the value as a float
        else:
            numbers = pc.fill_null(integers, 0).to_numpy(zero_copy_only=False)
            if missing.any():
                return pd.Series(
                    pd.arrays.IntegerArray(numbers, missing), index=column.index, name=column.name
                )
            return pd.Series(numbers, index=column.index, name=column.name, dtype="int64")
    numbers = pc.cast(cleaned, pa.float64()).to_numpy(zero_copy_only=False)
    return pd.Series(numbers, index=column.index, name=column.name, dtype="float64")


def _arrow_text(column: pd.Series) -> pa.ChunkedArray:
    """A text column as an Arrow array (without a copy when pandas already holds it so)."""
    array = column.array
    if hasattr(array, "__arrow_array__"):
        arrow = array.__arrow_array__()
        return arrow if isinstance(arrow, pa.ChunkedArray) else pa.chunked_array([arrow])
    return pa.chunked_array([pa.array(column.to_numpy(dtype=object), type=pa.large_string())])


def _all_match(values: pa.ChunkedArray, pattern: str) -> bool:
    """Whether every value matches the whole ``pattern``."""
    return bool(pc.all(pc.match_substring_regex(values, f"^(?:{pattern})$")).as_py())


# --------------------------------------------------------------------------- writing

#: Test hook: with this environment variable set to N, every :func:`pause_point` is announced
#: on stderr and the N-th one sleeps, so that a test can kill the process exactly there (0:
#: announce only). Unset (always, outside the tests), a pause point does nothing.
PAUSE_AT_VARIABLE = "SEGMENT_TEST_PAUSE_AT"
_pause_points_passed = 0


def pause_point(what: str) -> None:
    """A moment of the write stage where a test may stop the process (see PAUSE_AT_VARIABLE)."""
    setting = os.environ.get(PAUSE_AT_VARIABLE)
    if not setting:
        return
    global _pause_points_passed
    _pause_points_passed += 1
    print(f"pause point {_pause_points_passed}: {what}", file=sys.stderr, flush=True)
    if _pause_points_passed == int(setting):
        print("paused", file=sys.stderr, flush=True)
        time.sleep(600)


def ensure_output_dir(path) -> Path:
    """Create the output folder if needed and check that files can be written in it.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    SegmentationError
        If the folder cannot be created (for example a file is in the way) or written to.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise SegmentationError(
            f"Output folder '{folder}' is an existing file; choose another `out` folder."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SegmentationError(
            f"Output folder '{folder}' cannot be created ({_reason(exc)}); "
            "choose another `out` folder."
        ) from None
    # Permission bits do not tell the whole story (read-only mounts, root): try a real write.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-", delete=True) as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        raise SegmentationError(
            f"Output folder '{folder}' is not writable ({_reason(exc)}); "
            "choose another `out` folder."
        ) from None
    return folder


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _check_not_protected(path: Path, protect: Iterable | None) -> None:
    for item in protect or ():
        if item is None:
            continue
        if _same_file(path, Path(item)):
            raise SegmentationError(
                f"Refusing to overwrite the input file '{item}'; choose another output path."
            )


def write_bytes_atomic(data: bytes, path, *, protect: Iterable | None = None) -> Path:
    """Write bytes to ``path`` through a temporary file in the same folder and a rename.

    Parameters
    ----------
    data : bytes
    path : str or os.PathLike
    protect : iterable of paths, optional
        Input files that must never be overwritten.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    SegmentationError
        If ``path`` is a protected input or the file cannot be written. The previous content
        of ``path``, if any, is then left as it was and no temporary file remains.
    """
    return _write_atomic(path, lambda handle: handle.write(data), protect=protect)


def _write_atomic(path, fill, *, protect: Iterable | None = None) -> Path:
    """Write ``path`` through a temporary file in the same folder and a rename; ``fill(handle)``
    writes the content into the temporary file (opened in binary mode)."""
    target = Path(path)
    _check_not_protected(target, protect)
    folder = target.parent if str(target.parent) else Path(".")
    tmp_name = None
    try:
        with tempfile.NamedTemporaryFile(
            dir=folder, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        pause_point(f"{target.name} written, not yet renamed")
        # NamedTemporaryFile creates 0600 files; outputs should be readable like any other file.
        os.chmod(tmp_name, 0o666 & ~_umask())
        os.replace(tmp_name, target)
        tmp_name = None
    except OSError as exc:
        raise SegmentationError(f"Cannot write '{target}' ({_reason(exc)}).") from None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
    return target


def _umask() -> int:
    # os.umask can only be read by setting it; put it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(text: str, path, *, protect: Iterable | None = None) -> Path:
    """Write UTF-8 text atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(text.encode("utf-8"), path, protect=protect)


def write_csv_atomic(
    df: pd.DataFrame,
    path,
    *,
    protect: Iterable | None = None,
    beside: pd.DataFrame | None = None,
) -> Path:
    """Write a table as UTF-8 CSV (comma, LF, no index) atomically.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns)
    path : str or os.PathLike
    protect : iterable of paths, optional
        Input files that must never be overwritten.
    beside : pandas.DataFrame of shape (n_rows, n_more), optional
        Columns written after ``df``'s, row by row in order (its index is not looked at):
        the same bytes as the table ``pd.concat([df, beside], axis=1)``, which is never
        built; each chunk of rows is joined as it is written.
    """
    parts = [df] if beside is None else [df, beside]
    if beside is not None and len(beside) != len(df):
        raise ValueError(f"beside has {len(beside)} rows but df has {len(df)}.")
    # With LF line endings the csv module quotes values holding "\n" but not a lone "\r",
    # where a reader would then start a new row: a table with one quotes every text value.
    quoting = (
        csv.QUOTE_NONNUMERIC
        if any(_holds_carriage_return(part) for part in parts)
        else csv.QUOTE_MINIMAL
    )
    options = dict(index=False, lineterminator="\n", quoting=quoting, chunksize=CSV_CHUNK_ROWS)

    def fill(handle) -> None:
        # Straight into the file, a chunk of rows at a time: the whole table as one string,
        # then as bytes, would cost several times the table's size in memory.
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        if beside is None:
            df.to_csv(text, **options)
        else:
            # Chunks of the rows pandas itself would write at a time: a column's format
            # (a datetime's, for one) is chosen over the chunk, as pandas does.
            for start in range(0, max(len(df), 1), CSV_CHUNK_ROWS):
                rows = slice(start, start + CSV_CHUNK_ROWS)
                chunk = pd.concat(
                    [
                        df.iloc[rows].reset_index(drop=True),
                        beside.iloc[rows].reset_index(drop=True),
                    ],
                    axis=1,
                )
                chunk.to_csv(text, header=start == 0, **options)
        text.flush()
        text.detach()  # the temporary file stays open for the caller

    return _write_atomic(path, fill, protect=protect)


def _holds_carriage_return(df: pd.DataFrame) -> bool:
    """Whether a column name or a text value holds a carriage return."""
    if any("\r" in str(name) for name in df.columns):
        return True
    for name in df.columns:
        column = df[name]
        if pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype):
            if column.astype("str").str.contains("\r", regex=False).any():
                return True
    return False


def to_jsonable(obj):
    """Convert numpy scalars and arrays, paths and NaN into plain JSON values (NaN -> None).

    Parameters
    ----------
    obj : any nesting of dict, list, tuple, numpy arrays and scalars, str, Path, numbers

    Returns
    -------
    The same structure made of dict, list, str, int, float, bool and None only.
    """
    if isinstance(obj, dict):
        return {str(key): to_jsonable(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(value) for value in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def write_json_atomic(
    obj, path, *, protect: Iterable | None = None, indent: int | None = 2
) -> Path:
    """Write an object as JSON (UTF-8, numpy values converted, NaN as null) atomically.

    Parameters
    ----------
    obj : JSON-like object (numpy scalars and arrays allowed)
    path : str or os.PathLike
    protect : iterable of paths, optional
        Input files that must never be overwritten.
    indent : int or None
        Indentation passed to :func:`json.dumps`.
    """
    text = json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)
    return write_text_atomic(text + "\n", path, protect=protect)
