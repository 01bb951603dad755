"""The lowering's text, memory plan, views and errors (without comparing every primitive: see
test_compiled_vs_reference.py)."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from graphc.backend.llvm import lower as lower_mod
from graphc.backend.llvm import memory, share
from graphc.backend.llvm.fusion import fuse as fuse_graph
from graphc.backend.llvm.lower import lower_graph, missing_lowerings
from graphc.backend.llvm.region import LoweringError
from graphc.backend.llvm.tuning import Tuning
from graphc.ir import Builder, Literal, SourceLoc, TensorType
from graphc.ops import elementwise as ew
from graphc.ops import reduce as red
from graphc.ops import shape as sh
from graphc.ops.linalg import dot_general
from graphc.core import Primitive

from .llvm_helper import run_graph

F32 = np.dtype("float32")


def _chain(n=1000, prims=(ew.exp, ew.sin, ew.cos, ew.tanh)):
    b = Builder("chain")
    v = b.add_input(TensorType((n,), F32))
    for p in prims:
        (v,) = b.emit(p, [v], {})
    return b.build([v])


def test_every_primitive_has_a_lowering():
    assert missing_lowerings() == []


def test_lowering_is_pure_text():
    here = pathlib.Path(lower_mod.__file__).parent
    for name in ("lower", "irtext", "scalar", "region", "kernels", "matmul", "memory"):
        assert "import llvmlite" not in (here / f"{name}.py").read_text()


def test_entry_signature_and_determinism():
    g = _chain()
    a, b = lower_graph(g), lower_graph(g)
    assert a.ir == b.ir and a.entry == "graphc_main"
    assert "define i32 @graphc_main(ptr %args)" in a.ir  # 0, or 1: out of memory
    assert len(a.kernels) == 4  # unfused: one loop per node


def test_workspace_reuses_dead_buffers():
    """exp -> sin -> cos -> tanh unfused: three intermediates, at most two alive at once."""
    low = lower_graph(_chain(1024))
    assert low.workspace_bytes == 2 * 4096


def test_fused_chain_needs_no_workspace():
    from graphc.backend.llvm.fusion import fuse

    low = lower_graph(fuse(_chain(1000)))
    assert low.workspace_bytes == 0 and len(low.kernels) == 1


def test_planner_first_fit_and_coalescing():
    steps = [(["a"], [], []), (["b"], ["a"], []), (["c"], ["b"], ["t"]), (["d"], ["c", "a"], [])]
    sizes = {"a": 100, "b": 64, "c": 64, "d": 200, "t": 10}
    offsets, total = memory.plan(steps, sizes)
    live = [("a", 0, 3), ("b", 1, 2), ("c", 2, 3), ("d", 3, 3)]
    for k1, s1, e1 in live:  # buffers alive at the same time never overlap
        for k2, s2, e2 in live:
            if k1 < k2 and s1 <= e2 and s2 <= e1:
                r1 = range(offsets[k1], offsets[k1] + memory.round_up(sizes[k1]))
                r2 = range(offsets[k2], offsets[k2] + memory.round_up(sizes[k2]))
                assert not set(r1) & set(r2), (k1, k2)
    assert offsets["d"] != offsets["a"] and total <= 128 + 64 + 64 + 256 + 64


def test_reduction_and_matmul_text():
    b = Builder("g")
    x = b.add_input(TensorType((64, 40), F32))
    w = b.add_input(TensorType((40, 48), F32))
    (y,) = b.emit(dot_general, [x, w], {"contracting": ((1,), (0,)), "batch": ((), ())})
    (s,) = b.emit(red.reduce_sum, [y], {"axes": (0, 1)})
    low = lower_graph(b.build([s]))
    assert "fadd reassoc float" in low.ir  # blocked sums reassociate inside a block only
    assert "@llvm.fmuladd.v8f32" in low.ir  # register-blocked microkernel
    assert any("gemm" in k for k in low.kernels)


def test_array_constants_are_readonly_globals():
    b = Builder("g")
    x = b.add_input(TensorType((3,), F32))
    (c,) = b.emit(sh.constant, [], {"value": Literal(np.array([1.5, -2.0, 4.0], F32))})
    (y,) = b.emit(ew.mul, [x, c], {})
    g = b.build([y, c])
    low = lower_graph(g)
    assert "private unnamed_addr constant [3 x float]" in low.ir
    (got, const_out), _ = run_graph(g, [np.ones(3, F32)])
    np.testing.assert_array_equal(got, [1.5, -2.0, 4.0])
    np.testing.assert_array_equal(const_out, [1.5, -2.0, 4.0])


def test_outputs_that_alias_are_copied():
    """Returning an input, one value twice, and a reshape view: every output is its own buffer."""
    b = Builder("g")
    x = b.add_input(TensorType((2, 3), F32))
    (e,) = b.emit(ew.exp, [x], {})
    (r,) = b.emit(sh.reshape, [e], {"shape": (3, 2)})
    g = b.build([x, e, e, r])
    xv = np.arange(6, dtype=F32).reshape(2, 3)
    outs, low = run_graph(g, [xv], do_fuse=False)
    np.testing.assert_array_equal(outs[0], xv)
    np.testing.assert_allclose(outs[1], np.exp(xv), rtol=1e-6)
    np.testing.assert_array_equal(outs[1], outs[2])
    np.testing.assert_array_equal(outs[3], outs[1].reshape(3, 2))
    assert sum("copy" in k for k in low.kernels) == 3


def test_error_names_the_node_and_line():
    mystery = Primitive("mystery", infer=lambda types: [types[0]], impl=lambda x: x)
    b = Builder("g")
    x = b.add_input(TensorType((3,), F32))
    (y,) = b.emit(mystery, [x], {}, SourceLoc("model.py", 42))
    with pytest.raises(LoweringError, match=r"model.py:42: .*mystery"):
        lower_graph(b.build([y]))


def test_empty_arrays_and_scalars():
    b = Builder("g")
    x = b.add_input(TensorType((0, 4), F32))
    y = b.add_input(TensorType((), F32))
    (s,) = b.emit(red.reduce_sum, [x], {"axes": (0,)})
    (m,) = b.emit(ew.mul, [y, y], {})
    outs, _ = run_graph(b.build([s, m]), [np.zeros((0, 4), F32), np.float32(3)])
    np.testing.assert_array_equal(outs[0], np.zeros(4, F32))
    assert outs[1] == 9


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_math_heavy_kernels_call_vector_variants(dtype):
    """Beyond INLINE_MATH_MAX transcendentals a kernel calls the math library's vector variants
    (vecmath.py); results equal the inlined scalar functions'."""
    prims = (ew.sin, ew.exp, ew.cos, ew.tanh, ew.log1p, ew.sin, ew.exp, ew.cos, ew.expm1)
    assert len(prims) > Tuning().inline_math_max
    b = Builder("g")
    x = b.add_input(TensorType((1000,), np.dtype(dtype)))
    v = x
    for p in prims:
        (v,) = b.emit(p, [v], {})
    g = b.build([v])
    xv = np.linspace(-2, 2, 1000).astype(dtype)
    (got,), low = run_graph(g, [xv])
    assert "vector-function-abi-variant" in low.ir and "llvm.loop.vectorize.width" in low.ir
    (inlined,), low2 = run_graph(g, [xv], inline_math_max=100, explicit_vectors=False)
    assert "vector-function-abi-variant" not in low2.ir
    np.testing.assert_array_equal(got, inlined)  # same lane-wise algorithm, bit for bit


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_explicit_vector_kernels_match_scalar_loops(dtype):
    """Flat regions with few math calls become explicit vector code (one vector math definition
    per function, a scalar tail for the odd size); compares, selects, scalar operands and constant
    outputs included, the results equal the scalar loops' bit for bit."""
    d = np.dtype(dtype)
    b = Builder("g")
    x = b.add_input(TensorType((1001,), d))
    s = b.add_input(TensorType((), d))
    (e,) = b.emit(ew.exp, [x], {})
    (t,) = b.emit(ew.tanh, [e], {})
    (m,) = b.emit(ew.mul, [t, s], {})
    (c,) = b.emit(ew.greater, [x, s], {})
    (r,) = b.emit(ew.select, [c, m, x], {})
    (q,) = b.emit(ew.sqrt, [e], {})
    (lg,) = b.emit(ew.log1p, [q], {})
    (o,) = b.emit(ew.add, [r, lg], {})
    g = b.build([o, c])
    args = [np.linspace(-3, 3, 1001).astype(d), np.asarray(0.5, d)]
    (got, got_c), low = run_graph(g, args)
    lanes = 16 if dtype == "float32" else 8
    assert f"vectors of {lanes}" in low.kernels[0] and 1001 % lanes  # with a scalar tail
    assert low.ir.count(f"define internal <{lanes} x") == 3  # exp, tanh, log1p once each
    (want, want_c), low2 = run_graph(g, args, explicit_vectors=False)
    assert "vectors of" not in low2.kernels[0]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got_c, want_c)
    np.testing.assert_array_equal(got_c, args[0] > args[1])


