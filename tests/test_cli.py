"""The ``segment`` command line, in-process: every command, and every bad input the issue lists.

Every bad input must give exit code 2 and exactly one line on stderr that starts with
"error:", and never a traceback.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from segmentation.cli import main
from segmentation.io import read_table
from segmentation.synthetic import make_customers


@pytest.fixture(scope="module")
def customers_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_input") / "customers.csv"
    make_customers(120, seed=11).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(customers_csv, tmp_path_factory):
    """A model trained through the CLI, shared by the predict tests."""
    out = tmp_path_factory.mktemp("cli_trained")
    code = main(["run", "--input", str(customers_csv), "--k-range", "2-4", "--out", str(out)])
    assert code == 0
    return out


def assert_one_line_error(capsys, code, *fragments):
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.err + captured.out
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- commands


def test_run_prints_a_table_of_segments(trained, capsys):
    # The fixture's run printed nothing we can capture any more; run again into a new folder.
    out = trained / "again"
    code = main(
        [
            "run",
            "--input",
            str(trained / "customers_segmented.csv"),
            "--k",
            "3",
            "--features",
            "Age,Annual Income (k$)",
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads((out / "cluster_summary.json").read_text())
    assert "into 3 segments" in captured.out
    for segment in summary["segments"]:
        assert segment["name"] in captured.out
    assert "Customers" in captured.out and "Share" in captured.out
    assert captured.err == ""  # no progress bar when stderr is not a terminal


def test_run_json_prints_only_the_summary(customers_csv, tmp_path, capsys):
    code = main(
        [
            "run",
            "--input",
            str(customers_csv),
            "--k-range",
            "2-3",
            "--seed",
            "5",
            "--scaler",
            "minmax",
            "--out",
            str(tmp_path),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    printed = json.loads(captured.out)
    saved = json.loads((tmp_path / "cluster_summary.json").read_text())
    assert printed == saved
    assert printed["seed"] == 5 and printed["parameters"]["scaler"] == "minmax"


def test_run_without_input_uses_synthetic_customers(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default --out is outputs/ in the current folder
    code = main(["run", "--k-range", "2-3"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "outputs" / "customers_input.csv").is_file()
    assert (tmp_path / "outputs" / "report.html").is_file()
    assert len(read_table(tmp_path / "outputs" / "customers_input.csv")) == 400


def test_predict_reproduces_the_training_labels(trained, customers_csv, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    code = main(
        [
            "predict",
            "--model",
            str(trained / "model.json"),
            "--input",
            str(customers_csv),
            "--out",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    training = read_table(trained / "customers_segmented.csv")
    predicted = read_table(out)
    np.testing.assert_array_equal(predicted["Segment"], training["Segment"])
    assert (predicted["Segment_name"] == training["Segment_name"]).all()
    assert "Assigned 120 customers" in captured.out


def test_predict_json(trained, customers_csv, tmp_path, capsys):
    code = main(
        [
            "predict",
            "--model",
            str(trained / "model.json"),
            "--input",
            str(customers_csv),
            "--out",
            str(tmp_path / "p.csv"),
            "--json",
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sum(printed["counts"].values()) == 120


def test_synth_writes_csv_and_parquet(tmp_path, capsys):
    assert main(["synth", "--n", "50", "--seed", "3", "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["synth", "--n", "50", "--seed", "3", "--out", str(tmp_path / "s.parquet")]) == 0
    capsys.readouterr()
    from_csv = read_table(tmp_path / "s.csv")
    from_parquet = read_table(tmp_path / "s.parquet")
    assert len(from_csv) == 50
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)


def test_rfm_command(tmp_path, capsys):
    rows = []
    for customer in range(24):
        for invoice in range(1 + customer % 4):
            rows.append(
                {
                    "InvoiceNo": f"{customer:02d}{invoice}",
                    "CustomerID": 1000 + customer,
                    "InvoiceDate": f"2024-0{1 + (customer + invoice) % 9}-1{invoice} 10:00",
                    "Quantity": 1 + customer % 6,
                    "UnitPrice": 2.5 * (1 + invoice + customer % 5),
                }
            )
    rows.append(
        {
            "InvoiceNo": "C999",
            "CustomerID": 1000,
            "InvoiceDate": "2024-02-01 10:00",
            "Quantity": -1,
            "UnitPrice": 2.5,
        }
    )
    path = tmp_path / "tx.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    code = main(
        [
            "rfm",
            "--transactions",
            str(path),
            "--k-range",
            "2-3",
            "--as-of",
            "2024-12-31",
            "--out",
            str(tmp_path / "o"),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["n_customers"] == 24
    assert any("cancellation" in line for line in summary["cleaning_log"])


def test_help_and_version_exit_zero(capsys):
    assert main(["--version"]) == 0
    assert "segment" in capsys.readouterr().out
    assert main(["run", "--help"]) == 0
    assert "--k-range" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad input


def test_missing_input_file(tmp_path, capsys):
    code = main(["run", "--input", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "does not exist")


def test_input_that_is_a_folder(tmp_path, capsys):
    code = main(["run", "--input", str(tmp_path), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "folder")


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    code = main(["run", "--input", str(path), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "empty")


def test_header_only_file(tmp_path, capsys):
    path = tmp_path / "header.csv"
    path.write_text("a,b,c\n")
    code = main(["run", "--input", str(path), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "no rows")


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "image.csv"
    path.write_bytes(bytes(range(256)) * 8)
    code = main(["run", "--input", str(path), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "binary")


def test_no_numeric_columns(tmp_path, capsys):
    path = tmp_path / "text.csv"
    path.write_text("name,city\nann,paris\nbob,rome\ncid,oslo\ndee,paris\n")
    code = main(["run", "--input", str(path), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "numeric")


def test_unknown_feature_lists_the_columns(customers_csv, tmp_path, capsys):
    code = main(
        [
            "run",
            "--input",
            str(customers_csv),
            "--features",
            "Age,Salary",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    line = assert_one_line_error(capsys, code, "Salary")
    for column in ("CustomerID", "Age", "Annual Income (k$)", "Spending Score (1-100)"):
        assert column in line


def test_fewer_rows_than_k(tmp_path, capsys):
    path = tmp_path / "small.csv"
    make_customers(4, seed=1).to_csv(path, index=False)
    code = main(["run", "--input", str(path), "--k", "6", "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "4 customers", "k=6")


@pytest.mark.parametrize("k", ["1", "0", "-3"])
def test_k_below_two(customers_csv, tmp_path, capsys, k):
    code = main(["run", "--input", str(customers_csv), f"--k={k}", "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "at least 2")


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    [
        ("--k", "lots", "whole number"),
        ("--k-range", "1-4", "at least 2"),
        ("--k-range", "6-3", "ends before it starts"),
        ("--scaler", "zscore", "invalid choice"),
        ("--seed", "abc", "invalid int"),
    ],
)
def test_bad_option_values(customers_csv, tmp_path, capsys, flag, value, fragment):
    code = main(["run", "--input", str(customers_csv), flag, value, "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, fragment)


def test_unknown_option(capsys):
    assert_one_line_error(capsys, main(["run", "--colour"]), "--colour")


def test_output_folder_that_is_a_file(customers_csv, tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("not a folder")
    code = main(["run", "--input", str(customers_csv), "--out", str(blocker)])
    assert_one_line_error(capsys, code, "Output folder")
    code = main(["run", "--input", str(customers_csv), "--out", str(blocker / "inside")])
    assert_one_line_error(capsys, code, "Output folder")
    assert blocker.read_text() == "not a folder"


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root can write into read-only folders, so permissions cannot make one unwritable",
)
def test_output_folder_under_a_read_only_folder(customers_csv, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code = main(["run", "--input", str(customers_csv), "--out", str(locked / "out")])
        assert_one_line_error(capsys, code, "Output folder")
    finally:
        locked.chmod(0o700)


def test_input_is_never_overwritten(tmp_path, capsys):
    path = tmp_path / "model.json"  # an input that sits where the run writes its model
    make_customers(30, seed=2).to_csv(path, index=False)
    before = path.read_bytes()
    code = main(["run", "--input", str(path), "--k-range", "2-3", "--out", str(tmp_path)])
    assert_one_line_error(capsys, code, "Refusing to overwrite")
    assert path.read_bytes() == before


def test_bad_model_files(trained, customers_csv, tmp_path, capsys):
    def predict_with(model_path):
        return main(
            [
                "predict",
                "--model",
                str(model_path),
                "--input",
                str(customers_csv),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )

    assert_one_line_error(capsys, predict_with(tmp_path / "missing.json"), "does not exist")

    not_json = tmp_path / "not.json"
    not_json.write_text("this is not json")
    assert_one_line_error(capsys, predict_with(not_json), "not JSON")

    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"weights": [1, 2, 3]}))
    assert_one_line_error(capsys, predict_with(foreign), "not a segmentation model")

    document = json.loads((trained / "model.json").read_text())
    tampered = dict(document, centers=[[v + 1.0 for v in row] for row in document["centers"]])
    tampered_path = tmp_path / "tampered.json"
    tampered_path.write_text(json.dumps(tampered))
    assert_one_line_error(capsys, predict_with(tampered_path), "modified")

    other = dict(document, format_version=document["format_version"] + 1)
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(other))
    assert_one_line_error(capsys, predict_with(other_path), "version")

    binary = tmp_path / "model.bin"
    binary.write_bytes(bytes(range(256)))
    assert_one_line_error(capsys, predict_with(binary), "not JSON")


def test_predict_input_without_the_model_columns(trained, tmp_path, capsys):
    path = tmp_path / "other.csv"
    path.write_text("x,y\n1,2\n3,4\n")
    code = main(
        [
            "predict",
            "--model",
            str(trained / "model.json"),
            "--input",
            str(path),
            "--out",
            str(tmp_path / "p.csv"),
        ]
    )
    assert_one_line_error(capsys, code, "missing")


def test_rfm_missing_column(tmp_path, capsys):
    path = tmp_path / "tx.csv"
    path.write_text("InvoiceNo,CustomerID,Quantity,UnitPrice\n1,7,1,2.0\n")
    code = main(["rfm", "--transactions", str(path), "--out", str(tmp_path / "o")])
    assert_one_line_error(capsys, code, "InvoiceDate")


def test_synth_bad_n(tmp_path, capsys):
    code = main(["synth", "--n", "0", "--out", str(tmp_path / "s.csv")])
    assert_one_line_error(capsys, code, "--n")


def test_semicolon_bom_crlf_csv_and_parquet_inputs(tmp_path, capsys):
    data = make_customers(60, seed=6)
    text = data.to_csv(index=False, sep=";", lineterminator="\r\n")
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    code = main(["run", "--input", str(path), "--k-range", "2-3", "--out", str(tmp_path / "a")])
    assert code == 0, capsys.readouterr().err
    written = read_table(tmp_path / "a" / "customers_segmented.csv")
    pd.testing.assert_frame_equal(written[list(data.columns)], read_table(path))

    parquet = tmp_path / "customers.parquet"
    data.to_parquet(parquet, index=False)
    code = main(["run", "--input", str(parquet), "--k-range", "2-3", "--out", str(tmp_path / "b")])
    assert code == 0, capsys.readouterr().err
    # Same customers, same options: the same segments whatever the file format.
    first = read_table(tmp_path / "a" / "customers_segmented.csv")["Segment"]
    second = read_table(tmp_path / "b" / "customers_segmented.csv")["Segment"]
    np.testing.assert_array_equal(first, second)


def test_an_unexpected_error_is_a_bug_with_its_traceback_in_a_log(
    customers_csv, tmp_path, capsys, monkeypatch
):
    # Only SegmentationError means bad input; any other exception is a bug: exit 1, one
    # sentence that says where the traceback was written, and the traceback in that file.
    import segmentation.pipeline as pipeline

    def broken(*args, **kwargs):
        raise ValueError("n_samples=3 should be >= n_clusters=4.\nmore detail")

    monkeypatch.setattr(pipeline, "run", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    code = main(["run", "--input", str(customers_csv), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert lines[0].startswith("error: segment stopped on an unexpected error (ValueError: ")
    assert "this is a bug" in lines[0]
    logs = list(tmp_path.glob("segment-traceback-*.log"))
    assert len(logs) == 1 and str(logs[0]) in lines[0]
    text = logs[0].read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert "ValueError: n_samples=3 should be >= n_clusters=4." in text


def test_interrupt_exits_130(customers_csv, tmp_path, capsys, monkeypatch):
    import segmentation.pipeline as pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run", interrupted)
    assert main(["run", "--input", str(customers_csv), "--out", str(tmp_path)]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_progress_bar_draws_on_a_terminal(monkeypatch):
    import io

    from segmentation.cli import _StageProgress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    progress = _StageProgress(enabled=True)
    progress("read", 0, None)
    progress("read", 1, 1)
    for done in range(4):
        progress("sweep", done, 3)
    progress("stability", 0, 20)  # a stage the bars do not know yet gets a line of its own
    progress.close()
    drawn = terminal.getvalue()
    for label in ("Reading the input", "Trying k", "Checking stability"):
        assert label in drawn
    silent = _StageProgress(enabled=False)
    silent("sweep", 0, 3)
    assert silent.progress is None


def test_quiet_turns_the_progress_bars_off(monkeypatch):
    from segmentation.cli import _progress, build_parser

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    parser = build_parser()
    assert _progress(parser.parse_args(["run"])).enabled
    assert not _progress(parser.parse_args(["run", "--quiet"])).enabled
    assert not _progress(parser.parse_args(["rfm", "--transactions", "t.csv", "--quiet"])).enabled
