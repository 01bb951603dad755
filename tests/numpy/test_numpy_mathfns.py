"""graphc.numpy's math composites (graphc/numpy/mathfns.py): against the correctly rounded result
within tests/oracles.py's bounds over wide ranges (tiny, huge, near the singular points), eagerly,
on the reference backend and compiled; special values against NumPy; derivatives; and ``np.f`` on
traced values."""

from __future__ import annotations

import numpy as np
import oracles
import pytest
from oracles import COMPOSITE_ULP

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

rng = np.random.default_rng(0)
N = 200
UNARY = {  # name -> sample
    "exp2": np.concatenate([rng.uniform(-30, 30, N), rng.uniform(-1e-6, 1e-6, 20), [-140.5]]),
    "arcsinh": np.concatenate([rng.uniform(-3, 3, N), rng.uniform(-1e-5, 1e-5, 20),
                               [1e20, -1e30, 3e8, 4096.5]]),
    "arccosh": np.concatenate([rng.uniform(1, 3, N), 1 + rng.uniform(0, 1e-6, 20), [1e20, 3e8]]),
    "arctanh": np.concatenate([rng.uniform(-0.999, 0.999, N), rng.uniform(-1e-6, 1e-6, 20),
                               [0.5, -0.5, 0.49999997]]),
    "cbrt": np.concatenate([rng.uniform(-30, 30, N), [27.0, -8.0, 1e-30, 1e30, 64.0, 0.001]]),
}
BINARY = {
    "logaddexp": (rng.uniform(-20, 20, N), rng.uniform(-20, 20, N)),
    "logaddexp2": (rng.uniform(-20, 20, N), rng.uniform(-20, 20, N)),
    "hypot": (np.concatenate([rng.uniform(-3, 3, N), [1e30, 0.5, 3e-30]]),
              np.concatenate([rng.uniform(-3, 3, N), [1e30, -0.0, 4e-30]])),
}
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 0.5, -2.0, 1e300])


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_within_the_bound(name, dtype):
    x = UNARY[name].astype(dtype)
    tol = oracles.bound(COMPOSITE_ULP, name, dtype)
    for label, fun in (("eager", getattr(gnp, name)),
                       ("reference", gc.function(getattr(gnp, name), backend="reference")),
                       ("llvm", gc.function(getattr(np, name)))):
        oracles.assert_ulp(fun(x), name, [x], dtype, tol, label)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_within_the_bound(name, dtype):
    a, b = (v.astype(dtype) for v in BINARY[name])
    tol = oracles.bound(COMPOSITE_ULP, name, dtype)
    for label, fun in (("eager", getattr(gnp, name)),
                       ("reference", gc.function(getattr(gnp, name), backend="reference")),
                       ("llvm", gc.function(getattr(np, name)))):
        oracles.assert_ulp(fun(a, b), name, [a, b], dtype, tol, label)


def _same_specials(got, want):
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    finite_zero = (want == 0)
    np.testing.assert_array_equal(np.signbit(got[finite_zero]), np.signbit(want[finite_zero]))


@pytest.mark.parametrize("name", sorted(UNARY) + sorted(BINARY))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_special_values_are_numpys(name, dtype):
    with np.errstate(over="ignore"):  # 1e300 is inf in float32
        x = SPECIAL.astype(dtype)
    args = (x,) if name in UNARY else (x, np.roll(x, 3))
    with np.errstate(all="ignore"):
        want = getattr(np, name)(*args)
        for fun in (getattr(gnp, name), gc.function(getattr(np, name)),
                    gc.function(getattr(gnp, name), backend="reference")):
            got = np.asarray(fun(*args))
            finite = np.isfinite(want) & (np.abs(want) > 1e-300) & (want != 0)
            special = ~finite
            _same_specials(got[special], want[special])


def test_integers_give_float64_and_shapes_broadcast():
    i = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    for name in ("exp2", "cbrt", "arcsinh"):
        assert gc.function(getattr(np, name))(i).dtype == np.float64
    out = gc.function(np.hypot)(np.ones((3, 1), np.float32), np.ones((1, 4), np.float32))
    assert out.shape == (3, 4) and out.dtype == np.float32


def test_derivatives():
    x = rng.uniform(0.2, 0.9, 4)
    for name in ("exp2", "arcsinh", "arctanh", "cbrt"):
        check_grads(getattr(gnp, name), (x,), order=2)
        check_grads(getattr(gnp, name), (-x,), order=2)
    check_grads(gnp.arccosh, (x + 1.5,), order=2)
    for name in ("logaddexp", "logaddexp2", "hypot"):
        check_grads(getattr(gnp, name), (x, rng.uniform(-2, 2, 4)), order=2)
    # at the points where a formula switches branches or reflects
    np.testing.assert_allclose(gc.grad(gnp.arcsinh)(0.0), 1.0)
    np.testing.assert_allclose(gc.grad(gnp.arctanh)(0.0), 1.0)
    np.testing.assert_allclose(gc.grad(gnp.arctanh)(0.5), 1 / (1 - 0.25), rtol=1e-14)
    np.testing.assert_allclose(gc.grad(lambda a: gnp.logaddexp(a, 1.0))(1.0), 0.5)
    np.testing.assert_allclose(gc.grad(lambda a: gnp.hypot(a, 2.0))(0.0), 0.0)
    big = 1e10
    np.testing.assert_allclose(gc.grad(gnp.arcsinh)(big), 1 / np.sqrt(1 + big * big), rtol=1e-12)