def test_identical_kernels_are_compiled_once():
    """Unrolled loops give kernels differing only in their buffers: one definition each, called
    through address tables when there are many kernels; results stay right."""
    b = Builder("g")
    x = b.add_input(TensorType((100,), F32))
    v, outs = x, []
    for _ in range(2 * Tuning().direct_calls_max):
        (v,) = b.emit(ew.sin, [v], {})
        (v,) = b.emit(ew.add, [v, x], {})
        (w,) = b.emit(red.reduce_sum, [v], {"axes": (0,)})  # ends the region: one kernel each
        outs.append(w)
    (got), low = run_graph(b.build(outs), [np.linspace(-1, 2, 100, dtype=F32)])
    assert len(low.kernels) >= 2 * Tuning().direct_calls_max
    assert sum("same code as" in k for k in low.kernels) >= len(low.kernels) - 3
    assert ".w(ptr %args, ptr @const" in low.ir
    xv, ref = np.linspace(-1, 2, 100, dtype=F32), []
    v = xv
    for _ in range(2 * Tuning().direct_calls_max):
        v = np.sin(v) + xv
        ref.append(v.sum(dtype=np.float64))
    np.testing.assert_allclose(np.array(got, np.float64), ref, rtol=1e-5, atol=1e-4)


def test_wide_vector_setting_runs_anywhere():
    """vector_bits=512 (AVX-512 hosts) shapes the microkernel and math variants; LLVM legalizes the
    wider vectors on narrower hosts, so the results stay right."""
    b = Builder("g")
    x = b.add_input(TensorType((37, 19), F32))
    w = b.add_input(TensorType((19, 45), F32))
    (y,) = b.emit(dot_general, [x, w], {"contracting": ((1,), (0,)), "batch": ((), ())})
    for p in (ew.sin, ew.exp, ew.cos, ew.tanh, ew.sin, ew.exp, ew.cos, ew.tanh):
        (y,) = b.emit(p, [y], {})
    g = b.build([y])
    rng = np.random.default_rng(0)
    args = [
        rng.standard_normal((37, 19)).astype(F32) * 0.2,
        rng.standard_normal((19, 45)).astype(F32),
    ]
    (got,), low = run_graph(g, args, vector_bits=512)
    assert "<16 x float>" in low.ir
    want = g.nodes[0].prim.impl(*args, **g.nodes[0].attrs)
    for n in g.nodes[1:]:
        want = n.prim.impl(want)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_kernel_keys_compare_attributes_exactly():
    """Kernels are shared only when their attributes are identical, not merely equal in Python."""
    key = share.attr_key
    assert key(0.0) != key(-0.0) and key(1) != key(True) and key(1) != key(1.0)
    assert key(Literal(np.float32(0.0))) != key(Literal(np.float32(-0.0)))
    assert key((1, 2)) == key((1, 2)) and key(np.dtype("f4")) != key(np.dtype("f8"))
    with pytest.raises(TypeError):
        key(object())


