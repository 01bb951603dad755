"""One ``Row`` per primitive of ``graphc.ops.REGISTRY`` (see ``test_primitives.py``): cases with
operands, attributes and an independent NumPy reference, and the inputs the shape rule must reject.
A new primitive gets its row here (``test_every_primitive_has_a_row`` says which are missing)."""

from __future__ import annotations

import itertools
import math
import operator
from fractions import Fraction

import numpy as np
import oracles
from prim_factor import debug_print_row, factor_rows, special_call_row
from prim_loops import (
    argsort_row,
    gather_row,
    remat_row,
    scan_row,
    scatter_add_row,
    while_grad_row,
    while_loop_row,
)
from prim_table import (
    ALL,
    F32,
    F64,
    FLOATS,
    I32,
    I64,
    INTS,
    B,
    Case,
    Row,
    T,
    _bcast_ref,
    _cases,
    _cumsum_ref,
    _dot_ref,
    _iota_ref,
    _lit,
    _pad_ref,
    _reduce_row,
    _slice_ref,
    arith_ref,
    binary_row,
    cond_row,
    custom_vjp_row,
    fused_row,
    gen,
    math_row,
    py_ref,
    unary_row,
)

from graphc.errors import DTypeError, ShapeError


def _c_div_ref(x, y):
    """lax.div: true division for floats; integers truncate toward zero, x / 0 == 0."""
    if x.dtype.kind == "f":
        return oracles.correctly_rounded("div", x, y, dtype=x.dtype)
    pairs = zip(*(a.ravel() for a in np.broadcast_arrays(x, y)), strict=True)
    q = [int(a / b) if b else 0 for a, b in pairs]
    return np.asarray(q, x.dtype).reshape(np.broadcast_shapes(x.shape, y.shape))


def _c_rem_ref(x, y):
    """C's fmod / integer %: the sign of x, from Python's math.fmod; integers give x % 0 == 0."""
    pairs = zip(*(a.ravel() for a in np.broadcast_arrays(x, y)), strict=True)
    r = [math.fmod(a, b) if b else 0 for a, b in pairs]
    return np.asarray(r, x.dtype).reshape(np.broadcast_shapes(x.shape, y.shape))


def _sign(v):
    return v if math.isnan(v) else type(v)((v > 0) - (v < 0))


def _rounding(fn):
    """floor/ceil on a Python float, keeping the sign of a zero result (ceil(-0.5) == -0.0)."""
    return lambda v: math.copysign(float(fn(v)), v)


def _extremum(pick):
    """NumPy's maximum/minimum: NaN wins, else ``pick`` of the two."""
    return lambda a, b: a if math.isnan(a) else (b if math.isnan(b) else pick(a, b))


def _convert(dst):
    """Casts on Python scalars: floats to integers truncate, float64 to float32 rounds once."""

    def cast(v):
        if dst.kind == "b":
            return v != 0
        if dst.kind == "i":
            return int(v)
        return oracles.round_to([Fraction(v)], dst)[0]

    return py_ref(cast, dst)


def _select_ref(p, a, b):
    return py_ref(lambda p, a, b: a if p else b, a.dtype)(p, a, b)


COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le}
COMPARE |= {"gt": operator.gt, "ge": operator.ge}

