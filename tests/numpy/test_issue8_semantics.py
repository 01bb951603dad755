"""Issue 8, items 3, 4, 5, 7: special values and derivatives at special points of the composites
in graphc.numpy and graphc.nn, on both backends, float32 and float64, 0-d and arrays of 1, 2, 17
and 1000 elements (vectorized loops have their own code paths).

Oracles are independent of graphc: known values and derivatives from the math, and mpmath at
200 bits rounded to the dtype.
"""

import mpmath
import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn
import graphc.numpy as gnp
from graphc.testing import check_grads

BACKENDS = ["reference", "llvm"]
DTYPES = [np.float32, np.float64]
SIZES = [None, 1, 2, 17, 1000]  # None: a 0-d array
inf, nan = np.inf, np.nan


def _at(value, dtype, size):
    """``value`` as a 0-d array (size None) or repeated ``size`` times."""
    return np.array(value, dtype) if size is None else np.full(size, value, dtype)


def _sum_of(f):
    return lambda x: gnp.sum(f(x))


def derivatives(f, backend):
    """The first and second derivatives of the elementwise ``f``, each by reverse mode, forward
    mode and (second only) forward-over-reverse: dict name -> compiled function of x."""
    d1 = gc.grad(_sum_of(f))
    d2 = gc.grad(_sum_of(d1))

    def fwd1(x):
        return gc.jvp(f, (x,), (gnp.ones_like(x),))[1]

    def fwd_rev(x):
        return gc.jvp(d1, (x,), (gnp.ones_like(x),))[1]

    fns = {"grad": d1, "jvp": fwd1, "grad2": d2, "jvp_of_grad": fwd_rev}
    return {k: gc.function(v, backend=backend) for k, v in fns.items()}


def _check_derivatives(f, x0, first, second, dtype, size, backend):
    x = _at(x0, dtype, size)
    for name, fn in derivatives(f, backend).items():
        want = first if name in ("grad", "jvp") else second
        got = fn(x)
        assert got.dtype == dtype and got.shape == x.shape, name
        np.testing.assert_array_equal(got, _at(want, dtype, size), err_msg=name)


# --- item 7: pow at a zero base ---------------------------------------------------------------
# (exponent, d/dx at 0, d2/dx2 at 0). Where the derivative does not exist (exponents < 1 and
# the second derivative of exponents < 2) the value is that of the formula e * x**(e-1) at +0,
# the right-hand limit, as JAX gives.
POW_AT_ZERO = [
    (0, 0.0, 0.0),
    (1, 1.0, 0.0),
    (2, 0.0, 2.0),
    (3, 0.0, 0.0),
    (0.5, inf, -inf),
    (1.5, 0.0, inf),
    (-1, -inf, inf),
]


# Python-int exponents are repeated multiplication, float ones the pow primitive: both kinds.
POW_CASES = [(kind(e), d1, d2) for e, d1, d2 in POW_AT_ZERO for kind in (float, int) if e == int(e)]
POW_CASES += [(e, d1, d2) for e, d1, d2 in POW_AT_ZERO if e != int(e)]


@pytest.mark.parametrize("exponent,first,second", POW_CASES, ids=repr)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pow_derivatives_at_zero_base(exponent, first, second, backend, dtype):
    for size in (None, 2, 17):
        _check_derivatives(lambda x: x**exponent, 0.0, first, second, dtype, size, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pow_zero_exponent_has_zero_derivatives_everywhere(backend):
    """x ** 0.0 is the constant 1, so every derivative is 0, at 0, inf and NaN bases too."""
    x = np.array([0.0, -0.0, 2.0, -3.0, inf], np.float64)
    for name, fn in derivatives(lambda t: t**0.0, backend).items():
        np.testing.assert_array_equal(fn(x), np.zeros(5), err_msg=name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pow_traced_exponent_array_with_zeros(backend):
    """A traced exponent holding 0 and a captured one: d/dx is 0 where y == 0 (also at x == 0),
    d/dy is 0 at x == 0; the Hessian in x stays finite."""
    x = np.array([0.0, 0.0, 2.0, 0.0])
    y = np.array([0.0, 2.0, 0.0, 1.0])
    gx, gy = gc.function(gc.grad(lambda a, b: gnp.sum(a**b), argnums=(0, 1)), backend=backend)(
        x, y
    )
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, np.log(2.0), 0.0])
    h = gc.function(gc.hessian(lambda a: gnp.sum(a**y)), backend=backend)(x)
    np.testing.assert_array_equal(h, np.diag([0.0, 2.0, 0.0, 0.0]))


@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 0.5, 1.5, -1.0, 3, -2])
def test_pow_derivatives_match_numerical_away_from_zero(exponent):
    x = np.array([0.3, 1.7, 2.5])
    check_grads(lambda t: t**exponent, (x,), order=2)
    check_grads(lambda t: t**exponent, (x,), order=2, backend="llvm", optimize=True)


# --- items 4 and 5: sigmoid, softplus and the logistic loss ------------------------------------
def _bce(label):
    """The unreduced logistic loss against a constant label."""
    return lambda x: nn.binary_cross_entropy_with_logits(
        x, gnp.full_like(x, label), reduction="none"
    )


