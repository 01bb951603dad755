"""Indexing primitives with traced integer indices: ``gather`` (``np.take`` along one axis) and
``scatter_add`` (its transpose: ``np.add.at`` along one axis).

Indices follow NumPy for negatives (``-1`` is the last element) and JAX out of range: an index
beyond the axis is clamped to it (NumPy raises; a compiled kernel cannot, and JAX clamps too).
``gather``'s VJP is a ``scatter_add`` into zeros (repeated indices sum their cotangents); a
``scatter_add`` adds in index order, so its float sums are the same on every backend.
"""

from __future__ import annotations

import numpy as np

from ..core import define
from ..errors import DTypeError, ShapeError
from ..ir import TensorType
from .shape import zeros


def _positions(idx, n):
    """NumPy's negative indices, then clamped into ``[0, n - 1]``."""
    i = np.asarray(idx, np.int64)
    return np.clip(np.where(i < 0, i + n, i), 0, max(n - 1, 0))


def _check(x, idx, axis, what):
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{what}: indices must be integers, got {idx.dtype}")
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"{what}: axis {axis} is out of range for {x}")
    if x.shape[axis] == 0 and idx.size:
        raise ShapeError(f"{what}: cannot take from an empty axis of {x}")


def gathered_shape(x_shape, idx_shape, axis):
    return (*x_shape[:axis], *idx_shape, *x_shape[axis + 1 :])


def _gather_infer(types, axis):
    x, idx = types
    _check(x, idx, axis, "gather")
    return [TensorType(gathered_shape(x.shape, idx.shape, axis), x.dtype)]


def _gather_impl(x, idx, axis):
    return np.take(x, _positions(idx, x.shape[axis]), axis=axis)


def _gather_vjp(ct, p, o, needed, axis):
    x, idx = p
    return [scatter_add(zeros(x.shape, x.dtype), idx, ct, axis=axis) if needed[0] else None,
            None]


def _gather_batch(prim, args, batched, size, axis):
    """A batched array with shared indices gathers along the shifted axis; shared data with
    batched indices gathers, then the batch axis comes to the front; both batched: one example
    at a time (``loop_rule``)."""
    from .batching import loop_rule, to_front

    x, idx = args
    if batched[0] and batched[1]:
        return loop_rule(prim, args, batched, size, axis=axis)
    if batched[0]:
        return gather(x, idx, axis=axis + 1)
    return to_front(gather(x, idx, axis=axis), axis)


gather = define(
    "gather", infer=_gather_infer, impl=_gather_impl,
    jvp=lambda p, t, o, axis: None if t[0] is None else gather(t[0], p[1], axis=axis),
    vjp=_gather_vjp, family="remap", batch=_gather_batch,
)


def _scatter_infer(types, axis):
    x, idx, upd = types
    _check(x, idx, axis, "scatter_add")
    want = gathered_shape(x.shape, idx.shape, axis)
    if upd.shape != want or upd.dtype != x.dtype:
        raise ShapeError(f"scatter_add: the updates are {upd}, expected {TensorType(want, x.dtype)}")
    return [x]


def _scatter_impl(x, idx, upd, axis):
    out = np.array(x, copy=True)
    pos = _positions(idx, x.shape[axis]).ravel()
    moved = np.moveaxis(out, axis, 0)  # a view: adding into it adds into out
    rows = np.moveaxis(upd.reshape(*x.shape[:axis], pos.size, *x.shape[axis + 1 :]), axis, 0)
    for j, k in enumerate(pos):  # index order: the float sums of every backend
        moved[k] += rows[j]
    return out


def _scatter_jvp(p, t, o, axis):
    if t[0] is None and t[2] is None:
        return None
    x, idx, upd = p
    base = t[0] if t[0] is not None else zeros(x.shape, x.dtype)
    return base if t[2] is None else scatter_add(base, idx, t[2], axis=axis)


def _scatter_vjp(ct, p, o, needed, axis):
    return [ct if needed[0] else None, None,
            gather(ct, p[1], axis=axis) if needed[2] else None]


def _scatter_batch(prim, args, batched, size, axis):
    """Shared indices: the array and the updates batched, scattered along the shifted axis;
    batched indices: one example at a time."""
    from .batching import lead, loop_rule

    if batched[1]:
        return loop_rule(prim, args, batched, size, axis=axis)
    x, upd = (a if b else lead(a, size) for a, b in ((args[0], batched[0]), (args[2], batched[2])))
    return scatter_add(x, args[1], upd, axis=axis + 1)


scatter_add = define(
    "scatter_add", infer=_scatter_infer, impl=_scatter_impl, jvp=_scatter_jvp,
    vjp=_scatter_vjp, family="scatter", batch=_scatter_batch,
)


def _argsort_infer(types, axis):
    (x,) = types
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"argsort: axis {axis} is out of range for {x}")
    return [TensorType(x.shape, np.dtype(np.int64))]


argsort = define(
    "argsort", infer=_argsort_infer,
    impl=lambda x, axis: np.argsort(x, axis=axis, kind="stable").astype(np.int64),
    nondifferentiable=True, family="scan",
    batch=lambda prim, args, batched, size, axis: argsort(args[0], axis=axis + 1),
)
"""``argsort``: the stable order along ``axis`` (NaN last, as NumPy sorts them; ``-0.0`` and
``0.0`` are equal, so they keep their order). ``sort`` is a ``gather`` along this order, so its
derivative moves cotangents back through the permutation."""

