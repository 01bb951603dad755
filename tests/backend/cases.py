"""Shared helpers of the backend tests: one-node graphs, special input values, threads."""

from __future__ import annotations

import threading

import numpy as np

from graphc.ir import Builder, TensorType
from graphc.ops import shape as sh


#: One row per shape-primitive case (primitive, operand (shape, dtype)s, attrs): odd shapes, 0-d,
#: zero-size and bool operands. Used by the compiled-vs-reference and operand-kind tests.
SHAPE_CASES = [
    (sh.broadcast_in_dim, [((3, 1), "float32")], {"shape": (2, 3, 5), "dims": (1, 2)}),
    (sh.broadcast_in_dim, [((), "int64")], {"shape": (4, 3), "dims": ()}),
    (sh.reshape, [((6, 4), "float64")], {"shape": (2, 3, 4)}),
    (sh.transpose, [((2, 3, 5), "int32")], {"perm": (2, 0, 1)}),
    (sh.rev, [((4, 7), "float32")], {"axes": (0, 1)}),
    (sh.slice_, [((9, 8), "float32")], {"start": (1, 0), "limit": (8, 7), "strides": (3, 2)}),
    (
        sh.pad,
        [((3, 4), "float32")],
        {"lo": (1, 0), "hi": (2, 3), "interior": (1, 2), "value": -1.5},
    ),
    (sh.pad, [((0, 2), "int64")], {"lo": (1, 1), "hi": (0, 0), "interior": (0, 0), "value": 7}),
    (sh.concatenate, [((2, 3), "float64"), ((2, 1), "float64"), ((2, 0), "float64")], {"axis": 1}),
    (sh.concatenate, [((1, 3), "bool"), ((2, 3), "bool")], {"axis": 0}),
    (sh.stop_gradient, [((5,), "float32")], {}),
]


def one_node(prim, in_types, attrs=None, name="case"):
    b = Builder(name)
    ins = [b.add_input(TensorType(tuple(s), np.dtype(d))) for s, d in in_types]
    outs = b.emit(prim, ins, attrs or {})
    return b.build(list(outs))


def special_values(dtype, shape, rng, positive=False, low=None, no_huge=False):
    """Random values plus the special ones (+-0, +-inf, NaN, extremes) of ``dtype``."""
    d = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if d.kind == "b":
        return rng.random(shape) < 0.5
    if d.kind == "i":
        info = np.iinfo(d)
        vals = rng.integers(-1000, 1000, size=n).astype(d)
        extras = np.array([0, 1, -1, info.min, info.max], dtype=d)
    else:
        vals = (rng.standard_normal(n) * 3).astype(d)
        extras = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e-30, 1.0], dtype=d)
    if positive:
        vals = np.abs(vals) + (d.type(0.01) if d.kind == "f" else 1)
        extras = extras[(extras > 0) | np.isnan(extras) if d.kind == "f" else extras > 0]
    if no_huge:  # e.g. sin/cos: the math library's accurate range ends at |x| = 1e5 (f32)
        extras = extras[~(np.abs(extras) > 1e5) | np.isnan(extras)] if d.kind == "f" else extras
    if low is not None:
        vals = np.maximum(vals, d.type(low))
        extras = extras[~(extras < low)]
    k = min(len(extras), n // 2)
    if k:
        vals[rng.choice(n, size=k, replace=False)] = extras[:k]
    return vals.reshape(shape)


def in_threads(work, n=6):
    """Run ``work(k)`` for k = 0..n-1 in n threads at once and wait for them all."""
    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
