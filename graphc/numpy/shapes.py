"""Shape functions of graphc.numpy, and static indexing (``x[1:, None, ::-1, 2]``)."""

from __future__ import annotations

import math

import numpy as np

from ..core import Tracer, located
from ..errors import ArgumentError, GraphcError, ShapeError
from ..ops import shape as sh
from ..ops.broadcasting import broadcast_shapes
from ._core import as_shape, lift, normalize_axes, normalize_axis, promote, static_ints


def reshape(x, newshape=None, order="C", *, shape=None):
    x = lift(x)
    newshape = shape if shape is not None else newshape
    if not isinstance(order, str) or order != "C":
        raise located(GraphcError, f"reshape: only order='C' is supported, got {order!r}")
    newshape = list(static_ints(newshape, "reshape: shape"))
    if newshape.count(-1) > 1:
        raise located(ShapeError, "reshape: can only specify one unknown dimension (-1)")
    if any(n < -1 for n in newshape):
        raise located(ShapeError, f"reshape: negative dimension in {tuple(newshape)} (only -1, "
                      "for the one unknown dimension)")
    if -1 in newshape:
        known = math.prod(n for n in newshape if n != -1)
        if known == 0 or x.size % known:
            raise located(
                ShapeError, f"cannot reshape array of shape {x.shape} into shape {tuple(newshape)}"
            )
        newshape[newshape.index(-1)] = x.size // known
    newshape = tuple(newshape)
    if math.prod(newshape) != x.size:
        raise located(ShapeError, f"cannot reshape array of shape {x.shape} into shape {newshape}")
    if newshape == tuple(x.shape):
        return x
    return sh.reshape(x, shape=newshape)


def ravel(x, order="C"):
    return reshape(x, (-1,), order)


def transpose(x, axes=None):
    x = lift(x)
    perm = (
        tuple(reversed(range(x.ndim)))
        if axes is None
        else tuple(
            normalize_axis(a, x.ndim, "transpose") for a in static_ints(axes, "transpose: axes")
        )
    )
    if sorted(perm) != list(range(x.ndim)):
        raise located(
            ShapeError, f"transpose: axes {axes} do not match an array of shape {x.shape}"
        )
    return x if perm == tuple(range(x.ndim)) else sh.transpose(x, perm=perm)


def swapaxes(x, axis1, axis2):
    x = lift(x)
    perm = list(range(x.ndim))
    a, b = normalize_axis(axis1, x.ndim, "swapaxes"), normalize_axis(axis2, x.ndim, "swapaxes")
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    x = lift(x)
    src = normalize_axis(source, x.ndim, "moveaxis")
    dst = normalize_axis(destination, x.ndim, "moveaxis")
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def expand_dims(x, axis):
    x = lift(x)
    axes = static_ints(axis, "expand_dims: axis")
    ndim = x.ndim + len(axes)
    axes = normalize_axes(axes, ndim, "expand_dims")
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return reshape(x, tuple(shape))


