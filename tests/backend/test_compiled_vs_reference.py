"""Compiled code equals the reference evaluator, for every primitive, dtype and a set of shapes.

Exact ops are compared bit for bit (NaN == NaN, and signed zeros only as values); math functions
are not compared with each other but each with the exact result (tests/oracles.py): compiled within
graphc's mathlib bounds, reference within NumPy's (it runs NumPy's functions, whose last bits
differ between CPUs); reductions within the error bound stated in kernels.py; dot_general within
K * u * sum|a||b|.
"""

from __future__ import annotations

import warnings

import numpy as np
import oracles
import pytest
from oracles import GRAPHC_ULP, NUMPY_ULP

from graphc.backend.reference import evaluate
from graphc.ir import Builder, TensorType
from graphc.ops import REGISTRY
from graphc.ops import elementwise as ew
from graphc.ops import reduce as red
from graphc.ops import shape as sh
from graphc.ops.call import fused
from graphc.ops import indexing as ix
from graphc.ops.control import cond, remat, scan, while_grad, while_loop
from graphc.ops.linalg import dot_general
from graphc.trace import pytree

from .cases import SHAPE_CASES, one_node, special_values
from .llvm_helper import blas_option, run_graph

F, I, B = ("float32", "float64"), ("int32", "int64"), ("bool",)
BINARY_SHAPES = [
    ((), ()),
    ((7,), (7,)),
    ((3, 1), (1, 4)),
    ((2, 1, 33), (4, 33)),
    ((), (2, 3)),
    ((5, 0), (1, 0)),
]
#: Binary primitives whose compiled results equal NumPy's bit for bit.
EXACT_BINARY = [
    ew.add,
    ew.sub,
    ew.mul,
    ew.maximum,
    ew.minimum,
    ew.equal,
    ew.not_equal,
    ew.less,
    ew.less_equal,
    ew.greater,
    ew.greater_equal,
    ew.rem,
]
UNARY_SHAPES = [(), (1,), (17,), (3, 1, 5)]
MATH = {
    ew.exp: {},
    ew.expm1: {},
    ew.log: {"positive": True},
    ew.log1p: {"low": -0.99},
    ew.sqrt: {"positive": True},
    ew.sin: {"no_huge": True},
    ew.cos: {"no_huge": True},
    ew.tanh: {},
}


def _compare(graph, args, exact=True, rtol=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = evaluate(graph, args)
    got, lowered = run_graph(graph, args)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        if exact:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * 1e-3, equal_nan=True)
    return lowered


def _args(graph, rng, **domain):
    return [special_values(v.dtype, v.shape, rng, **domain) for v in graph.inputs]


def _check_math(graph, args):
    """The one-node math graph, compiled and on the reference backend, against the exact result."""
    fname, dtype = graph.nodes[0].prim.name, graph.outputs[0].dtype
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (ref,) = evaluate(graph, args)
    (got,), _ = run_graph(graph, args)
    oracles.assert_ulp(got, fname, args, dtype, oracles.bound(GRAPHC_ULP, fname, dtype), "compiled")
    oracles.assert_ulp(ref, fname, args, dtype, oracles.bound(NUMPY_ULP, fname, dtype), "reference")


# - elementwise ------------------------------------------------------------------------------------
@pytest.mark.parametrize("prim", EXACT_BINARY)
@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_binary_exact(prim, dtype, shapes):
    g = one_node(prim, [(s, dtype) for s in shapes])
    _compare(g, _args(g, np.random.default_rng(1)))


@pytest.mark.parametrize(
    "prim", [ew.equal, ew.not_equal, ew.less, ew.greater_equal, ew.logical_and, ew.logical_or]
)
def test_bool_binary(prim):
    g = one_node(prim, [((3, 1), "bool"), ((1, 5), "bool")])
    _compare(g, _args(g, np.random.default_rng(2)))


@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("shapes", BINARY_SHAPES[:4])
def test_div_exact(dtype, shapes):
    g = one_node(ew.div, [(s, dtype) for s in shapes])
    _compare(g, _args(g, np.random.default_rng(3)))


