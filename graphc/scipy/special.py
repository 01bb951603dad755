"""``graphc.scipy.special``: ``expit``, ``logit``, ``xlogy``, ``xlog1py`` and ``logsumexp`` (with
``b`` and ``return_sign``), with SciPy's special values; ``erf``, ``erfc``, ``erfinv``
(errorfns.py), ``gammaln``, ``digamma``/``psi`` and ``polygamma`` (gammafns.py)."""

from __future__ import annotations

import numpy as np

from .. import numpy as gnp
from ..nn import sigmoid
from ..numpy._core import as_float, promote
from .errorfns import erf, erfc, erfinv
from .gammafns import digamma, gammaln, polygamma, psi

__all__ = ["digamma", "erf", "erfc", "erfinv", "expit", "gammaln", "logit", "logsumexp",
           "polygamma", "psi", "xlog1py", "xlogy"]


def expit(x):
    """``1 / (1 + exp(-x))``, accurate for every x (``graphc.nn.sigmoid``)."""
    return sigmoid(x)


def logit(p):
    """``log(p / (1 - p))`` as ``log(p) - log1p(-p)``: -inf at 0, inf at 1, NaN outside."""
    p = as_float(p)
    return gnp.log(p) - gnp.log1p(-p)


def _x_times(x, y, f, pole):
    """``x * f(y)``, 0 where ``x == 0`` and ``f(y)`` is infinite (``y == pole`` or ``y`` infinite;
    SciPy's convention, NaN still propagates). Elsewhere the product is left as it is, so the
    derivative in ``x`` is ``f(y)`` also at ``x == 0``; at the special points both derivatives are
    taken as 0 (JAX gives NaN there), and the ``f(y)`` branch sees a safe ``y``."""
    (x, y), _ = promote(x, y, to_float=True)
    special = (x == 0) & ((y == pole) | gnp.isinf(y))
    safe = gnp.where(special, gnp.ones_like(y), y)
    zero = gnp.zeros(np.broadcast_shapes(tuple(x.shape), tuple(y.shape)), x.dtype)
    return gnp.where(special, zero, x * f(safe))


def xlogy(x, y):
    """``x * log(y)``, 0 where ``x == 0`` and ``y`` is 0 or infinite."""
    return _x_times(x, y, gnp.log, 0)


def xlog1py(x, y):
    """``x * log1p(y)``, 0 where ``x == 0`` and ``y`` is -1 or infinite."""
    return _x_times(x, y, gnp.log1p, -1)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` over ``axis``, shifted by the maximum (no overflow). With
    ``return_sign``, ``(log|s|, sign(s))``; without, a negative sum gives NaN (SciPy's rule)."""
    if b is None and not return_sign:
        return gnp.logsumexp(a, axis=axis, keepdims=keepdims)
    a = as_float(a)
    b = gnp.ones_like(a) if b is None else b
    m = gnp.stop_gradient(gnp.max(a, axis=axis, keepdims=True))
    m = gnp.where(gnp.isfinite(m), m, gnp.zeros_like(m))
    s = gnp.sum(b * gnp.exp(a - m), axis=axis, keepdims=True)
    out = gnp.log(gnp.abs(s) if return_sign else s) + m
    if not keepdims:
        out = gnp.squeeze(out, axis=axis) if axis is not None else gnp.reshape(out, ())
        s = gnp.squeeze(s, axis=axis) if axis is not None else gnp.reshape(s, ())
    return (out, gnp.sign(s)) if return_sign else out
