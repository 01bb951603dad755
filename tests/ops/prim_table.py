"""Helpers of the primitive test table (``prim_rows.ROWS``): operand generators with domains, the
``Case`` and ``Row`` records, and reference builders.

Elementwise references never call the NumPy function a primitive wraps: math functions are the
correctly rounded results (tests/oracles.py, mpmath), checked within ``oracles.NUMPY_ULP`` because
eager and traced evaluation run NumPy's function; IEEE arithmetic is exact rational arithmetic
rounded once; everything else is computed element by element in Python and compared bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import oracles

from graphc.errors import DTypeError, GraphcError, ShapeError
from graphc.ir import Literal, TensorType

F32, F64, I32, I64, B = (np.dtype(d) for d in ("float32", "float64", "int32", "int64", "bool"))
FLOATS, INTS, ALL = (F32, F64), (I32, I64), (F32, F64, I32, I64, B)


# --- operand generators: a domain per primitive (positive for log, inside [-1, 1] for ...) -------
def gen(shape, dtype, domain="real", seed=0):
    """A deterministic array; ``domain`` is real, pos (> 0), unit (|x| < 1) or nonzero."""
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    if dtype == B:
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        lo = 1 if domain in ("pos", "nonzero") else -5
        x = rng.integers(lo, 6, size=shape)
        return np.asarray(x, dtype=dtype)
    lo, hi = {"real": (-3.0, 3.0), "pos": (0.1, 3.0), "unit": (-0.9, 0.9), "nonzero": (0.5, 3.0)}[
        domain
    ]
    x = rng.uniform(lo, hi, size=shape)
    if domain == "nonzero":
        x = x * np.where(rng.random(shape) < 0.5, -1, 1)
    return np.asarray(x, dtype=dtype)


@dataclass
class Case:
    args: tuple
    attrs: dict
    ref: Callable  # ref(*args) -> the expected array, computed with NumPy independently of impl

    def __repr__(self):
        shapes = ",".join(f"{a.dtype}{list(a.shape)}" for a in self.args)
        attrs = {k: v for k, v in self.attrs.items() if isinstance(v, (int, tuple, np.dtype))}
        return f"({shapes}){attrs or ''}"


@dataclass
class Row:
    cases: list
    #: (input types, attrs, error class) the shape rule must refuse
    rejects: list = field(default_factory=list)
    #: float tolerance; 0 means bit for bit (signed zeros included)
    rtol: float = 1e-6
    #: the oracle's function name for math rows: values are checked in ulps of the exact result
    math: str | None = None


def T(shape, dtype):
    return TensorType(tuple(shape), np.dtype(dtype))


# 0-d, size-1 axes, non-square and broadcasting shapes
UNARY_SHAPES = [(), (1,), (3, 4), (2, 1, 3), (0, 3)]
BINARY_SHAPES = [
    ((), ()),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 1, 3), (3,)),
    ((1,), (5,)),
    ((4, 3), ()),
    ((), (2, 3)),
    ((2, 3), (2, 3)),
]


def py_ref(fn, dtype=None):
    """A reference computed element by element on Python scalars of the broadcast operands (exact
    integer and IEEE semantics, no NumPy loop); the result has ``dtype``, else the first operand's.
    """

    def ref(*args):
        arrays = np.broadcast_arrays(*args)
        vals = [fn(*(v.item() for v in items)) for items in zip(*(a.ravel() for a in arrays))]
        return np.array(vals, dtype=dtype or args[0].dtype).reshape(arrays[0].shape)

    return ref


def arith_ref(name, int_op):
    """IEEE +, -, *, / on floats: the exact rational result rounded once (tests/oracles.py);
    ``int_op`` on Python ints for integers."""

    def ref(a, b):
        if a.dtype.kind == "f":
            return oracles.correctly_rounded(name, a, b, dtype=a.dtype)
        return py_ref(int_op)(a, b)

    return ref


def math_row(name, dts, domain=None, binary=False):
    """A math primitive: expected values are the correctly rounded results; values are checked
    within NumPy's bound (``oracles.NUMPY_ULP``), whose function eager and traced evaluation run."""

    def ref(*args):
        return oracles.correctly_rounded(name, *args, dtype=args[0].dtype)

    if binary:
        row = binary_row(ref, dts, domain or ("real", "real"))
    else:
        row = unary_row(ref, dts, domain or "real")
    row.math = name
    return row


def unary_row(fn, dts, domain="real"):
    """Bit-for-bit cases over UNARY_SHAPES (math_row turns them into ulp checks)."""
    cases = [Case((gen(s, d, domain),), {}, fn) for d in dts for s in UNARY_SHAPES]
    bad = next((d for d in ALL if d not in dts), None)
    rejects = [([T((2,), bad)], {}, DTypeError)] if bad is not None else []
    return Row(cases, rejects, rtol=0.0)


