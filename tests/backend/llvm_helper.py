"""Run a graph through fusion, the lowering and the JIT, calling ``graphc_main`` through ctypes
(no native entry, no disk cache): the lowering's tests exercise only the stages they name."""

from __future__ import annotations

import ctypes

import numpy as np

from graphc.backend.llvm.fusion import fuse
from graphc.backend.llvm.lower import lower_graph, render
from graphc.backend.llvm.plan import plan_graph
from graphc.backend.llvm.tuning import Tuning

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


def tuning(**changes) -> Tuning:
    """This process's tuning (the JIT's vector width) with ``changes``."""
    from graphc.backend.llvm import _lowering_options

    return Tuning.from_config(**{**_lowering_options(), **changes})


def jit_tuned(fun, args, **changes):
    """(outputs, lowered module) of ``fun`` on ``args``, its optimized graph compiled with the
    tuning changed by ``changes`` (through the native entry, like ``gc.jit``)."""
    from graphc import function
    from graphc.backend.llvm import compile_lowered

    graph = function(fun).concrete(*args).graph
    lowered = render(plan_graph(fuse(graph), tuning(**changes)))
    outs = compile_lowered(graph, lowered)(*[np.asarray(a) for a in args])
    return outs, lowered


def run_graph(graph, args, do_fuse=True, blas=False, **changes):
    """Lower (after fusion unless told not to) with the default tuning changed by ``changes``,
    JIT and run ``graph`` on ``args``."""
    g = fuse(graph) if do_fuse else graph
    if changes:
        lowered = render(plan_graph(g, Tuning(blas=blas_option() if blas else None, **changes)))
    else:
        lowered = lower_graph(g, blas=blas_option() if blas else None)
    addr = _jit(lowered.ir)
    fn = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p))(addr)
    ins = [
        np.ascontiguousarray(np.asarray(a, dtype=v.dtype))
        for a, v in zip(args, graph.inputs, strict=True)
    ]
    outs = [np.empty(v.shape, v.dtype) for v in graph.outputs]
    ws = np.empty(max(lowered.workspace_bytes, 1) + 64, np.uint8)
    ptrs = [a.ctypes.data for a in ins] + [o.ctypes.data for o in outs] + [ws.ctypes.data]
    arr = (ctypes.c_void_p * len(ptrs))(*ptrs)
    assert fn(arr) == 0, "graphc_main reported running out of memory"
    return outs, lowered
