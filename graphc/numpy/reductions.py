"""Reductions of graphc.numpy: sum, mean, max, min, prod, argmax, argmin, var, std, cumsum,
logsumexp. Result dtypes follow NumPy (integer and bool sums and products give int64; means,
variances and standard deviations of integers give float64)."""

from __future__ import annotations

import math

from .. import dtypes
from ..core import located
from ..errors import GraphcError, ShapeError
from ..ops import elementwise as ew
from ..ops import reduce as rd
from ..ops import shape as sh
from ._core import (
    as_float, canonical_dtype, cast, lift, normalize_axes, normalize_axis, static_bool, static_real,
)
from .elementwise import divide, exp, isnan, log, multiply, subtract, where
from .shapes import ravel, reshape


def _keep(out, x_shape, axes, keepdims):
    if not keepdims:
        return out
    return reshape(out, tuple(1 if i in axes else n for i, n in enumerate(x_shape)))


def _reduce(prim, x, axis, keepdims, dtype=None, name=""):
    keepdims = static_bool(keepdims, f"{name}: keepdims")
    x = lift(x)
    if dtype is not None:
        x = cast(x, canonical_dtype(dtype, name))
    axes = normalize_axes(axis, x.ndim, name)
    if not axes:
        return x
    return _keep(prim(x, axes=axes), x.shape, axes, keepdims)


def _accumulating(x, dtype, name):
    """NumPy's accumulator dtype for sum/prod: int64 for bool and integers narrower than it."""
    if dtype is not None:
        return canonical_dtype(dtype, name)
    d = lift(x).dtype
    return dtypes.int64 if d.kind in "bi" else d


def sum(x, axis=None, dtype=None, keepdims=False, **unsupported):
    _reject(unsupported, "sum")
    return _reduce(rd.reduce_sum, x, axis, keepdims, _accumulating(x, dtype, "sum"), "sum")


def prod(x, axis=None, dtype=None, keepdims=False, **unsupported):
    _reject(unsupported, "prod")
    return _reduce(rd.reduce_prod, x, axis, keepdims, _accumulating(x, dtype, "prod"), "prod")


def _empty_check(x, axes, name):
    if any(x.shape[a] == 0 for a in axes):
        raise located(ShapeError, f"{name} of an empty axis of shape {x.shape} has no identity")


def max(x, axis=None, keepdims=False, **unsupported):
    _reject(unsupported, "max")
    x = lift(x)
    _empty_check(x, normalize_axes(axis, x.ndim, "max"), "max")
    return _reduce(rd.reduce_max, x, axis, keepdims, name="max")


def min(x, axis=None, keepdims=False, **unsupported):
    _reject(unsupported, "min")
    x = lift(x)
    _empty_check(x, normalize_axes(axis, x.ndim, "min"), "min")
    return _reduce(rd.reduce_min, x, axis, keepdims, name="min")


amax, amin = max, min


def _count(x_shape, axes) -> int:
    """How many elements each reduced slice holds."""
    return math.prod(x_shape[a] for a in axes)


def mean(x, axis=None, dtype=None, keepdims=False, **unsupported):
    _reject(unsupported, "mean")
    keepdims = static_bool(keepdims, "mean: keepdims")
    x = lift(x)
    out_dtype = canonical_dtype(dtype, "mean") if dtype is not None else dtypes.float_of(x.dtype)
    axes = normalize_axes(axis, x.ndim, "mean")
    total = sum(cast(x, out_dtype), axis=axes, keepdims=keepdims)
    return divide(total, cast(float(_count(x.shape, axes)), out_dtype))


def var(x, axis=None, dtype=None, ddof=0, keepdims=False, **unsupported):
    _reject(unsupported, "var")
    ddof = static_real(ddof, "var: ddof")
    keepdims = static_bool(keepdims, "var: keepdims")
    x = lift(x)
    out_dtype = canonical_dtype(dtype, "var") if dtype is not None else dtypes.float_of(x.dtype)
    x = cast(x, out_dtype)
    axes = normalize_axes(axis, x.ndim, "var")
    centered = subtract(x, mean(x, axis=axes, keepdims=True))
    total = sum(multiply(centered, centered), axis=axes, keepdims=keepdims)
    return divide(total, cast(float(_count(x.shape, axes) - ddof), out_dtype))


def std(x, axis=None, dtype=None, ddof=0, keepdims=False, **unsupported):
    """sqrt(var); its gradient where the variance is 0 is 0 (a subgradient), not NaN."""
    _reject(unsupported, "std")
    from .linalg import safe_sqrt

    return safe_sqrt(var(x, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def _arg_extremum(x, axis, keepdims, reducer, name):
    keepdims = static_bool(keepdims, f"{name}: keepdims")
    x = lift(x)
    if axis is None:
        flat = ravel(x)
        out = _arg_extremum(flat, 0, False, reducer, name)
        return reshape(out, (1,) * x.ndim) if keepdims else out
    axis = normalize_axis(axis, x.ndim, name)
    _empty_check(x, (axis,), name)
    best = reducer(x, axis=axis, keepdims=True)
    hit = ew.equal(x, best)
    if dtypes.is_float(x.dtype):  # NumPy returns the first NaN
        hit = ew.logical_or(hit, isnan(x))
    idx = sh.iota(shape=tuple(x.shape), dtype=dtypes.int64, dimension=axis)
    n = cast(x.shape[axis], dtypes.int64)
    first = rd.reduce_min(where(hit, idx, n), axes=(axis,))
    return _keep(first, x.shape, (axis,), keepdims)


def argmax(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, max, "argmax")


def argmin(x, axis=None, keepdims=False):
    return _arg_extremum(x, axis, keepdims, min, "argmin")


def any_(x, axis=None, keepdims=False, **unsupported):
    """True where some element along ``axis`` is nonzero (a max over bool values)."""
    _reject(unsupported, "any")
    return _reduce(rd.reduce_max, cast(lift(x), dtypes.bool_), axis, keepdims, name="any")


def all_(x, axis=None, keepdims=False, **unsupported):
    """True where every element along ``axis`` is nonzero (a min over bool values)."""
    _reject(unsupported, "all")
    return _reduce(rd.reduce_min, cast(lift(x), dtypes.bool_), axis, keepdims, name="all")


def cumsum(x, axis=None, dtype=None):
    x = lift(x)
    if axis is None:
        x, axis = ravel(x), 0
    x = cast(x, _accumulating(x, dtype, "cumsum"))
    return rd.cumsum(x, axis=normalize_axis(axis, x.ndim, "cumsum"), reverse=False)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) shifted by the (gradient-stopped) maximum: no overflow for logits of 1e4;
    an all -inf slice gives -inf, as in SciPy and JAX."""
    keepdims = static_bool(keepdims, "logsumexp: keepdims")
    x = as_float(x)
    axes = normalize_axes(axis, x.ndim, "logsumexp")
    m = sh.stop_gradient(max(x, axis=axes, keepdims=True))
    finite = ew.equal(subtract(m, m), cast(0, x.dtype))
    m = where(finite, m, cast(0, x.dtype))
    s = sum(exp(subtract(x, m)), axis=axes, keepdims=True)
    out = ew.add(log(s), m)
    return (
        out if keepdims else reshape(out, tuple(n for i, n in enumerate(x.shape) if i not in axes))
    )


def _reject(unsupported, name):
    unsupported = {k: v for k, v in unsupported.items() if v is not None}
    if unsupported:
        raise located(GraphcError, f"{name}: unsupported arguments {sorted(unsupported)}")