def binary_row(fn, dts, domains=("real", "real")):
    """Bit-for-bit cases over BINARY_SHAPES, and the shape and dtype clashes to refuse."""
    cases = [
        Case((gen(s1, d, domains[0]), gen(s2, d, domains[1], seed=1)), {}, fn)
        for d in dts
        for s1, s2 in BINARY_SHAPES
    ]
    d = dts[0]
    rejects = [
        ([T((3,), d), T((4,), d)], {}, ShapeError),
        ([T((2, 3), d), T((3, 2), d)], {}, ShapeError),
    ]
    other = next(o for o in ALL if o != d)
    for s1, s2 in (((3,), (3,)), ((), (3,)), ((3,), ())):  # (0-d: the shape rule's shortcut)
        rejects.append(([T(s1, d), T(s2, other)], {}, DTypeError))
    bad = next((o for o in ALL if o not in dts), None)
    if bad is not None:
        rejects.append(([T((3,), bad), T((3,), bad)], {}, DTypeError))
        rejects.append(([T((), bad), T((3,), bad)], {}, DTypeError))
    return Row(cases, rejects, rtol=0.0)


def _lit(x):
    return {"value": Literal(np.asarray(x))}


def _bcast_ref(shape, dims):
    def ref(x):
        expanded = x.reshape(
            [x.shape[dims.index(i)] if i in dims else 1 for i in range(len(shape))]
        )
        return np.broadcast_to(expanded, shape)

    return ref


def _pad_ref(lo, hi, interior, value):
    def ref(x):  # dilate by writing into a strided view, then np.pad the edges
        dil = [n + (n - 1) * k if n else 0 for n, k in zip(x.shape, interior, strict=True)]
        inner = np.full(dil, value, dtype=x.dtype)
        inner[tuple(slice(None, None, k + 1) for k in interior)] = x
        if x.ndim == 0:
            return inner
        return np.pad(inner, list(zip(lo, hi, strict=True)), constant_values=value)

    return ref


def _cases(spec, ref_of):
    """Cases from ``(arg arrays, attrs)`` pairs with ``ref_of(**attrs)`` as the reference."""
    return [Case(tuple(args), attrs, ref_of(**attrs)) for args, attrs in spec]


def _dot_ref(contracting, batch):
    def ref(a, b):
        (lc, rc), (lb, rb) = contracting, batch
        lfree = [i for i in range(a.ndim) if i not in (*lc, *lb)]
        rfree = [i for i in range(b.ndim) if i not in (*rc, *rb)]
        a2 = np.transpose(a, (*lb, *lfree, *lc))
        b2 = np.transpose(b, (*rb, *rc, *rfree))
        nb, k = len(lb), int(np.prod([a.shape[i] for i in lc], dtype=np.int64))
        bs = a2.shape[:nb]
        m = a2.shape[nb : nb + len(lfree)]
        n = b2.shape[nb + len(rc) :]
        out = np.matmul(a2.reshape(*bs, int(np.prod(m)), k), b2.reshape(*bs, k, int(np.prod(n))))
        return out.reshape((*bs, *m, *n)).astype(a.dtype)

    return ref


def _reduce_ref(fn):
    return lambda axes: lambda x: np.asarray(fn(x, axis=axes), dtype=x.dtype)


def _reduce_row(fn, dts, identity=True):
    spec = [
        ((gen(s, d, "pos"),), {"axes": ax})
        for d in dts
        for s, ax in [
            ((), ()),
            ((3, 4), (0,)),
            ((3, 4), (1,)),
            ((3, 4), (0, 1)),
            ((2, 1, 3), (1,)),
            ((2, 1, 3), (0, 2)),
            ((3, 4), ()),
        ]
    ]
    if identity:
        spec.append(((gen((0, 3), dts[0]),), {"axes": (0,)}))
    rejects = [
        ([T((3, 4), dts[0])], {"axes": (2,)}, ShapeError),
        ([T((3, 4), dts[0])], {"axes": (0, 0)}, ShapeError),
    ]
    if B not in dts:
        rejects.append(([T((3,), B)], {"axes": (0,)}, DTypeError))
    if not identity:
        rejects.append(([T((0, 3), dts[0])], {"axes": (0,)}, ShapeError))
    return Row(_cases(spec, _reduce_ref(fn)), rejects)


def _cumsum_ref(axis, reverse):
    def ref(x):
        if reverse:
            return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
        return np.cumsum(x, axis=axis, dtype=x.dtype)

    return ref


def _slice_ref(start, limit, strides):
    return lambda x: x[tuple(slice(a, b, c) for a, b, c in zip(start, limit, strides, strict=True))]


