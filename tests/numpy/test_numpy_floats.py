"""graphc.numpy's float helpers (graphc/numpy/floats.py) against NumPy bit for bit — special
values, signed zeros, ties, huge values, NaN and inf — called as ``gnp.f`` and as ``np.f`` on
traced values, eagerly, on the reference backend and compiled; shapes 0-d to odd and
broadcasting, float32, float64 and int32; and their derivatives (``log10``'s values are checked
against the correctly rounded result in test_numpy_functions.py)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

SPECIAL = [0.0, -0.0, -np.nan, 1.0, -1.0, 2.5, -2.5, 3.5, -3.5, 0.5, -0.5, 0.49999999999999994,
           -0.49999999999999994, 1.5, 7.0, -7.0, 0.3, -0.3, 1e30, -1e30, 1e-30, np.inf, -np.inf,
           np.nan, 4503599627370495.5, 4503599627370497.0, 8388607.5, 2.675, 1e-45, 0.7]
UNARY = ["deg2rad", "radians", "rad2deg", "degrees", "fabs", "isinf", "isfinite", "trunc",
         "rint", "round", "around", "nan_to_num", "signbit"]
BINARY = ["fmax", "fmin", "heaviside", "copysign"]
DTYPES = [np.float32, np.float64, np.int32]


def _values(dtype):
    if dtype == np.int32:
        return np.array([0, -3, 5, 7, -12, 2**31 - 1], np.int32)
    return np.array(SPECIAL).astype(dtype)


def _assert_bits(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "f":
        sign = lambda v: np.signbit(v) | np.isnan(v)  # noqa: E731
        np.testing.assert_array_equal(sign(got), sign(want))


def _ways(gfun, nfun):
    """The function as ``gnp.f`` eagerly, and as ``gnp.f`` and ``np.f`` traced on both backends."""
    yield gfun
    for fun in (gfun, nfun):
        for backend in ("reference", "llvm"):
            yield gc.function(fun, backend=backend)


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_bit_for_bit(name, dtype):
    x = _values(dtype)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    if name == "trunc" and dtype == np.int32:
        want = x  # an integer is its own truncation (NumPy 1.x returns floats for them)
    for fun in _ways(getattr(gnp, name), getattr(np, name)):
        _assert_bits(fun(x), want)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_bit_for_bit(name, dtype):
    x = _values(dtype)
    y = np.roll(x, 3)
    want = getattr(np, name)(x, y)
    for fun in _ways(getattr(gnp, name), getattr(np, name)):
        _assert_bits(fun(x, y), want)


@pytest.mark.parametrize("shapes", [((), ()), ((1,), (3, 1)), ((3, 1), (1, 4)), ((1003,), ())],
                         ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shapes_broadcasting_and_captured_constants(shapes, dtype):
    rng = np.random.default_rng(0)
    x = (rng.uniform(-4, 4, shapes[0]) * 2).round(0).astype(dtype) / 2  # many exact ties
    y = rng.uniform(-4, 4, shapes[1]).astype(dtype)
    c = np.asarray(rng.uniform(-4, 4, shapes[1]), dtype)  # a captured constant
    for name in BINARY:
        want = getattr(np, name)(x, y)
        _assert_bits(gc.function(getattr(np, name))(x, y), want)
        _assert_bits(gc.function(lambda x: getattr(np, name)(x, c))(x), getattr(np, name)(x, c))
    for name in UNARY:
        _assert_bits(gc.function(getattr(np, name))(x), getattr(np, name)(x))


@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_with_decimals_is_numpys_method(decimals, dtype):
    x = (_values(dtype) if dtype == np.int32 else
         np.array([2.675, -2.675, 1234.5678, 0.125, -0.0, 1e30, np.nan], dtype))
    with np.errstate(all="ignore"):
        want = np.round(x, decimals)
    _assert_bits(gc.function(lambda v: np.round(v, decimals))(x), want)
    _assert_bits(gnp.round(x, decimals), want)


def test_nan_to_num_options():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    got = gc.function(lambda v: gnp.nan_to_num(v, nan=-1.0, posinf=9.0, neginf=-9.0))(x)
    _assert_bits(got, np.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0))


def test_derivatives():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0.2, 3.0, 5), rng.uniform(0.2, 3.0, 5)
    y[y == x] += 0.5  # fmax/fmin away from ties
    for f in (gnp.deg2rad, gnp.rad2deg, gnp.log10, gnp.fabs, gnp.nan_to_num):
        check_grads(f, (x,), order=2)
    for f in (gnp.fmax, gnp.fmin):
        check_grads(f, (x, y), order=2)
    g = gc.grad(lambda x, y: (gnp.fmax(x, y) * 3).sum(), argnums=(0, 1))(x, y)
    np.testing.assert_array_equal(g[0], np.where(x >= y, 3.0, 0.0))
    np.testing.assert_array_equal(g[1], np.where(x >= y, 0.0, 3.0))
    zero_x = np.array([0.0, -1.0, 2.0])
    g = gc.grad(lambda h: gnp.heaviside(zero_x, h).sum())(np.ones(3))
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])  # x2 is used only where x1 == 0
    for f in (gnp.trunc, gnp.rint, gnp.round, gnp.isfinite):
        g = gc.grad(lambda v: gnp.where(f(v), 1.0, 0.0).sum() if f is gnp.isfinite
                    else (f(v) * v).sum())(x)
        if f is gnp.isfinite:
            np.testing.assert_array_equal(g, np.zeros(5))
        else:
            np.testing.assert_array_equal(g, f(x))  # d(f(v) v) = f(v): f's own derivative is 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sinc_is_numpys_formula(dtype):
    """Eagerly and on the reference backend bit for bit (NumPy's own sin); compiled within the
    math library's sin error (about 1 ulp, amplified by nothing: one division follows)."""
    x = np.concatenate([np.linspace(-3.3, 3.3, 101), [0.0, -0.0, 1e-30, np.inf]]).astype(dtype)
    with np.errstate(invalid="ignore"):
        want = np.sinc(x)
    _assert_bits(gnp.sinc(x), want)
    _assert_bits(gc.function(np.sinc, backend="reference")(x), want)
    got = gc.function(np.sinc)(x)
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    check_grads(gnp.sinc, (np.array([0.3, -1.7, 2.2]),), order=2)
