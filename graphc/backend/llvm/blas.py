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
def find() -> dict | None:
    """{dtype name: (symbol, int bits, address)} for NumPy's bundled gemm, or None; with
    ``"threads"``: ``THREADS_LOCAL``'s, when this OpenBLAS has it."""
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        found = {}
        for dtype, cands in _CANDIDATES.items():
            for name, bits in cands:
                fn = getattr(lib, name, None)
                if fn is not None:
                    found[dtype] = (name, bits, ctypes.cast(fn, ctypes.c_void_p).value)
                    break
        if len(found) == len(_CANDIDATES):
            local = getattr(lib, THREADS_LOCAL, None)
            if local is not None:
                found["threads"] = (THREADS_LOCAL, 32, ctypes.cast(local, ctypes.c_void_p).value)
            return found
    return None


def lowering_option() -> dict | None:
    """What ``lower_graph(..., blas=)`` takes: {dtype name or "threads": (symbol, int bits)}; the
    JIT must make each symbol resolve (``jit.register_symbol(symbol, address)`` with ``find()``'s
    addresses)."""
    found = find()
    return None if found is None else {d: (s, b) for d, (s, b, _) in found.items()}
