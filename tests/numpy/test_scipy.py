"""graphc.scipy.special and graphc.scipy.stats against mpmath (the exact values, rounded) and
SciPy's special-value conventions, eagerly and compiled, and their derivatives."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import graphc as gc
from graphc.scipy import special, stats
from graphc.testing import check_grads

mpmath.mp.prec = 200


def _exact(fn, *args, dtype):
    return np.array([float(fn(*(mpmath.mpf(float(a)) for a in vals)))
                     for vals in zip(*(np.ravel(a) for a in np.broadcast_arrays(*args)))],
                    dtype).reshape(np.broadcast_shapes(*(np.shape(a) for a in args)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_against_mpmath(dtype):
    rng = np.random.default_rng(0)
    x = rng.uniform(-30, 30, 50).astype(dtype)
    p = rng.uniform(0.001, 0.999, 50).astype(dtype)
    y = rng.uniform(0.01, 5, 50).astype(dtype)
    rtol = 4e-6 if dtype == np.float32 else 1e-14
    cases = [  # (function, arguments, exact, absolute tolerance in units of rtol)
        (special.expit, (x,), lambda v: 1 / (1 + mpmath.exp(-v)), 0),
        # logit is ill-conditioned at 1/2 (its value crosses 0): the error there is absolute
        (special.logit, (p,), lambda v: mpmath.log(v / (1 - v)), 4),
        (special.xlogy, (x, y), lambda a, b: a * mpmath.log(b), 0),
        (special.xlog1py, (x, y), lambda a, b: a * mpmath.log1p(b), 0),
        (lambda v: stats.norm.logpdf(v, 0.5, 2.0), (x,),
         lambda v: -((v - 0.5) / 2) ** 2 / 2 - mpmath.log(2) - mpmath.log(2 * mpmath.pi) / 2, 4),
    ]
    for fun, args, exact, atol in cases:
        want = _exact(exact, *args, dtype=dtype)
        for f in (fun, gc.function(fun)):
            got = f(*args)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * rtol)
    # pdf = exp(logpdf): logpdf's absolute error becomes relative, |z|**2 / 2 (<= 113) times
    want = _exact(lambda v: mpmath.npdf(v, 0.5, 2.0), x, dtype=dtype)
    np.testing.assert_allclose(gc.function(lambda v: stats.norm.pdf(v, 0.5, 2.0))(x), want,
                               rtol=rtol * 120, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_with_weights_and_signs(dtype):
    rng = np.random.default_rng(1)
    a = rng.uniform(-50, 50, (3, 4)).astype(dtype) + dtype(700 if dtype == np.float64 else 50)
    b = rng.uniform(-1, 2, (3, 4)).astype(dtype)
    rtol = 4e-6 if dtype == np.float32 else 1e-13

    def exact(axis_row):
        out, sign = [], []
        for ra, rb in zip(a if axis_row else a.T, b if axis_row else b.T):
            s = sum(mpmath.mpf(float(w)) * mpmath.exp(mpmath.mpf(float(v))) for v, w in zip(ra, rb))
            out.append(float(mpmath.log(abs(s))))
            sign.append(float(mpmath.sign(s)))
        return np.array(out, dtype), np.array(sign, dtype)

    want, sign = exact(True)
    got, got_sign = gc.function(lambda a, b: special.logsumexp(a, 1, b, return_sign=True))(a, b)
    np.testing.assert_allclose(got, want, rtol=rtol)
    np.testing.assert_array_equal(got_sign, sign)
    plain = gc.function(lambda a, b: special.logsumexp(a, 0, np.abs(b), keepdims=True))(a, b)
    assert plain.shape == (1, 4)
    unsigned = special.logsumexp(a, 1, b)
    np.testing.assert_array_equal(np.isnan(unsigned), sign < 0)  # a negative sum is NaN


def test_scipy_special_values():
    assert special.logit(np.float64(0.0)) == -np.inf and special.logit(np.float64(1.0)) == np.inf
    xs, ys = np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, np.inf, np.nan, 0.0])
    got = gc.function(special.xlogy)(xs, ys)
    np.testing.assert_array_equal(got, [0.0, 0.0, np.nan, -np.inf])
    got = gc.function(special.xlog1py)(xs, np.array([-1.0, np.inf, np.nan, -1.0]))
    np.testing.assert_array_equal(got, [0.0, 0.0, np.nan, -np.inf])
    assert special.expit(np.float32(-200)) == 0 and special.expit(np.float32(200)) == 1


def test_derivatives():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-2, 2, 4), rng.uniform(0.2, 3, 4)
    check_grads(special.expit, (x,), order=2)
    check_grads(special.logit, (rng.uniform(0.1, 0.9, 4),), order=2)
    check_grads(special.xlogy, (x, y), order=2)
    check_grads(special.xlog1py, (x, y), order=2)
    check_grads(lambda a, b: special.logsumexp(a, 0, b), (x, y), order=2)
    check_grads(lambda v, m, s: stats.norm.logpdf(v, m, s), (x, y, y + 1), order=2)
    g = gc.grad(lambda a: special.xlogy(a, 3.0))(0.0)  # at x == 0 the derivative is log(y)
    np.testing.assert_allclose(g, np.log(3.0))
