"""Shared helpers of the graphc.numpy namespace: operand lifting, NEP 50 promotion, axes."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import DTypeError, ShapeError
from ..ops import elementwise as ew
from ..ops.shape import scalar
from ..trace.tracer import Tracer, as_array, located


def is_tracer(x) -> bool:
    return isinstance(x, Tracer)


def is_python_scalar(x) -> bool:
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)


def typeof(x) -> tuple[np.dtype, bool]:
    """``(dtype, weak)`` of an operand."""
    if isinstance(x, Tracer):
        return x.dtype, x.weak
    if is_python_scalar(x):
        return dtypes.python_scalar_dtype(x), True
    return np.dtype(as_array(x).dtype), False


def shape_of(x) -> tuple[int, ...]:
    if isinstance(x, Tracer):
        return x.shape
    if is_python_scalar(x):
        return ()
    return np.shape(x)


def lift(x):
    """A tracer or an array (lists and NumPy scalars become arrays)."""
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (list, tuple)) and any(isinstance(e, Tracer) for e in _walk(x)):
        from .shapes import stack

        return stack([e if is_python_scalar(e) else lift(e) for e in x])  # scalars stay weak
    return as_array(x)


def strong(x):
    """``x`` without the weak mark: a value given an explicit dtype (``astype``, ``array(...,
    dtype=)``) takes part in promotion with that dtype, as in JAX and NumPy."""
    if isinstance(x, Tracer) and x.weak:
        return Tracer(x.value, x._trace, False)
    return x


def _walk(x):
    if isinstance(x, (list, tuple)):
        for e in x:
            yield from _walk(e)
    else:
        yield x


def cast(x, dtype):
    """``x`` as ``dtype``: Python scalars become typed constants; others convert if needed."""
    if is_python_scalar(x):
        if dtype.kind == "i" and type(x) is int and not _fits(x, dtype):
            raise located(
                DTypeError,
                f"Python integer {x} is out of bounds for {dtype} "
                "(NumPy 2 raises OverflowError); use an int64 or float operand",
            )
        return scalar(x, dtype)
    x = lift(x)
    if x.dtype == dtype:
        return x
    return ew.convert(x, dtype=dtype)


def as_float(x):
    """``x`` lifted and, unless it is floating already, converted to float64 (NumPy's result
    dtype for ``sqrt``, ``mean``, norms and the like)."""
    x = lift(x)
    return cast(x, dtypes.float_of(x.dtype))


def canonical_dtype(dtype, name: str = "") -> np.dtype:
    """``dtypes.canonical`` with the user's line in its error (dtype arguments of the namespace)."""
    try:
        return dtypes.canonical(dtype, f"{name}: " if name else "")
    except DTypeError as e:
        raise located(DTypeError, str(e)) from None


def _fits(x: int, dtype) -> bool:
    info = np.iinfo(dtype)
    return int(info.min) <= x <= int(info.max)


def promote(*xs, to_float: bool = False):
    """Operands converted to their common dtype (NumPy 2 rules with weak Python scalars)."""
    fast = _promote_common(xs, to_float)
    if fast is not None:
        return fast
    types = [typeof(x) for x in xs]
    dtype, weak = dtypes.promote(*types)
    if to_float and not dtypes.is_float(dtype):
        dtype = dtypes.float64
    out = [cast(x, dtype) for x in xs]
    return out, weak


def _promote_common(xs, to_float):
    """``promote`` of the common cases, without building the type lists: tracers of one dtype
    with a strong first one (nothing to convert), and a strong floating tracer with a Python
    scalar (which takes the tracer's dtype: a weak scalar never raises a floating dtype). None
    for anything else. The general rules give the same results."""
    x0 = xs[0]
    if type(x0) is Tracer and not x0.weak:
        d = x0.value.type.dtype
        if (not to_float or d.kind == "f") and all(
            type(x) is Tracer and x.value.type.dtype == d for x in xs
        ):
            return list(xs), False
    if len(xs) == 2:
        t, k = (x0, xs[1]) if type(x0) is Tracer else (xs[1], x0)
        if type(t) is Tracer and not t.weak and type(k) in _SCALAR_TYPES:
            d = t.value.type.dtype
            if d.kind == "f":
                c = scalar(k, d)
                return ([t, c] if t is x0 else [c, t]), False
    return None


_SCALAR_TYPES = (float, int, bool)


def mark_weak(result, weak: bool):
    if weak and isinstance(result, Tracer):
        result.weak = True
    return result


def as_shape(shape) -> tuple[int, ...]:
    """A shape argument (an int or a sequence of ints, as NumPy takes) as a tuple of ints."""
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)


def normalize_axes(axis, ndim: int, name: str) -> tuple[int, ...]:
    """A sorted tuple of non-negative axes from ``None``, an int or a sequence."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < ndim:
            raise located(
                ShapeError, f"{name}: axis {a} is out of bounds for an array of dimension {ndim}"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise located(ShapeError, f"{name}: repeated axis in {axis}")
    return tuple(sorted(out))


def normalize_axis(axis: int, ndim: int, name: str) -> int:
    return normalize_axes(int(axis), ndim, name)[0]
