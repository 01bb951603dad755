"""Kernels that call back into the Python process: the factorizations (``ops/factor.py``) run
their NumPy evaluation, which is LAPACK, through one call per node, and ``debug_print``
(``ops/effects.py``) prints.

Why not native kernels: LAPACK's blocked factorizations are tuned per CPU, and a call per node
(the whole batch at once) costs ~10 us of Python, small next to the O(n^3) work for all but tiny
matrices (measured in the README's linear-algebra notes). Why not LAPACK's symbols directly, as
the matmul does with gemm: NumPy builds name them differently (OpenBLAS wheels, MKL,
Accelerate, NumPy 1.x wheels' unprefixed symbols), and calling ``numpy.linalg`` gives NumPy's
exact results and its ``LinAlgError`` handling on every build.

The kernel passes a constant description of the node (its primitive, attributes and types, as
JSON: the same bytes in every process, so cached object code stays valid) and an array of its
operand and result pointers to ``graphc_host_call``, a ctypes callback registered with the JIT.
ctypes takes the GIL for the callback (``graphc_main`` may run with it released), and the
callback holds no state between calls, so several threads may call at once. It cannot raise into
native code: a failure it does not expect fills the results with NaN and issues a
``RuntimeWarning`` naming the node.
"""

from __future__ import annotations

import _thread
import ctypes
import functools
import json
import math
import warnings

import numpy as np

from ...core import REGISTRY

SYMBOL = "graphc_host_call"
#: The primitives computed by a call to their NumPy evaluation (``extra["host_call"]``).
KINDS = {p: "host" for p in REGISTRY.values() if p.extra.get("host_call")}


def describe(node) -> bytes:
    """The NUL-terminated JSON the kernel hands to the callback."""
    spec = {
        "prim": node.prim.name,
        "attrs": node.attrs,
        "in": [[list(v.shape), v.dtype.str] for v in node.inputs],
        "out": [[list(v.shape), v.dtype.str] for v in node.outputs],
    }
    return json.dumps(spec, sort_keys=True).encode() + b"\0"


@functools.lru_cache(maxsize=256)
def _parse(text: bytes):
    """(primitive, attributes, [(shape, dtype, ctypes array type)] for operands and results)."""
    spec = json.loads(text)
    types = [[_typed(s, d) for s, d in spec[k]] for k in ("in", "out")]
    return REGISTRY[spec["prim"]], spec["attrs"], types[0], types[1]


def _typed(shape, dtype):
    dtype = np.dtype(dtype)
    return tuple(shape), dtype, ctypes.c_char * (math.prod(shape) * dtype.itemsize)


def _view(address: int, shape, dtype, raw) -> np.ndarray:
    if not ctypes.sizeof(raw):
        return np.empty(shape, dtype)
    return np.frombuffer(raw.from_address(address), dtype).reshape(shape)


def _call(desc: int, ptrs: int) -> None:
    """The callback: everything inside the ``try``, since nothing may unwind into native code
    (ctypes would print and drop it, leaving the results unwritten)."""
    targets, text = [], b""
    try:
        text = ctypes.string_at(desc)
        prim, attrs, ins, outs = _parse(text)
        addr = ctypes.cast(ptrs, ctypes.POINTER(ctypes.c_void_p))
        targets = [_view(addr[len(ins) + j], *t) for j, t in enumerate(outs)]
        arrays = [_view(addr[i], *t) for i, t in enumerate(ins)]
        res = prim.impl(*arrays, **attrs)
        for t, r in zip(targets, res if prim.multiple_results else (res,), strict=True):
            t[...] = r
    except BaseException as e:  # noqa: BLE001  (KeyboardInterrupt too: re-raised below)
        for t in targets:
            t[...] = np.nan
        what = "its results are NaN" if targets else "it did nothing"
        warnings.warn(f"graphc: the compiled host call {text[:-1].decode(errors='replace')} "
                      f"failed: {e!r}; {what}", RuntimeWarning, stacklevel=1)
        if isinstance(e, KeyboardInterrupt):
            _thread.interrupt_main()


_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(_call)


@functools.cache
def _register() -> None:
    """Make ``graphc_host_call`` resolve in JIT code (the callback lives as long as the module).
    Lowering a host kernel registers it, and lowering precedes every compile, cached or not."""
    from . import jit

    jit.register_symbol(SYMBOL, ctypes.cast(_CALLBACK, ctypes.c_void_p).value)


def emit_host_call(scope, f, node, reads, writes) -> str:
    """The kernel: the pointers into a stack array, then the call."""
    _register()
    ptrs = [reads[v].ptr for v in node.inputs] + [buf.ptr for _, buf in writes]
    table = f.alloca(f"[{len(ptrs)} x ptr]", 8)
    for i, p in enumerate(ptrs):
        f.do(f"store ptr {p}, ptr {f.gep('ptr', table, str(i))}, align 8")
    text = describe(node)
    text += b"\0" * (-len(text) % 8)  # as int64 words: the constant globals' element types
    desc = scope.global_array(np.frombuffer(text, np.int64))
    f.do(f"call void @{SYMBOL}(ptr {desc.ptr}, ptr {table})")
    shapes = ", ".join(str(tuple(v.shape)) for v in node.inputs)
    return f"{node.prim.name} {shapes} (NumPy's LAPACK, through a host call)"
