"""Finding the BLAS bundled with NumPy, so dot_general can call its gemm from JIT code.

NumPy's wheels ship OpenBLAS built with 64-bit integers and prefixed symbols
(``scipy_cblas_sgemm64_``); that library is already loaded by ``import numpy``. Other NumPy builds
(conda with MKL, Accelerate, a distribution's OpenBLAS) name things differently: then ``find()``
returns None and dot_general uses graphc's own register-blocked kernel, which is always available.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

#: OpenBLAS's per-calling-thread thread count (0.3.27 on): graphc's gemm calls run with 1, so
#: OpenBLAS's own threads, which spin-wait and collapse when another process takes a core (W3
#: under load: 1.7 -> 58 ms), never start; graphc splits a large product over its own threads.
THREADS_LOCAL = "openblas_set_num_threads_local"

#: OpenBLAS's name of the kernels it chose (``OPENBLAS_CORETYPE`` overrides its own choice).
CORENAME = ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename")

#: The vector width of OpenBLAS's kernels by core name: its AVX-512 targets, and its AVX2 + FMA
#: ones. A core not listed (Sandybridge, Nehalem, Prescott, ...) runs narrower, older code.
_CORE_BITS = {"skylakex": 512, "cooperlake": 512, "sapphirerapids": 512,
              "haswell": 256, "zen": 256, "skylake": 256}

#: (symbol, integer bits) candidates per dtype, most specific first.
_CANDIDATES = {
    "float32": [("scipy_cblas_sgemm64_", 64), ("scipy_cblas_sgemm", 32)],
    "float64": [("scipy_cblas_dgemm64_", 64), ("scipy_cblas_dgemm", 32)],
}


def _libraries():
    import numpy

    root = os.path.dirname(os.path.dirname(numpy.__file__))
    for pattern in ("numpy.libs/libscipy_openblas*.so*", "numpy/.dylibs/libscipy_openblas*.dylib"):
        yield from sorted(glob.glob(os.path.join(root, pattern)))


@functools.cache
def _library():
    """NumPy's bundled OpenBLAS (already loaded by ``import numpy``), or None."""
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        if all(any(hasattr(lib, name) for name, _ in c) for c in _CANDIDATES.values()):
            return lib
    return None


@functools.cache
def find() -> dict | None:
    """{dtype name: (symbol, int bits, address)} for NumPy's bundled gemm, or None; with
    ``"threads"``: ``THREADS_LOCAL``'s, when this OpenBLAS has it."""
    lib = _library()
    if lib is None:
        return None
    found = {}
    for dtype, cands in _CANDIDATES.items():
        name, bits = next((n, b) for n, b in cands if hasattr(lib, n))
        found[dtype] = (name, bits, ctypes.cast(getattr(lib, name), ctypes.c_void_p).value)
    local = getattr(lib, THREADS_LOCAL, None)
    if local is not None:
        found["threads"] = (THREADS_LOCAL, 32, ctypes.cast(local, ctypes.c_void_p).value)
    return found


@functools.cache
def core_bits() -> int | None:
    """The vector width of the kernels NumPy's OpenBLAS runs (``_CORE_BITS``; 128 for a core not
    listed), or None when it does not say its core."""
    lib = _library()
    fn = next((getattr(lib, n) for n in CORENAME if hasattr(lib, n)), None) if lib else None
    if fn is None:
        return None
    fn.restype = ctypes.c_char_p
    core = (fn() or b"").decode(errors="replace").strip().lower()
    return _CORE_BITS.get(core, 128) if core else None


def lowering_option() -> dict | None:
    """What ``lower_graph(..., blas=)`` takes: {dtype name or "threads": (symbol, int bits)} and
    ``"core_bits"``: ``core_bits()``; the JIT must make each symbol resolve
    (``jit.register_symbol(symbol, address)`` with ``find()``'s addresses)."""
    found = find()
    if found is None:
        return None
    return {**{d: (s, b) for d, (s, b, _) in found.items()}, "core_bits": core_bits()}
