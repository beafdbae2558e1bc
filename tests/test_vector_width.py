"""How ``kmeans_core._kernels`` sets numba's vector width: 512-bit vectors on CPUs with AVX-512,
unless the user chose the CPU features or numba compiled something first. Each case runs in a
fresh interpreter, since the setting only applies before numba's first compilation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from numba.core.codegen import get_host_cpu_features

HOST_FEATURES = get_host_cpu_features()
HOST_HAS_AVX512 = "+avx512f" in HOST_FEATURES.split(",")

REPORT = """
import json, numba
{before}
from kmeans_core._kernels import WIDE_VECTORS
from kmeans_core._kernels.products import GROUP
print(json.dumps({{"features": numba.config.CPU_FEATURES, "wide": WIDE_VECTORS, "group": GROUP}}))
"""


def vector_settings(before="", **env):
    """What a fresh interpreter that imports kmeans_core (after running ``before``) reports."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CPU")}
    environment.update(env)
    done = subprocess.run(
        [sys.executable, "-c", REPORT.format(before=before)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_512_bit_vectors_where_the_cpu_has_avx512():
    settings = vector_settings()
    if HOST_HAS_AVX512:
        assert settings["features"] == HOST_FEATURES + ",-prefer-256-bit"
        assert settings["wide"] is True
        assert settings["group"] == 8
    else:
        assert settings["features"] is None
        assert settings["wide"] is False
        assert settings["group"] == 4


def test_the_users_cpu_features_are_kept():
    without_avx512 = ",".join(
        "-" + feature[1:] if feature.startswith("+avx512") else feature
        for feature in HOST_FEATURES.split(",")
    )
    settings = vector_settings(NUMBA_CPU_FEATURES=without_avx512)
    assert settings["features"] == without_avx512
    assert settings["wide"] is False
    assert settings["group"] == 4


@pytest.mark.skipif(not HOST_HAS_AVX512, reason="the CPU has no AVX-512: nothing would be set")
def test_nothing_is_set_once_numba_has_compiled():
    compile_first = "numba.njit(lambda x: x + 1)(1)"
    settings = vector_settings(before=compile_first)
    assert settings["features"] is None
    assert settings["wide"] is True  # the CPU's registers, whatever the vector width
    assert settings["group"] == 8
