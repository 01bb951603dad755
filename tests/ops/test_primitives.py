"""Every primitive in ``graphc.ops.REGISTRY``: its shape/dtype rule and its NumPy evaluation.

One ``Row`` per primitive lists cases (operands, attributes and an independent NumPy reference) and
bad inputs its shape rule must reject. Each case is checked three ways: the shape rule's output type
against the reference's shape and dtype, the eager evaluation (no trace), and a traced graph run by
the reference evaluator. ``test_every_primitive_has_a_row`` fails when a new primitive has no row:
add one to ``ROWS`` below (a new family may append rows from its own module and extend ``ROWS``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest

from graphc.backend.reference import evaluate
from graphc.errors import DTypeError, GraphcError, ShapeError
from graphc.ir import Literal, TensorType, verify
from graphc.ops import REGISTRY
from graphc.trace.tracer import new_trace

F32, F64, I32, I64, B = (np.dtype(d) for d in ("float32", "float64", "int32", "int64", "bool"))
FLOATS, INTS, ALL = (F32, F64), (I32, I64), (F32, F64, I32, I64, B)


# --- operand generators: a domain per primitive (positive for log, inside [-1, 1] for ...) ------------
def gen(shape, dtype, domain="real", seed=0):
    """A deterministic array; ``domain`` is real, pos (> 0), unit (|x| < 1) or nonzero."""
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    if dtype == B:
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        lo = 1 if domain in ("pos", "nonzero") else -5
        x = rng.integers(lo, 6, size=shape)
        return np.asarray(x, dtype=dtype)
    lo, hi = {"real": (-3.0, 3.0), "pos": (0.1, 3.0), "unit": (-0.9, 0.9),
              "nonzero": (0.5, 3.0)}[domain]
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
    rtol: float = 1e-6


def T(shape, dtype):
    return TensorType(tuple(shape), np.dtype(dtype))


# 0-d, size-1 axes, non-square and broadcasting shapes
UNARY_SHAPES = [(), (1,), (3, 4), (2, 1, 3), (0, 3)]
BINARY_SHAPES = [((), ()), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 3), (3,)), ((1,), (5,)),
                 ((4, 3), ()), ((), (2, 3)), ((2, 3), (2, 3))]


def unary_row(fn, dts, domain="real"):
    cases = [Case((gen(s, d, domain),), {}, fn) for d in dts for s in UNARY_SHAPES]
    bad = next((d for d in ALL if d not in dts), None)
    rejects = [([T((2,), bad)], {}, DTypeError)] if bad is not None else []
    return Row(cases, rejects)


def binary_row(fn, dts, domains=("real", "real")):
    cases = [Case((gen(s1, d, domains[0]), gen(s2, d, domains[1], seed=1)), {}, fn)
             for d in dts for s1, s2 in BINARY_SHAPES]
    d = dts[0]
    rejects = [([T((3,), d), T((4,), d)], {}, ShapeError),
               ([T((2, 3), d), T((3, 2), d)], {}, ShapeError)]
    other = next(o for o in ALL if o != d)
    rejects.append(([T((3,), d), T((3,), other)], {}, DTypeError))
    bad = next((o for o in ALL if o not in dts), None)
    if bad is not None:
        rejects.append(([T((3,), bad), T((3,), bad)], {}, DTypeError))
    return Row(cases, rejects)


def _lit(x):
    return {"value": Literal(np.asarray(x))}


def _bcast_ref(shape, dims):
    def ref(x):
        expanded = x.reshape([x.shape[dims.index(i)] if i in dims else 1 for i in range(len(shape))])
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
        m = a2.shape[nb:nb + len(lfree)]
        n = b2.shape[nb + len(rc):]
        out = np.matmul(a2.reshape(*bs, int(np.prod(m)), k), b2.reshape(*bs, k, int(np.prod(n))))
        return out.reshape((*bs, *m, *n)).astype(a.dtype)
    return ref


def _reduce_ref(fn):
    return lambda axes: (lambda x: np.asarray(fn(x, axis=axes), dtype=x.dtype))


def _reduce_row(fn, dts, identity=True):
    spec = [((gen(s, d, "pos"),), {"axes": ax}) for d in dts
            for s, ax in [((), ()), ((3, 4), (0,)), ((3, 4), (1,)), ((3, 4), (0, 1)),
                          ((2, 1, 3), (1,)), ((2, 1, 3), (0, 2)), ((3, 4), ())]]
    if identity:
        spec.append(((gen((0, 3), dts[0]),), {"axes": (0,)}))
    rejects = [([T((3, 4), dts[0])], {"axes": (2,)}, ShapeError),
               ([T((3, 4), dts[0])], {"axes": (0, 0)}, ShapeError)]
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


def _custom_vjp_row():
    """``custom_vjp_call`` evaluates its ``fwd`` graph: outputs, then residuals for ``bwd``."""
    import graphc as gc

    x = gen((2, 3), F32)
    fwd = gc.make_graph(lambda x, y: (np.sin(x) * y, x * 2))(x, x)
    bwd = gc.make_graph(lambda ct, r: (ct * r, ct))(x, x)
    attrs = {"fwd": fwd, "bwd": bwd, "n_out": 1, "bwd_mask": (True, True)}
    fwd0 = gc.make_graph(lambda s: (s * s, s))(np.float64(2.0))
    attrs0 = {"fwd": fwd0, "bwd": gc.make_graph(lambda ct, r: ct * r)(1.0, 1.0), "n_out": 1,
              "bwd_mask": (True,)}
    return Row(
        [Case((x, gen((2, 3), F32, seed=1)), attrs, lambda a, b: (np.sin(a) * b, a * 2)),
         Case((np.asarray(1.5),), attrs0, lambda s: (s * s, s))],
        [([T((2, 3), F32), T((2, 3), F64)], attrs, GraphcError),
         ([T((2, 3), F32)], attrs, GraphcError)],
    )


FLOAT_FNS = {"exp": np.exp, "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "expm1": np.expm1}

ROWS: dict[str, Row] = {
    **{name: unary_row(fn, FLOATS) for name, fn in FLOAT_FNS.items()},
    "log": unary_row(np.log, FLOATS, "pos"),
    "log1p": unary_row(np.log1p, FLOATS, "unit"),
    "sqrt": unary_row(np.sqrt, FLOATS, "pos"),
    "neg": unary_row(np.negative, FLOATS + INTS),
    "abs": unary_row(np.abs, FLOATS + INTS),
    "sign": unary_row(np.sign, FLOATS + INTS),
    "not": unary_row(np.logical_not, (B,)),
    "add": binary_row(np.add, FLOATS + INTS),
    "sub": binary_row(np.subtract, FLOATS + INTS),
    "mul": binary_row(np.multiply, FLOATS + INTS),
    "div": binary_row(np.true_divide, FLOATS, ("real", "nonzero")),
    "max": binary_row(np.maximum, FLOATS + INTS),
    "min": binary_row(np.minimum, FLOATS + INTS),
    "pow": binary_row(np.power, FLOATS, ("pos", "real")),
    "atan2": binary_row(np.arctan2, FLOATS),
    "eq": binary_row(np.equal, ALL),
    "ne": binary_row(np.not_equal, ALL),
    "lt": binary_row(np.less, ALL),
    "le": binary_row(np.less_equal, ALL),
    "gt": binary_row(np.greater, ALL),
    "ge": binary_row(np.greater_equal, ALL),
    "and": binary_row(np.logical_and, (B,)),
    "or": binary_row(np.logical_or, (B,)),
    "select": Row(
        [Case((gen(sp, B), gen(sa, d), gen(sb, d, seed=1)), {}, np.where)
         for d in ALL for sp, sa, sb in [((), (), ()), ((3, 4), (4,), ()), ((3, 1), (1, 4), (3, 4)),
                                         ((2, 1, 3), (3,), (1, 3)), ((1,), (5,), (1,))]],
        [([T((3,), F32), T((3,), F32), T((3,), F32)], {}, DTypeError),
         ([T((3,), B), T((3,), F32), T((3,), F64)], {}, DTypeError),
         ([T((3,), B), T((4,), F32), T((3,), F32)], {}, ShapeError)],
    ),
    "convert": Row(
        [Case((gen(s, src, "real"),), {"dtype": dst}, lambda x, dst=dst: x.astype(dst))
         for src, dst in itertools.product(ALL, ALL) for s in [(), (2, 3)]],
        [([T((3,), F32)], {"dtype": np.dtype(np.float16)}, DTypeError),
         ([T((3,), F32)], {"dtype": np.dtype(np.uint8)}, DTypeError)],
    ),
    "constant": Row(
        [Case((), _lit(v), (lambda v=v: np.asarray(v)))
         for v in [np.float32(1.5), np.arange(6, dtype=np.int32).reshape(2, 3),
                   np.array([True, False]), np.zeros((1, 0, 2)), np.int64(-3)]],
    ),
    "iota": Row(
        _cases([((), {"shape": s, "dtype": d, "dimension": k})
                for d in (I32, I64, F32) for s, k in [((5,), 0), ((2, 3), 1), ((2, 3), 0),
                                                       ((2, 1, 4), 2)]], _iota_ref),
        [([], {"shape": (2, 3), "dtype": I32, "dimension": 2}, ShapeError),
         ([], {"shape": (), "dtype": I32, "dimension": 0}, ShapeError),
         ([], {"shape": (2,), "dtype": np.dtype(np.uint16), "dimension": 0}, DTypeError)],
    ),
    "broadcast_in_dim": Row(
        _cases([((gen(xs, d),), {"shape": s, "dims": dims}) for d in (F32, I64, B)
                for xs, s, dims in [((), (2, 3), ()), ((3,), (2, 3), (1,)), ((2,), (2, 3), (0,)),
                                    ((1, 3), (4, 3), (0, 1)), ((2, 1), (2, 5, 3), (0, 2)),
                                    ((1,), (1,), (0,))]], _bcast_ref),
        [([T((3,), F32)], {"shape": (2, 4), "dims": (1,)}, ShapeError),
         ([T((2, 3), F32)], {"shape": (2, 3), "dims": (1, 0)}, ShapeError),
         ([T((3,), F32)], {"shape": (3,), "dims": (1,)}, ShapeError),
         ([T((3,), F32)], {"shape": (3, 3), "dims": ()}, ShapeError)],
    ),
    "reshape": Row(
        _cases([((gen(xs, d),), {"shape": s}) for d in (F64, I32, B)
                for xs, s in [((), (1, 1)), ((2, 3), (3, 2)), ((2, 3), (6,)), ((1,), ()),
                              ((2, 1, 3), (3, 2)), ((0, 3), (3, 0))]],
               lambda shape: (lambda x: np.reshape(x, shape))),
        [([T((2, 3), F32)], {"shape": (4,)}, ShapeError),
         ([T((2, 3), F32)], {"shape": (-1, 6)}, ShapeError)],
    ),
    "transpose": Row(
        _cases([((gen(xs, d),), {"perm": p}) for d in (F32, I64, B)
                for xs, p in [((), ()), ((2, 3), (1, 0)), ((2, 3, 4), (2, 0, 1)),
                              ((2, 1, 3), (0, 2, 1)), ((2, 3), (0, 1))]],
               lambda perm: (lambda x: np.transpose(x, perm))),
        [([T((2, 3), F32)], {"perm": (0,)}, ShapeError),
         ([T((2, 3), F32)], {"perm": (0, 0)}, ShapeError)],
    ),
    "rev": Row(
        _cases([((gen(xs, d),), {"axes": ax}) for d in (F32, I32, B)
                for xs, ax in [((), ()), ((4,), (0,)), ((2, 3), (1,)), ((2, 3), (0, 1)),
                               ((2, 1, 3), (1, 2))]],
               lambda axes: (lambda x: np.flip(x, axes) if axes else x)),
        [([T((2, 3), F32)], {"axes": (2,)}, ShapeError)],
    ),
    "slice": Row(
        _cases([((gen(xs, d),), {"start": a, "limit": b, "strides": c}) for d in (F64, I64, B)
                for xs, a, b, c in [((), (), (), ()), ((5,), (1,), (4,), (1,)),
                                    ((5, 4), (0, 1), (5, 4), (2, 2)), ((5,), (2,), (2,), (1,)),
                                    ((3, 1), (1, 0), (3, 1), (3, 1)), ((6,), (1,), (6,), (4,))]],
               _slice_ref),
        [([T((5,), F32)], {"start": (0,), "limit": (6,), "strides": (1,)}, ShapeError),
         ([T((5,), F32)], {"start": (3,), "limit": (2,), "strides": (1,)}, ShapeError),
         ([T((5,), F32)], {"start": (0,), "limit": (5,), "strides": (0,)}, ShapeError),
         ([T((5, 2), F32)], {"start": (0,), "limit": (5,), "strides": (1,)}, ShapeError)],
    ),
    "pad": Row(
        _cases([((gen(xs, d),), {"lo": lo, "hi": hi, "interior": k, "value": v})
                for d, v in [(F32, 0), (I32, 7), (B, False)]
                for xs, lo, hi, k in [((), (), (), ()), ((3,), (1,), (2,), (0,)),
                                      ((2, 3), (0, 1), (1, 0), (1, 2)), ((0, 2), (1, 0), (1, 1), (3, 0)),
                                      ((1,), (0,), (0,), (5,))]],
               _pad_ref),
        [([T((3,), F32)], {"lo": (-1,), "hi": (0,), "interior": (0,), "value": 0}, ShapeError),
         ([T((3,), F32)], {"lo": (1, 1), "hi": (0, 0), "interior": (0, 0), "value": 0}, ShapeError)],
    ),
    "concatenate": Row(
        _cases([(tuple(gen(s, d, seed=i) for i, s in enumerate(shapes)), {"axis": ax})
                for d in (F32, I64, B)
                for shapes, ax in [([(2,), (3,)], 0), ([(2, 3), (2, 1), (2, 2)], 1),
                                   ([(1, 3), (4, 3)], 0), ([(2, 3)], 0), ([(0, 3), (2, 3)], 0)]],
               lambda axis: (lambda *xs: np.concatenate(xs, axis=axis))),
        [([T((2, 3), F32), T((2, 4), F32)], {"axis": 0}, ShapeError),
         ([T((2, 3), F32), T((2, 3, 1), F32)], {"axis": 0}, ShapeError),
         ([T((2,), F32), T((2,), F32)], {"axis": 1}, ShapeError),
         ([T((2,), F32), T((2,), F64)], {"axis": 0}, DTypeError),
         ([], {"axis": 0}, ShapeError)],
    ),
    "stop_gradient": Row([Case((gen(s, d),), {}, lambda x: x)
                          for d in ALL for s in [(), (2, 3)]]),
    "reduce_sum": _reduce_row(np.sum, FLOATS + INTS),
    "reduce_prod": _reduce_row(np.prod, FLOATS + INTS),
    "reduce_max": _reduce_row(np.max, FLOATS + INTS + (B,), identity=False),
    "reduce_min": _reduce_row(np.min, FLOATS + INTS + (B,), identity=False),
    "cumsum": Row(
        _cases([((gen(xs, d),), {"axis": ax, "reverse": r}) for d in FLOATS + INTS
                for xs, ax in [((5,), 0), ((3, 4), 0), ((3, 4), 1), ((1, 4), 0), ((0, 2), 1)]
                for r in (False, True)], _cumsum_ref),
        [([T((3,), F32)], {"axis": 1, "reverse": False}, ShapeError),
         ([T((3,), B)], {"axis": 0, "reverse": False}, DTypeError)],
    ),
    "custom_vjp_call": _custom_vjp_row(),
    "dot_general": Row(
        _cases([((gen(sa, d), gen(sb, d, seed=1)), {"contracting": c, "batch": b})
                for d in FLOATS + INTS
                for sa, sb, c, b in [
                    ((2, 3), (3, 4), ((1,), (0,)), ((), ())),      # matmul
                    ((3,), (3,), ((0,), (0,)), ((), ())),          # inner product
                    ((3, 2), (3, 4), ((0,), (0,)), ((), ())),      # a.T @ b
                    ((2,), (3,), ((), ()), ((), ())),              # outer product
                    ((), (2, 3), ((), ()), ((), ())),              # scalar times matrix
                    ((5, 2, 3), (5, 3, 4), ((2,), (1,)), ((0,), (0,))),   # batched matmul
                    ((2, 3, 4), (4, 3, 1), ((1, 2), (1, 0)), ((), ())),   # two contracted axes
                    ((3, 5, 2), (2, 5), ((2,), (0,)), ((1,), (1,))),      # batch axis not first
                    ((1, 3), (3, 1), ((1,), (0,)), ((), ())),
                ]], _dot_ref),
        [([T((2, 3), F32), T((4, 5), F32)], {"contracting": ((1,), (0,)), "batch": ((), ())},
          ShapeError),
         ([T((2, 3), F32), T((3, 4), F32)], {"contracting": ((2,), (0,)), "batch": ((), ())},
          ShapeError),
         ([T((2, 3), F32), T((3, 4), F32)], {"contracting": ((1,), (0, 1)), "batch": ((), ())},
          ShapeError),
         ([T((2, 3), F32), T((3, 4), F64)], {"contracting": ((1,), (0,)), "batch": ((), ())},
          DTypeError),
         ([T((2, 3), B), T((3, 4), B)], {"contracting": ((1,), (0,)), "batch": ((), ())},
          DTypeError)],
        rtol=1e-5,
    ),
}


def _all_cases():
    for name, row in ROWS.items():
        for i, case in enumerate(row.cases):
            yield pytest.param(name, case, row.rtol, id=f"{name}-{i}-{case!r}")


def _all_rejects():
    for name, row in ROWS.items():
        for i, (types, attrs, err) in enumerate(row.rejects):
            yield pytest.param(name, types, attrs, err, id=f"{name}-{i}")


def test_every_primitive_has_a_row():
    missing = sorted(set(REGISTRY) - set(ROWS))
    assert not missing, (
        f"primitives without a test row: {missing}. Add a Row to ROWS in tests/ops/test_primitives.py "
        "with Cases (operands from gen(shape, dtype, domain), attributes, and a NumPy reference) "
        "covering 0-d, size-1 and broadcast shapes, plus the inputs its shape rule must reject"
    )
    unknown = sorted(set(ROWS) - set(REGISTRY))
    assert not unknown, f"test rows for primitives that do not exist: {unknown}"


def test_every_row_has_cases_and_dtypes_of_its_family():
    for name, row in ROWS.items():
        assert row.cases, name
        if REGISTRY[name].elementwise and name not in ("constant", "convert", "not", "and", "or"):
            assert any(a.ndim == 0 for c in row.cases for a in c.args), f"{name}: no 0-d case"


def _assert_matches(got, expected, rtol, what):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol, err_msg=what)
    else:
        np.testing.assert_array_equal(got, expected, err_msg=what)


@pytest.mark.parametrize("name,case,rtol", list(_all_cases()))
def test_primitive_matches_numpy(name, case, rtol):
    """Shape rule, eager evaluation and traced evaluation agree with the NumPy reference; a
    primitive with ``multiple_results`` has a reference returning a tuple."""
    prim = REGISTRY[name]
    expected = case.ref(*case.args)
    expected = [np.asarray(e) for e in expected] if prim.multiple_results else [np.asarray(expected)]
    out_types = prim.infer([TensorType.of(a) for a in case.args], **case.attrs)
    assert list(out_types) == [TensorType.of(e) for e in expected], f"shape rule says {out_types}"
    eager = prim(*case.args, **case.attrs)
    for got, want in zip(eager if prim.multiple_results else [eager], expected, strict=True):
        _assert_matches(got, want, rtol, "eager")
    with new_trace(name) as trace:
        ins = [trace.new_input(TensorType.of(a)) for a in case.args]
        outs = prim(*ins, **case.attrs)
        graph, _ = trace.graph(outs if prim.multiple_results else [outs])
    verify(graph)
    for got, want in zip(evaluate(graph, case.args), expected, strict=True):
        _assert_matches(got, want, rtol, "traced")


@pytest.mark.parametrize("name,types,attrs,err", list(_all_rejects()))
def test_shape_rule_rejects(name, types, attrs, err):
    with pytest.raises(err):
        REGISTRY[name].infer(types, **attrs)


def test_rejection_in_a_trace_names_op_shapes_and_line():
    prim = REGISTRY["add"]
    with new_trace("t") as trace:
        a = trace.new_input(T((3,), F32))
        b = trace.new_input(T((4,), F32))
        with pytest.raises(ShapeError) as info:
            prim(a, b)  # the reported line
    msg = str(info.value)
    assert "add" in msg and "(3,)" in msg and "(4,)" in msg
    assert "test_primitives.py:" in msg


def test_eager_rejection_is_a_graphc_error():
    with pytest.raises(GraphcError):
        REGISTRY["mul"](np.ones(3, np.float32), np.ones(2, np.float32))
