"""More of NumPy's math functions, composed from primitives (issue 12, item 1): ``exp2``,
``logaddexp``, ``logaddexp2``, ``arcsinh``, ``arccosh``, ``arctanh``, ``hypot`` and ``cbrt``.

Each uses a formula that stays accurate over the whole range (the bounds, against the correctly
rounded result, are in tests/oracles.py), with NumPy's special values (signed zeros, infinities,
NaN). Why composites rather than math-library functions: they reuse the tested ``exp``, ``log1p``,
``pow`` and ``sqrt``, and their derivatives come from the chain rule. Two habits keep those
derivatives right: a branch that must not see some inputs gets safe ones (the "double where"),
so an unused branch never puts NaN into a gradient; and odd functions reflect with
``where(x < 0, -x, x)``, whose derivative at 0 is 1 (``abs``'s is 0).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..ops.shape import scalar
from ._core import mark_weak, promote
from .elementwise import abs as _abs
from .elementwise import exp, log, log1p, maximum, minimum, power, sqrt, where
from .floats import isinf

_LN2 = 0.6931471805599453
_LOG2E = 1.4426950408889634


def _float(*xs):
    return promote(*xs, to_float=True)


def _c(v, like):
    return scalar(v, like.dtype)


def _big(a):
    """Beyond this magnitude ``x * x`` needs care (it overflows near the square root of max)."""
    return _c(2.0 ** (12 if a.dtype == dtypes.float32 else 28), a)


def exp2(x):
    """``2 ** x`` (``pow`` is accurate over the whole range, overflow and subnormals included)."""
    (a,), weak = _float(x)
    return mark_weak(power(_c(2, a), a), weak)


def _log_add(a, b, log1p_of):
    """``max + log1p_of(-|a - b|)``; equal infinities give themselves (``inf - inf`` is NaN)."""
    m = maximum(a, b)
    same_inf = isinf(a) & (a == b)
    zero = _c(0, a)
    delta = where(same_inf, zero, a) - where(same_inf, zero, b)
    return where(same_inf, a, m + log1p_of(-_abs(delta)))


def logaddexp(x1, x2):
    """``log(exp(x1) + exp(x2))`` without overflow: ``max + log1p(exp(-|x1 - x2|))``."""
    (a, b), weak = _float(x1, x2)
    return mark_weak(_log_add(a, b, lambda d: log1p(exp(d))), weak)


def logaddexp2(x1, x2):
    """``log2(2**x1 + 2**x2)``: ``max + log1p(2**-|x1 - x2|) / ln 2``."""
    (a, b), weak = _float(x1, x2)
    return mark_weak(_log_add(a, b, lambda d: log1p(power(_c(2, d), d)) * _c(_LOG2E, d)), weak)


def _odd(a, positive_part):
    """An odd function from its values on ``x >= 0``; a zero is returned as it is (its sign
    kept, its derivative 1)."""
    zero = _c(0, a)
    t = where(a < zero, -a, a)
    r = positive_part(t)
    return where(a == zero, a, where(a < zero, -r, r))


def arcsinh(x):
    """``log1p(t + t*t / (1 + sqrt(1 + t*t)))`` for ``t = |x|`` (no cancellation near 0), and
    ``log(t) + ln 2`` beyond ``2**28`` (where ``t*t`` would overflow), odd in ``x``."""
    (a,), weak = _float(x)

    def pos(t):
        big = t > _big(a)
        s = where(big, _c(1, t), t)
        near = log1p(s + s * s / (_c(1, t) + sqrt(_c(1, t) + s * s)))
        far = log(where(big, t, _c(1, t))) + _c(_LN2, t)
        return where(big, far, near)

    return mark_weak(_odd(a, pos), weak)


def arccosh(x):
    """``log1p(u + sqrt(2u + u*u))`` for ``u = x - 1`` (exact near 1), ``log(x) + ln 2`` beyond
    ``2**28``; NaN below 1."""
    (a,), weak = _float(x)
    big = a > _big(a)
    u = where(big, _c(1, a), a) - _c(1, a)
    near = log1p(u + sqrt(u * _c(2, a) + u * u))
    far = log(where(big, a, _c(1, a))) + _c(_LN2, a)
    return mark_weak(where(big, far, near), weak)


def arctanh(x):
    """Odd in ``x``; for ``t = |x|``: ``log1p(2t + 2t*t / (1 - t)) / 2`` below 1/2 and
    ``log1p(2t / (1 - t)) / 2`` above (``1 - t`` is exact there), as C libraries do: the
    argument of ``log1p`` never nears -1. +-inf at +-1, NaN beyond."""
    (a,), weak = _float(x)

    def pos(t):
        one, two = _c(1, t), _c(2, t)
        small = t < _c(0.5, t)
        arg = where(small, two * t + two * t * t / (one - t), two * t / (one - t))
        return log1p(arg) * _c(0.5, t)

    return mark_weak(_odd(a, pos), weak)


def hypot(x1, x2):
    """``m * sqrt(1 + (n/m)**2)`` with ``m, n`` the larger and smaller magnitude (no overflow);
    ``hypot(+-inf, NaN)`` is inf, as C99 says."""
    (a, b), weak = _float(x1, x2)
    p, q = _abs(a), _abs(b)
    m, n = maximum(p, q), minimum(p, q)
    safe = (m > _c(0, a)) & ~isinf(m)
    mm = where(safe, m, _c(1, a))
    r = where(safe, n, _c(0, a)) / mm
    h = where(safe, mm * sqrt(_c(1, a) + r * r), m)
    inf = _c(np.inf, a)
    return mark_weak(where(isinf(a) | isinf(b), inf, h), weak)


def cbrt(x):
    """The real cube root: ``t ** (1/3)`` for ``t = |x|`` and one Newton step (so exact cubes
    come out exact), odd in ``x``; zeros, infinities and NaN pass through."""
    (a,), weak = _float(x)

    def pos(t):
        plain = (t == _c(0, t)) | isinf(t)
        s = where(plain, _c(1, t), t)
        r = power(s, _c(1 / 3, t))
        r = r - (r * r * r - s) / (r * r * _c(3, t))
        return where(plain, t, r)

    return mark_weak(_odd(a, pos), weak)