def squeeze(x, axis=None):
    x = lift(x)
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axes(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise located(
                    ShapeError, f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1"
                )
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def broadcast_to(x, shape):
    x = lift(x)
    shape = as_shape(shape, "broadcast_to", x.dtype)
    try:
        if broadcast_shapes(tuple(x.shape), shape) != shape:
            raise ShapeError("")
    except ShapeError:
        raise located(ShapeError, f"cannot broadcast shape {tuple(x.shape)} to {shape}") from None
    if tuple(x.shape) == shape:
        return x
    lead = len(shape) - x.ndim
    return sh.broadcast_in_dim(x, shape=shape, dims=tuple(range(lead, len(shape))))


def broadcast_arrays(*xs):
    xs = [lift(x) for x in xs]
    try:
        shape = broadcast_shapes(*(tuple(x.shape) for x in xs))
    except ShapeError as e:
        raise located(ShapeError, f"broadcast_arrays: {e}") from None
    return [broadcast_to(x, shape) for x in xs]


def _sequence(arrays, name):
    """The arrays argument of concatenate/stack: a sequence (NumPy also iterates an array)."""
    if isinstance(arrays, (str, bytes, dict)) or not hasattr(arrays, "__len__"):
        raise located(
            ArgumentError, f"{name}: expected a sequence of arrays, got {type(arrays).__name__}"
        )
    return arrays


def concatenate(arrays, axis=0):
    if not len(_sequence(arrays, "concatenate")):
        raise located(ShapeError, "need at least one array to concatenate")
    arrays, _ = promote(*arrays)
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    if any(a.ndim == 0 for a in arrays):
        raise located(ShapeError, "zero-dimensional arrays cannot be concatenated")
    axis = normalize_axis(axis, arrays[0].ndim, "concatenate")
    return arrays[0] if len(arrays) == 1 else sh.concatenate(*arrays, axis=axis)


def stack(arrays, axis=0):
    if not len(_sequence(arrays, "stack")):
        raise located(ShapeError, "need at least one array to stack")
    arrays, _ = promote(*arrays)
    shapes = {tuple(a.shape) for a in arrays}
    if len(shapes) > 1:
        raise located(
            ShapeError, f"all input arrays must have the same shape to stack, got {sorted(shapes)}"
        )
    axis = normalize_axis(axis, arrays[0].ndim + 1, "stack")
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def split(x, indices_or_sections, axis=0):
    x = lift(x)
    axis = normalize_axis(axis, x.ndim, "split")
    n = x.shape[axis]
    cuts = static_ints(indices_or_sections, "split: indices_or_sections")
    if np.ndim(indices_or_sections) == 0:  # a number of equal sections
        k = cuts[0]
        if k <= 0 or n % k:
            raise located(
                ShapeError, f"array split does not result in an equal division: {n} into {k}"
            )
        bounds = [i * (n // k) for i in range(k + 1)]
    else:  # pieces are x[lo:hi] along the axis, with Python's slice rules (as NumPy's)
        bounds = [0, *cuts, n]
    return [
        _index_slice(x, axis, slice(lo, hi)) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def _slice_axis(x, axis, start, limit, step):
    if (start, limit, step) == (0, x.shape[axis], 1):
        return x
    starts = [0] * x.ndim
    limits = list(x.shape)
    strides = [1] * x.ndim
    starts[axis], limits[axis], strides[axis] = start, limit, step
    return sh.slice_(x, start=tuple(starts), limit=tuple(limits), strides=tuple(strides))


def getitem(x, index):
    """Static NumPy basic indexing: ints, slices (any step), None, Ellipsis."""
    x = lift(x)
    index = index if isinstance(index, tuple) else (index,)
    for i in index:
        _check_index(i)
    if sum(1 for i in index if i is Ellipsis) > 1:
        raise located(ShapeError, "an index can only have a single ellipsis ('...')")
    n_real = sum(1 for i in index if i is not None and i is not Ellipsis)
    if n_real > x.ndim:
        raise located(ShapeError, f"too many indices for an array of shape {x.shape}")
    if Ellipsis in index:
        pos = index.index(Ellipsis)
        index = index[:pos] + (slice(None),) * (x.ndim - n_real) + index[pos + 1 :]
    else:
        index = index + (slice(None),) * (x.ndim - n_real)
    out_shape, axis = [], 0
    for i in index:
        if i is None:
            out_shape.append(1)
            continue
        n = x.shape[axis]
        if isinstance(i, slice):
            x = _index_slice(x, axis, i)
            out_shape.append(x.shape[axis])
        else:
            k = int(i)
            if not -n <= k < n:
                raise located(
                    ShapeError, f"index {k} is out of bounds for axis {axis} with size {n}"
                )
            x = _slice_axis(x, axis, k % n, k % n + 1, 1)
        axis += 1
    return reshape(x, tuple(out_shape))


def _check_index(i):
    """Only static basic indices; NumPy's advanced ones (arrays, bool scalars) are refused rather
    than misread (``x[True]`` is not ``x[1]``)."""
    if isinstance(i, Tracer):
        raise located(
            GraphcError,
            "indexing with a traced value is not supported: indices must be "
            "static Python ints and slices (use gc.numpy.where or a mask instead)",
        )
    if isinstance(i, (bool, np.bool_)) or not (
        i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))
    ):
        raise located(
            GraphcError,
            f"unsupported index {i!r}: graphc supports static ints, slices, None and Ellipsis",
        )
    if isinstance(i, slice):
        if not all(
            b is None or (isinstance(b, (int, np.integer)) and not isinstance(b, bool))
            for b in (i.start, i.stop, i.step)
        ):
            raise located(
                GraphcError, f"unsupported slice {i!r}: bounds and step must be static ints"
            )
        if i.step == 0:
            raise located(ShapeError, "slice step cannot be zero")


def _index_slice(x, axis, s):
    n = x.shape[axis]
    start, stop, step = s.indices(n)
    picked = range(start, stop, step)
    if len(picked) == 0:
        return _slice_axis(x, axis, 0, 0, 1)
    if step > 0:
        return _slice_axis(x, axis, start, picked[-1] + 1, step)
    out = _slice_axis(x, axis, picked[-1], picked[0] + 1, -step)
    return sh.rev(out, axes=(axis,))
