"""Elementwise functions of graphc.numpy (NumPy semantics, NumPy 2 promotion)."""

from __future__ import annotations

from .. import dtypes
from ..core import located
from ..errors import DTypeError, ShapeError
from ..ops import elementwise as ew
from ..ops.shape import scalar
from ..ops.shape import stop_gradient as _stop_gradient
from ._core import canonical_dtype, cast, is_python_scalar, lift, mark_weak, promote, strong, typeof


def _binary(prim, to_float=False):
    def fn(x, y):
        (a, b), weak = promote(x, y, to_float=to_float)
        return mark_weak(prim(a, b), weak)

    fn.__name__ = prim.name
    return fn


def _unary_float(prim):
    def fn(x):
        (a,), weak = promote(x, to_float=True)
        return mark_weak(prim(a), weak)

    fn.__name__ = prim.name
    return fn


def _no_bool(name, x):
    if typeof(x)[0] == dtypes.bool_:
        raise located(
            DTypeError,
            f"{name} is not defined for bool operands (NumPy refuses it too); "
            "convert with .astype or use logical_xor / logical_not",
        )


def _with_bool(prim, bool_prim):
    """A binary function that promotes like NumPy; when both operands are bool it applies
    ``bool_prim`` instead (NumPy's bool ``add``/``maximum`` are logical or, ``multiply``/``minimum``
    logical and) or, when that is None, raises DTypeError (NumPy refuses bool ``subtract``)."""

    def fn(x, y):
        (a, b), weak = promote(x, y)
        if a.dtype != dtypes.bool_:
            return mark_weak(prim(a, b), weak)
        if bool_prim is None:
            _no_bool(prim.name, a)
        return mark_weak(bool_prim(a, b), weak)

    fn.__name__ = prim.name
    return fn


add = _with_bool(ew.add, ew.logical_or)
subtract = _with_bool(ew.sub, None)
multiply = _with_bool(ew.mul, ew.logical_and)
divide = true_divide = _binary(ew.div, to_float=True)
maximum = _with_bool(ew.maximum, ew.logical_or)
minimum = _with_bool(ew.minimum, ew.logical_and)
arctan2 = _binary(ew.atan2, to_float=True)
greater = _binary(ew.greater)
greater_equal = _binary(ew.greater_equal)
less = _binary(ew.less)
less_equal = _binary(ew.less_equal)
equal = _binary(ew.equal)
not_equal = _binary(ew.not_equal)

exp = _unary_float(ew.exp)
expm1 = _unary_float(ew.expm1)
log = _unary_float(ew.log)
log1p = _unary_float(ew.log1p)
sqrt = _unary_float(ew.sqrt)
sin = _unary_float(ew.sin)
cos = _unary_float(ew.cos)
tanh = _unary_float(ew.tanh)


def _as_bool(x):
    return cast(x, dtypes.bool_)


def logical_and(x, y):
    return ew.logical_and(_as_bool(x), _as_bool(y))


def logical_or(x, y):
    return ew.logical_or(_as_bool(x), _as_bool(y))


def logical_not(x):
    return ew.logical_not(_as_bool(x))


def logical_xor(x, y):
    return ew.not_equal(_as_bool(x), _as_bool(y))


def _bool_only(name, logical):
    """``&``, ``|``, ``^``, ``~`` act on bool values (where bitwise and logical agree); NumPy's
    integer bitwise meaning has no primitive, so integers are refused rather than silently
    treated as truth values."""

    def fn(*xs):
        for x in xs:
            d = typeof(x)[0]
            if d != dtypes.bool_:
                raise located(
                    DTypeError,
                    f"{name} of {d} values is not supported (graphc has no "
                    "integer bitwise operations); use it on bool values",
                )
        return logical(*xs)

    fn.__name__ = name
    return fn


bitwise_and = _bool_only("bitwise_and", logical_and)
bitwise_or = _bool_only("bitwise_or", logical_or)
bitwise_xor = _bool_only("bitwise_xor", logical_xor)
invert = bitwise_not = _bool_only("invert", logical_not)


