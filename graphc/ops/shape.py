"""Shape primitives: constants, iota, broadcast, reshape, transpose, slice, pad, concatenate, rev,
and ``stop_gradient``. All are linear, so their derivative rules are the ops themselves (JVP) or
their transposes (VJP)."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..core import define
from ..errors import DTypeError, ShapeError
from ..ir import Literal, TensorType


def scalar(value, dtype):
    """A 0-d constant of ``dtype`` (the way rules make typed constants)."""
    return constant(value=Literal(np.asarray(value, dtype=dtype)))


def full(shape, value, dtype):
    """An array of ``value`` everywhere: a 0-d constant, broadcast (nothing large is stored)."""
    s = scalar(value, dtype)
    return s if not shape else broadcast_in_dim(s, shape=tuple(shape), dims=())


def zeros(shape, dtype):
    """Zeros of ``shape`` and ``dtype`` (the rules' symbolic zeros made concrete)."""
    return full(shape, 0, dtype)


# --- constant, iota -------------------------------------------------------------------------------
constant = define(
    "constant",
    infer=lambda types, value: [TensorType.of(value.array)],
    impl=lambda value: value.array,
    nondifferentiable=True,
    family="leaf",
    extra={"literal": "value"},  # the attribute the IR text prints bare (ir/printer, ir/parse)
)


def _iota_infer(types, shape, dtype, dimension):
    if not 0 <= dimension < len(shape):
        raise ShapeError(f"iota dimension {dimension} out of range for shape {shape}")
    return [TensorType(tuple(shape), dtypes.canonical(dtype))]


def _iota_impl(shape, dtype, dimension):
    idx = np.arange(shape[dimension], dtype=dtype)
    view = idx.reshape([-1 if i == dimension else 1 for i in range(len(shape))])
    return np.broadcast_to(view, shape)


iota = define("iota", infer=_iota_infer, impl=_iota_impl, nondifferentiable=True, family="leaf")


# --- broadcast_in_dim -----------------------------------------------------------------------------
def _bcast_infer(types, shape, dims):
    (x,) = types
    if len(dims) != x.ndim or list(dims) != sorted(set(dims)) or any(d >= len(shape) for d in dims):
        raise ShapeError(f"broadcast of {x.shape} to {shape} with bad dims {dims}")
    for i, d in enumerate(dims):
        if x.shape[i] not in (1, shape[d]):
            raise ShapeError(f"cannot broadcast shape {x.shape} to {tuple(shape)}")
    return [TensorType(tuple(shape), x.dtype)]


def _bcast_impl(x, shape, dims):
    expanded = x.reshape([x.shape[dims.index(i)] if i in dims else 1 for i in range(len(shape))])
    return np.broadcast_to(expanded, shape)


def _bcast_vjp(ct, p, o, needed, shape, dims):
    from .reduce import reduce_sum

    x_shape = p[0].shape
    axes = tuple(i for i in range(len(shape)) if i not in dims) + tuple(
        d for i, d in enumerate(dims) if x_shape[i] == 1 and shape[d] != 1
    )
    if axes:
        ct = reduce_sum(ct, axes=tuple(sorted(axes)))
    return [reshape(ct, shape=tuple(x_shape)) if tuple(ct.shape) != tuple(x_shape) else ct]


def _bcast_batch(prim, args, batched, size, shape, dims):
    """gc.vmap (ops/batching.py): the batch is a new leading axis, here and below."""
    return broadcast_in_dim(args[0], shape=(size, *shape), dims=(0, *(d + 1 for d in dims)))


broadcast_in_dim = define(
    "broadcast_in_dim",
    infer=_bcast_infer,
    impl=_bcast_impl,
    jvp=lambda p, t, o, shape, dims: _linear(t, broadcast_in_dim, shape=shape, dims=dims),
    vjp=_bcast_vjp,
    family="remap",
    batch=_bcast_batch,
)


def _linear(t, prim, **attrs):
    """JVP of a linear primitive of one operand."""
    return None if t[0] is None else prim(t[0], **attrs)


# --- reshape, transpose, rev ----------------------------------------------------------------------
def _reshape_infer(types, shape):
    (x,) = types
    if math.prod(shape) != x.size or any(n < 0 for n in shape):  # (exact: no int64 wrap)
        raise ShapeError(f"cannot reshape array of shape {x.shape} into shape {tuple(shape)}")
    return [TensorType(tuple(shape), x.dtype)]


def _reshape_batch(prim, args, batched, size, shape):
    return reshape(args[0], shape=(size, *shape))


reshape = define(
    "reshape",
    infer=_reshape_infer,
    impl=lambda x, shape: x.reshape(shape),
    jvp=lambda p, t, o, shape: _linear(t, reshape, shape=shape),
    vjp=lambda ct, p, o, needed, shape: [reshape(ct, shape=tuple(p[0].shape))],
    family="view",
    batch=_reshape_batch,
)


def _transpose_infer(types, perm):
    (x,) = types
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"axes {perm} are not a permutation of the axes of shape {x.shape}")
    return [TensorType(tuple(x.shape[i] for i in perm), x.dtype)]


