"""floor, ceil, floor_divide, remainder/mod, fmod, divmod and the ``//``, ``%`` operators against
NumPy: bit for bit (signed zeros, inf and NaN included), eagerly, on the reference backend and
compiled; integer zero divisors give NumPy's 0 without trapping."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from gnp_check import rand, traced

import graphc as gc
import graphc.numpy as gnp
from graphc.errors import DTypeError

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 7.0, -7.0, 0.3, -0.3, 1e30, 1e-30, np.inf, -np.inf]
SPECIAL += [np.nan, 3.0, 0.1, 1e-45]
DIVISION = ["floor_divide", "remainder", "mod", "fmod"]


def _numpy(name, *args):
    with np.errstate(all="ignore"):
        return getattr(np, name)(*args)


def _assert_bits(got, want):
    """Same dtype, shape and values, the sign of zeros included (NaN equals NaN of any sign: the
    sign bit of a NaN made by an invalid operation is not specified)."""
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "f":
        sign = lambda v: np.signbit(v) | np.isnan(v)  # noqa: E731
        np.testing.assert_array_equal(sign(got), sign(want))


def _all_ways(fn, *args):
    """fn eagerly, traced on the reference backend and compiled (the default backend)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [fn(*args), traced(fn)(*args), gc.jit(fn)(*args)]


def _float_pairs(dtype):
    x, y = np.array(list(itertools.product(SPECIAL, SPECIAL)), dtype).T
    return np.concatenate([x, rand(64, dtype, seed=1) * 40]), np.concatenate([y, rand(64, dtype)])


def _int_pairs(dtype):
    info = np.iinfo(dtype)
    vals = [0, 1, -1, 2, -2, 7, -7, 3, -3, info.min, info.max, info.min + 1]
    return np.array(list(itertools.product(vals, vals)), dtype).T


@pytest.mark.parametrize("name", DIVISION)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_division_matches_numpy(name, dtype):
    """Every pairing of special operands: floats with signed zeros, inf and NaN; integers with
    negative operands, x // 0 == x % 0 == 0 and INT_MIN // -1 == INT_MIN, as NumPy gives."""
    x, y = _float_pairs(dtype) if dtype.startswith("float") else _int_pairs(dtype)
    for got in _all_ways(getattr(gnp, name), x, y):
        _assert_bits(got, _numpy(name, x, y))


@pytest.mark.parametrize("name", ["floor", "ceil"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_floor_ceil(name, dtype):
    x = np.array(SPECIAL + [-0.5, 0.5, -1.5, 2.7])
    x = x.astype(dtype) if dtype.startswith("float") else rand(7, dtype, seed=3)
    # an integer is its own floor and ceiling (NumPy 1.x returns floats for them)
    want = _numpy(name, x) if dtype.startswith("float") else x
    for got in _all_ways(getattr(gnp, name), x):
        _assert_bits(got, want)


def test_operators_with_weak_python_scalars():
    """``x % 2`` and ``7 // x`` keep the array's dtype (NEP 50); a Python float promotes ints."""
    xi = np.array([-5, -1, 0, 3, 4], np.int32)
    xf = np.array([-5.5, -0.0, 0.0, 3.25, np.inf], np.float32)
    ops = lambda x: (x % 2, 7 // x, x // -2, -7 % x, x // 2.5, x % 2.5)  # noqa: E731
    for x in (xi, xf):
        want = _numpy_ops(ops, x)
        for got in _all_ways(ops, x):
            for g, w in zip(got, want, strict=True):
                _assert_bits(g, w)


def _numpy_ops(ops, x):
    with np.errstate(all="ignore"):
        return ops(x)


def test_broadcasting_divmod_and_ufunc_dispatch():
    """np.floor_divide / np.remainder / np.divmod on traced values dispatch to graphc.numpy."""
    x, y = rand((3, 1), "float64", seed=2) * 10, rand((4,), "float64", domain="pos")

    def fn(a, b):
        return np.floor_divide(a, b), np.remainder(a, b), np.mod(b, a), divmod(a, b)

    want = (np.floor_divide(x, y), np.remainder(x, y), np.mod(y, x), divmod(x, y))
    for got in _all_ways(fn, x, y)[1:]:
        for g, w in zip(got[:3], want[:3], strict=True):
            _assert_bits(g, w)
        for g, w in zip(got[3], want[3], strict=True):
            _assert_bits(g, w)


def test_remainder_gradient_matches_jax_rule():
    """d(x % y)/dx = 1 and d(x % y)/dy = -(x // y) away from the jumps."""
    x, y = np.array([5.3, -5.3, 2.2, -0.7]), np.array([2.0, 2.0, -0.9, 0.3])
    gx, gy = gc.grad(lambda a, b: gnp.sum(gnp.remainder(a, b)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, np.ones_like(x))
    np.testing.assert_allclose(gy, -np.floor_divide(x, y))
    g_floor = gc.grad(lambda a: gnp.sum(gnp.floor(a) * a))(x)
    np.testing.assert_allclose(g_floor, np.floor(x))


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod"])
def test_bool_operands_are_refused(name):
    b = np.array([True, False])
    with pytest.raises(DTypeError, match="bool"):
        traced(lambda a: getattr(gnp, name)(a, a))(b)
