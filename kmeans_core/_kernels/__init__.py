"""The engine's numba kernels.

Wide vectors. On Intel's server cores with AVX-512 (Skylake-SP and later) LLVM keeps to 256-bit
vectors by default (its "prefer-256-bit" tuning, against the clock drops of 512-bit code on the
first of those cores). The tile kernels hold eight float64 lanes, exactly one 512-bit register,
so before numba compiles anything it is told to drop that preference: on an Emerald Rapids VM,
2 threads, whole fits 1M x 64 x 128 (10 iterations) 6.6 -> 4.6 s, 1M x 8 x 8 0.48 -> 0.36 s,
100k x 16 x 128 0.58 -> 0.48 s, the same labels and inertias (``benchmarks/README.md``). Elsewhere
(no AVX-512, or AMD's cores, which have no such preference) nothing changes.

numba has one target machine per process, so this holds for all the process's numba code
compiled afterwards; it is skipped when numba has already compiled something, or when the CPU's
features were chosen through ``NUMBA_CPU_NAME`` or ``NUMBA_CPU_FEATURES`` (which is also how to
opt out).
"""

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
