"""Reductions over static axes, and cumulative sums."""

from __future__ import annotations

import numpy as np

from ..core import define
from ..errors import DTypeError, ShapeError
from ..ir import TensorType


def _reduce_infer(name, extremum=False):
    """The shape rule of a reduction. An ``extremum`` (max, min) also takes bool values (it is
    ``any``/``all``) but has no identity, so it refuses empty axes; sums and products refuse bool
    values (the numpy layer converts them to int64 first, as NumPy does)."""

    def infer(types, axes):
        (x,) = types
        if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
            raise ShapeError(f"{name}: axes {axes} out of range or repeated for shape {x.shape}")
        if x.dtype.kind == "b" and not extremum:
            raise DTypeError(f"{name} of bool values: convert them first")
        if extremum and any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"{name} over an empty axis of shape {x.shape} has no identity")
        return [TensorType(tuple(n for i, n in enumerate(x.shape) if i not in axes), x.dtype)]

    return infer


def _expand(ct, x_shape, axes):
    """Broadcast a reduced value back over the reduced axes."""
    from .shape import broadcast_in_dim

    kept = tuple(i for i in range(len(x_shape)) if i not in axes)
    return broadcast_in_dim(ct, shape=tuple(x_shape), dims=kept)


def _impl(fn):
    return lambda x, axes: np.asarray(fn(x, axis=tuple(axes)), dtype=x.dtype)


def _batch(prim, args, batched, size, axes):
    """gc.vmap (ops/batching.py): the reduced axes shift past the leading batch axis."""
    return prim(args[0], axes=tuple(a + 1 for a in axes))


reduce_sum = define(
    "reduce_sum",
    infer=_reduce_infer("reduce_sum"),
    impl=_impl(np.sum),
    jvp=lambda p, t, o, axes: None if t[0] is None else reduce_sum(t[0], axes=axes),
    vjp=lambda ct, p, o, needed, axes: [_expand(ct, p[0].shape, axes)],
    family="reduce",
    batch=_batch,
)


def _hits(x, out, axes):
    """1 where ``x`` attains the extremum ``out`` of its slice, else 0 (in ``x``'s dtype)."""
    from .elementwise import convert, equal

    return convert(equal(x, _expand(out, x.shape, axes)), dtype=x.dtype)


def _extremum_vjp(ct, p, o, needed, axes):
    """Cotangent shared evenly among the positions that attain the extremum (JAX's convention)."""
    from .elementwise import div, mul

    hit = _hits(p[0], o[0], axes)
    return [mul(hit, _expand(div(ct, reduce_sum(hit, axes=axes)), p[0].shape, axes))]


def _extremum_jvp(p, t, o, axes):
    """The mean of the tangents at the positions that attain the extremum (matches the vjp)."""
    from .elementwise import div, mul

    if t[0] is None:
        return None
    hit = _hits(p[0], o[0], axes)
    return div(reduce_sum(mul(hit, t[0]), axes=axes), reduce_sum(hit, axes=axes))


def _extremum(name, fn):
    """``reduce_max`` and ``reduce_min`` differ only in their NumPy evaluation."""
    infer = _reduce_infer(name, extremum=True)
    return define(
        name, infer=infer, impl=_impl(fn), jvp=_extremum_jvp, vjp=_extremum_vjp, family="reduce",
        batch=_batch,
    )


reduce_max = _extremum("reduce_max", np.max)
reduce_min = _extremum("reduce_min", np.min)


def _prod_partial(x, axes):
    """d prod / d x_i = product of the other elements = (exclusive prefix product) * (exclusive
    suffix product) along the reduced elements. No division and no branch on x == 0, so it is
    exact with zeros and its own derivative (second order) is exact everywhere too."""
    from .elementwise import mul
    from .shape import reshape, rev, transpose

    kept = [i for i in range(x.ndim) if i not in axes]
    perm = tuple(kept + list(axes))
    xt = transpose(x, perm=perm) if perm != tuple(range(x.ndim)) else x
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if n == 0:
        return x
    flat = reshape(xt, shape=tuple(x.shape[i] for i in kept) + (n,))
    last = (flat.ndim - 1,)
    part = mul(_exclusive_cumprod(flat), rev(_exclusive_cumprod(rev(flat, axes=last)), axes=last))
    part = reshape(part, shape=tuple(xt.shape))
    return part if xt is x else transpose(part, perm=tuple(int(i) for i in np.argsort(perm)))


def _exclusive_cumprod(a):
    """Products of the elements before each one along the last axis (1 for the first): a
    log-depth (Hillis-Steele) scan of shifted multiplications."""
    from .elementwise import mul
    from .shape import pad, slice_

    nd, n = a.ndim, a.shape[-1]

    def shifted(p, s):  # p moved s places along the last axis, filled with ones
        cut = slice_(p, start=(0,) * nd, limit=tuple(p.shape[:-1]) + (n - s,), strides=(1,) * nd)
        return pad(cut, lo=(0,) * (nd - 1) + (s,), hi=(0,) * nd, interior=(0,) * nd, value=1)

    p, s = a, 1
    while s < n:
        p = mul(p, shifted(p, s))
        s *= 2
    return shifted(p, 1)


def _prod_jvp(p, t, o, axes):
    from .elementwise import mul

    return None if t[0] is None else reduce_sum(mul(t[0], _prod_partial(p[0], axes)), axes=axes)


def _prod_vjp(ct, p, o, needed, axes):
    from .elementwise import mul

    return [mul(_expand(ct, p[0].shape, axes), _prod_partial(p[0], axes))]


reduce_prod = define(
    "reduce_prod",
    infer=_reduce_infer("reduce_prod"),
    impl=_impl(np.prod),
    jvp=_prod_jvp,
    vjp=_prod_vjp,
    family="reduce",
    batch=_batch,
)


# --- cumulative sum -------------------------------------------------------------------------------
def _cumsum_infer(types, axis, reverse):
    (x,) = types
    if not 0 <= axis < x.ndim:
        raise ShapeError(f"cumsum axis {axis} out of range for shape {x.shape}")
    if x.dtype.kind == "b":
        raise DTypeError("cumsum of bool values: convert them first")
    return [x]


def _cumsum_impl(x, axis, reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
    return np.cumsum(x, axis=axis, dtype=x.dtype)


cumsum = define(
    "cumsum",
    infer=_cumsum_infer,
    impl=_cumsum_impl,
    jvp=lambda p, t, o, axis, reverse: (
        None if t[0] is None else cumsum(t[0], axis=axis, reverse=reverse)
    ),
    vjp=lambda ct, p, o, needed, axis, reverse: [cumsum(ct, axis=axis, reverse=not reverse)],
    family="scan",
    batch=lambda prim, args, batched, size, axis, reverse: cumsum(
        args[0], axis=axis + 1, reverse=reverse),
)

