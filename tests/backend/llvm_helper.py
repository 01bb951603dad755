"""Run a graph through fusion, the lowering and the JIT, calling ``graphc_main`` through ctypes
(no native entry, no disk cache): the lowering's tests exercise only the stages they name."""

from __future__ import annotations

import ctypes

import numpy as np

from graphc.backend.llvm.lower import lower_graph
from graphc.passes.fuse import fuse

_engines = []


def _jit(ir: str):
    from graphc.backend.llvm.jit import compile_ir

    module = compile_ir(ir, "test")
    _engines.append(module)
    return module.address("graphc_main")


def blas_option():
    """NumPy's bundled gemm, registered with the JIT (None when this NumPy has none)."""
    from graphc.backend.llvm import blas
    from graphc.backend.llvm.jit import register_symbol

    found = blas.find()
    if found is None:
        return None
    for name, _, address in found.values():
        register_symbol(name, address)
    return blas.lowering_option()


def run_graph(graph, args, do_fuse=True, blas=False):
    """Lower (after fusion unless told not to), JIT and run ``graph`` on ``args``."""
    g = fuse(graph) if do_fuse else graph
    lowered = lower_graph(g, blas=blas_option() if blas else None)
    addr = _jit(lowered.ir)
    fn = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p))(addr)
    ins = [
        np.ascontiguousarray(np.asarray(a, dtype=v.dtype))
        for a, v in zip(args, graph.inputs, strict=True)
    ]
    outs = [np.empty(v.shape, v.dtype) for v in graph.outputs]
    ws = np.empty(max(lowered.workspace_bytes, 1) + 64, np.uint8)
    ptrs = [a.ctypes.data for a in ins] + [o.ctypes.data for o in outs] + [ws.ctypes.data]
    arr = (ctypes.c_void_p * len(ptrs))(*ptrs)
    fn(arr)
    return outs, lowered