def test_kernels_share_out_of_line_math():
    """A small kernel calling only functions another kernel calls out of line calls them too,
    rather than inlining its own copies (compile time); results stay right."""
    b = Builder("g")
    x = b.add_input(TensorType((64,), F32))
    v = x
    for _ in range(Tuning().inline_math_max + 1):
        (v,) = b.emit(ew.sin, [v], {})
    (s,) = b.emit(red.reduce_sum, [v], {"axes": (0,)})  # ends the big region
    (bs,) = b.emit(sh.broadcast_in_dim, [s], {"shape": (64,), "dims": ()})
    (w,) = b.emit(ew.mul, [x, bs], {})
    (w,) = b.emit(ew.sin, [w], {})
    (w,) = b.emit(ew.add, [w, x], {})
    xv = np.linspace(-0.5, 1, 64, dtype=F32)
    (got_s, got_w), low = run_graph(b.build([s, w]), [xv])
    assert "_inl(" not in low.ir and "@gc_sin_f32_s(" in low.ir
    ref = xv.astype(np.float64)
    for _ in range(Tuning().inline_math_max + 1):
        ref = np.sin(ref)
    np.testing.assert_allclose(got_s, ref.sum(), rtol=1e-5)
    np.testing.assert_allclose(got_w, np.sin(xv * got_s) + xv, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sin_and_cos_of_one_value_use_one_sincos_call(dtype):
    """Explicit vector code computes sin(u) and cos(u) with one call; the results are bit for bit
    those of the separate functions (scalar loops)."""
    d = np.dtype(dtype)
    b = Builder("g")
    x = b.add_input(TensorType((203,), d))
    (u,) = b.emit(ew.mul, [x, x], {})
    outs = []
    for p in (ew.sin, ew.cos, ew.sin):
        (v,) = b.emit(p, [u], {})
        outs.append(v)
    (w,) = b.emit(ew.add, [outs[0], outs[1]], {})
    g = b.build([w, outs[1], outs[2]])
    xv = np.linspace(-40, 40, 203).astype(d)
    got, low = run_graph(g, [xv])
    sfx = "f32" if dtype == "float32" else "f64"
    assert f"@gc_sincos_{sfx}_v" in low.ir and f"@gc_cos_{sfx}_v" not in low.ir  # tail: scalar
    want, low2 = run_graph(g, [xv], explicit_vectors=False)
    assert "sincos" not in low2.ir
    for a, e in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, e)
    np.testing.assert_allclose(got[1], np.cos(xv * xv), rtol=1e-5 if dtype == "float32" else 1e-13)


