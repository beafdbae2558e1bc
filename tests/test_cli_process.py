"""``segment`` as a real process, for every bad input: exit code 2, one sentence, nothing else.

In-process tests (test_cli.py) cannot see what a process prints on its own: Python warnings,
a traceback printed by the interpreter, output of a library at import time. Here each bad
input runs in a fresh ``segment`` process, and its whole stderr must be one line, starting
"error: ", naming the option by its flag, with no traceback and no warning; stdout stays empty.
The processes run a few at a time, once per session (each pays Python's start-up).
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from segmentation.cli import main
from segmentation.model import _checksum
from segmentation.synthetic import make_customers

# name -> (arguments, fragments the error line must hold). ``{name}`` is a file the fixture
# writes (see _write_inputs); ``{out}`` a fresh output path.
CASES = {
    "missing file": (["run", "--input", "{nope}"], ["does not exist"]),
    "folder as input": (["run", "--input", "{folder}"], ["folder"]),
    "empty file": (["run", "--input", "{empty}"], ["empty"]),
    "header only": (["run", "--input", "{header}"], ["no rows"]),
    "binary file": (["run", "--input", "{binary}"], ["binary"]),
    "missing column": (
        ["run", "--input", "{customers}", "--features", "Age,Salary"],
        ["'Salary'", "Annual Income (k$)"],
    ),
    "text where numbers are needed": (
        ["run", "--input", "{typo}"],
        ["'Age' has text where numbers", "'thirty'", "--features"],
    ),
    "too many infinities": (
        ["run", "--input", "{infinities}"],
        ["'Spend' has infinite values", "data rows 1: 'inf'", "1%"],
    ),
    "values at the float64 limit": (
        ["run", "--input", "{at_limit}"],
        ["'Spend' has values too close to the float64", "data rows 12: 1.1e+307", "--features"],
    ),
    "ragged row": (["run", "--input", "{ragged}"], ["4 fields on line 3", "have 3"]),
    "rows longer than the header": (
        ["run", "--input", "{headless}"],
        ["more fields in its rows than names in its header"],
    ),
    "parquet that is not one": (["run", "--input", "{fake_parquet}"], ["not one", "PAR1"]),
    "parquet cut short": (["run", "--input", "{cut_parquet}"], ["damaged Parquet file"]),
    "no numeric column": (["run", "--input", "{text}"], ["numeric", "--features"]),
    "k larger than customers": (
        ["run", "--input", "{few}", "--k", "8"],
        ["5 customers", "k=8", "smaller --k "],
    ),
    "k below two": (["run", "--input", "{customers}", "--k", "1"], ["--k is 1"]),
    "k not a number": (["run", "--input", "{customers}", "--k", "lots"], ["--k must be"]),
    "k range backwards": (
        ["run", "--input", "{customers}", "--k-range", "6-3"],
        ["--k-range '6-3' ends before"],
    ),
    "log of negative values": (
        ["run", "--input", "{negative}", "--log-transform", "a"],
        ["--log-transform", "'a'"],
    ),
    "log of an unknown column": (
        ["run", "--input", "{customers}", "--log-transform", "Height"],
        ["--log-transform", "'Height'"],
    ),
    "unknown option": (["run", "--colour", "red"], ["--colour"]),
    "unknown k rule": (
        ["run", "--input", "{customers}", "--k-rule", "median"],
        ["--k-rule", "'median'"],
    ),
    "gap rule with categories": (
        ["run", "--input", "{customers}", "--method", "kprototypes", "--k-rule", "gap"],
        ["--k-rule gap needs numeric features", "--method kmeans"],
    ),
    "bootstrap below zero": (
        ["run", "--input", "{customers}", "--bootstrap", "-1"],
        ["--bootstrap is -1"],
    ),
    "bootstrap not a whole number": (
        ["run", "--input", "{customers}", "--bootstrap", "2.5"],
        ["--bootstrap must be a whole number", "'2.5'"],
    ),
    "output folder is a file": (
        ["run", "--input", "{customers}", "--out", "{blocker}"],
        ["another --out folder"],
    ),
    "model file that is not ours": (
        ["predict", "--model", "{foreign}", "--input", "{customers}"],
        ["not a segmentation model"],
    ),
    "model file that is not JSON": (
        ["predict", "--model", "{not_json}", "--input", "{customers}"],
        ["not JSON"],
    ),
    "model file edited": (
        ["predict", "--model", "{tampered}", "--input", "{customers}"],
        ["modified"],
    ),
    "model file of another format": (
        ["predict", "--model", "{newer}", "--input", "{customers}"],
        ["format version 99"],
    ),
    "model file missing": (
        ["predict", "--model", "{nope}", "--input", "{customers}"],
        ["does not exist", "--model"],
    ),
    "input without the model's columns": (
        ["predict", "--model", "{model}", "--input", "{no_columns}"],
        ["missing"],
    ),
    "rfm column missing": (
        ["rfm", "--transactions", "{transactions}"],
        ["InvoiceDate", "--date-col"],
    ),
    "rfm as-of not a date": (
        ["rfm", "--transactions", "{dated}", "--as-of", "soonish"],
        ["--as-of 'soonish' is not a date"],
    ),
    "synth without customers": (["synth", "--n", "0"], ["--n must be at least 1"]),
    "monitor model missing": (
        ["monitor", "--model", "{nope}", "--input", "{customers}"],
        ["does not exist", "--model"],
    ),
    "monitor model from before": (
        ["monitor", "--model", "{old_model}", "--input", "{customers}"],
        ["training distribution", "fit it again with 'segment run'"],
    ),
    "monitor input without the model's columns": (
        ["monitor", "--model", "{model}", "--input", "{no_columns}"],
        ["missing"],
    ),
    "monitor previous without an id column": (
        ["monitor", "--model", "{model}", "--input", "{no_ids}", "--previous", "{no_ids}"],
        ["--previous", "--id-column"],
    ),
}


def _command() -> list[str]:
    """The installed ``segment`` script next to this Python, else the same main via -m."""
    script = Path(sys.executable).with_name("segment")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "segmentation.cli"]


def _write_inputs(folder: Path) -> dict[str, Path]:
    """The bad (and good) input files of :data:`CASES`, by placeholder name."""
    files = {"folder": folder, "nope": folder / "nope.csv"}

    def write(name: str, text: str) -> None:
        files[name] = folder / (name + ".csv")
        files[name].write_text(text)

    files["customers"] = folder / "customers.csv"
    make_customers(60, seed=4).to_csv(files["customers"], index=False)
    files["few"] = folder / "few.csv"
    make_customers(5, seed=4).to_csv(files["few"], index=False)
    write("empty", "")
    write("header", "Age,Income\n")
    files["binary"] = folder / "image.csv"
    files["binary"].write_bytes(bytes(range(256)) * 8)
    rows = [f"{i},{20 + i % 7},{1000 + 10 * i}" for i in range(40)]
    rows[17] = "17,thirty,1170"
    write("typo", "CustomerID,Age,Income\n" + "\n".join(rows) + "\n")
    write("text", "name,city\nann,paris\nbob,rome\ncid,oslo\ndee,paris\n")
    write(
        "infinities",
        "Age,Spend\n" + "".join(f"{20 + i},{'inf' if i < 3 else i}\n" for i in range(60)),
    )
    write("at_limit", "Age,Spend\n" + "".join(f"{20 + i},{i}e306\n" for i in range(60)))
    write("ragged", "a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n")
    write("headless", "a,b\n1,2,3\n4,5,6\n")
    files["fake_parquet"] = folder / "fake.parquet"
    files["fake_parquet"].write_text("a,b\n1,2\n")
    make_customers(60, seed=4).to_parquet(folder / "good.parquet")
    files["cut_parquet"] = folder / "cut.parquet"
    files["cut_parquet"].write_bytes((folder / "good.parquet").read_bytes()[:-200])
    write("negative", "a,b\n" + "\n".join(f"{i - 5},{i * i}" for i in range(12)) + "\n")
    write("transactions", "InvoiceNo,CustomerID,Quantity,UnitPrice\n1,7,1,2.0\n")
    write(
        "dated",
        "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
        "1,7,2024-01-02,1,2.0\n2,8,2024-01-03,2,3.0\n3,9,2024-01-04,1,9.0\n",
    )
    write("blocker", "a file where the output folder should go")
    write("no_columns", "x,y\n1,2\n3,4\n")

    files["model"] = folder / "trained" / "model.json"
    code = main(
        [
            "run",
            "--input",
            str(files["customers"]),
            "--k-range",
            "2-3",
            "--out",
            str(folder / "trained"),
        ]
    )
    assert code == 0
    document = json.loads(files["model"].read_text())
    write("foreign", json.dumps({"weights": [1, 2, 3]}))
    write("not_json", "this is not json")
    write("tampered", json.dumps(dict(document, segment_names=["a", "b"])))
    write("newer", json.dumps(dict(document, format_version=99)))
    # A model saved before models stored their training distribution (checksum intact).
    before = {key: value for key, value in document.items() if key != "training"}
    write("old_model", json.dumps(dict(before, sha256=_checksum(before))))
    write("no_ids", make_customers(60, seed=4).drop(columns=["CustomerID"]).to_csv(index=False))
    return files


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case of :data:`CASES` run once as a process: name -> completed process."""
    folder = tmp_path_factory.mktemp("bad_inputs")
    files = _write_inputs(folder)

    def execute(name: str):
        arguments, _ = CASES[name]
        argv = [part.format(**files) for part in arguments]
        if argv[0] != "predict" and "--out" not in argv:
            argv += ["--out", str(folder / "out" / name.replace(" ", "_"))]
        return subprocess.run(
            [*_command(), *argv],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=folder,
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(CASES, pool.map(execute, CASES), strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_bad_input_gives_one_sentence_and_exit_code_2(outcomes, name):
    process = outcomes[name]
    _, fragments = CASES[name]
    assert process.returncode == 2, (process.returncode, process.stderr)
    assert process.stdout == ""
    lines = process.stderr.splitlines()
    assert len(lines) == 1, process.stderr
    line = lines[0]
    assert line.startswith("error: ")
    for marker in ("Traceback", "Warning", "warning", "`"):
        assert marker not in line, line
    for fragment in fragments:
        assert fragment in line, line