@pytest.mark.parametrize("prim", [ew.neg, ew.abs_, ew.sign])
@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_unary_exact(prim, dtype, shape):
    g = one_node(prim, [(shape, dtype)])
    _compare(g, _args(g, np.random.default_rng(4)))


@pytest.mark.parametrize("prim", [ew.floor, ew.ceil])
@pytest.mark.parametrize("dtype", F)
@pytest.mark.parametrize("shape", UNARY_SHAPES)
def test_rounding_exact(prim, dtype, shape):
    g = one_node(prim, [(shape, dtype)])
    _compare(g, _args(g, np.random.default_rng(4)))


def _c_div_rem(a, b, bits):
    """C's truncating ``/`` and ``%`` on Python ints, wrapped to ``bits``; 0 and 0 for b == 0."""
    if b == 0:
        return 0, 0
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    half = 2 ** (bits - 1)
    return (q + half) % (2 * half) - half, a - q * b


@pytest.mark.parametrize("dtype", I)
def test_integer_div_rem_never_trap(dtype):
    """x / 0, x % 0 and INT_MIN / -1 trap or are undefined in C; compiled and reference give
    x / 0 == x % 0 == 0 (NumPy's x // 0) and INT_MIN / -1 == INT_MIN, for every pairing."""
    info = np.iinfo(dtype)
    vals = np.array([0, 1, -1, 7, -7, 3, info.min, info.max, info.min + 1], dtype)
    x, y = (a.ravel() for a in np.meshgrid(vals, vals))
    want = np.array([_c_div_rem(int(a), int(b), info.bits) for a, b in zip(x, y, strict=True)])
    for k, prim in enumerate([ew.div, ew.rem]):
        g = one_node(prim, [(x.shape, dtype), (y.shape, dtype)])
        _compare(g, [x, y])
        (got,), _ = run_graph(g, [x, y])
        np.testing.assert_array_equal(got, want[:, k].astype(dtype))


def test_signed_zero_and_nan_semantics():
    x = np.array([-0.0, 0.0, np.nan, -np.nan], np.float32)
    for prim, want_bits in [(ew.abs_, None), (ew.sign, None)]:
        g = one_node(prim, [((4,), "float32")])
        (got,), _ = run_graph(g, [x])
        ref = prim.impl(x)
        np.testing.assert_array_equal(np.signbit(got[:2]), np.signbit(ref[:2]))
        assert np.isnan(got[2:]).all()


def test_not_and_select():
    g = one_node(ew.logical_not, [((6,), "bool")])
    _compare(g, _args(g, np.random.default_rng(5)))
    for d in F + I + B:
        g = one_node(ew.select, [((2, 1), "bool"), ((1, 7), d), ((), d)])
        _compare(g, _args(g, np.random.default_rng(6)))


@pytest.mark.parametrize("src", F + I + B)
@pytest.mark.parametrize("dst", F + I + B)
def test_convert(src, dst):
    """Out-of-range and NaN float->int casts give INT_MIN, as NumPy on x86 does."""
    g = one_node(ew.convert, [((13,), src)], {"dtype": np.dtype(dst)})
    _compare(g, _args(g, np.random.default_rng(7)))


@pytest.mark.parametrize("prim", list(MATH))
@pytest.mark.parametrize("dtype", F)
@pytest.mark.parametrize("shape", [(), (37,)])
def test_math(prim, dtype, shape):
    g = one_node(prim, [(shape, dtype)])
    _check_math(g, _args(g, np.random.default_rng(8), **MATH[prim]))


@pytest.mark.parametrize("dtype", F)
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_copysign_bit_for_bit(dtype, shapes):
    """Signed zeros, infinities and NaN of either sign among the operands."""
    g = one_node(ew.copysign, [(s, dtype) for s in shapes])
    special = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, -np.nan], dtype)
    rng = np.random.default_rng(3)
    args = [rng.choice(special, size=s).astype(dtype) for s in shapes]
    _compare(g, args)