def test_a_32_bit_gemm_is_not_given_dimensions_it_would_truncate():
    from graphc.backend.llvm.matmul import DotPlan
    from graphc.trace.function import make_graph

    def plan(n, bits):
        big = np.broadcast_to(np.float32(0), (n, 4))  # a view: nothing of this size is allocated
        g = make_graph(lambda a, b: a @ b)(big, np.zeros((4, 8), np.float32))
        (node,) = [m for m in g.nodes if m.prim is dot_general]
        return DotPlan(node, 256, {"float32": ("gemm", bits)}).strategy

    assert plan(2**20, 32) == plan(2**20, 64) == "blas"
    assert plan(2**29, 32) != "blas" and plan(2**29, 64) == "blas"  # M*N = 2**32


def test_out_of_line_vector_math_has_the_callers_legal_vector_width():
    """Every vector function a kernel calls out of line declares the kernels'
    ``min-legal-vector-width``: x86 passes wide vectors in registers by that width, and a callee
    that differs reads half its lanes from the wrong registers (seen on AVX-512 CPUs preferring
    256-bit vectors: every second 256-bit half of the results repeated the first)."""
    b = Builder("g")
    x = b.add_input(TensorType((256,), F32))
    v = x
    for p in (ew.sin, ew.exp, ew.cos, ew.tanh, ew.log1p, ew.sin, ew.exp, ew.cos, ew.expm1):
        (v,) = b.emit(p, [v], {})
    for bits in (256, 512):
        ir = lower_graph(fuse_graph(b.build([v])), vector_bits=bits).ir
        vector_defs = [ln for ln in ir.splitlines() if ln.startswith("define") and " x float>" in
                       ln.split("@", 1)[0]]
        assert vector_defs
        for line in vector_defs:
            assert f'"min-legal-vector-width"="{bits}"' in line, line
