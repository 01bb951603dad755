"""Shared helpers of the graphc.numpy namespace: operand lifting, NEP 50 promotion, axes."""

from __future__ import annotations

import operator

import numpy as np

from .. import dtypes
from ..core import Tracer, as_array, located
from ..errors import ArgumentError, AxisError, DTypeError, ShapeError, TracerBoolError
from ..ir import TensorType
from ..ops import elementwise as ew
from ..ops.shape import scalar


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
    return tuple(lift(x).shape)  # a ragged list is a GraphcError at the user's line


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


# --- static arguments (shapes, axes, counts) ----------------------------------------------------
# NOTE: shapes, axes and counts are fixed when a function is traced, so they must be Python values.
# They are checked here, once for the whole namespace: each wrong one is a GraphcError naming the
# function, the argument and the user's line, never NumPy's or Python's raw ValueError/TypeError.
# As in NumPy, an int is anything with ``__index__`` except a bool (``axis=True`` is refused).
# The classes: a traced value there is a TracerBoolError (Python needed a concrete value, as for
# ``int(tracer)``); a wrong type an ArgumentError (a TypeError, as NumPy's); a wrong value a
# ShapeError (a ValueError, as NumPy's); an axis out of range an AxisError (NumPy's too).


def _describe(x) -> str:
    if isinstance(x, Tracer):
        return f"a traced value {x.aval}"
    return f"{x!r} ({type(x).__name__})"


def _not_static(what: str, x, kind: str = "ints") -> TracerBoolError:
    return located(
        TracerBoolError,
        f"{what} must be static Python {kind}, but it is {_describe(x)}: shapes, axes and sizes "
        "are fixed when the function is traced, so pass it as a static argument "
        "(static_argnums/static_argnames) or derive it from an array's shape (x.shape)",
    )


def _index(x):
    """``operator.index(x)``, or None for a value that is not an int (a bool is not one)."""
    if isinstance(x, (bool, np.bool_)):
        return None
    try:
        return operator.index(x)
    except TypeError:
        return None


def static_int(x, what: str) -> int:
    """``x`` as a Python int, for an argument that must be known while tracing (``what`` names it
    in the error: ``"sum: axis"``)."""
    if isinstance(x, Tracer):
        raise _not_static(what, x)
    n = _index(x)
    if n is None:
        raise located(ArgumentError, f"{what} must be an int, got {_describe(x)}")
    return n


def static_ints(xs, what: str) -> tuple[int, ...]:
    """An int or a sequence of ints (a shape, a tuple of axes) as a tuple of Python ints."""
    if isinstance(xs, Tracer):
        raise _not_static(what, xs)
    n = _index(xs)
    if n is not None:
        return (n,)
    if not isinstance(xs, (tuple, list, np.ndarray)):
        raise located(
            ArgumentError, f"{what} must be an int or a tuple of ints, got {_describe(xs)}"
        )
    out = []
    for x in xs:
        if isinstance(x, Tracer):
            raise _not_static(what, x)
        n = _index(x)
        if n is None:
            raise located(
                ArgumentError,
                f"{what} must be an int or a tuple of ints, but it holds {_describe(x)}",
            )
        out.append(n)
    return tuple(out)


def static_bool(x, what: str) -> bool:
    """A flag such as ``keepdims``: a bool, or an int as NumPy takes."""
    if isinstance(x, Tracer):
        raise _not_static(what, x, "bools")
    if isinstance(x, (bool, np.bool_)) or _index(x) is not None:
        return bool(x)
    raise located(ArgumentError, f"{what} must be a bool, got {_describe(x)}")


def static_real(x, what: str) -> float:
    """A number known while tracing (``ddof``, ``arange``'s bounds): a Python or NumPy real."""
    if isinstance(x, Tracer):
        raise _not_static(what, x, "numbers")
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_)):
        return x
    raise located(ArgumentError, f"{what} must be a number, got {_describe(x)}")


def static_dim(x, what: str) -> int:
    """A size (``eye``'s ``N``, ``linspace``'s ``num``): a non-negative static int."""
    n = static_int(x, what)
    if n < 0:
        raise located(ShapeError, f"{what} must not be negative, got {n}")
    return n


def as_shape(shape, name: str, dtype) -> tuple[int, ...]:
    """A shape argument (an int or a sequence of ints, as NumPy takes) of an array of ``dtype``,
    as a tuple of ints (``checked_shape``)."""
    return checked_shape(static_ints(shape, f"{name}: shape"), dtype, name)


def checked_shape(dims: tuple[int, ...], dtype, name: str) -> tuple[int, ...]:
    """``dims`` if an array of that shape and ``dtype`` can exist: no negative dimension, at most
    ``TensorType``'s byte limit (the one limit, which every shape rule enforces too); else a
    ShapeError naming ``name`` at the user's line, before NumPy allocates anything."""
    try:
        TensorType(dims, dtype)
    except ShapeError as e:
        raise located(ShapeError, f"{name}: {e}") from None
    return dims


def normalize_axes(axis, ndim: int, name: str) -> tuple[int, ...]:
    """A sorted tuple of non-negative axes from ``None``, an int or a sequence."""
    if axis is None:
        return tuple(range(ndim))
    out = []
    for a in static_ints(axis, f"{name}: axis"):
        if not -ndim <= a < ndim:
            err = located(
                AxisError, f"{name}: axis {a} is out of bounds for an array of dimension {ndim}"
            )
            err.axis, err.ndim = a, ndim
            raise err
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise located(ShapeError, f"{name}: repeated axis in {axis}")
    return tuple(sorted(out))


def normalize_axis(axis, ndim: int, name: str) -> int:
    """One axis (an int: NumPy's functions with ``axis`` for a single axis refuse a tuple)."""
    return normalize_axes(static_int(axis, f"{name}: axis"), ndim, name)[0]
