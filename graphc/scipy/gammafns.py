"""``gammaln``, ``digamma`` (``psi``) and ``polygamma`` (SciPy's names), each the derivative of
the one before: gammaln's rule is digamma, digamma's is polygamma(1), polygamma(n)'s is
polygamma(n + 1), so derivatives of every order are exact for x > 0. For x < 0 gammaln and
digamma have values (by reflection) and gammaln its first derivative, but polygamma has no
reflection here, so digamma's derivative and gammaln's second are NaN there.

For x > 0: gammaln and digamma are Chebyshev series on [1, 3] (divided by their zeros there, so
the result near a zero keeps its relative accuracy) and [3, 10], their asymptotic series from 10
on, and ``f(x + 1)`` minus ``log x`` or ``1/x`` below 1. For x < 0 the reflection formulas, with
``sin(pi x)`` and ``tan(pi x)`` reduced exactly. polygamma(n >= 1) sums ``1/(x + k)**(n + 1)``
for k < 10 and the asymptotic series at ``x + 10`` (x > 0 only: NaN for x <= 0).

Poles: gammaln is +inf at 0 and the negative integers (as SciPy); digamma and polygamma are NaN
there (SciPy gives digamma(0) = -inf; a pole has no sign to choose, and JAX also gives NaN).
"""

from __future__ import annotations

import math

import numpy as np

from .. import numpy as gnp
from ..numpy._core import static_int
from .calls import FUNCTIONS, apply
from .series import BERNOULLI, chebyshev, polyval_inverse, reduced
from ._chebyshev import DIGAMMA_ZERO

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)
_SHIFT = 10  # the asymptotic series start here


def _gammaln_positive(x):
    """x > 0 (float64). Each piece sees its argument clamped into its interval (no overflow in
    the pieces a point does not use)."""
    mid = gnp.clip(x, 1.0, 3.0)
    one_three = (mid - 1) * (mid - 2) * chebyshev("gammaln_1_3", mid)
    small = gnp.minimum(x, 1.0)  # gammaln(x) = gammaln(x + 1) - log(x) below 1
    low = small + 1
    below = (low - 1) * (low - 2) * chebyshev("gammaln_1_3", low) - gnp.log(small)
    big = gnp.maximum(x, float(_SHIFT))
    stirling = ((big - 0.5) * gnp.log(big) - big + _HALF_LOG_2PI
                + polyval_inverse(big, _stirling_terms()))
    out = gnp.where(x < _SHIFT, chebyshev("gammaln_3_10", x), stirling)
    out = gnp.where(x < 3, one_three, out)
    return gnp.where(x < 1, below, out)


def _stirling_terms():
    """The coefficients of 1/x, 1/x**2, ...: B_2k / (2k (2k - 1)) at odd powers."""
    out = []
    for k, b in enumerate(BERNOULLI, start=1):
        out += [0.0] * (2 * k - 1 - len(out) - 1) + [b / (2 * k * (2 * k - 1))]
    return out


def _gammaln64(x):
    positive = _gammaln_positive(gnp.where(x > 0, x, 1 - x))  # the reflection's gammaln(1 - x)
    sin = gnp.abs(gnp.sin(math.pi * reduced(x)))
    reflected = _LOG_PI - gnp.log(sin) - positive
    out = gnp.where(x > 0, positive, reflected)
    pole = (x <= 0) & (reduced(x) == 0)
    return gnp.where(pole | gnp.isinf(x), np.inf, out)


def _digamma_positive(x):
    hi, lo = DIGAMMA_ZERO
    mid = gnp.clip(x, 1.0, 3.0)
    one_three = (mid - hi - lo) * chebyshev("digamma_1_3", mid)
    small = gnp.minimum(x, 1.0)  # digamma(x) = digamma(x + 1) - 1/x below 1
    low = small + 1
    below = (low - hi - lo) * chebyshev("digamma_1_3", low) - 1 / small
    big = gnp.maximum(x, float(_SHIFT))
    terms = [0.0] * 16
    for k, b in enumerate(BERNOULLI, start=1):
        terms[2 * k - 1] = -b / (2 * k)
    asymptotic = gnp.log(big) - 0.5 / big + polyval_inverse(big, terms)
    out = gnp.where(x < _SHIFT, chebyshev("digamma_3_10", x), asymptotic)
    out = gnp.where(x < 3, one_three, out)
    return gnp.where(x < 1, below, out)


def _digamma64(x):
    positive = _digamma_positive(gnp.where(x > 0, x, 1 - x))
    r = reduced(x)
    tan = gnp.tan(math.pi * gnp.where(r == 0, 0.25, r))
    out = gnp.where(x > 0, positive, positive - math.pi / tan)
    out = gnp.where(x == np.inf, np.inf, out)
    return gnp.where(((x <= 0) & (r == 0)) | (x == -np.inf), np.nan, out)


def _polygamma64_n(x, n: int):
    """n >= 1, x > 0 (else NaN): ``(-1)**(n+1) (n! sum 1/(x+k)**(n+1) + asymptotic(x + 10))``."""
    pos = gnp.where(x > 0, x, 1.0)
    total = 0.0
    for k in range(_SHIFT):
        total = total + (pos + k) ** -(n + 1)
    y = pos + _SHIFT
    terms = [0.0] * (2 * len(BERNOULLI) + n + 1)
    terms[n - 1] = math.factorial(n - 1)
    terms[n] += math.factorial(n) / 2
    for k, b in enumerate(BERNOULLI, start=1):
        terms[2 * k + n - 1] += float(b * math.factorial(2 * k + n - 1) / math.factorial(2 * k))
    value = math.factorial(n) * total + polyval_inverse(y, terms)
    value = value if n % 2 else -value
    return gnp.where(x > 0, value, np.nan)


def polygamma(n, x):
    """The n-th derivative of digamma (``n`` a static int >= 0)."""
    n = static_int(n, "polygamma: n")
    if n < 0:
        raise ValueError(f"polygamma: n must be >= 0, got {n}")
    return apply("digamma", x) if n == 0 else apply("polygamma", x, n)


def digamma(x):
    """psi(x), the derivative of gammaln."""
    return apply("digamma", x)


psi = digamma


def gammaln(x):
    """log|Gamma(x)|."""
    return apply("gammaln", x)


FUNCTIONS.update({
    "gammaln": (lambda x, n: _gammaln64(x), lambda x, y, n: apply("digamma", x)),
    "digamma": (lambda x, n: _digamma64(x), lambda x, y, n: apply("polygamma", x, 1)),
    "polygamma": (_polygamma64_n, lambda x, y, n: apply("polygamma", x, n + 1)),
})
