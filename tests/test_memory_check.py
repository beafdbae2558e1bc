"""The memory check before a run: an input that clearly will not fit is refused in one
sentence that points to the Dask engine; ordinary inputs pass, at no cost."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from segmentation import pipeline
from segmentation.cli import main
from segmentation.errors import SegmentationError
from segmentation.io import table_size
from segmentation.pipeline import (
    RUN_MEMORY_BASE,
    RUN_MEMORY_PER_PARQUET_BYTE,
    available_memory,
    check_fits_in_memory,
)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(5_000, 8)))
    frame.columns = [f"f{i}" for i in range(8)]
    frame.to_parquet(folder / "t.parquet")
    frame.to_csv(folder / "t.csv", index=False)
    return folder


def test_table_size_reads_only_metadata_and_the_file_size(tables):
    assert table_size(tables / "t.parquet") == ("parquet", 5_000 * 8 * 8)
    assert table_size(tables / "t.csv") == ("csv", (tables / "t.csv").stat().st_size)
    assert table_size(tables / "missing.csv") is None


def test_an_input_too_large_for_the_memory_is_refused_with_the_dask_engine(tables):
    needed = RUN_MEMORY_BASE + RUN_MEMORY_PER_PARQUET_BYTE * 5_000 * 8 * 8
    check_fits_in_memory(tables / "t.parquet", available=needed)
    with pytest.raises(SegmentationError, match=r"needs about .* GiB of memory.*`engine` dask"):
        check_fits_in_memory(tables / "t.parquet", available=needed - 1)


def test_the_command_line_says_it_in_one_sentence(tables, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "available_memory", lambda: 2**20)
    code = main(["run", "--input", str(tables / "t.csv"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--engine dask" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_the_check_costs_nothing_on_an_ordinary_run(tables):
    assert available_memory() is not None  # Linux: /proc/meminfo
    started = time.perf_counter()
    for _ in range(20):
        check_fits_in_memory(tables / "t.parquet")
        check_fits_in_memory(tables / "t.csv")
    assert (time.perf_counter() - started) / 40 < 0.05  # well under a millisecond when quiet


@pytest.fixture(scope="module")
def model_file(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    code = main(
        ["run", "--input", str(tables / "t.parquet"), "--k", "3", "--bootstrap", "0"]
        + ["--out", str(out), "--quiet"]
    )
    assert code == 0
    return out / "model.json"


@pytest.mark.parametrize(
    "command, per_parquet_byte",
    [
        ("predict", pipeline.PREDICT_MEMORY_PER_PARQUET_BYTE),
        ("rfm", pipeline.RFM_MEMORY_PER_PARQUET_BYTE),
    ],
)
def test_predict_and_rfm_have_their_own_measure(tables, command, per_parquet_byte):
    needed = RUN_MEMORY_BASE + per_parquet_byte * 5_000 * 8 * 8
    check_fits_in_memory(tables / "t.parquet", available=needed, command=command)
    with pytest.raises(SegmentationError, match=r"needs about .* GiB of memory.*`engine` dask"):
        check_fits_in_memory(tables / "t.parquet", available=needed - 1, command=command)


def test_predict_is_refused_before_reading(tables, model_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "available_memory", lambda: 2**20)
    read = []
    monkeypatch.setattr(pipeline, "read_table", lambda *a, **k: read.append(a))
    target = tmp_path / "predictions.csv"
    code = main(
        ["predict", "--model", str(model_file), "--input", str(tables / "t.csv")]
        + ["--out", str(target)]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--engine dask" in err and "score" in err
    assert not read and not target.exists()


def test_rfm_is_refused_before_reading(tables, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pipeline, "available_memory", lambda: 2**20)
    read = []
    monkeypatch.setattr(pipeline, "read_table", lambda *a, **k: read.append(a))
    code = main(["rfm", "--transactions", str(tables / "t.parquet"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--engine dask" in err and "RFM" in err
    assert not read and not (tmp_path / "o").exists()


def test_ordinary_predict_and_rfm_inputs_pass(tables, model_file, tmp_path):
    target = tmp_path / "predictions.csv"
    code = main(
        ["predict", "--model", str(model_file), "--input", str(tables / "t.csv")]
        + ["--out", str(target)]
    )
    assert code == 0 and target.exists()