def negative(x):
    _no_bool("negative", x)
    (a,), weak = promote(x)
    return mark_weak(ew.neg(a), weak)


def positive(x):
    return lift(x)


def abs(x):
    (a,), weak = promote(x)
    return mark_weak(a if a.dtype == dtypes.bool_ else ew.abs_(a), weak)


absolute = abs


def sign(x):
    (a,), weak = promote(x)
    return mark_weak(ew.sign(a), weak)


def square(x):
    return multiply(x, x)


def reciprocal(x):
    """1 / x in floating point: integers give float64 (NumPy's integer reciprocal truncates to
    0 or +-1, which is rarely what is meant)."""
    (a,), _ = promote(x, to_float=True)
    return divide(1, a)


def log2(x):
    (a,), _ = promote(x, to_float=True)
    return multiply(log(a), scalar(1.4426950408889634, a.dtype))


def tan(x):
    (a,), _ = promote(x, to_float=True)
    return divide(sin(a), cos(a))


def sinh(x):
    """(expm1(x) - expm1(-x)) / 2: accurate near zero, where exp(x) - exp(-x) cancels."""
    (a,), _ = promote(x, to_float=True)
    return multiply(subtract(expm1(a), expm1(negative(a))), 0.5)


def cosh(x):
    (a,), _ = promote(x, to_float=True)
    return multiply(add(exp(a), exp(negative(a))), 0.5)


def arctan(x):
    (a,), _ = promote(x, to_float=True)
    return arctan2(a, scalar(1, a.dtype))


def _unit_root(a):
    """sqrt(1 - a*a), computed as sqrt((1-a)(1+a)) for accuracy near |a| = 1."""
    return sqrt(multiply(subtract(1, a), add(1, a)))


def arcsin(x):
    (a,), _ = promote(x, to_float=True)
    return arctan2(a, _unit_root(a))


def arccos(x):
    (a,), _ = promote(x, to_float=True)
    return arctan2(_unit_root(a), a)


def power(x, y):
    """``x ** y``. A Python-int exponent becomes repeated multiplication (exact, and its gradient
    at a zero base is the analytic one); other exponents use the ``pow`` primitive (floats only)."""
    if is_python_scalar(y) and not isinstance(y, (bool, float)):
        return _int_power(x, y)
    (a, b), weak = promote(x, y)
    if not dtypes.is_float(a.dtype):
        raise located(
            DTypeError,
            f"power of {a.dtype} values with a traced or array exponent is not "
            "supported; convert to float, or use a Python int exponent",
        )
    return mark_weak(ew.pow_(a, b), weak)


def _int_power(x, n: int):
    (a,), weak = promote(x)
    if n < 0:
        if not dtypes.is_float(a.dtype):
            raise located(
                DTypeError,
                "integers to negative integer powers are not allowed (as in "
                "NumPy); convert the base to float",
            )
        return divide(1, _int_power(a, -n))
    if n == 0:
        from .creation import ones_like

        return mark_weak(ones_like(a), weak)
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else ew.mul(result, base)
        n >>= 1
        if n:
            base = ew.mul(base, base)
    return mark_weak(result, weak)


def where(condition, x=None, y=None):
    if x is None or y is None:
        raise located(
            ShapeError,
            "where(condition) with one argument has a data-dependent shape; "
            "pass where(condition, x, y)",
        )
    (a, b), weak = promote(x, y)
    return mark_weak(ew.select(_as_bool(condition), a, b), weak)


def clip(x, a_min=None, a_max=None):
    """min(max(x, a_min), a_max), so at the bounds the gradient is split as in JAX's clip."""
    out = lift(x) if not is_python_scalar(x) else x
    if a_min is not None:
        out = maximum(out, a_min)
    if a_max is not None:
        out = minimum(out, a_max)
    return out


def astype(x, dtype):
    return strong(cast(x, canonical_dtype(dtype, "astype")))


def stop_gradient(x):
    """Value passes through; the gradient is zero (``x.detach()`` on traced values)."""
    x = lift(x)
    return _stop_gradient(x)


def isnan(x):
    a = lift(x)
    return ew.not_equal(a, a)