def _iota_ref(shape, dtype, dimension):
    return lambda: np.indices(shape, dtype=dtype)[dimension] if shape else np.zeros((), dtype)


def _sin(a):
    return oracles.correctly_rounded("sin", a, dtype=a.dtype)


def custom_vjp_row():
    """``custom_vjp_call`` evaluates its ``fwd`` graph: outputs, then residuals for ``bwd``."""
    import graphc as gc

    x = gen((2, 3), F32)
    fwd = gc.make_graph(lambda x, y: (np.sin(x) * y, x * 2))(x, x)
    bwd = gc.make_graph(lambda ct, r: (ct * r, ct))(x, x)
    attrs = {"fwd": fwd, "bwd": bwd, "n_out": 1, "bwd_mask": (True, True)}
    fwd0 = gc.make_graph(lambda s: (s * s, s))(np.float64(2.0))
    attrs0 = {
        "fwd": fwd0,
        "bwd": gc.make_graph(lambda ct, r: ct * r)(1.0, 1.0),
        "n_out": 1,
        "bwd_mask": (True,),
    }
    return Row(
        [
            Case((x, gen((2, 3), F32, seed=1)), attrs, lambda a, b: (_sin(a) * b, a * 2)),
            Case((np.asarray(1.5),), attrs0, lambda s: (s * s, s)),
        ],
        [
            ([T((2, 3), F32), T((2, 3), F64)], attrs, GraphcError),
            ([T((2, 3), F32)], attrs, GraphcError),
        ],
    )


def fused_row():
    """``fused`` (the fusion pass's region node) evaluates its ``body`` graph."""
    import graphc as gc

    def region(x, y):
        return np.exp(x) * y, (x + y).sum(axis=1)

    def region_ref(x, y):  # exp correctly rounded; the rest is exact IEEE arithmetic
        return oracles.correctly_rounded("exp", x, dtype=F64) * y, (x + y).sum(axis=1)

    def tanh_ref(s):
        return (oracles.correctly_rounded("tanh", s, dtype=F64),)

    x, y = gen((2, 3), F64), gen((1, 3), F64, seed=1)
    attrs = {"body": gc.make_graph(region)(x, y)}
    s = np.asarray(0.5)
    attrs0 = {"body": gc.make_graph(lambda s: (np.tanh(s),))(s)}
    return Row(
        [Case((x, y), attrs, region_ref), Case((s,), attrs0, tanh_ref)],
        [([T((2, 3), F64), T((2, 3), F64)], attrs, GraphcError)],
        rtol=1e-12,
    )


def cond_row():
    """``cond`` evaluates the branch its 0-d bool predicate picks (both values of the predicate,
    0-d and size-1 operands, an integer operand passed through, float32 kept)."""
    import graphc as gc

    x, n = gen((2, 3), F32), np.asarray(3, dtype=np.int32)
    true_g = gc.make_graph(lambda x, n: (x * 2, n + 1))(x, n)
    false_g = gc.make_graph(lambda x, n: (x - x, n))(x, n)
    attrs = {"true_graph": true_g, "false_graph": false_g}
    s = np.asarray(1.5)
    attrs0 = {
        "true_graph": gc.make_graph(lambda s: (np.sin(s),))(s),
        "false_graph": gc.make_graph(lambda s: (s * s,))(s),
    }
    one = np.ones(1, F64)
    attrs1 = {
        "true_graph": gc.make_graph(lambda v: (v + 1,))(one),
        "false_graph": gc.make_graph(lambda v: (-v,))(one),
    }
    bad_false = {**attrs, "false_graph": gc.make_graph(lambda x, n: (x * 2.0, x))(x, n)}
    return Row(
        [
            # n + 1 stays int32 (NEP 50; NumPy 1.x would widen a 0-d int32 plus a Python int)
            Case((np.asarray(True), x, n), attrs, lambda p, x, n: (x * 2, n + n.dtype.type(1))),
            Case((np.asarray(False), x, n), attrs, lambda p, x, n: (x - x, n)),
            Case((np.asarray(True), s), attrs0, lambda p, s: (np.sin(s),)),
            Case((np.asarray(False), s), attrs0, lambda p, s: (s * s,)),
            Case((np.asarray(False), gen((1,), F64)), attrs1, lambda p, v: (-v,)),
        ],
        [
            ([T((), np.float64), T((2, 3), F32), T((), np.int32)], attrs, DTypeError),
            ([T((2,), B), T((2, 3), F32), T((), np.int32)], attrs, DTypeError),
            ([T((), B), T((2, 3), F64), T((), np.int32)], attrs, ShapeError),
            ([T((), B), T((2, 3), F32), T((), np.int32)], bad_false, ShapeError),
        ],
        rtol=1e-12,
    )
