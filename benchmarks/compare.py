"""One command for every benchmark: ``python -m benchmarks.compare <name> [options]``.

A thin dispatcher: each benchmark lives in its own module, imported only when asked for, so a
missing or broken module fails only its own subcommand.
"""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, what it measures)
BENCHMARKS = {
    "fit": ("benchmarks.bench_fit", "KMeans.fit against scikit-learn, faiss-cpu, sklearnex"),
    "metrics": ("benchmarks.bench_metrics", "clustering metrics and PCA against scikit-learn"),
    "segment": ("benchmarks.bench_segment", "the whole `segment run` pipeline"),
    "cold": ("benchmarks.cold_start", "cold start (empty numba cache) and warm start"),
    "kernels": ("benchmarks.bench_kernels", "nearest-center kernels: tiles against rows"),
    "kprototypes": ("benchmarks.bench_kprototypes", "KPrototypes against kmodes, up to 1M rows"),
    "micro": ("benchmarks.bench_micro", "building blocks against scikit-learn (pytest-benchmark)"),
    "quality": ("benchmarks.bench_quality", "Centroid Index on the Fränti sets, refine='swap'"),
    "sweep-refine": ("benchmarks.bench_sweep_refine", "the k sweep: restarts or refine='swap'"),
    "dask": ("benchmarks.bench_dask", "KMeans on Dask against dask-ml and against one machine"),
    "k-rules": ("benchmarks.bench_k_rules", "the k each rule chooses on the data sets of data/"),
    "stability": ("benchmarks.bench_stability", "bootstrap stability: replicates, starts, cost"),
}


def _usage():
    lines = ["usage: python -m benchmarks.compare <benchmark> [options]", "", "benchmarks:"]
    lines += [f"  {name:<12} {about}" for name, (_, about) in BENCHMARKS.items()]
    lines.append("")
    lines.append("Options depend on the benchmark; see `python -m benchmarks.compare fit --help`.")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Run the benchmark named by the first argument with the remaining arguments.

    Returns
    -------
    int
        The benchmark's exit code; 2 for an unknown or unavailable benchmark.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in BENCHMARKS:
        print(
            f"Unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}.", file=sys.stderr
        )
        return 2
    module_name = BENCHMARKS[name][0]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            print(
                f"The {name!r} benchmark is not available yet: {module_name} does not exist.",
                file=sys.stderr,
            )
        else:
            print(f"The {name!r} benchmark cannot run: {error}.", file=sys.stderr)
        return 2
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
