"""CSV files as spreadsheets save them: Excel in Europe (Windows-1252, ';', decimal commas with
'.' thousands separators), UTF-8 with a byte order mark, UTF-16; detected, reported, and
overridden with ``encoding`` / ``decimal`` (``--encoding`` / ``--decimal`` on the command line).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from segmentation.cli import main
from segmentation.errors import SegmentationError
from segmentation.io import read_table

# As Excel (French or German Windows) saves "CSV (separator: semicolon)": cp1252, CRLF.
EXCEL_EU = (
    "Kunde;Ville;Catégorie;Umsatz €;Besuche\r\n"
    "0001;Orléans;Épicerie fine;1.234,56;3\r\n"
    "0002;Zürich;Café;987,5;12\r\n"
    "0003;Besançon;Pâtisserie;12.345,00;7\r\n"
    "0004;Köln;Bière & €uro;-0,75;1\r\n"
)


def _expected_eu(df):
    assert list(df.columns) == ["Kunde", "Ville", "Catégorie", "Umsatz €", "Besuche"]
    assert df["Kunde"].tolist() == ["0001", "0002", "0003", "0004"]
    assert df["Ville"].tolist() == ["Orléans", "Zürich", "Besançon", "Köln"]
    assert df["Catégorie"].tolist()[3] == "Bière & €uro"
    assert df["Umsatz €"].dtype == np.float64
    assert df["Umsatz €"].tolist() == [1234.56, 987.5, 12345.0, -0.75]
    assert df["Besuche"].dtype == np.int64 and df["Besuche"].tolist() == [3, 12, 7, 1]


def test_excel_cp1252_semicolons_and_decimal_commas_are_detected(tmp_path, caplog):
    path = tmp_path / "kunden.csv"
    path.write_bytes(EXCEL_EU.encode("cp1252"))
    with caplog.at_level(logging.INFO, logger="segmentation.io"):
        df = read_table(path)
    _expected_eu(df)
    expected = "Windows-1252 (detected: not UTF-8), ';'-separated, decimal comma (detected)"
    assert df.attrs["read_as"] == expected
    assert any(expected in record.getMessage() for record in caplog.records)


def test_utf8_with_a_byte_order_mark_and_decimal_commas(tmp_path):
    path = tmp_path / "kunden.csv"
    path.write_bytes(EXCEL_EU.encode("utf-8-sig"))
    df = read_table(path)
    _expected_eu(df)
    assert df.attrs["read_as"].startswith("UTF-8 with a byte order mark (detected), ';'")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_unicode_text_with_or_without_a_byte_order_mark(tmp_path, codec):
    # Excel's "Unicode Text" is UTF-16 with a byte order mark, tab-separated.
    path = tmp_path / "unicode.txt"
    path.write_bytes(EXCEL_EU.replace(";", "\t").encode(codec))
    df = read_table(path)
    _expected_eu(df)
    assert df.attrs["read_as"].startswith("UTF-16")
    assert "tab-separated, decimal comma (detected)" in df.attrs["read_as"]


def test_latin1_bytes_outside_windows_1252_fall_back_to_latin1(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"name;spend\nJos\xe9;10,5\nA\x81;2\n")  # 0x81: undefined in cp1252
    df = read_table(path)
    assert df["name"].tolist() == ["José", "A\x81"]
    assert df["spend"].tolist() == [10.5, 2.0]
    assert df.attrs["read_as"].startswith("latin-1 (detected: not UTF-8)")


def test_the_encoding_can_be_given(tmp_path):
    path = tmp_path / "kunden.csv"
    path.write_bytes(EXCEL_EU.encode("cp1252"))
    _expected_eu(read_table(path, encoding="cp1252"))
    assert "Umsatz \x80" in read_table(path, encoding="latin-1").columns  # as asked, not €
    with pytest.raises(SegmentationError, match=r"not valid utf-8 text \(bad byte at position"):
        read_table(path, encoding="utf-8")
    with pytest.raises(SegmentationError, match="Unknown `encoding` 'klingon'"):
        read_table(path, encoding="klingon")


def test_the_decimal_mark_is_voted_and_can_be_given(tmp_path):
    # "1.234" alone could be either; the decimal points of the other column decide.
    path = tmp_path / "points.csv"
    path.write_text("a;b\n1.234;3.5\n2.5;0.25\n", "utf-8")
    df = read_table(path)
    assert df["a"].tolist() == [1.234, 2.5] and df["b"].tolist() == [3.5, 0.25]
    assert df.attrs["read_as"].endswith("decimal point (detected)")
    grouped = tmp_path / "grouped.csv"
    grouped.write_text("a;b\n1.234;7\n2.000.000;8\n", "utf-8")
    as_points = read_table(grouped)
    assert as_points["a"].tolist() == ["1.234", "2.000.000"]  # not a number with points
    as_commas = read_table(grouped, decimal=",")
    assert as_commas["a"].dtype == np.int64 and as_commas["a"].tolist() == [1234, 2000000]
    assert as_commas.attrs["read_as"].endswith("decimal comma (as asked)")
    with pytest.raises(SegmentationError, match="`decimal` must be '.' or ','"):
        read_table(grouped, decimal=";")


def test_comma_separated_files_keep_decimal_points_unless_told(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('id,spend\n1,"12,5"\n2,"7,25"\n', "utf-8")
    assert read_table(path)["spend"].tolist() == ["12,5", "7,25"]
    assert read_table(path, decimal=",")["spend"].tolist() == [12.5, 7.25]


def test_codes_and_dates_stay_text_with_decimal_commas(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text("code;day;value\n007;01.02.2024;1,5\n010;02.02.2024;2,5\n", "utf-8")
    df = read_table(path)
    assert df["code"].tolist() == ["007", "010"]
    assert df["day"].tolist() == ["01.02.2024", "02.02.2024"]
    assert df["value"].tolist() == [1.5, 2.5]


# --------------------------------------------------------------------------- the command line


def _excel_fr(value):
    """A number as a European spreadsheet writes it: 45123.456 -> "45.123,46"."""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


@pytest.fixture(scope="module")
def excel_customers(tmp_path_factory):
    """Sixty customers in two groups, saved as Excel saves a CSV in France."""
    rng = np.random.default_rng(3)
    n = 60
    group = np.repeat([0, 1], n // 2)
    df = pd.DataFrame(
        {
            "Client": [f"{i:04d}" for i in range(n)],
            "Ville": rng.choice(["Orléans", "Besançon", "Nîmes"], n),
            "Revenu €": 20000 + 40000 * group + rng.normal(0, 2000, n),
            "Dépense": 200 + 1500 * group + rng.normal(0, 50, n),
        }
    )
    lines = ["Client;Ville;Revenu €;Dépense"]
    for client, city, income, spend in df.itertuples(index=False):
        lines.append(f"{client};{city};{_excel_fr(income)};{_excel_fr(spend)}")
    path = tmp_path_factory.mktemp("excel") / "clients.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    return path, df


def test_segment_run_reads_an_excel_csv(excel_customers, tmp_path, capsys):
    path, df = excel_customers
    out = tmp_path / "out"
    code = main(["run", "--input", str(path), "--k", "2", "--out", str(out), "--json"])
    assert code == 0, capsys.readouterr().err
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_customers"] == 60
    read = summary["cleaning_log"][0]
    assert "Windows-1252 (detected: not UTF-8), ';'-separated, decimal comma (detected)" in read
    segmented = pd.read_csv(out / "customers_segmented.csv", dtype={"Client": str})
    assert segmented["Ville"].tolist() == df["Ville"].tolist()
    np.testing.assert_allclose(segmented["Revenu €"], df["Revenu €"].round(2), rtol=1e-12)
    np.testing.assert_allclose(segmented["Dépense"], df["Dépense"].round(2), rtol=1e-12)
    # The two groups, found from the numbers read with their decimal commas.
    assert pd.crosstab(segmented["Segment"], df["Revenu €"] > 40000).values.min() == 0


def test_segment_options_override_and_refuse_in_one_sentence(excel_customers, tmp_path, capsys):
    path, _ = excel_customers
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--input",
            str(path),
            "--k",
            "2",
            "--out",
            str(out),
            "--json",
            "--encoding",
            "cp1252",
            "--decimal",
            ",",
        ]
    )
    assert code == 0, capsys.readouterr().err
    read = json.loads(capsys.readouterr().out)["cleaning_log"][0]
    assert "Windows-1252 (as asked), ';'-separated, decimal comma (as asked)" in read

    code = main(["run", "--input", str(path), "--out", str(out), "--encoding", "utf-8"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: ") and "not valid utf-8 text" in err[0]
    assert "--encoding" in err[0]

    code = main(
        [
            "predict",
            "--model",
            str(out / "model.json"),
            "--input",
            str(path),
            "--out",
            str(tmp_path / "p.csv"),
            "--encoding",
            "nope",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Unknown --encoding 'nope'" in err[0]

    code = main(
        [
            "predict",
            "--model",
            str(out / "model.json"),
            "--input",
            str(path),
            "--out",
            str(tmp_path / "p.csv"),
            "--decimal",
            ",",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 60
