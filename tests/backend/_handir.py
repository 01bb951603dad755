"""Hand-written graphc_main modules for testing the JIT, the ABI and the cache without the lowering.

``axpy``: inputs x, y of one type, output ``2*x + y`` (through the workspace when asked);
``w1``: inputs x, y f32[3], outputs ``sum((x-y)**2)`` f32[] and ``2*(x-y)`` f32[3].
"""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import numpy as np

from graphc.ir import Graph, TensorType, Value

_LL = {
    np.dtype(np.float32): ("float", "fmul", "fadd", "2.0"),
    np.dtype(np.float64): ("double", "fmul", "fadd", "2.0"),
    np.dtype(np.int32): ("i32", "mul", "add", "2"),
    np.dtype(np.int64): ("i64", "mul", "add", "2"),
}


def _arg(i: int, name: str) -> str:
    return f"  %p{i} = getelementptr ptr, ptr %args, i64 {i}\n  %{name} = load ptr, ptr %p{i}\n"


def axpy_ir(n: int, dtype, workspace: bool = False) -> str:
    """``out = 2*x + y`` over ``n`` elements; with ``workspace`` the result goes through args[3]."""
    ty, mul, add, two = _LL[np.dtype(dtype)]
    dest = "%ws" if workspace else "%o"
    copy = (
        (
            f"  %wp2 = getelementptr {ty}, ptr %ws, i64 %i\n  %wv = load {ty}, ptr %wp2\n"
            f"  %op = getelementptr {ty}, ptr %o, i64 %i\n  store {ty} %wv, ptr %op\n"
        )
        if workspace
        else ""
    )
    return (
        "define i32 @graphc_main(ptr %args) {\nentry:\n"
        + _arg(0, "x")
        + _arg(1, "y")
        + _arg(2, "o")
        + _arg(3, "ws")
        + f"  %empty = icmp eq i64 {n}, 0\n  br i1 %empty, label %done, label %loop\nloop:\n"
        "  %i = phi i64 [0, %entry], [%i1, %loop]\n"
        f"  %xp = getelementptr {ty}, ptr %x, i64 %i\n  %xv = load {ty}, ptr %xp\n"
        f"  %yp = getelementptr {ty}, ptr %y, i64 %i\n  %yv = load {ty}, ptr %yp\n"
        f"  %t = {mul} {ty} %xv, {two}\n  %r = {add} {ty} %t, %yv\n"
        f"  %dp = getelementptr {ty}, ptr {dest}, i64 %i\n  store {ty} %r, ptr %dp\n"
        + copy
        + f"  %i1 = add i64 %i, 1\n  %c = icmp ult i64 %i1, {n}\n"
        "  br i1 %c, label %loop, label %done\ndone:\n  ret i32 0\n}\n"
    )


W1_IR = (
    "define i32 @graphc_main(ptr %args) {\nentry:\n"
    + _arg(0, "x")
    + _arg(1, "y")
    + _arg(2, "v")
    + _arg(3, "g")
    + """  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i1, %loop]
  %acc = phi float [0.0, %entry], [%acc1, %loop]
  %xp = getelementptr float, ptr %x, i64 %i
  %yp = getelementptr float, ptr %y, i64 %i
  %gp = getelementptr float, ptr %g, i64 %i
  %xv = load float, ptr %xp
  %yv = load float, ptr %yp
  %d = fsub float %xv, %yv
  %d2 = fmul float %d, %d
  %gv = fmul float %d, 2.0
  store float %gv, ptr %gp
  %acc1 = fadd float %acc, %d2
  %i1 = add i64 %i, 1
  %c = icmp ult i64 %i1, 3
  br i1 %c, label %loop, label %done
done:
  store float %acc1, ptr %v
  ret i32 0
}
"""
)


def graph(in_types, out_types, name="hand") -> Graph:
    return Graph([Value(t) for t in in_types], [], [Value(t) for t in out_types], name)


def axpy_exe(shape, dtype, workspace=False):
    from graphc.backend.llvm import compile_lowered

    t = TensorType(tuple(shape), np.dtype(dtype))
    n = t.size
    low = SimpleNamespace(
        ir=axpy_ir(n, dtype, workspace),
        workspace_bytes=n * t.dtype.itemsize if workspace else 0,
        kernels=["axpy"],
    )
    return compile_lowered(graph([t, t], [t], "axpy"), low)


def w1_exe():
    from graphc.backend.llvm import compile_lowered

    f32 = np.dtype(np.float32)
    g = graph([TensorType((3,), f32)] * 2, [TensorType((), f32), TensorType((3,), f32)], "w1")
    return compile_lowered(g, SimpleNamespace(ir=W1_IR, workspace_bytes=0, kernels=["w1"]))


def _hand_compile(g: Graph):
    """A backend for graphs of shape ``(x, y) -> 2*x + y`` (any shape and numeric dtype)."""
    from graphc.backend.llvm import compile_lowered

    t = g.inputs[0].type
    low = SimpleNamespace(ir=axpy_ir(t.size, t.dtype), workspace_bytes=0, kernels=["axpy"])
    return compile_lowered(g, low)


def install_hand_backend(monkeypatch) -> str:
    """Register the axpy backend as ``"hand"`` for ``gc.function(..., backend="hand")``."""
    import graphc.backend

    mod = types.ModuleType("graphc_test_hand_backend")
    mod.compile = _hand_compile
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    monkeypatch.setitem(graphc.backend._BACKENDS, "hand", mod.__name__)
    return "hand"
