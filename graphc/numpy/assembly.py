"""Shape and assembly functions of graphc.numpy (issue 12, item 2), composed from the slicing,
reversal, padding, concatenation, broadcasting and reshaping primitives, so each is exact (bit
for bit NumPy's, signed zeros and NaN included), differentiable and compiled like the rest.

Every size, shift, count and axis must be a static Python int (they decide shapes). Where NumPy
takes more than is built here, the function says so: ``pad`` takes the modes ``constant`` (one
scalar value), ``edge``, ``reflect``, ``symmetric`` and ``wrap`` with widths up to the axis'
length; ``diff``'s ``prepend``/``append`` and ``meshgrid``'s ``copy`` are NumPy's.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..core import located
from ..errors import ShapeError
from ..ops import shape as sh
from ._core import lift, normalize_axes, normalize_axis, promote, static_int, static_ints
from .elementwise import multiply, not_equal, subtract, where
from .reductions import sum as _sum
from .shapes import (
    _index_slice,
    broadcast_arrays,
    broadcast_to,
    concatenate,
    moveaxis,
    ravel,
    reshape,
    split,
    transpose,
)


def _take(x, axis, start=None, stop=None, step=None):
    return _index_slice(x, axis, slice(start, stop, step))


def flip(m, axis=None):
    x = lift(m)
    axes = normalize_axes(axis, x.ndim, "flip")
    return sh.rev(x, axes=axes) if axes and x.size else x


def fliplr(m):
    x = lift(m)
    if x.ndim < 2:
        raise located(ShapeError, "fliplr: the array must be at least 2-D")
    return flip(x, 1)


def flipud(m):
    x = lift(m)
    if x.ndim < 1:
        raise located(ShapeError, "flipud: the array must be at least 1-D")
    return flip(x, 0)


def rot90(m, k=1, axes=(0, 1)):
    x = lift(m)
    a0, a1 = (normalize_axis(a, x.ndim, "rot90") for a in static_ints(axes, "rot90: axes"))
    if a0 == a1:
        raise located(ShapeError, "rot90: the axes must be different")
    k = static_int(k, "rot90: k") % 4
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    return transpose(flip(x, a1), perm) if k == 1 else flip(transpose(x, perm), a1)


def roll(a, shift, axis=None):
    x = lift(a)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), x.shape)
    shifts, axes = static_ints(shift, "roll: shift"), static_ints(axis, "roll: axis")
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise located(ShapeError, "roll: shift and axis must have the same length")
    for s, ax in zip(shifts, axes, strict=True):
        ax = normalize_axis(ax, x.ndim, "roll")
        n = x.shape[ax]
        s = s % n if n else 0
        if s:
            x = concatenate([_take(x, ax, n - s), _take(x, ax, 0, n - s)], axis=ax)
    return x


def _at_least(n, arys):
    out = [_raised(n, lift(a)) for a in arys]
    return out[0] if len(out) == 1 else out


def _raised(n, x):
    """``x`` with at least ``n`` axes, placed as NumPy's ``atleast_nd`` places them."""
    if x.ndim >= n:
        return x
    if x.ndim == 0:
        return reshape(x, (1,) * n)
    if x.ndim == 1:
        return reshape(x, (1, x.shape[0]) if n == 2 else (1, x.shape[0], 1))
    return reshape(x, (*x.shape, 1))


def atleast_1d(*arys):
    return _at_least(1, arys)


def atleast_2d(*arys):
    return _at_least(2, arys)


def atleast_3d(*arys):
    return _at_least(3, arys)


def _listed(n, tup):
    return [_raised(n, lift(a)) for a in tup]


def vstack(tup):
    return concatenate(_listed(2, tup), axis=0)


row_stack = vstack


def hstack(tup):
    parts = _listed(1, tup)
    return concatenate(parts, axis=0 if parts[0].ndim == 1 else 1)


def dstack(tup):
    return concatenate(_listed(3, tup), axis=2)


