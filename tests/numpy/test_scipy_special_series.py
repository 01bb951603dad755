"""erf, erfc, erfinv, gammaln, digamma and polygamma (graphc/scipy/errorfns.py, gammafns.py) and
the distributions built on them (norm.cdf/ppf, multivariate_normal) against mpmath at 200 bits:
values in ulps of the exact result over wide ranges, special values and poles, eager and on
both backends; exact derivative rules (not the approximations' derivatives) to second order."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

import graphc as gc
from graphc.scipy import special, stats
from graphc.testing import check_grads

mpmath.mp.prec = 200
BACKENDS = ("reference", "llvm")
rng = np.random.default_rng(7)


def _ulps(got, exact_fn, xs, dtype):
    """The largest error of ``got`` in ulps of the exact result (finite nonzero results)."""
    worst = 0.0
    for g, x in zip(np.ravel(got), np.ravel(xs)):
        e = exact_fn(mpmath.mpf(float(x)))
        ulp = float(np.spacing(np.abs(dtype(float(e)))))
        worst = max(worst, float(abs(mpmath.mpf(float(g)) - e)) / ulp)
    return worst


def _log_abs_gamma(v):
    return mpmath.log(abs(mpmath.gamma(v)))


# (function, exact, points, float64 ulp bound); float32 is computed in float64 and rounded once,
# so it is within 0.5 ulp plus the float64 error (about 1e-9 of a float32 ulp): bound 0.51.
CASES = {
    "erf": (special.erf, mpmath.erf, lambda: np.r_[rng.uniform(-6, 6, 300), 1, -1, 1e-300], 2.5),
    "erfc": (special.erfc, mpmath.erfc, lambda: np.r_[rng.uniform(-6, 27, 300), 1, 26.9], 4),
    "erfinv": (special.erfinv, mpmath.erfinv,
               lambda: np.r_[rng.uniform(-1, 1, 200), 1 - 10.0 ** -rng.uniform(1, 15, 40),
                             -1 + 10.0 ** -rng.uniform(1, 15, 40), 1e-300, 0.5], 4),
    "gammaln": (special.gammaln, _log_abs_gamma,
                lambda: np.r_[rng.uniform(0, 12, 300), 10.0 ** rng.uniform(-300, 300, 60),
                              1.5, 2.5, 1 + 1e-9, 2 - 1e-9], 16),
    "digamma": (special.digamma, mpmath.digamma,
                lambda: np.r_[rng.uniform(0, 12, 300), 10.0 ** rng.uniform(-300, 300, 60),
                              1.4616321449683622], 16),
    "trigamma": (lambda v: special.polygamma(1, v), lambda v: mpmath.polygamma(1, v),
                 lambda: np.r_[rng.uniform(0, 30, 200), 1e-3, 1e5], 4),
    "polygamma3": (lambda v: special.polygamma(3, v), lambda v: mpmath.polygamma(3, v),
                   lambda: np.r_[rng.uniform(0.05, 30, 200), 1e4], 5),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_in_ulps(name, dtype):
    fn, exact, points, bound = CASES[name]
    xs = points()
    xs = xs[np.abs(xs) < np.finfo(dtype).max]
    xs = xs.astype(dtype)
    xs = xs[(xs != 0) if name != "erfinv" else np.abs(xs) < 1]
    want_bound = 0.51 if dtype == np.float32 else bound
    for f in (fn, gc.function(fn, backend="reference"), gc.function(fn)):
        got = np.asarray(f(xs))
        assert got.dtype == dtype
        err = _ulps(got, exact, xs, dtype)
        assert err <= want_bound, f"{name} {dtype.__name__}: {err:.2f} ulps"


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_arguments_by_reflection(backend):
    """For x < 0 the reflection formulas lose relative accuracy near the functions' zeros (as
    SciPy's do): the error is bounded by the size of the terms, ~1e-15 absolute here."""
    xs = rng.uniform(-20, -0.01, 200)
    xs = xs[np.abs(xs - np.rint(xs)) > 1e-3]
    for fn, exact in ((special.gammaln, _log_abs_gamma), (special.digamma, mpmath.digamma)):
        got = gc.function(fn, backend=backend)(xs)
        want = np.array([float(exact(mpmath.mpf(float(x)))) for x in xs])
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=2e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_special_values_and_poles(backend):
    inf, nan = np.inf, np.nan
    run = lambda fn, xs: gc.function(fn, backend=backend)(np.array(xs, np.float64))  # noqa: E731
    np.testing.assert_array_equal(run(special.erf, [0.0, -0.0, inf, -inf, nan, 7.0]),
                                  [0.0, -0.0, 1.0, -1.0, nan, 1.0])
    assert np.signbit(run(special.erf, [-0.0])[0])
    np.testing.assert_array_equal(run(special.erfc, [inf, -inf, nan, 30.0, -30.0, 0.0]),
                                  [0.0, 2.0, nan, 0.0, 2.0, 1.0])
    np.testing.assert_array_equal(run(special.erfinv, [1.0, -1.0, 0.0, 1.5, -2.0, nan]),
                                  [inf, -inf, 0.0, nan, nan, nan])
    np.testing.assert_array_equal(run(special.gammaln, [1.0, 2.0, 0.0, -1.0, -7.0, inf, -inf]),
                                  [0.0, 0.0, inf, inf, inf, inf, inf])
    np.testing.assert_array_equal(run(special.digamma, [0.0, -1.0, -3.0, inf, -inf, nan]),
                                  [nan, nan, nan, inf, nan, nan])
    assert np.isnan(run(lambda v: special.polygamma(2, v), [0.0, -1.5])).all()