@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("idx_dtype", ["int32", "int64"])
def test_gather_and_scatter_add(dtype, axis, idx_dtype):
    """Negative, repeated and out-of-range indices, a 2-D index array, on every axis, alone and
    fused with elementwise work (the gather rule) and as its own kernel (scatter_add)."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((3, 4, 5)) * 4).astype(dtype)
    n = x.shape[axis]
    idx = rng.integers(-n - 2, n + 2, size=(2, 3)).astype(idx_dtype)
    upd_shape = x.shape[:axis] + idx.shape + x.shape[axis + 1 :]
    upd = (rng.standard_normal(upd_shape) * 4).astype(dtype)
    b = Builder("g")
    xi, ii, ui = b.add_input(TensorType(x.shape, x.dtype)), b.add_input(
        TensorType(idx.shape, idx.dtype)), b.add_input(TensorType(upd.shape, upd.dtype))
    (g,) = b.emit(ix.gather, [xi, ii], {"axis": axis})
    (s,) = b.emit(ix.scatter_add, [xi, ii, ui], {"axis": axis})
    (h,) = b.emit(ew.add, [g, ui], {})
    _compare(b.build([g, s, h]), [x, idx, upd])


@pytest.mark.parametrize("dtype", F + I + ("bool",))
@pytest.mark.parametrize("shape,axis", [((1,), 0), ((7,), 0), ((5, 9), 0), ((5, 9), 1),
                                        ((2, 1000), 1), ((3, 4, 6), 1), ((2, 0), 0)])
def test_argsort(dtype, shape, axis):
    """The native merge sort against NumPy's stable sort: ties (many repeated values), NaN,
    signed zeros and infinities, every axis, lengths of 1, odd and 1000."""
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(shape) * 2).round(0).astype(dtype)
    if np.dtype(dtype).kind == "f" and x.size > 4:
        x.flat[:4] = [np.nan, -0.0, 0.0, -np.inf]
    g = one_node(ix.argsort, [(shape, dtype)], {"axis": axis})
    _compare(g, [x])


@pytest.mark.parametrize("prim", [ew.pow_, ew.atan2])
@pytest.mark.parametrize("dtype", F)
def test_math_binary(prim, dtype):
    g = one_node(prim, [((5, 1), dtype), ((1, 9), dtype)])
    rng = np.random.default_rng(9)
    args = [
        np.abs(rng.standard_normal((5, 1))).astype(dtype) + 0.1,
        rng.standard_normal((1, 9)).astype(dtype),
    ]
    _check_math(g, args)


# - shape primitives (their rows: cases.SHAPE_CASES) -----------------------------------------------
@pytest.mark.parametrize("prim,ins,attrs", SHAPE_CASES, ids=lambda x: getattr(x, "name", ""))
def test_shape_ops(prim, ins, attrs):
    g = one_node(prim, ins, attrs)
    _compare(g, _args(g, np.random.default_rng(10)))


@pytest.mark.parametrize("dtype", F + I)
def test_iota_and_constants(dtype):
    for shape, dim in [((5,), 0), ((3, 4), 1), ((3, 4), 0)]:
        _compare(
            one_node(sh.iota, [], {"shape": shape, "dtype": np.dtype(dtype), "dimension": dim}), []
        )
    arr = np.arange(12, dtype=dtype).reshape(3, 4)
    _compare(one_node(sh.constant, [], {"value": _lit(arr)}), [])
    _compare(one_node(sh.constant, [], {"value": _lit(np.asarray(3, dtype))}), [])


def _lit(a):
    from graphc.ir import Literal

    return Literal(a)


# - reductions -------------------------------------------------------------------------------------
REDUCE_SHAPES = [
    ((7,), (0,)),
    ((5, 300, 7), (1,)),
    ((5, 300, 7), (0, 2)),
    ((5, 300, 7), (2,)),
    ((33, 17), (0, 1)),
    ((4, 0), (1,)),
    ((3, 1), (0,)),
    ((), ()),
]


def _sum_bound(x, axes, d):
    """kernels.py's bounds: (BLOCK - 1 + log2 blocks) * u * sum|x| for blocked sums, (n - 1) * u *
    sum|x| for sums folded row by row; plus one u of slack for the float64 reference."""
    n = max(1, int(np.prod([x.shape[a] for a in axes])))
    u = np.finfo(d).eps / 2
    k = max(n - 1, 127 + np.ceil(np.log2(max(1, n / 128)))) + 1
    return k * u * np.sum(np.abs(x.astype(np.float64)), axis=axes)


@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("shape,axes", REDUCE_SHAPES)
def test_reduce_sum(dtype, shape, axes):
    g = one_node(red.reduce_sum, [(shape, dtype)], {"axes": axes})
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    (got,), _ = run_graph(g, [x])
    if np.dtype(dtype).kind == "i":
        np.testing.assert_array_equal(got, red.reduce_sum.impl(x, axes))
    else:
        exact = np.sum(x.astype(np.float64), axis=axes)
        assert np.all(np.abs(got - exact) <= _sum_bound(x, axes, dtype))


def test_sum_accuracy_vs_numpy_large():
    """A million float32 values: within the stated bound and no worse than 4x NumPy's error on
    average over several draws (both are far below the bound)."""
    g = one_node(red.reduce_sum, [((1_000_000,), "float32")], {"axes": (0,)})
    errs, np_errs = [], []
    for seed in range(4):
        x = np.random.default_rng(seed).random(1_000_000).astype(np.float32)
        (got,), _ = run_graph(g, [x])
        exact = np.sum(x.astype(np.float64))
        errs.append(abs(float(got) - exact))
        np_errs.append(abs(float(np.sum(x)) - exact))
        assert errs[-1] <= _sum_bound(x, (0,), "float32")
    assert np.mean(errs) <= 4 * np.mean(np_errs) + 1e-3


@pytest.mark.parametrize("prim", [red.reduce_max, red.reduce_min, red.reduce_prod])
@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("shape,axes", [s for s in REDUCE_SHAPES if 0 not in s[0]])
def test_reduce_other(prim, dtype, shape, axes):
    g = one_node(prim, [(shape, dtype)], {"axes": axes})
    rng = np.random.default_rng(12)
    x = (
        rng.standard_normal(shape).astype(dtype)
        if prim is not red.reduce_prod
        else (1 + 0.01 * rng.standard_normal(shape)).astype(dtype)
    )
    if prim is not red.reduce_prod and np.dtype(dtype).kind == "f" and x.size > 3:
        x.reshape(-1)[3] = np.nan  # NaN propagates like np.max
    exact = prim is not red.reduce_prod or np.dtype(dtype).kind == "i"
    _compare(g, [x], exact=exact, rtol=1e-4 if dtype == "float32" else 1e-12)


def test_reduce_bool_max_min():
    for prim in (red.reduce_max, red.reduce_min):
        g = one_node(prim, [((4, 6), "bool")], {"axes": (1,)})
        _compare(g, _args(g, np.random.default_rng(13)))


@pytest.mark.parametrize("dtype", F + I)
@pytest.mark.parametrize("shape,axis", [((9,), 0), ((4, 6), 1), ((4, 6), 0), ((2, 3, 5), 1)])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum(dtype, shape, axis, reverse):
    g = one_node(red.cumsum, [(shape, dtype)], {"axis": axis, "reverse": reverse})
    x = (np.random.default_rng(14).standard_normal(shape) * 10).astype(dtype)
    _compare(g, [x])  # sequential like NumPy: exact


# - dot_general ------------------------------------------------------------------------------------
MATMULS = [  # lhs shape, rhs shape, contracting, batch
    ((7, 5), (5, 9), ((1,), (0,)), ((), ())),
    ((37, 19), (19, 45), ((1,), (0,)), ((), ())),  # gemm with row and column tails
    ((19, 37), (45, 19), ((0,), (1,)), ((), ())),  # both transposed (rhs packed)
    ((3, 4, 5), (3, 5, 2), ((2,), (1,)), ((0,), (0,))),  # batched, narrow N
    ((2, 13, 6), (6, 2, 40), ((2,), (0,)), ((0,), (1,))),  # batch axis in the middle of rhs
    ((5,), (5, 3), ((0,), (0,)), ((), ())),  # vector @ matrix
    ((4, 5), (5,), ((1,), (0,)), ((), ())),  # matrix @ vector
    ((3, 2, 4), (2, 4, 20), ((1, 2), (0, 1)), ((), ())),  # two contracting axes
    ((6, 0), (0, 17), ((1,), (0,)), ((), ())),  # K = 0
    ((1, 1), (1, 1), ((1,), (0,)), ((), ())),
    ((2,), (3,), ((), ()), ((), ())),  # outer product (K = 1, no axes)
    ((), (2, 3), ((), ()), ((), ())),  # scalar times matrix
    ((2, 3, 4), (4, 3, 1), ((1, 2), (1, 0)), ((), ())),  # contracting order differs: rhs packed
    ((3, 5, 2), (2, 5), ((2,), (0,)), ((1,), (1,))),  # batch axis not first
    ((7, 400), (400, 21), ((1,), (0,)), ((), ())),  # k blocked (2 passes of 200) with tails
]


MATMULS_BLAS = [  # big enough for the BLAS path (M*N*K >= 32**3)
    ((70, 40), (40, 33), ((1,), (0,)), ((), ())),
    ((40, 70), (33, 40), ((0,), (1,)), ((), ())),  # both transposed: CblasTrans, no copy
    ((2, 40, 50), (2, 50, 20), ((2,), (1,)), ((0,), (0,))),
    ((5, 6, 40), (5, 40, 300), ((0, 2), (0, 1)), ((), ())),  # lhs packed (K axes split)
]


@pytest.mark.parametrize(
    "lhs,rhs,contracting,batch,blas",
    [(*m, False) for m in MATMULS] + [(*m, True) for m in MATMULS_BLAS],
)
@pytest.mark.parametrize("dtype", ("float32", "float64", "int32", "int64"))
def test_dot_general(lhs, rhs, contracting, batch, blas, dtype):
    g = one_node(
        dot_general, [(lhs, dtype), (rhs, dtype)], {"contracting": contracting, "batch": batch}
    )
    rng = np.random.default_rng(15)
    a = (rng.standard_normal(lhs) * 5).astype(dtype)
    b = (rng.standard_normal(rhs) * 5).astype(dtype)
    (got,), low = run_graph(g, [a, b], blas=blas)
    if blas and np.dtype(dtype).kind == "f" and "blas" not in low.kernels[0]:
        assert blas_option() is None  # only a NumPy without bundled OpenBLAS falls back
    want = dot_general.impl(a, b, contracting, batch)
    if np.dtype(dtype).kind == "i":
        np.testing.assert_array_equal(got, want)
    else:
        k = max(1, int(np.prod([lhs[i] for i in contracting[0]])))
        scale = dot_general.impl(
            np.abs(a).astype(np.float64), np.abs(b).astype(np.float64), contracting, batch
        )
        exact = dot_general.impl(a.astype(np.float64), b.astype(np.float64), contracting, batch)
        assert np.all(np.abs(got - exact) <= (k + 2) * np.finfo(dtype).eps * scale + 1e-30)


# - every primitive has a row ----------------------------------------------------------------------
def test_every_primitive_is_tested_here():
    covered = {
        *EXACT_BINARY,
        ew.logical_and,
        ew.logical_or,
        ew.div,
        ew.floor,
        ew.ceil,
        ew.neg,
        ew.abs_,
        ew.sign,
        ew.logical_not,
        ew.select,
        ew.convert,
        ew.pow_,
        ew.atan2,
        ew.copysign,
        *MATH,
        *(c[0] for c in SHAPE_CASES),
        sh.iota,
        sh.constant,
        red.reduce_sum,
        red.reduce_max,
        red.reduce_min,
        red.reduce_prod,
        red.cumsum,
        dot_general,
        fused,
        cond,  # tests/backend/test_cond_lowering.py
        while_loop, while_grad, scan,  # tests/control/test_loops.py, test_scan.py (both backends)
        remat,  # tests/control/test_checkpointing.py
        ix.gather, ix.scatter_add,  # test_gather_and_scatter_add below
        ix.argsort,  # test_argsort below
        *(p for p in REGISTRY.values() if p.extra.get("host_call")),  # test_hostcall.py
    }
    # primitives defined by later issues (control flow, ...) must be added to a table above;
    # call-like primitives (extra["inline_graph"]) are inlined before lowering: see test_custom_call
    missing = sorted(
        p.name for p in REGISTRY.values() if p not in covered and not p.extra.get("inline_graph")
    )
    assert not missing, f"primitives without a compiled-vs-reference row: {missing}"


def test_fused_node_runs_compiled():
    b = Builder("fusedcase")
    x = b.add_input(TensorType((4, 3), np.dtype("float32")))
    (e,) = b.emit(ew.exp, [x], {})
    (s,) = b.emit(red.reduce_sum, [e], {"axes": (1,)})
    g = b.build([s, e])
    xs = np.random.default_rng(16).standard_normal((4, 3)).astype(np.float32)
    (got_s, got_e), _ = run_graph(g, [xs])
    oracles.assert_ulp(got_e, "exp", [xs], np.float32, oracles.bound(GRAPHC_ULP, "exp", "float32"))
    exact_sum = oracles.correctly_rounded("exp", xs, dtype=np.float64).sum(axis=1)
    np.testing.assert_allclose(got_s, exact_sum, rtol=4 * 2.0**-23)  # 3 inexact terms, 2 adds


def test_custom_call_is_inlined_and_runs():
    import graphc as gc
    from graphc.trace.function import make_graph

    @gc.custom_gradient
    def scaled_tanh(x):
        y = gc.numpy.tanh(x) * 2.0
        return y, lambda g: g * 3.0

    x = np.linspace(-2, 2, 11).astype(np.float32)
    g = make_graph(lambda x: gc.numpy.sum(scaled_tanh(x) * x))(x)
    assert any(n.prim.extra.get("inline_graph") for n in g.nodes)
    (got,), _ = run_graph(g, [x])
    exact = np.sum(2 * oracles.correctly_rounded("tanh", x, dtype=np.float64) * x)
    np.testing.assert_allclose(got, exact, rtol=1e-6)  # same-sign terms of a few ulps each


def test_workloads_through_gc_function():
    """End to end (trace, differentiate, optimize, fuse, lower, JIT): an MLP step with softmax
    cross-entropy and W2's elementwise chain agree with the reference backend."""
    import graphc as gc
    import graphc.numpy as gnp

    def loss(p, x, y):
        h = gnp.maximum(x @ p["w1"] + p["b1"], 0)
        z = h @ p["w2"] + p["b2"]
        m = gnp.max(z, axis=1, keepdims=True)
        lse = gnp.log(gnp.sum(gnp.exp(z - m), axis=1, keepdims=True)) + m
        return -gnp.mean(gnp.sum(y * (z - lse), axis=1))

    def chain(x):
        return gnp.sum(gnp.sin(x) * gnp.exp(-x * x) + 0.5 * gnp.tanh(x) + gnp.log1p(x * x))

    rng = np.random.default_rng(17)
    p = {
        "w1": rng.standard_normal((13, 33)).astype(np.float32) * 0.3,
        "b1": rng.standard_normal(33).astype(np.float32),
        "w2": rng.standard_normal((33, 7)).astype(np.float32) * 0.3,
        "b2": np.zeros(7, np.float32),
    }
    x = rng.standard_normal((9, 13)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 9)]
    xs = rng.standard_normal(1001).astype(np.float32)
    for fun, args in [(gc.value_and_grad(loss), (p, x, y)), (gc.grad(chain), (xs,))]:
        got = gc.function(fun, backend="llvm")(*args)
        # the oracle: the same program in float64 (its math errors are ~1e-9 of a float32 ulp)
        want = gc.function(fun, backend="reference")(*_to_float64(args))
        for g, w in zip(pytree.flatten(got)[0], pytree.flatten(want)[0], strict=True):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-6)


def _to_float64(tree):
    leaves, treedef = pytree.flatten(tree)
    return pytree.unflatten(treedef, [np.asarray(v, np.float64) for v in leaves])