def column_stack(tup):
    parts = [lift(a) for a in tup]
    parts = [transpose(reshape(p, (1, -1))) if p.ndim < 2 else p for p in parts]
    return concatenate(parts, axis=1)


def append(arr, values, axis=None):
    if axis is None:
        return concatenate([ravel(lift(arr)), ravel(lift(values))], axis=0)
    return concatenate([arr, values], axis=axis)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    x = lift(a)
    axis = normalize_axis(axis, x.ndim, "diff")
    n = static_int(n, "diff: n")
    if n < 0:
        raise located(ShapeError, f"diff: order must be non-negative, got {n}")
    edges = []
    for side in (prepend, append):
        if side is None:
            edges.append([])
            continue
        e = lift(side)
        if e.ndim == 0:
            shape = list(x.shape)
            shape[axis] = 1
            e = broadcast_to(e, tuple(shape))
        edges.append([e])
    if edges[0] or edges[1]:
        x = concatenate([*edges[0], x, *edges[1]], axis=axis)
    for _ in range(n):
        m = x.shape[axis]
        hi, lo = _take(x, axis, 1), _take(x, axis, 0, builtins.max(m - 1, 0))
        x = not_equal(hi, lo) if x.dtype == np.bool_ else subtract(hi, lo)
    return x


def repeat(a, repeats, axis=None):
    x = lift(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = normalize_axis(axis, x.ndim, "repeat")
    counts = static_ints(repeats, "repeat: repeats")
    if builtins.any(c < 0 for c in counts):
        raise located(ShapeError, "repeat: repeats may not contain negative values")
    n = x.shape[axis]
    if len(counts) == 1:
        r = counts[0]
        shape = (*x.shape[: axis + 1], 1, *x.shape[axis + 1 :])
        wide = (*x.shape[: axis + 1], r, *x.shape[axis + 1 :])
        out = (*x.shape[:axis], n * r, *x.shape[axis + 1 :])
        return reshape(broadcast_to(reshape(x, shape), wide), out)
    if len(counts) != n:
        raise located(ShapeError, f"repeat: {len(counts)} repeats for an axis of size {n}")
    pieces = [repeat(_take(x, axis, i, i + 1), c, axis) for i, c in enumerate(counts) if c]
    if not pieces:
        return _take(x, axis, 0, 0)
    return concatenate(pieces, axis=axis)


def tile(A, reps):
    x = lift(A)
    reps = static_ints(reps, "tile: reps")
    d = builtins.max(len(reps), x.ndim)
    reps = (1,) * (d - len(reps)) + tuple(reps)
    x = reshape(x, (1,) * (d - x.ndim) + tuple(x.shape))
    inter = tuple(v for s in x.shape for v in (1, s))
    wide = tuple(v for r, s in zip(reps, x.shape) for v in (r, s))
    return reshape(broadcast_to(reshape(x, inter), wide),
                   tuple(r * s for r, s in zip(reps, x.shape)))


def _band(x, k, keep):
    """``x`` where ``keep(col - row, k)`` over its last two axes, zero elsewhere."""
    if x.ndim == 1:
        x = broadcast_to(x, (x.shape[0], x.shape[0]))
    rows, cols = x.shape[-2:]
    r = sh.iota(shape=(rows, cols), dtype=np.dtype(np.int64), dimension=0)
    c = sh.iota(shape=(rows, cols), dtype=np.dtype(np.int64), dimension=1)
    return where(keep(subtract(c, r), static_int(k, "tril/triu: k")), x, np.zeros((), x.dtype))


def tril(m, k=0):
    return _band(lift(m), k, lambda d, k: d <= k)


def triu(m, k=0):
    return _band(lift(m), k, lambda d, k: d >= k)


def diagonal(a, offset=0, axis1=0, axis2=1):
    x = lift(a)
    if x.ndim < 2:
        raise located(ShapeError, "diagonal: the array must be at least 2-D")
    a1, a2 = normalize_axis(axis1, x.ndim, "diagonal"), normalize_axis(axis2, x.ndim, "diagonal")
    if a1 == a2:
        raise located(ShapeError, "diagonal: axis1 and axis2 cannot be the same")
    k = static_int(offset, "diagonal: offset")
    x = transpose(x, [i for i in range(x.ndim) if i not in (a1, a2)] + [a1, a2])
    n, m = x.shape[-2:]
    length = builtins.max(0, builtins.min(n, m - k) if k >= 0 else builtins.min(n + k, m))
    flat = reshape(x, (*x.shape[:-2], n * m))
    if length == 0:
        return _take(flat, flat.ndim - 1, 0, 0)
    start = k if k >= 0 else -k * m
    return _take(flat, flat.ndim - 1, start, start + (length - 1) * (m + 1) + 1, m + 1)


def diag(v, k=0):
    x = lift(v)
    k = static_int(k, "diag: k")
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise located(ShapeError, "diag: the input must be 1-D or 2-D")
    n = x.shape[0] + builtins.abs(k)
    padded = sh.pad(x, lo=(0,), hi=(builtins.abs(k),), interior=(0,), value=0)
    spread = reshape(padded, (n, 1) if k >= 0 else (1, n))
    return _band(broadcast_to(spread, (n, n)), k, lambda d, k: d == k)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def kron(a, b):
    x, y = lift(a), lift(b)
    d = builtins.max(x.ndim, y.ndim)
    x = reshape(x, (1,) * (d - x.ndim) + tuple(x.shape))
    y = reshape(y, (1,) * (d - y.ndim) + tuple(y.shape))
    xs = reshape(x, tuple(v for s in x.shape for v in (s, 1)))
    ys = reshape(y, tuple(v for s in y.shape for v in (1, s)))
    return reshape(multiply(xs, ys), tuple(p * q for p, q in zip(x.shape, y.shape)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 2- or 3-vectors along the given axes (NumPy's arithmetic, in its
    order); two 2-vectors give the z component alone."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = lift(a), lift(b)
    x = moveaxis(x, normalize_axis(axisa, x.ndim, "cross"), -1)
    y = moveaxis(y, normalize_axis(axisb, y.ndim, "cross"), -1)
    if x.shape[-1] not in (2, 3) or y.shape[-1] not in (2, 3):
        raise located(ShapeError, "cross: incompatible dimensions (vectors must have 2 or 3 "
                      f"components, got {x.shape[-1]} and {y.shape[-1]})")
    (x, y), _ = promote(x, y)
    xc = [x[..., i] for i in range(x.shape[-1])]
    yc = [y[..., i] for i in range(y.shape[-1])]
    z = xc[0] * yc[1] - xc[1] * yc[0]
    if len(xc) == len(yc) == 2:
        return z
    xc += [None] * (3 - len(xc))
    yc += [None] * (3 - len(yc))

    def term(p, q):  # p * q, None where a component is missing (zero)
        return None if p is None or q is None else p * q

    def minus(p, q):  # p - q with missing terms dropped, as NumPy's loops do
        if p is None:
            return -q
        return p if q is None else p - q

    c0 = minus(term(xc[1], yc[2]), term(xc[2], yc[1]))
    c1 = minus(term(xc[2], yc[0]), term(xc[0], yc[2]))
    out = concatenate([reshape(c, (*c.shape, 1)) for c in broadcast_arrays(c0, c1, z)], axis=-1)
    return moveaxis(out, -1, normalize_axis(axisc, out.ndim, "cross"))


def _widths(pad_width, ndim):
    w = np.asarray(pad_width, dtype=object)
    if w.ndim == 0:
        w = np.full((ndim, 2), w)
    elif w.shape == (2,) or w.shape == (1, 2):
        w = np.tile(w.reshape(1, 2), (ndim, 1))
    elif w.shape == (1,):
        w = np.full((ndim, 2), w[0])
    if w.shape != (ndim, 2):
        raise located(ShapeError, f"pad: pad_width {pad_width!r} does not fit {ndim} axes")
    out = [tuple(static_int(v, "pad: pad_width") for v in row) for row in w]
    if builtins.any(v < 0 for row in out for v in row):
        raise located(ShapeError, "pad: pad widths must be non-negative")
    return out


def pad(array, pad_width, mode="constant", constant_values=0):
    x = lift(array)
    widths = _widths(pad_width, x.ndim)
    if mode == "constant":
        value = np.asarray(constant_values)
        if value.ndim:
            raise located(ShapeError, "pad: constant_values must be one scalar here")
        return sh.pad(x, lo=tuple(w[0] for w in widths), hi=tuple(w[1] for w in widths),
                      interior=(0,) * x.ndim, value=value.astype(x.dtype).item())
    if mode not in _EDGES:
        raise located(ShapeError, f"pad: mode {mode!r} is not supported (constant, edge, "
                      "reflect, symmetric, wrap are)")
    for ax, (lo, hi) in enumerate(widths):
        if lo or hi:
            n = x.shape[ax]
            limit = {"reflect": n - 1, "edge": math.inf}.get(mode, n)
            if builtins.max(lo, hi) > limit or n == 0:
                raise located(ShapeError, f"pad: mode {mode!r} takes widths up to {limit} on an "
                              f"axis of size {n}, got ({lo}, {hi})")
            x = concatenate([*_EDGES[mode](x, ax, lo, hi)], axis=ax)
    return x


def _edge(x, ax, lo, hi):
    n = x.shape[ax]
    shape = lambda w: tuple(w if i == ax else s for i, s in enumerate(x.shape))  # noqa: E731
    parts = [broadcast_to(_take(x, ax, 0, 1), shape(lo))] if lo else []
    parts.append(x)
    return parts + ([broadcast_to(_take(x, ax, n - 1, n), shape(hi))] if hi else [])


def _mirror(skip):
    def edges(x, ax, lo, hi):
        n = x.shape[ax]
        parts = [flip(_take(x, ax, skip, skip + lo), ax)] if lo else []
        parts.append(x)
        return parts + ([flip(_take(x, ax, n - hi - skip, n - skip), ax)] if hi else [])

    return edges


def _wrap(x, ax, lo, hi):
    n = x.shape[ax]
    return ([_take(x, ax, n - lo, n)] if lo else []) + [x] + ([_take(x, ax, 0, hi)] if hi else [])


_EDGES = {"edge": _edge, "reflect": _mirror(1), "symmetric": _mirror(0), "wrap": _wrap}


def array_split(ary, indices_or_sections, axis=0):
    x = lift(ary)
    axis = normalize_axis(axis, x.ndim, "array_split")
    if np.ndim(indices_or_sections) == 0:
        k = static_int(indices_or_sections, "array_split: sections")
        if k <= 0:
            raise located(ShapeError, "array_split: the number of sections must be positive")
        each, extra = divmod(x.shape[axis], k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        cuts = list(np.cumsum(sizes)[:-1])
        return split(x, [int(c) for c in cuts], axis)
    return split(x, indices_or_sections, axis)


def _split_along(name, need, axis_of):
    def fn(ary, indices_or_sections):
        x = lift(ary)
        if x.ndim < need:
            raise located(ShapeError, f"{name} only works on arrays of {need} or more dimensions")
        return split(x, indices_or_sections, axis_of(x))

    fn.__name__ = name
    return fn


vsplit = _split_along("vsplit", 2, lambda x: 0)
hsplit = _split_along("hsplit", 1, lambda x: 1 if x.ndim > 1 else 0)
dsplit = _split_along("dsplit", 3, lambda x: 2)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise located(ShapeError, f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    n = len(xi)
    outs = []
    for i, x in enumerate(xi):
        shape = [1] * n
        shape[i] = -1
        if indexing == "xy" and n > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        outs.append(reshape(ravel(lift(x)), tuple(shape)))
    return outs if sparse else broadcast_arrays(*outs)