ROWS: dict[str, Row] = {
    **{name: math_row(name, FLOATS) for name in ("exp", "sin", "cos", "tanh", "expm1")},
    "log": math_row("log", FLOATS, "pos"),
    "log1p": math_row("log1p", FLOATS, "unit"),
    "sqrt": math_row("sqrt", FLOATS, "pos"),
    "neg": unary_row(py_ref(operator.neg), FLOATS + INTS),
    "abs": unary_row(py_ref(abs), FLOATS + INTS),
    "sign": unary_row(py_ref(_sign), FLOATS + INTS),
    "not": unary_row(py_ref(operator.not_), (B,)),
    "add": binary_row(arith_ref("add", operator.add), FLOATS + INTS),
    "sub": binary_row(arith_ref("sub", operator.sub), FLOATS + INTS),
    "mul": binary_row(arith_ref("mul", operator.mul), FLOATS + INTS),
    "div": binary_row(_c_div_ref, FLOATS + INTS),
    "rem": binary_row(_c_rem_ref, FLOATS + INTS),
    "floor": unary_row(py_ref(_rounding(math.floor)), FLOATS),
    "ceil": unary_row(py_ref(_rounding(math.ceil)), FLOATS),
    "max": binary_row(py_ref(_extremum(max)), FLOATS + INTS),
    "min": binary_row(py_ref(_extremum(min)), FLOATS + INTS),
    "pow": math_row("pow", FLOATS, ("pos", "real"), binary=True),
    "atan2": math_row("atan2", FLOATS, binary=True),
    "copysign": binary_row(py_ref(math.copysign), FLOATS),
    **{name: binary_row(py_ref(op, B), ALL) for name, op in COMPARE.items()},
    "and": binary_row(py_ref(lambda a, b: a and b), (B,)),
    "or": binary_row(py_ref(lambda a, b: a or b), (B,)),
    "select": Row(
        [
            Case((gen(sp, B), gen(sa, d), gen(sb, d, seed=1)), {}, _select_ref)
            for d in ALL
            for sp, sa, sb in [
                ((), (), ()),
                ((3, 4), (4,), ()),
                ((3, 1), (1, 4), (3, 4)),
                ((2, 1, 3), (3,), (1, 3)),
                ((1,), (5,), (1,)),
            ]
        ],
        [
            ([T((3,), F32), T((3,), F32), T((3,), F32)], {}, DTypeError),
            ([T((3,), B), T((3,), F32), T((3,), F64)], {}, DTypeError),
            ([T((3,), B), T((4,), F32), T((3,), F32)], {}, ShapeError),
        ],
    ),
    "convert": Row(
        [
            Case((gen(s, src, "real"),), {"dtype": dst}, _convert(dst))
            for src, dst in itertools.product(ALL, ALL)
            for s in [(), (2, 3)]
        ],
        [
            ([T((3,), F32)], {"dtype": np.dtype(np.float16)}, DTypeError),
            ([T((3,), F32)], {"dtype": np.dtype(np.uint8)}, DTypeError),
        ],
    ),
    "constant": Row(
        [
            Case((), _lit(v), (lambda v=v: np.asarray(v)))
            for v in [
                np.float32(1.5),
                np.arange(6, dtype=np.int32).reshape(2, 3),
                np.array([True, False]),
                np.zeros((1, 0, 2)),
                np.int64(-3),
            ]
        ],
    ),
    "iota": Row(
        _cases(
            [
                ((), {"shape": s, "dtype": d, "dimension": k})
                for d in (I32, I64, F32)
                for s, k in [((5,), 0), ((2, 3), 1), ((2, 3), 0), ((2, 1, 4), 2)]
            ],
            _iota_ref,
        ),
        [
            ([], {"shape": (2, 3), "dtype": I32, "dimension": 2}, ShapeError),
            ([], {"shape": (), "dtype": I32, "dimension": 0}, ShapeError),
            ([], {"shape": (2,), "dtype": np.dtype(np.uint16), "dimension": 0}, DTypeError),
        ],
    ),
    "broadcast_in_dim": Row(
        _cases(
            [
                ((gen(xs, d),), {"shape": s, "dims": dims})
                for d in (F32, I64, B)
                for xs, s, dims in [
                    ((), (2, 3), ()),
                    ((3,), (2, 3), (1,)),
                    ((2,), (2, 3), (0,)),
                    ((1, 3), (4, 3), (0, 1)),
                    ((2, 1), (2, 5, 3), (0, 2)),
                    ((1,), (1,), (0,)),
                ]
            ],
            _bcast_ref,
        ),
        [
            ([T((3,), F32)], {"shape": (2, 4), "dims": (1,)}, ShapeError),
            ([T((2, 3), F32)], {"shape": (2, 3), "dims": (1, 0)}, ShapeError),
            ([T((3,), F32)], {"shape": (3,), "dims": (1,)}, ShapeError),
            ([T((3,), F32)], {"shape": (3, 3), "dims": ()}, ShapeError),
        ],
    ),
    "reshape": Row(
        _cases(
            [
                ((gen(xs, d),), {"shape": s})
                for d in (F64, I32, B)
                for xs, s in [
                    ((), (1, 1)),
                    ((2, 3), (3, 2)),
                    ((2, 3), (6,)),
                    ((1,), ()),
                    ((2, 1, 3), (3, 2)),
                    ((0, 3), (3, 0)),
                ]
            ],
            lambda shape: lambda x: np.reshape(x, shape),
        ),
        [
            ([T((2, 3), F32)], {"shape": (4,)}, ShapeError),
            ([T((2, 3), F32)], {"shape": (-1, 6)}, ShapeError),
        ],
    ),
    "transpose": Row(
        _cases(
            [
                ((gen(xs, d),), {"perm": p})
                for d in (F32, I64, B)
                for xs, p in [
                    ((), ()),
                    ((2, 3), (1, 0)),
                    ((2, 3, 4), (2, 0, 1)),
                    ((2, 1, 3), (0, 2, 1)),
                    ((2, 3), (0, 1)),
                ]
            ],
            lambda perm: lambda x: np.transpose(x, perm),
        ),
        [
            ([T((2, 3), F32)], {"perm": (0,)}, ShapeError),
            ([T((2, 3), F32)], {"perm": (0, 0)}, ShapeError),
        ],
    ),
    "rev": Row(
        _cases(
            [
                ((gen(xs, d),), {"axes": ax})
                for d in (F32, I32, B)
                for xs, ax in [
                    ((), ()),
                    ((4,), (0,)),
                    ((2, 3), (1,)),
                    ((2, 3), (0, 1)),
                    ((2, 1, 3), (1, 2)),
                ]
            ],
            lambda axes: lambda x: np.flip(x, axes) if axes else x,
        ),
        [([T((2, 3), F32)], {"axes": (2,)}, ShapeError)],
    ),
    "slice": Row(
        _cases(
            [
                ((gen(xs, d),), {"start": a, "limit": b, "strides": c})
                for d in (F64, I64, B)
                for xs, a, b, c in [
                    ((), (), (), ()),
                    ((5,), (1,), (4,), (1,)),
                    ((5, 4), (0, 1), (5, 4), (2, 2)),
                    ((5,), (2,), (2,), (1,)),
                    ((3, 1), (1, 0), (3, 1), (3, 1)),
                    ((6,), (1,), (6,), (4,)),
                ]
            ],
            _slice_ref,
        ),
        [
            ([T((5,), F32)], {"start": (0,), "limit": (6,), "strides": (1,)}, ShapeError),
            ([T((5,), F32)], {"start": (3,), "limit": (2,), "strides": (1,)}, ShapeError),
            ([T((5,), F32)], {"start": (0,), "limit": (5,), "strides": (0,)}, ShapeError),
            ([T((5, 2), F32)], {"start": (0,), "limit": (5,), "strides": (1,)}, ShapeError),
        ],
    ),
    "pad": Row(
        _cases(
            [
                ((gen(xs, d),), {"lo": lo, "hi": hi, "interior": k, "value": v})
                for d, v in [(F32, 0), (I32, 7), (B, False)]
                for xs, lo, hi, k in [
                    ((), (), (), ()),
                    ((3,), (1,), (2,), (0,)),
                    ((2, 3), (0, 1), (1, 0), (1, 2)),
                    ((0, 2), (1, 0), (1, 1), (3, 0)),
                    ((1,), (0,), (0,), (5,)),
                ]
            ],
            _pad_ref,
        ),
        [
            ([T((3,), F32)], {"lo": (-1,), "hi": (0,), "interior": (0,), "value": 0}, ShapeError),
            (
                [T((3,), F32)],
                {"lo": (1, 1), "hi": (0, 0), "interior": (0, 0), "value": 0},
                ShapeError,
            ),
        ],
    ),
    "concatenate": Row(
        _cases(
            [
                (tuple(gen(s, d, seed=i) for i, s in enumerate(shapes)), {"axis": ax})
                for d in (F32, I64, B)
                for shapes, ax in [
                    ([(2,), (3,)], 0),
                    ([(2, 3), (2, 1), (2, 2)], 1),
                    ([(1, 3), (4, 3)], 0),
                    ([(2, 3)], 0),
                    ([(0, 3), (2, 3)], 0),
                ]
            ],
            lambda axis: lambda *xs: np.concatenate(xs, axis=axis),
        ),
        [
            ([T((2, 3), F32), T((2, 4), F32)], {"axis": 0}, ShapeError),
            ([T((2, 3), F32), T((2, 3, 1), F32)], {"axis": 0}, ShapeError),
            ([T((2,), F32), T((2,), F32)], {"axis": 1}, ShapeError),
            ([T((2,), F32), T((2,), F64)], {"axis": 0}, DTypeError),
            ([], {"axis": 0}, ShapeError),
        ],
    ),
    "stop_gradient": Row([Case((gen(s, d),), {}, lambda x: x) for d in ALL for s in [(), (2, 3)]]),
    "reduce_sum": _reduce_row(np.sum, FLOATS + INTS),
    "reduce_prod": _reduce_row(np.prod, FLOATS + INTS),
    "reduce_max": _reduce_row(np.max, FLOATS + INTS + (B,), identity=False),
    "reduce_min": _reduce_row(np.min, FLOATS + INTS + (B,), identity=False),
    "cumsum": Row(
        _cases(
            [
                ((gen(xs, d),), {"axis": ax, "reverse": r})
                for d in FLOATS + INTS
                for xs, ax in [((5,), 0), ((3, 4), 0), ((3, 4), 1), ((1, 4), 0), ((0, 2), 1)]
                for r in (False, True)
            ],
            _cumsum_ref,
        ),
        [
            ([T((3,), F32)], {"axis": 1, "reverse": False}, ShapeError),
            ([T((3,), B)], {"axis": 0, "reverse": False}, DTypeError),
        ],
    ),
    "custom_vjp_call": custom_vjp_row(),
    "cond": cond_row(),
    "while_loop": while_loop_row(),
    "scan": scan_row(),
    "while_grad": while_grad_row(),
    "remat": remat_row(),
    "gather": gather_row(),
    "scatter_add": scatter_add_row(),
    "argsort": argsort_row(),
    "special_call": special_call_row(),
    "debug_print": debug_print_row(),
    **factor_rows(),
    "fused": fused_row(),
    "dot_general": Row(
        _cases(
            [
                ((gen(sa, d), gen(sb, d, seed=1)), {"contracting": c, "batch": b})
                for d in FLOATS + INTS
                for sa, sb, c, b in [
                    ((2, 3), (3, 4), ((1,), (0,)), ((), ())),  # matmul
                    ((3,), (3,), ((0,), (0,)), ((), ())),  # inner product
                    ((3, 2), (3, 4), ((0,), (0,)), ((), ())),  # a.T @ b
                    ((2,), (3,), ((), ()), ((), ())),  # outer product
                    ((), (2, 3), ((), ()), ((), ())),  # scalar times matrix
                    ((5, 2, 3), (5, 3, 4), ((2,), (1,)), ((0,), (0,))),  # batched matmul
                    ((2, 3, 4), (4, 3, 1), ((1, 2), (1, 0)), ((), ())),  # two contracted axes
                    ((3, 5, 2), (2, 5), ((2,), (0,)), ((1,), (1,))),  # batch axis not first
                    ((1, 3), (3, 1), ((1,), (0,)), ((), ())),
                ]
            ],
            _dot_ref,
        ),
        [
            (
                [T((2, 3), F32), T((4, 5), F32)],
                {"contracting": ((1,), (0,)), "batch": ((), ())},
                ShapeError,
            ),
            (
                [T((2, 3), F32), T((3, 4), F32)],
                {"contracting": ((2,), (0,)), "batch": ((), ())},
                ShapeError,
            ),
            (
                [T((2, 3), F32), T((3, 4), F32)],
                {"contracting": ((1,), (0, 1)), "batch": ((), ())},
                ShapeError,
            ),
            (
                [T((2, 3), F32), T((3, 4), F64)],
                {"contracting": ((1,), (0,)), "batch": ((), ())},
                DTypeError,
            ),
            (
                [T((2, 3), B), T((3, 4), B)],
                {"contracting": ((1,), (0,)), "batch": ((), ())},
                DTypeError,
            ),
        ],
        rtol=1e-5,
    ),
}
