"""The program's value computed by NumPy alone, in extended precision: an oracle independent of
graphc's composites (``graphc.nn``'s formulas, ``logsumexp``) and of its math library.

Design choice: the program's own source runs with ``gnp`` and ``gnn`` bound to the NumPy
definitions below, and with its inputs and constants as ``np.longdouble`` (64-bit significands on
x86: 2048 times float64's precision, so its own rounding is far below what the comparison
allows). The definitions are the textbook formulas (``sigmoid = 1 / (1 + e^-x)``, ``softplus =
log(e^0 + e^x)``), not graphc's stabilised ones; in extended precision they neither overflow nor
underflow on the programs' bounded values. NaN propagates through them as through NumPy's
ufuncs, so a NaN input checks that graphc propagates NaN as NumPy does.
"""

from __future__ import annotations

import math
import types

import numpy as np

WIDE = np.longdouble


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    return np.log(_softmax(x, axis))


NN = types.SimpleNamespace(
    relu=lambda x: np.maximum(x, 0.0),
    sigmoid=lambda x: 1.0 / (1.0 + np.exp(-x)),
    softplus=lambda x: np.logaddexp(0.0, x),  # log(1 + e^x) loses e^x below -45
    tanh=np.tanh,
    softmax=_softmax,
    log_softmax=_log_softmax,
    logsumexp=_logsumexp,
    mse=lambda p, t: np.mean((p - t) ** 2),
    binary_cross_entropy_with_logits=lambda x, y: np.mean(np.logaddexp(0.0, x) - x * y),
    clip_by_value=np.clip,
)


def _scalar_wise(fn):
    """A ``math`` function over an array (float64 inside: these few ops get no extra
    precision, which the comparison's tolerance for math functions covers)."""
    return lambda x: np.vectorize(lambda v: fn(float(v)), otypes=[WIDE])(x)


SPECIAL = types.SimpleNamespace(erf=_scalar_wise(math.erf), erfc=_scalar_wise(math.erfc),
                                gammaln=_scalar_wise(math.lgamma))


class _Numpy(types.SimpleNamespace):
    """``gnp``: NumPy itself, plus the names NumPy lacks."""

    def __getattr__(self, name):
        return getattr(np, name)


GNP = _Numpy(logsumexp=_logsumexp)


def value(prog, xs):
    """The program at ``xs`` in extended precision, as float64."""
    scope: dict = {}
    exec(compile(prog.source("longdouble"), "<fuzz program, numpy>", "exec"), scope)
    scope.update(gnp=GNP, gnn=NN, gsp=SPECIAL)
    with np.errstate(all="ignore"):
        out = scope["f"](*[np.asarray(x, WIDE) for x in xs])
    return np.asarray(out, np.float64)
