"""The pieces the special functions are built from: Chebyshev series (``_chebyshev.py``, fitted
by tools/fit_special.py) summed by Clenshaw's recurrence, float64 evaluation, an accurate
``exp(-x**2)``, ``sin``/``tan`` of ``pi * x`` with exact argument reduction, and the Bernoulli
numbers of the asymptotic series.

Why series written here rather than a library: graphc's functions must be graphs (traced,
compiled, fused into one kernel), and NumPy has none of these functions. Every function is
computed in float64 and rounded once to a float32 input's dtype."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .. import numpy as gnp
from ..numpy._core import as_float, cast
from ._chebyshev import SERIES

#: B_2, B_4, ..., B_16.
BERNOULLI = tuple(Fraction(n, d) for n, d in
                  ((1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510)))
F64 = np.dtype(np.float64)


def in_float64(x):
    """``(x as float64, the dtype to round the result to)``."""
    x = as_float(x)
    return cast(x, F64), x.dtype


def chebyshev(name: str, x):
    """The series ``name`` at ``x`` clamped into its interval."""
    (lo, hi), coef = SERIES[name]
    u = (2 * gnp.clip(x, lo, hi) - (lo + hi)) / (hi - lo)
    b1 = b2 = 0.0
    for c in reversed(coef[1:]):
        b1, b2 = c + 2 * u * b1 - b2, b1
    return coef[0] + u * b1 - b2


def exp_minus_square(x):
    """``exp(-x**2)`` with ``x**2`` split exactly: ``hi = x`` to 24 bits, ``hi**2`` exact, and
    ``x**2 = hi**2 + (x - hi)(x + hi)`` (the rounding of ``x**2`` alone costs up to ~700 ulps of
    the exponential at ``x = 27``)."""
    hi = cast(cast(x, np.dtype(np.float32)), F64)
    return gnp.exp(-hi * hi) * gnp.exp(-(x - hi) * (x + hi))


def reduced(x):
    """``x - round(x)`` (exact), in [-1/2, 1/2]: ``sin(pi x)`` and ``tan(pi x)`` are ``sin`` and
    ``tan`` of ``pi`` times it up to sign, accurate at any ``|x|``."""
    return x - gnp.rint(x)


def polyval_inverse(x, coefs):
    """``sum(c_k / x**k)`` for k = 1, 2, ... (Horner in ``1 / x``)."""
    r = 1 / x
    acc = 0.0
    for c in reversed(coefs):
        acc = (acc + float(c)) * r
    return acc
