"""Array creation in graphc.numpy. Inside a trace, large regular arrays (zeros, ranges, identity
matrices) are built from scalars, iota and broadcasts so no big constant is stored in the graph."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..core import current_trace, located
from ..ops import elementwise as ew
from ..ops import shape as sh
from ..errors import ArgumentError, ShapeError
from ._core import (
    as_shape, canonical_dtype, cast, checked_shape, lift, static_dim, static_int, static_real,
    strong, typeof,
)


def _full(shape, fill_value, dtype, name):
    """``full`` with ``name`` (the function the user called) in its errors."""
    d = canonical_dtype(dtype, name) if dtype is not None else typeof(fill_value)[0]
    shape = as_shape(shape, name, d)
    value = cast(fill_value, d)
    if tuple(value.shape) == shape:
        return value
    from .shapes import broadcast_to

    return broadcast_to(value, shape)


def full(shape, fill_value, dtype=None):
    return _full(shape, fill_value, dtype, "full")


def zeros(shape, dtype=None):
    return _full(shape, 0, dtypes.float64 if dtype is None else dtype, "zeros")


def ones(shape, dtype=None):
    return _full(shape, 1, dtypes.float64 if dtype is None else dtype, "ones")


def _full_like(x, fill_value, dtype, shape, name):
    x = lift(x)
    return _full(
        x.shape if shape is None else shape, fill_value, x.dtype if dtype is None else dtype, name
    )


def full_like(x, fill_value, dtype=None, shape=None):
    return _full_like(x, fill_value, dtype, shape, "full_like")


def zeros_like(x, dtype=None, shape=None):
    return _full_like(x, 0, dtype, shape, "zeros_like")


def ones_like(x, dtype=None, shape=None):
    return _full_like(x, 1, dtype, shape, "ones_like")


def array(obj, dtype=None, copy=True):
    """Like ``np.array``; lists may hold traced values (they are stacked). An explicit ``dtype``
    makes a Python scalar a strong value of that dtype."""
    dtype = canonical_dtype(dtype, "array") if dtype is not None else None
    out = lift(obj)
    if current_trace() is None and isinstance(out, np.ndarray):
        return np.array(out, dtype=dtype, copy=copy)
    return strong(cast(out, dtype)) if dtype is not None else out


def asarray(obj, dtype=None):
    return array(obj, dtype=dtype, copy=False)


def arange(start, stop=None, step=1, dtype=None):
    """NumPy's arange for static bounds (the length is part of the shape, so it must be known
    while tracing). Its length, ``ceil((stop - start) / step)``, and its dtype are NumPy's, found
    without making the array: a traced ``arange(2**40)`` is an iota, stored nowhere."""
    if stop is None:
        start, stop = 0, start
    bounds = start, stop, step = tuple(static_real(v, f"arange: {k}") for k, v in
                                       (("start", start), ("stop", stop), ("step", step)))
    if step == 0:
        raise located(ArgumentError, "arange: step must not be zero")
    if any(type(v) is int and not -(2**63) <= v < 2**63 for v in bounds):
        raise located(ShapeError, f"arange({start}, {stop}, {step}): a bound beyond int64")
    try:
        with np.errstate(all="raise"):  # (NumPy scalars' arithmetic, as np.arange's own)
            n = max(0, math.ceil(float((stop - start) / step)))
    except (ValueError, OverflowError, FloatingPointError) as e:  # a NaN or infinite bound
        raise located(ShapeError, f"arange({start}, {stop}, {step}): {e}") from None
    # NumPy's dtype depends only on the bounds' types once they fit in int64 (all-float32
    # bounds give float64): asked of an empty arange of the same types
    natural = np.arange(type(start)(0), type(stop)(0), type(step)(1)).dtype
    d = canonical_dtype(natural if dtype is None else dtype, "arange")
    checked_shape((n,), d, "arange")
    if current_trace() is None:
        return np.arange(start, stop, step, dtype=d)
    # NumPy's values: start + i * delta, delta being the first two elements' difference in ``d``
    # (with the bounds' own arithmetic: a float32 step makes a float32 ``start + step``)
    with np.errstate(all="ignore"):
        first = np.asarray(start, d)
        delta = np.asarray(start + step, d) - first
    idx = sh.iota(shape=(n,), dtype=d, dimension=0)
    return ew.add(ew.mul(idx, sh.scalar(delta, d)), sh.scalar(first, d))


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    """NumPy's linspace for static ``start``/``stop``: computed in float64 (or float32 when the
    endpoints are float32 scalars) and, for an integer ``dtype``, rounded toward -inf as NumPy 2
    does."""
    start, stop = static_real(start, "linspace: start"), static_real(stop, "linspace: stop")
    num = static_dim(num, "linspace: num")
    d = canonical_dtype(
        dtype if dtype is not None else np.result_type(start, stop, 1.0), "linspace"
    )
    checked_shape((num,), dtypes.float64, "linspace")  # (what it computes in)
    if current_trace() is None:
        return np.linspace(start, stop, num, endpoint=endpoint, dtype=d)
    f = dtypes.float64
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else 0.0
    idx = sh.iota(shape=(num,), dtype=f, dimension=0)
    out = ew.add(ew.mul(idx, sh.scalar(step, f)), sh.scalar(start, f))
    if endpoint and num > 1:  # NumPy sets the last element to exactly ``stop``
        last = ew.equal(idx, sh.scalar(num - 1, f))
        out = ew.select(last, sh.scalar(stop, f), out)
    if d.kind in "ib":
        return cast(_floor(out), d)
    return cast(out, d)


def _floor(x):
    """floor(x) for float64 ``x`` from truncation: trunc(x) - (trunc(x) > x)."""
    f = x.dtype
    t = ew.convert(ew.convert(x, dtype=dtypes.int64), dtype=f)
    return ew.sub(t, ew.convert(ew.greater(t, x), dtype=f))


def eye(N, M=None, k=0, dtype=None):
    """NumPy's eye. Traced, it compares a column of row indices plus ``k`` with a row of column
    indices (no N x M index array); a ``k`` beyond the matrix (zeros) is clamped, so any Python
    int works as in NumPy."""
    N = static_dim(N, "eye: N")
    M = N if M is None else static_dim(M, "eye: M")
    k = static_int(k, "eye: k")
    d = canonical_dtype(dtype, "eye") if dtype is not None else dtypes.float64
    checked_shape((N, M), d, "eye")
    if current_trace() is None:
        return np.eye(N, M, k, dtype=d)
    i64 = dtypes.int64
    rows = sh.iota(shape=(N, 1), dtype=i64, dimension=0)
    cols = sh.iota(shape=(1, M), dtype=i64, dimension=1)
    on = ew.equal(ew.add(rows, sh.scalar(max(-N, min(M, k)), i64)), cols)
    return ew.convert(on, dtype=d)