# (function, point, f', f'') from the math: sigmoid' = s(1-s), softplus' = sigmoid.
KINKS = {
    "sigmoid@0": (nn.sigmoid, 0.0, 0.25, 0.0),
    "softplus@0": (nn.softplus, 0.0, 0.5, 0.25),
    "bce(y=1)@0": (_bce(1.0), 0.0, -0.5, 0.25),
    "bce(y=0)@0": (_bce(0.0), 0.0, 0.5, 0.25),
    "relu@0": (nn.relu, 0.0, 0.0, 0.0),
    "sigmoid@+inf": (nn.sigmoid, inf, 0.0, 0.0),
    "sigmoid@-inf": (nn.sigmoid, -inf, 0.0, 0.0),
    "softplus@+inf": (nn.softplus, inf, 1.0, 0.0),
    "softplus@-inf": (nn.softplus, -inf, 0.0, 0.0),
    "bce(y=1)@+inf": (_bce(1.0), inf, 0.0, 0.0),
    "bce(y=0)@-inf": (_bce(0.0), -inf, 0.0, 0.0),
    "bce(y=1)@-inf": (_bce(1.0), -inf, -1.0, 0.0),
}


@pytest.mark.parametrize("case", sorted(KINKS))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nn_derivatives_at_special_points(case, backend, dtype):
    f, x0, first, second = KINKS[case]
    for size in SIZES:
        _check_derivatives(f, x0, first, second, dtype, size, backend)


mpmath.mp.prec = 200


def _sig(v):
    return 1 / (1 + mpmath.exp(-v))


def _exact(fn, x, dtype):
    """fn at every element of x, computed by mpmath and rounded once to ``dtype``."""
    return np.array([float(fn(mpmath.mpf(float(v)))) for v in x.ravel()]).astype(dtype)


def _max_ulp(got, want):
    """Largest error in units of the last place of the correctly rounded result."""
    assert not np.any(np.isnan(got))
    spacing = np.spacing(np.abs(want)).astype(np.float64)
    return float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)) / spacing))


# (function, its exact value at v); the issue asks for a few ulp over RANGE
ACCURACY = {
    "sigmoid": (nn.sigmoid, _sig),
    "softplus": (nn.softplus, lambda v: mpmath.log1p(mpmath.exp(v))),
    "log_sigmoid": (lambda x: -_bce(1.0)(x), lambda v: -mpmath.log1p(mpmath.exp(-v))),
    "sigmoid'": (gc.grad(_sum_of(nn.sigmoid)), lambda v: _sig(v) * _sig(-v)),
    "softplus'": (gc.grad(_sum_of(nn.softplus)), _sig),
}
RANGE = {np.float32: 80.0, np.float64: 700.0}


def _grid(dtype):
    """1000 points over the whole range, and points near 0 on both sides (size 1000 + 80)."""
    lim = RANGE[dtype]
    near = np.geomspace(1e-6, 40.0, 40)
    return np.concatenate([np.linspace(-lim, lim, 1000), near, -near]).astype(dtype)


@pytest.mark.parametrize("name", sorted(ACCURACY))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_functions_accurate_over_whole_range(name, backend, dtype):
    f, exact = ACCURACY[name]
    x = _grid(dtype)
    got = gc.function(f, backend=backend)(x)
    assert got.dtype == dtype
    assert _max_ulp(got, _exact(exact, x, dtype)) <= 4.0
    for size in (None, 1, 2):  # the scalar and short-vector paths
        xs = _at(-30.0, dtype, size)
        want = _exact(exact, np.atleast_1d(xs), dtype).reshape(xs.shape)
        assert _max_ulp(gc.function(f, backend=backend)(xs), want) <= 4.0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_of_sigmoid_does_not_underflow(backend, dtype):
    """The issue's example: log(sigmoid(-30)) was -inf for arrays of more than one element."""
    x = np.array([-30.0, -30.0, -60.0], dtype)
    got = gc.function(lambda t: gnp.log(nn.sigmoid(t)), backend=backend)(x)
    want = _exact(lambda v: -mpmath.log1p(mpmath.exp(-v)), x, dtype)
    np.testing.assert_allclose(got, want, rtol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "bce1", "bce0", "log_softmax"])
