"""NumPy's float helpers, composed from primitives (so derivatives and the LLVM lowering come with
them): angle conversion, ``fabs``, ``fmax``/``fmin``, ``isfinite``/``isinf``, ``heaviside``,
``nan_to_num``, ``trunc``, ``rint``/``round``/``around``, ``log10``, ``copysign``, ``signbit``
and ``sinc``.

Exactness: each follows NumPy's own arithmetic, so results are bit for bit NumPy's (signed zeros,
inf and NaN included), ``log10`` aside (``log(x)`` times a rounded ``1/ln 10``, as ``log2``; its
ulp bound is in tests/oracles.py) and ``sinc`` (NumPy's formula over graphc's ``sin``). Gradients, as in JAX: ``trunc``/``rint``/``round``, the
predicates and ``heaviside``'s first argument have none; ``fmax``/``fmin`` pass it to the operand
they return; ``nan_to_num`` passes it where its input was finite.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops import elementwise as ew
from ..ops.shape import scalar
from ._core import lift, mark_weak, promote
from .elementwise import abs as _abs
from .elementwise import isnan, log, multiply, sin, where
from .rounding import ceil, floor


def _scaled(x, f32, f64):
    (a,), weak = promote(x, to_float=True)
    return mark_weak(multiply(a, scalar(f32 if a.dtype == dtypes.float32 else f64, a.dtype)),
                     weak)


def deg2rad(x):
    """``x * (pi / 180)``, the constant rounded as NumPy's C loops round it."""
    return _scaled(x, np.float32(np.pi) / np.float32(180), np.pi / 180)


def rad2deg(x):
    """``x * (180 / pi)``, the constant rounded as NumPy's C loops round it."""
    return _scaled(x, np.float32(180) / np.float32(np.pi), 180 / np.pi)


radians, degrees = deg2rad, rad2deg


def log10(x):
    """``log(x) * (1 / ln 10)`` (within the bound tests/oracles.py states, as ``log2``)."""
    (a,), weak = promote(x, to_float=True)
    return mark_weak(multiply(log(a), scalar(0.43429448190325176, a.dtype)), weak)


def fabs(x):
    """``abs`` in floating point (integers give float64, as in NumPy)."""
    (a,), weak = promote(x, to_float=True)
    return mark_weak(_abs(a), weak)


def isinf(x):
    a = lift(x)
    if not dtypes.is_float(a.dtype):
        return ew.not_equal(a, a)  # False everywhere: integers are finite
    return ew.equal(_abs(a), scalar(np.inf, a.dtype))


def isfinite(x):
    a = lift(x)
    if not dtypes.is_float(a.dtype):
        return ew.equal(a, a)
    return ew.less(_abs(a), scalar(np.inf, a.dtype))


def _nan_aware(pick):
    def fn(x, y):
        (a, b), weak = promote(x, y)
        if not dtypes.is_float(a.dtype):
            return mark_weak(where(pick(a, b), a, b), weak)
        return mark_weak(where(isnan(b) | (~isnan(a) & pick(a, b)), a, b), weak)

    return fn


fmax = _nan_aware(lambda a, b: a >= b)
fmax.__name__ = "fmax"
fmax.__doc__ = "The larger of each pair, NaN only where both are NaN (``np.fmax``)."
fmin = _nan_aware(lambda a, b: a <= b)
fmin.__name__ = "fmin"
fmin.__doc__ = "The smaller of each pair, NaN only where both are NaN (``np.fmin``)."


def heaviside(x1, x2):
    """0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``, NaN where ``x1`` is NaN."""
    (a, h), weak = promote(x1, x2, to_float=True)
    zero, one = scalar(0, a.dtype), scalar(1, a.dtype)
    out = where(a < zero, zero, where(a > zero, one, where(a == zero, h, a)))
    return mark_weak(out, weak)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """NaN to ``nan``, +inf to ``posinf`` (default: the dtype's largest value), -inf to ``neginf``
    (default: its lowest); integers are returned unchanged. ``copy`` is accepted for NumPy's
    signature (results are always new values)."""
    a = lift(x)
    if not dtypes.is_float(a.dtype):
        return a
    info = np.finfo(a.dtype)
    big = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    inf = scalar(np.inf, a.dtype)
    out = where(isnan(a), scalar(nan, a.dtype), a)
    out = where(a == inf, scalar(big, a.dtype), out)
    return where(a == -inf, scalar(low, a.dtype), out)


def trunc(x):
    """Round toward zero; integers unchanged (NumPy 2 keeps their dtype)."""
    a = lift(x)
    if not dtypes.is_float(a.dtype):
        return a
    return where(a < scalar(0, a.dtype), ceil(a), floor(a))


def rint(x):
    """Round half to even, as the FPU's default mode does (``np.rint``): ``floor`` and the exact
    fraction ``x - floor(x)``; |x| >= 2**52 (2**23 in float32) is already an integer. A zero keeps
    the sign of ``x`` (``rint(-0.4) == -0.0``). Integers give float64, as in NumPy."""
    (a,), weak = promote(x, to_float=True)
    half, one, zero = scalar(0.5, a.dtype), scalar(1, a.dtype), scalar(0, a.dtype)
    big = _abs(a) >= scalar(2.0 ** (23 if a.dtype == dtypes.float32 else 52), a.dtype)
    small = where(big, zero, a)  # no inf - inf below (eager NumPy would warn)
    r = floor(small)
    frac = small - r
    odd = (r - floor(r * half) * scalar(2, a.dtype)) == one
    out = where((frac > half) | ((frac == half) & odd), r + one, r)
    out = where((out == zero) & (a < zero), -zero, out)  # rint(-0.4) is -0.0
    return mark_weak(where(big, a, out), weak)


def round(a, decimals=0, out=None):
    """``rint(a * 10**decimals) / 10**decimals``, NumPy's own method (so ``round(2.675, 2) ==
    2.67``, as NumPy gives); integers with ``decimals >= 0`` are returned unchanged."""
    if out is not None:
        raise TypeError("graphc.numpy.round: out= is not supported (results are new values)")
    x = lift(a)
    if not dtypes.is_float(x.dtype):
        return x if decimals >= 0 else round(x.astype(np.float64), decimals).astype(x.dtype)
    if decimals == 0:
        return rint(x)
    scale = scalar(10.0 ** abs(decimals), x.dtype)
    return rint(x * scale) / scale if decimals > 0 else rint(x / scale) * scale


around = round


def copysign(x1, x2):
    """``|x1|`` with the sign bit of ``x2`` (a primitive: ``llvm.copysign``); integers give
    float64. The derivative is +-1 for ``x1`` and 0 for ``x2``."""
    (a, b), weak = promote(x1, x2, to_float=True)
    return mark_weak(ew.copysign(a, b), weak)


def signbit(x):
    """Whether the sign bit is set (``-0.0`` and a negative NaN included): ``copysign(1, x) < 0``.
    Integers: ``x < 0``."""
    a = lift(x)
    if not dtypes.is_float(a.dtype):
        return ew.less(a, scalar(0, a.dtype))
    return ew.less(ew.copysign(scalar(1, a.dtype), a), scalar(0, a.dtype))


def sinc(x):
    """``sin(pi y) / (pi y)`` with ``y = x`` (and 1 at 0): NumPy's own formula, so it is exactly as
    accurate as NumPy's (``pi * x`` is rounded first; near large integers the relative error grows)."""
    (a,), weak = promote(x, to_float=True)
    y = scalar(np.pi, a.dtype) * where(a == scalar(0, a.dtype), scalar(1.0e-20, a.dtype), a)
    return mark_weak(sin(y) / y, weak)
