"""The --engine dask paths (segmentation.distributed): the same RFM table as in process, from
partitioned Parquet and CSV made here; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from segmentation.errors import SegmentationError
from segmentation.io import read_table
from segmentation.rfm import rfm_scores, transactions_to_rfm

dask = pytest.importorskip("dask")
pytest.importorskip("distributed")

from segmentation.distributed import transactions_to_rfm_dask  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data"


def _parts(df, folder, n_parts, suffix):
    folder.mkdir()
    bounds = [len(df) * i // n_parts for i in range(n_parts + 1)]
    for i in range(n_parts):
        part = df.iloc[bounds[i] : bounds[i + 1]]
        if suffix == ".parquet":
            part.to_parquet(folder / f"part{i:02d}.parquet")
        else:
            part.to_csv(folder / f"part{i:02d}.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def retail():
    path = DATA / "online_retail.parquet"
    if not path.exists():
        pytest.fail(f"real data not available at {path}")
    return read_table(path)


def test_rfm_from_parquet_parts_is_the_in_process_table(dask_client, retail, tmp_path):
    folder = _parts(retail, tmp_path / "log", 5, ".parquet")
    expected, _ = transactions_to_rfm(retail)
    with dask_client.as_current():
        got, log = transactions_to_rfm_dask(folder)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert len(got) == 4338
    # The scores and names, computed on the collected table, are the in-process ones exactly.
    pd.testing.assert_frame_equal(rfm_scores(got), rfm_scores(expected))
    assert "Read 541,909 transaction rows on Dask (5 partitions)." in log


def test_rfm_from_csv_parts_by_glob_with_as_of(retail, tmp_path):
    sample = retail.iloc[:60_000]
    folder = _parts(sample, tmp_path / "log", 3, ".csv")
    expected, _ = transactions_to_rfm(read_table(folder / "part00.csv"), as_of="2011-01-01")
    with dask.config.set(scheduler="sync"):
        got, _ = transactions_to_rfm_dask(str(folder / "part00.*"), as_of="2011-01-01")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    every, _ = transactions_to_rfm(sample, as_of="2011-01-01")
    with dask.config.set(scheduler="sync"):
        got_all, _ = transactions_to_rfm_dask(str(folder / "*.csv"), as_of="2011-01-01")
    pd.testing.assert_frame_equal(got_all, every, check_exact=False, rtol=1e-12)


def test_rfm_errors_are_clear(retail, tmp_path):
    with pytest.raises(SegmentationError, match="No transactions file found"):
        transactions_to_rfm_dask(tmp_path / "nothing-here")
    folder = _parts(retail.iloc[:1000], tmp_path / "log", 2, ".parquet")
    with dask.config.set(scheduler="sync"):
        with pytest.raises(SegmentationError, match="price column 'Price' is not in the"):
            transactions_to_rfm_dask(folder, price_col="Price")
        with pytest.raises(SegmentationError, match="No transaction is left"):
            transactions_to_rfm_dask(folder, as_of="2000-01-01")


def test_segment_rfm_on_dask_writes_the_in_process_rfm_table(dask_client, retail, tmp_path):
    from segmentation.cli import main

    sample = retail.iloc[:40_000]
    folder = _parts(sample, tmp_path / "log", 3, ".parquet")
    sample.to_parquet(tmp_path / "log.parquet")
    common = ["--k", "3"]
    assert (
        main(
            [
                "rfm",
                "--transactions",
                str(tmp_path / "log.parquet"),
                "--out",
                str(tmp_path / "in"),
                *common,
            ]
        )
        == 0
    )
    address = dask_client.scheduler.address
    assert (
        main(
            [
                "rfm",
                "--transactions",
                str(folder),
                "--engine",
                "dask",
                "--scheduler",
                address,
                "--out",
                str(tmp_path / "on_dask"),
                *common,
            ]
        )
        == 0
    )
    in_process = pd.read_csv(tmp_path / "in" / "rfm_customers.csv")
    on_dask = pd.read_csv(tmp_path / "on_dask" / "rfm_customers.csv")
    pd.testing.assert_frame_equal(on_dask, in_process, check_exact=False, rtol=1e-12)
    assert {"R_score", "F_score", "M_score", "RFM_segment"} <= set(on_dask.columns)
    in_summary = json.loads((tmp_path / "in" / "cluster_summary.json").read_text())
    dask_summary = json.loads((tmp_path / "on_dask" / "cluster_summary.json").read_text())
    assert dask_summary["rfm"]["crosstab"] == in_summary["rfm"]["crosstab"]
