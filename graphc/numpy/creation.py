"""Array creation in graphc.numpy. Inside a trace, large regular arrays (zeros, ranges, identity
matrices) are built from scalars, iota and broadcasts so no big constant is stored in the graph."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops import elementwise as ew
from ..ops import shape as sh
from ..errors import ArgumentError, ShapeError
from ..trace.tracer import current_trace, located
from ._core import (
    as_shape, canonical_dtype, cast, lift, static_dim, static_int, static_real, strong, typeof,
)


def _full(shape, fill_value, dtype, name):
    """``full`` with ``name`` (the function the user called) in its errors."""
    shape = as_shape(shape, name)
    d = canonical_dtype(dtype, name) if dtype is not None else typeof(fill_value)[0]
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
    while tracing)."""
    if stop is None:
        start, stop = 0, start
    start, stop, step = (static_real(v, f"arange: {k}") for k, v in
                         (("start", start), ("stop", stop), ("step", step)))
    if step == 0:
        raise located(ArgumentError, "arange: step must not be zero")
    dtype = canonical_dtype(dtype, "arange") if dtype is not None else None
    try:
        ref = np.arange(start, stop, step, dtype=dtype)
    except (ValueError, OverflowError) as e:  # a NaN bound, a length too large
        raise located(ShapeError, f"arange({start}, {stop}, {step}): {e}") from None
    d = canonical_dtype(ref.dtype)
    if current_trace() is None:
        return ref.astype(d)
    idx = sh.iota(shape=(ref.size,), dtype=d, dimension=0)
    return ew.add(ew.mul(idx, sh.scalar(step, d)), sh.scalar(start, d))


def linspace(start, stop, num=50, endpoint=True, dtype=None):
    """NumPy's linspace for static ``start``/``stop``: computed in float64 (or float32 when the
    endpoints are float32 scalars) and, for an integer ``dtype``, rounded toward -inf as NumPy 2
    does."""
    start, stop = static_real(start, "linspace: start"), static_real(stop, "linspace: stop")
    num = static_dim(num, "linspace: num")
    d = canonical_dtype(
        dtype if dtype is not None else np.result_type(start, stop, 1.0), "linspace"
    )
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
    N = static_dim(N, "eye: N")
    M = N if M is None else static_dim(M, "eye: M")
    k = static_int(k, "eye: k")
    d = canonical_dtype(dtype, "eye") if dtype is not None else dtypes.float64
    if current_trace() is None:
        return np.eye(N, M, k, dtype=d)
    rows = sh.iota(shape=(N, M), dtype=dtypes.int64, dimension=0)
    cols = sh.iota(shape=(N, M), dtype=dtypes.int64, dimension=1)
    on = ew.equal(ew.add(rows, sh.scalar(k, dtypes.int64)), cols)
    return ew.convert(on, dtype=d)
