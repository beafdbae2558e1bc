"""Micro-benchmarks against scikit-learn: ``python -m benchmarks.compare micro``.

Runs ``benchmarks/test_micro.py`` under pytest-benchmark (each operation, ours and
scikit-learn's, on the same data in one run, after checking both give the same answer) and
writes the medians and their ratios to ``results/micro.md`` and ``results/micro.json``. Extra
arguments go to pytest (for example ``-k predict``).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"


def summarise(report: dict) -> list[dict]:
    """One row per group: the median seconds of ours and of scikit-learn's, and their ratio.

    Parameters
    ----------
    report : dict
        pytest-benchmark's JSON report.

    Returns
    -------
    list of dict
        ``group``, ``kmeans_core_s``, ``scikit_learn_s``, ``speedup`` (scikit-learn / ours).
    """
    groups: dict[str, dict] = {}
    for bench in report["benchmarks"]:
        implementation = bench["params"]["implementation"]
        groups.setdefault(bench["group"], {})[implementation] = bench["stats"]["median"]
    rows = []
    for group, medians in groups.items():
        if set(medians) != {"kmeans_core", "scikit-learn"}:
            continue
        ours, theirs = medians["kmeans_core"], medians["scikit-learn"]
        rows.append(
            {
                "group": group,
                "kmeans_core_s": ours,
                "scikit_learn_s": theirs,
                "speedup": theirs / ours,
            }
        )
    return rows


def markdown(rows: list[dict], machine: str) -> str:
    lines = [
        "# Micro-benchmarks against scikit-learn",
        "",
        f"`python -m benchmarks.compare micro` on {machine}: median seconds of each operation",
        "(pytest-benchmark, same data, same threads, same run; both answers checked equal).",
        "",
        "| operation | kmeans_core | scikit-learn | speed-up |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['group']} | {row['kmeans_core_s'] * 1e3:.1f} ms "
            f"| {row['scikit_learn_s'] * 1e3:.1f} ms | {row['speedup']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import pytest

    argv = list(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        code = pytest.main(
            [
                str(HERE / "test_micro.py"),
                "-p",
                "no:cacheprovider",
                f"--benchmark-json={report_path}",
                "--benchmark-columns=min,median,rounds",
                *argv,
            ]
        )
        if code != 0 or not report_path.exists():
            print("The micro-benchmarks failed; nothing written.", file=sys.stderr)
            return int(code) or 1
        report = json.loads(report_path.read_text())
    rows = summarise(report)
    info = report.get("machine_info", {})
    cpu = info.get("cpu", {}).get("brand_raw") or platform.processor() or "unknown CPU"
    machine = f"{cpu}, {info.get('cpu', {}).get('count', '?')} cores"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "micro.json").write_text(
        json.dumps({"machine": machine, "datetime": report.get("datetime"), "rows": rows}, indent=2)
        + "\n"
    )
    (RESULTS_DIR / "micro.md").write_text(markdown(rows, machine))
    print(markdown(rows, machine))
    print(f"wrote {RESULTS_DIR / 'micro.md'} and micro.json")
    return 0
