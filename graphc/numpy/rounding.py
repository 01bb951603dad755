"""Rounding and Python-style division: floor, ceil, floor_divide, remainder (mod), fmod.

Built from the ``floor``/``ceil``/``div``/``rem`` primitives (``rem`` is C's fmod, the sign of
the dividend). ``floor_divide`` and ``remainder`` follow NumPy's ``npy_divmod`` step by step, so
float results match NumPy bit for bit, signed zeros, inf and NaN included. Integers never trap:
``x // 0 == x % 0 == 0`` as NumPy gives (NumPy warns; a traced program cannot, so it is silent)
and ``INT_MIN // -1`` wraps to INT_MIN. Bool operands are refused (NumPy would compute in int8,
which graphc does not have).
"""

from __future__ import annotations

from .. import dtypes
from ..ops import elementwise as ew
from ..ops.shape import scalar
from ._core import lift, mark_weak, promote
from .elementwise import _no_bool


def floor(x):
    """Largest integer <= x; integer and bool values are returned unchanged (NumPy 2 keeps their
    dtype). Its gradient is zero, as in JAX."""
    (a,), weak = promote(x)
    return mark_weak(ew.floor(a) if dtypes.is_float(a.dtype) else lift(a), weak)


def ceil(x):
    """Smallest integer >= x; integer and bool values are returned unchanged (see ``floor``)."""
    (a,), weak = promote(x)
    return mark_weak(ew.ceil(a) if dtypes.is_float(a.dtype) else lift(a), weak)


def _operands(name, x, y):
    _no_bool(name, x)
    _no_bool(name, y)
    return promote(x, y)


def fmod(x, y):
    """C's fmod: the remainder takes the sign of ``x`` (``np.fmod``)."""
    (a, b), weak = _operands("fmod", x, y)
    return mark_weak(ew.rem(a, b), weak)


def _needs_fixup(mod, b):
    """Where the truncated remainder's sign differs from the divisor's (NaN compares false)."""
    zero = scalar(0, b.dtype)
    signs_differ = ew.not_equal(ew.less(b, zero), ew.less(mod, zero))
    return ew.logical_and(ew.not_equal(mod, zero), signs_differ)


def _zero_signed_like(v):
    """copysign(0, v) for a v that is never NaN where it is used."""
    zero = scalar(0, v.dtype)
    signed = ew.select(ew.greater(v, zero), zero, v)  # v itself when v is +-0
    return ew.select(ew.less(v, zero), scalar(-0.0, v.dtype), signed)


def _float_divmod(a, b):
    """NumPy's ``npy_divmod``: fmod, fixed up to the divisor's sign, and the quotient snapped to
    the nearest integer. ``b == 0`` gives ``a / b`` and fmod's NaN."""
    one = scalar(1, a.dtype)
    mod = ew.rem(a, b)
    quot = ew.div(ew.sub(a, mod), b)
    fix = _needs_fixup(mod, b)
    mod_zero = ew.equal(mod, scalar(0, a.dtype))
    mod = ew.select(fix, ew.add(mod, b), mod)
    mod = ew.select(mod_zero, _zero_signed_like(b), mod)
    quot = ew.select(fix, ew.sub(quot, one), quot)
    fl = ew.floor(quot)
    fl = ew.select(ew.greater(ew.sub(quot, fl), scalar(0.5, a.dtype)), ew.add(fl, one), fl)
    true_quot = ew.div(a, b)
    fl = ew.select(ew.equal(quot, scalar(0, a.dtype)), _zero_signed_like(true_quot), fl)
    fl = ew.select(ew.equal(b, scalar(0, a.dtype)), true_quot, fl)
    return fl, mod


def _int_divmod(a, b):
    """Truncated quotient and remainder moved one step down where their signs call for it."""
    quot, mod = ew.div(a, b), ew.rem(a, b)
    fix = _needs_fixup(mod, b)
    one = scalar(1, a.dtype)
    return ew.select(fix, ew.sub(quot, one), quot), ew.select(fix, ew.add(mod, b), mod)


def _divmod(name, x, y):
    (a, b), weak = _operands(name, x, y)
    pair = _float_divmod(a, b) if dtypes.is_float(a.dtype) else _int_divmod(a, b)
    return [mark_weak(v, weak) for v in pair]


def floor_divide(x, y):
    """Python's ``//``: the floor of x / y (see the module docstring for the edge cases)."""
    return _divmod("floor_divide", x, y)[0]


def remainder(x, y):
    """Python's ``%``: the remainder has the sign of ``y`` and ``x == (x // y) * y + x % y``."""
    return _divmod("remainder", x, y)[1]


mod = remainder


def divmod_(x, y):
    """``divmod(x, y)``: (floor_divide, remainder), computed once."""
    return tuple(_divmod("divmod", x, y))
