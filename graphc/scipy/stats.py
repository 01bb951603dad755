"""``graphc.scipy.stats``: ``norm.logpdf``, ``pdf``, ``cdf``, ``logcdf`` and ``ppf`` (SciPy's
signatures, ``loc`` and ``scale`` broadcasting) and ``multivariate_normal.logpdf`` and ``pdf``."""

from __future__ import annotations

import math
from types import SimpleNamespace

from .. import numpy as gnp
from ..core import located
from ..errors import ShapeError
from ..numpy._core import as_float, promote
from .errorfns import erfc, erfinv

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _logpdf(x, loc=0, scale=1):
    (x, loc, scale), _ = promote(x, loc, scale, to_float=True)
    z = (x - loc) / scale
    return -(z * z) * 0.5 - gnp.log(scale) - _HALF_LOG_2PI


def _pdf(x, loc=0, scale=1):
    return gnp.exp(_logpdf(x, loc, scale))


def _cdf(x, loc=0, scale=1):
    """``erfc(-z / sqrt 2) / 2``: accurate in the lower tail, where ``(1 + erf) / 2`` is not."""
    (x, loc, scale), _ = promote(x, loc, scale, to_float=True)
    return 0.5 * erfc((loc - x) / (scale * math.sqrt(2)))


def _logcdf(x, loc=0, scale=1):
    """``log(cdf)``: finite until the cdf underflows (z ~ -38 in float64)."""
    return gnp.log(_cdf(x, loc, scale))


def _ppf(q, loc=0, scale=1):
    """The inverse of ``cdf``: ``loc + scale sqrt(2) erfinv(2q - 1)``."""
    (q, loc, scale), _ = promote(q, loc, scale, to_float=True)
    return loc + scale * math.sqrt(2) * erfinv(2 * q - 1)


norm = SimpleNamespace(logpdf=_logpdf, pdf=_pdf, cdf=_cdf, logcdf=_logcdf, ppf=_ppf)


def _dimension(mean, cov) -> int:
    """SciPy's rule: the dimension is ``mean``'s length, else ``cov``'s, else 1."""
    if mean is not None and mean.ndim:
        return mean.shape[-1]
    return cov.shape[-1] if cov.ndim else 1


def _mvn_logpdf(x, mean=None, cov=1):
    """The log density of N(mean, cov) at the points ``x``: the dimension k comes from ``mean``
    or ``cov`` (SciPy's rule), points are ``x``'s last axis (k > 1) or its elements (k = 1).
    Through the Cholesky factor of ``cov`` (a matrix, or a scalar or vector for a diagonal), so
    ``log det`` and the solve are stable and differentiable."""
    x = as_float(x)
    mean = None if mean is None else as_float(mean)
    cov = as_float(cov)
    k = _dimension(mean, cov)
    if k == 1 and (x.ndim == 0 or x.shape[-1] != 1):
        x = gnp.expand_dims(x, -1)  # one-dimensional points
    if x.shape[-1] != k:
        raise located(ShapeError, f"multivariate_normal.logpdf: points of shape {tuple(x.shape)}"
                      f" for a distribution of dimension {k}")
    mean = gnp.zeros((k,), x.dtype) if mean is None else mean
    (x, mean, cov), _ = promote(x, mean, cov, to_float=True)
    if cov.ndim < 2:
        cov = gnp.eye(k, dtype=cov.dtype) * cov
    low = gnp.linalg.cholesky(cov)
    d = gnp.reshape(x - mean, (-1, k))
    z = gnp.linalg.solve(low, gnp.transpose(d))
    maha = gnp.sum(z * z, axis=0)
    logdet = 2 * gnp.sum(gnp.log(gnp.diagonal(low)))
    out = -0.5 * (maha + logdet + k * math.log(2 * math.pi))
    return gnp.reshape(out, tuple(x.shape[:-1]))


multivariate_normal = SimpleNamespace(
    logpdf=_mvn_logpdf, pdf=lambda x, mean=None, cov=1: gnp.exp(_mvn_logpdf(x, mean, cov)),
)
