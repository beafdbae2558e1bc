"""The engine's numba kernels.

Wide vectors. On Intel's server cores with AVX-512 (Skylake-SP and later) LLVM keeps to 256-bit
vectors by default (its "prefer-256-bit" tuning, against the clock drops of 512-bit code on the
first of those cores). The tile kernels hold eight float64 lanes, exactly one 512-bit register,
so before numba compiles anything it is told to drop that preference (faster whole fits, the
same labels and inertias: ``benchmarks/README.md``). Elsewhere (no AVX-512, or AMD's cores,
which have no such preference) nothing changes.

numba has one target machine per process, so this holds for all the process's numba code
compiled afterwards; it is skipped when numba has already compiled something, or when the CPU's
features were chosen through ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES`` (which is also how to
opt out).
"""

import threading

from numba.core import config as _numba_config
from numba.core.codegen import get_host_cpu_features as _host_cpu_features
from numba.core.registry import cpu_target as _cpu_target


def _prefer_512_bit_vectors():
    if _numba_config.CPU_NAME is not None or _numba_config.CPU_FEATURES is not None:
        return  # the user chose
    if "_toplevel_target_context" in vars(_cpu_target):
        return  # numba's target machine exists already; its features are fixed
    features = _host_cpu_features()
    if "+avx512f" in features.split(","):
        _numba_config.CPU_FEATURES = features + ",-prefer-256-bit"


def _has_32_vector_registers():
    features = _numba_config.CPU_FEATURES
    if features is None:
        features = _host_cpu_features()
    return "+avx512f" in features.split(",")


_prefer_512_bit_vectors()

#: Whether the compiled code has AVX-512's 32 vector registers (else 16): kernels that keep many
#: vectors of partial sums size their groups by it (``products.GROUP``).
WIDE_VECTORS = _has_32_vector_registers()


_slp_lock = threading.Lock()
_slp_state = [0, False]  # threads inside, and the setting they found


class slp_vectorizer:  # noqa: N801 (used like a function: ``with slp_vectorizer():``)
    """Compile the kernels called inside with LLVM's SLP vectorizer on, which the tile kernels
    need (``tiles.py``). numba reads its setting whenever it compiles, and the cached machine
    code keeps what it was compiled with, so the setting matters only to a first call; it is
    process-wide, so the threads that enter share one count and the last to leave restores
    it."""

    __slots__ = ()

    def __enter__(self):
        with _slp_lock:
            if not _slp_state[0]:
                _slp_state[1] = _numba_config.SLP_VECTORIZE
                _numba_config.SLP_VECTORIZE = True
            _slp_state[0] += 1

    def __exit__(self, *exc_info):
        with _slp_lock:
            _slp_state[0] -= 1
            if not _slp_state[0]:
                _numba_config.SLP_VECTORIZE = _slp_state[1]