def test_nn_second_order_matches_numerical(name):
    f = {
        "sigmoid": nn.sigmoid,
        "softplus": nn.softplus,
        "bce1": _bce(1.0),
        "bce0": _bce(0.0),
        "log_softmax": nn.log_softmax,
    }[name]
    x = np.array([0.0, -1e-3, 2.5, -30.0, 35.0, 1e-3])
    check_grads(f, (x,), order=2, atol=1e-6, rtol=1e-6)
    check_grads(f, (x,), order=2, atol=1e-6, rtol=1e-6, backend="llvm", optimize=True)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_regression_from_zero_weights_trains(backend, dtype):
    """At w == 0 the gradient of the mean logistic loss is X^T (1/2 - y) / n (sigmoid(0) = 1/2);
    it was exactly 0, so gradient descent never moved."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3)).astype(dtype)
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(dtype)

    def loss(w):
        return nn.binary_cross_entropy_with_logits(X @ w, y)

    w = np.zeros(3, dtype)
    g = gc.function(gc.grad(loss), backend=backend)(w)
    want = X.astype(np.float64).T @ (0.5 - y.astype(np.float64)) / len(y)
    np.testing.assert_allclose(g, want, rtol=1e-5 if dtype == np.float32 else 1e-12)
    step = gc.function(lambda w: w - 1.0 * gc.grad(loss)(w), backend=backend)
    losses = [float(gc.function(loss, backend=backend)(w))]
    for _ in range(20):
        w = step(w)
        losses.append(float(gc.function(loss, backend=backend)(w)))
    assert losses[0] == pytest.approx(np.log(2.0), rel=1e-6)
    assert losses[-1] < 0.5 * losses[0]


# --- item 3: NaN and inf through the graphc.numpy composites ----------------------------------
def _red(fn, **kw):
    return lambda r: fn(r, axis=-1, keepdims=True, **kw)


def _max_const_first(r):
    return gnp.maximum(0.5, r)


def _min_const_first(r):
    return gnp.minimum(0.5, r)


# (function of rows along the last axis, row, result), results from the definitions.
ROWS = [
    (lambda r: gnp.maximum(r, 0.5), [nan, -1.0, inf], [nan, 0.5, inf]),
    (_max_const_first, [nan, -1.0, inf], [nan, 0.5, inf]),
    (lambda r: gnp.minimum(r, 0.5), [nan, -inf, 2.0], [nan, -inf, 0.5]),
    (_min_const_first, [nan, -inf, 2.0], [nan, -inf, 0.5]),
    (lambda r: gnp.clip(r, -1.0, 1.0), [nan, -inf, inf, 0.5], [nan, -1.0, 1.0, 0.5]),
    (_red(gnp.mean), [inf, 1.0, 2.0], [inf]),
    (_red(gnp.mean), [inf, -inf, 2.0], [nan]),
    (_red(gnp.var), [inf, 1.0, 2.0], [nan]),
    (_red(gnp.std), [-inf, 1.0, 2.0], [nan]),
    (_red(gnp.linalg.norm), [-inf, 1.0, 2.0], [inf]),
    (_red(gnp.linalg.norm), [nan, 1.0, 2.0], [nan]),
    (_red(gnp.linalg.norm, ord=1), [-inf, 1.0], [inf]),
    (_red(gnp.linalg.norm, ord=3), [-inf, 1.0], [inf]),
    (_red(gnp.linalg.norm, ord=inf), [-inf, 1.0], [inf]),
    (_red(gnp.linalg.norm, ord=-1), [0.0, 1.0], [0.0]),
    (_red(gnp.max), [1.0, nan, inf], [nan]),
    (_red(gnp.min), [1.0, nan, -inf], [nan]),
    (_red(gnp.logsumexp), [inf, 1.0, 2.0], [inf]),
    (_red(gnp.logsumexp), [inf, -inf], [inf]),
    (_red(gnp.logsumexp), [-inf, -inf, -inf], [-inf]),
    (_red(gnp.logsumexp), [-inf, 0.0, 0.0], [np.log(2.0)]),
    (_red(gnp.logsumexp), [nan, 0.0, inf], [nan]),
    (_red(gnp.prod), [0.0, inf], [nan]),
    (lambda r: gnp.cumsum(r, axis=-1), [1.0, inf, -inf, 1.0], [1.0, inf, nan, nan]),
]


@pytest.mark.parametrize("case", range(len(ROWS)))
@pytest.mark.parametrize("backend", ["eager"] + BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_composites_propagate_nan_and_inf(case, backend, dtype):
    """One row, and the row repeated 17 and 1000 times (a reduction over the last axis)."""
    f, row, want = ROWS[case]
    for n in (None, 17, 1000):
        x = np.array(row, dtype) if n is None else np.tile(np.array(row, dtype), (n, 1))
        got = f(x) if backend == "eager" else gc.function(f, backend=backend)(x)
        expect = np.broadcast_to(np.array(want), np.shape(got))
        assert np.shape(got) == (len(want),) if n is None else (n, len(want))
        np.testing.assert_allclose(np.asarray(got, np.float64), expect, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ord", [None, 1.5, 3, 4.0])
def test_p_norm_subgradient_at_zero(backend, dtype, ord):
    """The gradient of a p-norm (p > 0) at x == 0 is 0 in both modes, as for the 2-norm (JAX
    gives NaN for p != 2 as well); away from 0 it is the true one."""
    f = lambda x: gnp.linalg.norm(x, ord=ord)  # noqa: E731
    for n in (1, 2, 17, 1000):
        z = np.zeros(n, dtype)
        np.testing.assert_array_equal(gc.function(gc.grad(f), backend=backend)(z), z)
        tangent = gc.function(lambda x: gc.jvp(f, (x,), (gnp.ones_like(x),))[1], backend=backend)
        assert tangent(z) == 0.0
    check_grads(f, (np.array([0.5, -1.0, 2.0]),), order=2)
