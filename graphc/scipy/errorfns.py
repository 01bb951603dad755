"""``erf``, ``erfc`` and ``erfinv`` (SciPy's names and special values) with exact derivative
rules: ``2/sqrt(pi) exp(-x**2)`` and ``sqrt(pi)/2 exp(erfinv(y)**2)``, not the derivatives of
the approximations.

erf(x) = x S(x**2) for |x| <= 1; beyond, erfc(|x|) = exp(-x**2) erfcx(|x|) with erfcx
(``exp(x**2) erfc(x)``) from one of four Chebyshev series on [1, 28] (erfc is 0 in float64 past
27.3). erfinv starts from a closed-form estimate (error ~2e-3) refined by two Halley steps on
``erf(x) - y``, written as ``(1 - y) - erfc(x)`` for |y| > 1/2, where 1 - y is exact and erf's
rounding near 1 would cost the tail its digits.
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy as gnp
from .calls import FUNCTIONS, apply
from .series import chebyshev, exp_minus_square

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_ERFCX = (("erfcx_1_2", 2.0), ("erfcx_2_4", 4.0), ("erfcx_4_8", 8.0), ("erfcx_8_28", None))


def _erfc_beyond_one(a):
    """erfc(a) for a >= 1 (float64)."""
    value = chebyshev(_ERFCX[-1][0], a)
    for name, upper in reversed(_ERFCX[:-1]):
        value = gnp.where(a < upper, chebyshev(name, a), value)
    return value * exp_minus_square(gnp.minimum(a, 28.0))


def _erf64(x):
    a = gnp.abs(x)
    small = x * chebyshev("erf_small", gnp.minimum(a * a, 1.0))
    large = gnp.copysign(1 - _erfc_beyond_one(gnp.maximum(a, 1.0)), x)
    return gnp.where(a <= 1, small, large)


def _erfc64(x):
    a = gnp.abs(x)
    tail = _erfc_beyond_one(gnp.maximum(a, 1.0))
    return gnp.where(a <= 1, 1 - _erf64(gnp.clip(x, -1.0, 1.0)),
                     gnp.where(x > 0, tail, 2 - tail))


def _derivative(x):
    return _TWO_OVER_SQRT_PI * gnp.exp(-x * x)


def _winitzki(p):
    """A closed-form estimate of erfinv(p) for 0 <= p < 1 (relative error below 2e-3)."""
    a = 0.147
    w = gnp.log((1 - p) * (1 + p))
    s = 2 / (math.pi * a) + w / 2
    return gnp.sqrt(gnp.sqrt(s * s - w / a) - s)


def _erfinv64(y):
    p = gnp.abs(y)
    inside = p < 1
    q = gnp.where(inside, p, 0.5)  # the iteration sees a safe value outside (-1, 1)
    x = _winitzki(q)
    for _ in range(2):  # Halley: error 2e-3 -> ~1e-8 -> below rounding
        f = gnp.where(q <= 0.5, _erf64(x) - q, (1 - q) - _erfc64(x))
        step = f / _derivative(x)
        x = x - step / (1 + x * step)
    x = gnp.where(p == 1, np.inf, gnp.where(inside, x, np.nan))
    return gnp.copysign(x, y)


def erf(x):
    """The error function: ``2/sqrt(pi)`` times the integral of ``exp(-t**2)`` from 0 to x."""
    return apply("erf", x)


def erfc(x):
    """``1 - erf(x)``, accurate where erf is close to 1 (to 27.3, where it underflows)."""
    return apply("erfc", x)


def erfinv(y):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside)."""
    return apply("erfinv", y)


FUNCTIONS.update({
    "erf": (lambda x, n: _erf64(x), lambda x, y, n: _derivative(x)),
    "erfc": (lambda x, n: _erfc64(x), lambda x, y, n: -_derivative(x)),
    "erfinv": (lambda x, n: _erfinv64(x), lambda x, y, n: 1 / _derivative(y)),
})
