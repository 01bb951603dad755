"""``graphc.scipy.stats``: ``norm.logpdf`` and ``norm.pdf`` (SciPy's signatures, ``loc`` and
``scale`` broadcasting). Not yet: ``norm.cdf`` (it needs ``erf``) and
``multivariate_normal.logpdf`` (it needs ``cholesky``)."""

from __future__ import annotations

import math
from types import SimpleNamespace

from .. import numpy as gnp
from ..numpy._core import promote

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _logpdf(x, loc=0, scale=1):
    (x, loc, scale), _ = promote(x, loc, scale, to_float=True)
    z = (x - loc) / scale
    return -(z * z) * 0.5 - gnp.log(scale) - _HALF_LOG_2PI


def _pdf(x, loc=0, scale=1):
    return gnp.exp(_logpdf(x, loc, scale))


norm = SimpleNamespace(logpdf=_logpdf, pdf=_pdf)
