"""The one IR-text builder (irtext.Func) and what is printed with it: phis completed later, typed
returns, scalar rules printing scalar or vector code, mathlib's vector variants, the native entry."""

from __future__ import annotations

import ctypes
import re

import llvmlite.binding as llvm
import numpy as np
import pytest

from graphc.backend.llvm import jit, mathlib
from graphc.backend.llvm.entryir import entry_ir
from graphc.backend.llvm.irtext import Func
from graphc.backend.llvm.region import Emitter
from graphc.backend.llvm.scalar import SCALAR
from graphc.ir import TensorType
from graphc.ops import elementwise as ew

from .cases import one_node

F32 = np.dtype("float32")


def _count_to() -> str:
    """``i64 @count(i64 %n)``: a run-time loop counting to n (n >= 1) through a phi whose back edge
    is added after the body."""
    f = Func("count", ["i64 %n"], linkage="", ret="i64")
    f.jump("head")
    f.start_block("head")
    i = f.phi("i64", [("0", "entry")])
    nxt = f.op(f"add i64 {i.name}, 1")
    i.add(nxt, f.block)
    f.branch(f.op(f"icmp eq i64 {nxt}, %n"), "done", "head")
    f.start_block("done")
    f.ret(nxt)
    return f.text()


def test_phi_completed_later_and_typed_return_compile_and_run():
    text = _count_to()
    assert re.search(r"%t1 = phi i64 \[ 0, %entry \], \[ %t2, %head \]", text)
    assert "ret void" not in text and text.startswith("define i64 @count(i64 %n)")
    module = jit.compile_ir(text, "count")
    count = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(module.address("count"))
    assert [count(n) for n in (1, 7, 1000)] == [1, 7, 1000]


def test_a_void_function_without_terminator_returns_void():
    f = Func("k", ["ptr %p"])
    f.do("store i8 0, ptr %p, align 1")
    assert f.text().endswith("  store i8 0, ptr %p, align 1\n  ret void\n}")


def _rule_lines(prim, arity, dtype, lanes):
    node = one_node(prim, [((4,), dtype)] * arity).nodes[0]
    f = Func("k", [])
    em = Emitter(f, None, {}, {})
    em.lanes = lanes
    SCALAR[prim](em, node, [f"%x{k}" for k in range(len(node.inputs))])
    return f.lines


_RULES = [(ew.sign, 1), (ew.maximum, 2), (ew.floor, 1), (ew.abs_, 1), (ew.less, 2), (ew.add, 2)]
#: A scalar type not inside a vector type nor a splat constant.
_SCALAR_TYPE = r"(?<!x )\b(float|double|i1|i32|i64)\b(?! -?\w+\))"


@pytest.mark.parametrize("prim, arity", _RULES)
def test_one_rule_prints_scalar_or_vector_code(prim, arity):
    """The same rule, given the emitter's types: the instruction sequence is the same, every type
    is the vector's (no scalar float or i1 left), constants are splats, intrinsics overloaded."""
    scalar, vector = _rule_lines(prim, arity, "float32", None), _rule_lines(prim, arity, "float32", 8)
    assert [s.split()[2] for s in scalar] == [v.split()[2] for v in vector]
    text = "\n".join(vector)
    assert re.search(_SCALAR_TYPE, text) is None, text
    if "@llvm." in text:
        assert ".v8f32(" in text
    for s, v in zip(scalar, vector, strict=True):
        assert v.count("splat (float") == len(re.findall(r"\b0x[0-9A-F]{16}\b", s))


@pytest.mark.parametrize("name", ["gc_exp_f32", "gc_pow_f32", "gc_atan2_f64", "gc_sincos_f64"])
def test_vector_variants_are_printed_at_their_width(name):
    """mathlib prints a variant at the requested lane count directly: as many instructions as the
    scalar function, all on vectors; LLVM accepts it."""
    scalar = mathlib.definition(name)
    vector = mathlib.definition(name, 4, f"{name}_v4", "noinline")
    assert vector.startswith(f"define internal {'{' if 'sincos' in name else ''}<4 x ")
    assert f"@{name}_v4(" in vector and "noinline nounwind" in vector
    assert vector.count("\n") == scalar.count("\n")
    body = vector.split("{", 1)[1] if "sincos" not in name else vector.split(") noinline", 1)[1]
    assert re.search(_SCALAR_TYPE, body) is None, body
    llvm.parse_assembly(vector).verify()


def test_vector_variant_lanes_equal_the_scalar_function():
    """Each lane of gc_exp_f32_v4 is bit-identical to gc_exp_f32 on that lane's value."""
    text = "\n".join([
        mathlib.definition("gc_exp_f32"),
        mathlib.definition("gc_exp_f32", 4, "gc_exp_f32_v4", "noinline"),
        "define void @both(ptr %x, ptr %s, ptr %v) {",
        "  %xv = load <4 x float>, ptr %x",
        "  %r = call <4 x float> @gc_exp_f32_v4(<4 x float> %xv)",
        "  store <4 x float> %r, ptr %v",
        *[line for k in range(4) for line in (
            f"  %p{k} = getelementptr float, ptr %x, i64 {k}",
            f"  %a{k} = load float, ptr %p{k}",
            f"  %e{k} = call float @gc_exp_f32(float %a{k})",
            f"  %q{k} = getelementptr float, ptr %s, i64 {k}",
            f"  store float %e{k}, ptr %q{k}")],
        "  ret void", "}"])
    module = jit.compile_ir(text, "lanes")
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
        module.address("both"))
    x = np.array([-87.5, -1e-8, 0.6931472, 88.5], F32)
    s, v = np.empty(4, F32), np.empty(4, F32)
    fn(x.ctypes.data, s.ctypes.data, v.ctypes.data)
    np.testing.assert_array_equal(s.view(np.uint32), v.view(np.uint32))
    np.testing.assert_allclose(s, np.exp(x.astype(np.float64)), rtol=2e-7)


@pytest.mark.parametrize("nout, ws", [(1, 0), (2, 4096), (0, 64)])
def test_entry_is_built_by_func(nout, ws):
    """The native entry verifies for one, several or no outputs, with or without a workspace, and
    every SSA value in it is named by the builder (no hand-written names)."""
    ins = [TensorType((2, 3), F32), TensorType((), np.dtype("float64"))]
    outs = [TensorType((4,), np.dtype("int32"))] * nout
    text = entry_ir(ins, outs, ws, release_gil=bool(ws))
    llvm.parse_assembly(text + "declare void @graphc_main(ptr)\n").verify()
    body = text[text.index("define ptr @graphc_entry"):]
    names = set(re.findall(r"(%[\w.]+) = ", body))
    assert names and all(re.fullmatch(r"%(t|slot)\d+", n) for n in names), names
    assert ("graphc_rt_SaveThread" in body) == bool(ws)
    assert ("PyTuple_New" in body) == (nout != 1)