def _transpose_batch(prim, args, batched, size, perm):
    return transpose(args[0], perm=(0, *(p + 1 for p in perm)))


transpose = define(
    "transpose",
    infer=_transpose_infer,
    impl=lambda x, perm: np.transpose(x, perm),
    jvp=lambda p, t, o, perm: _linear(t, transpose, perm=perm),
    vjp=lambda ct, p, o, needed, perm: [transpose(ct, perm=tuple(int(i) for i in np.argsort(perm)))],
    family="remap",
    batch=_transpose_batch,
)


def _rev_infer(types, axes):
    (x,) = types
    if any(not 0 <= a < x.ndim for a in axes):
        raise ShapeError(f"reverse axes {axes} out of range for shape {x.shape}")
    return [x]


def _rev_batch(prim, args, batched, size, axes):
    return rev(args[0], axes=tuple(a + 1 for a in axes))


rev = define(
    "rev",
    infer=_rev_infer,
    impl=lambda x, axes: np.flip(x, axes),
    jvp=lambda p, t, o, axes: _linear(t, rev, axes=axes),
    vjp=lambda ct, p, o, needed, axes: [rev(ct, axes=axes)],
    family="remap",
    batch=_rev_batch,
)


# --- slice and pad (each other's transpose) -------------------------------------------------------
def _slice_infer(types, start, limit, strides):
    (x,) = types
    if not len(start) == len(limit) == len(strides) == x.ndim:
        raise ShapeError(f"slice of shape {x.shape} needs {x.ndim} start/limit/stride entries")
    for s, e, st, n in zip(start, limit, strides, x.shape, strict=True):
        if not (0 <= s <= e <= n and st >= 1):
            raise ShapeError(f"slice [{s}:{e}:{st}] out of range for an axis of size {n}")
    shape = tuple(max(0, -(-(e - s) // st)) for s, e, st in zip(start, limit, strides, strict=True))
    return [TensorType(shape, x.dtype)]


def _slice_vjp(ct, p, o, needed, start, limit, strides):
    n = p[0].shape
    out = o[0].shape
    lo = tuple(start)
    interior = tuple(st - 1 for st in strides)
    hi = tuple(
        n[i] - (start[i] + (out[i] - 1) * strides[i] + 1) if out[i] else n[i] - start[i]
        for i in range(len(n))
    )
    return [pad(ct, lo=lo, hi=hi, interior=interior, value=0)]


def _slice_batch(prim, args, batched, size, start, limit, strides):
    return slice_(args[0], start=(0, *start), limit=(size, *limit), strides=(1, *strides))


slice_ = define(
    "slice",
    infer=_slice_infer,
    impl=lambda x, start, limit, strides: x[tuple(map(slice, start, limit, strides))],
    jvp=lambda p, t, o, **a: _linear(t, slice_, **a),
    vjp=_slice_vjp,
    family="remap",
    batch=_slice_batch,
)


def _pad_infer(types, lo, hi, interior, value):
    (x,) = types
    if (
        not len(lo) == len(hi) == len(interior) == x.ndim
        or min((*lo, *hi, *interior), default=0) < 0
    ):
        raise ShapeError(f"bad padding lo={lo} hi={hi} interior={interior} for shape {x.shape}")
    shape = tuple(
        lo[i] + hi[i] + (x.shape[i] + (x.shape[i] - 1) * interior[i] if x.shape[i] else 0)
        for i in range(x.ndim)
    )
    return [TensorType(shape, x.dtype)]


def _pad_impl(x, lo, hi, interior, value):
    (t,) = _pad_infer([TensorType.of(x)], lo, hi, interior, value)
    out = np.full(t.shape, value, dtype=x.dtype)
    out[tuple(slice(lo[i], t.shape[i] - hi[i], interior[i] + 1) for i in range(x.ndim))] = x
    return out


def _pad_vjp(ct, p, o, needed, lo, hi, interior, value):
    n = ct.shape
    return [
        slice_(
            ct,
            start=tuple(lo),
            limit=tuple(n[i] - hi[i] for i in range(len(n))),
            strides=tuple(k + 1 for k in interior),
        )
    ]


def _pad_batch(prim, args, batched, size, lo, hi, interior, value):
    return pad(args[0], lo=(0, *lo), hi=(0, *hi), interior=(0, *interior), value=value)


pad = define(
    "pad",
    infer=_pad_infer,
    impl=_pad_impl,
    jvp=lambda p, t, o, lo, hi, interior, value: (
        None if t[0] is None else pad(t[0], lo=lo, hi=hi, interior=interior, value=0)
    ),
    vjp=_pad_vjp,
    family="remap",
    batch=_pad_batch,
)


# --- concatenate ----------------------------------------------------------------------------------
def _concat_infer(types, axis):
    if not types:
        raise ShapeError("concatenate needs at least one operand")
    first = types[0]
    for t in types:
        if t.dtype != first.dtype:
            raise DTypeError(f"concatenate: dtypes differ ({first.dtype}, {t.dtype})")
        if (
            t.ndim != first.ndim
            or not 0 <= axis < t.ndim
            or any(
                a != b
                for i, (a, b) in enumerate(zip(t.shape, first.shape, strict=True))
                if i != axis
            )
        ):
            shapes = ", ".join(str(u.shape) for u in types)
            raise ShapeError(f"cannot concatenate shapes {shapes} along axis {axis}")
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in types)
    return [TensorType(tuple(shape), first.dtype)]


def _concat_jvp(p, t, o, axis):
    if all(ti is None for ti in t):
        return None
    parts = [
        ti if ti is not None else zeros(pi.shape, pi.dtype) for pi, ti in zip(p, t, strict=True)
    ]
    return concatenate(*parts, axis=axis)


def _concat_vjp(ct, p, o, needed, axis):
    cts, offset = [], 0
    for x, need in zip(p, needed, strict=True):
        start = [0] * ct.ndim
        limit = list(ct.shape)
        start[axis], limit[axis] = offset, offset + x.shape[axis]
        strides = (1,) * ct.ndim
        # a part that needs no cotangent (a constant) gets None, not a slice
        cts.append(slice_(ct, start=tuple(start), limit=tuple(limit), strides=strides)
                   if need else None)
        offset += x.shape[axis]
    return cts


def _concat_batch(prim, args, batched, size, axis):
    from .batching import all_batched

    return concatenate(*all_batched(args, batched, size), axis=axis + 1)


concatenate = define(
    "concatenate",
    infer=_concat_infer,
    impl=lambda *xs, axis: np.concatenate(xs, axis=axis),
    jvp=_concat_jvp,
    vjp=_concat_vjp,
    family="remap",
    batch=_concat_batch,
)

# --- stop_gradient --------------------------------------------------------------------------------
def _stop_batch(prim, args, batched, size):
    return stop_gradient(args[0])


stop_gradient = define(
    "stop_gradient",
    infer=lambda types: [types[0]],
    impl=lambda x: x,
    jvp=lambda p, t, o: None,
    vjp=lambda ct, p, o, needed: [None],
    family="view",
    batch=_stop_batch,
)