@pytest.mark.parametrize("shape", [(), (1,), (2, 3)])
def test_shapes_broadcasting_and_captured_constants(shape):
    x = rng.uniform(0.5, 3, shape)
    c = np.float64(1.25)  # a captured constant: folded through the special_call node
    f = gc.function(lambda v: special.gammaln(v + c) + special.erf(c) * special.digamma(v))
    want = np.vectorize(lambda v: float(_log_abs_gamma(mpmath.mpf(v) + 1.25)
                                        + mpmath.erf(1.25) * mpmath.digamma(v)))(x)
    got = f(x)
    assert np.shape(got) == shape
    np.testing.assert_allclose(got, want, rtol=1e-14)
    loc, scale = np.array([0.0, 1.0, -1.0]), np.array([[1.0], [2.0]])
    cdf = gc.function(lambda v: stats.norm.cdf(v, loc, scale))(np.float64(0.5))
    assert cdf.shape == (2, 3)
    np.testing.assert_allclose(cdf, [[float(mpmath.ncdf(0.5, m, s)) for m in loc]
                                     for s in scale[:, 0]], rtol=1e-14)


def test_derivatives_are_the_exact_rules():
    xs = np.array([-2.5, -0.3, 0.7, 1.9, 4.0])
    d_erf = gc.function(gc.grad(lambda v: special.erf(v).sum()))(xs)
    np.testing.assert_allclose(d_erf, 2 / math.sqrt(math.pi) * np.exp(-xs * xs), rtol=1e-15)
    pos = np.array([0.3, 1.46, 2.5, 11.0, 40.0])
    d_gl = gc.grad(lambda v: special.gammaln(v).sum())(pos)
    np.testing.assert_allclose(d_gl, [float(mpmath.digamma(v)) for v in pos], rtol=1e-14)
    dd = gc.grad(gc.grad(lambda v: special.gammaln(v)))(2.5)  # trigamma, through two rules
    np.testing.assert_allclose(dd, float(mpmath.polygamma(1, 2.5)), rtol=1e-14)
    ys = np.array([-0.9, -0.2, 0.4, 0.99])
    d_inv = gc.grad(lambda v: special.erfinv(v).sum())(ys)
    np.testing.assert_allclose(d_inv, [float(mpmath.sqrt(mpmath.pi) / 2
                                             * mpmath.exp(mpmath.erfinv(y) ** 2)) for y in ys],
                               rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradients_second_order(dtype):
    x = rng.uniform(-2, 2, 5).astype(dtype)
    p = rng.uniform(0.5, 4, 5).astype(dtype)
    for fn, arg in ((special.erf, x), (special.erfc, x), (lambda v: special.erfinv(v / 3), x),
                    (special.gammaln, p), (special.digamma, p),
                    (lambda v: special.polygamma(2, v), p),
                    (lambda v: stats.norm.cdf(v, 0.5, 1.5), x), (lambda v: stats.norm.logcdf(v), x),
                    (lambda v: stats.norm.ppf(special.expit(v)), x)):
        check_grads(fn, (arg,), order=2)
    jvp = gc.jvp(special.gammaln, (p,), (np.ones_like(p),))[1]  # forward mode uses the rule too
    np.testing.assert_allclose(jvp, gc.function(special.digamma)(p), rtol=1e-5)


def test_norm_cdf_tails_and_ppf():
    z = np.array([-37.0, -20.0, -5.0, 0.0, 3.0, 8.0])
    got = gc.function(stats.norm.cdf)(z)
    np.testing.assert_allclose(got, [float(mpmath.ncdf(v)) for v in z], rtol=1e-13)
    q = np.array([1e-300, 1e-10, 0.025, 0.5, 0.975])
    np.testing.assert_allclose(gc.function(stats.norm.ppf)(q),
                               [float(mpmath.sqrt(2) * mpmath.erfinv(2 * mpmath.mpf(v) - 1))
                                for v in q], rtol=1e-6)  # 2q - 1 rounds: SciPy's ndtri is better


def _mvn_exact(x, mean, cov):
    cm = mpmath.matrix(cov.tolist())
    k = len(mean)
    out = []
    for row in np.reshape(x, (-1, k)):
        d = mpmath.matrix((row - mean).tolist())
        out.append(float(-0.5 * ((d.T * mpmath.inverse(cm) * d)[0] + mpmath.log(mpmath.det(cm))
                                 + k * mpmath.log(2 * mpmath.pi))))
    return np.reshape(out, np.shape(x)[:-1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_multivariate_normal(backend):
    a = rng.normal(size=(3, 3))
    cov, mean = a @ a.T + np.eye(3), rng.normal(size=3)
    x = rng.normal(size=(2, 4, 3))
    f = gc.function(stats.multivariate_normal.logpdf, backend=backend)
    np.testing.assert_allclose(f(x, mean, cov), _mvn_exact(x, mean, cov), rtol=1e-12)
    one = gc.function(lambda v: stats.multivariate_normal.logpdf(v, mean, 2.5),
                      backend=backend)(x[0, 0])
    assert one.shape == ()
    np.testing.assert_allclose(one, _mvn_exact(x[0, 0], mean, 2.5 * np.eye(3)), rtol=1e-12)
    diag = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(
        gc.function(lambda v: stats.multivariate_normal.pdf(v, None, diag), backend=backend)(x),
        np.exp(_mvn_exact(x, np.zeros(3), np.diag(diag))), rtol=1e-12)
    check_grads(lambda v, m, b: stats.multivariate_normal.logpdf(v, m, b @ b.T + np.eye(3)),
                (x[0], mean, a), order=2)


def test_multivariate_normal_takes_its_dimension_from_mean_or_cov():
    """SciPy's rule: with the default mean and cov, ``x`` of shape (3,) is three 1-d points; a
    point whose length is not the dimension is refused."""
    x = np.array([0.5, -1.0, 2.0])
    got = gc.function(stats.multivariate_normal.logpdf)(x)
    np.testing.assert_allclose(got, [float(mpmath.log(mpmath.npdf(v))) for v in x], rtol=1e-14)
    one = gc.function(lambda v: stats.multivariate_normal.logpdf(v, np.zeros(3)))(x)
    assert one.shape == ()
    np.testing.assert_allclose(one, _mvn_exact(x, np.zeros(3), np.eye(3)), rtol=1e-14)
    with pytest.raises(gc.ShapeError, match="dimension 2"):
        stats.multivariate_normal.logpdf(x, np.zeros(2))
