"""``r_``, ``c_``, ``piecewise``, ``partition`` and ``argpartition`` (graphc/numpy/
concatenators.py) on traced pieces against NumPy, on both backends, with derivatives."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

A, B = np.array([1.0, 2.0, -3.0]), np.array([4.0])
M = np.arange(6.0).reshape(2, 3)
CASES = {  # name -> (f(module, a, b), ...): module is np or gnp
    "r_": lambda m, a, b: m.r_[a, 3, b],
    "r_slice": lambda m, a, b: m.r_[0:3, a, 5:1:-2],
    "r_linspace": lambda m, a, b: m.r_[a, 0:1:5j],
    "r_2d": lambda m, a, b: m.r_[M, M * a],
    "r_axis_ndmin": lambda m, a, b: m.r_["0,2", a, a],
    "r_axis_1": lambda m, a, b: m.r_["1,2", a, a * b],
    "c_": lambda m, a, b: m.c_[a, a * 2],
    "c_2d": lambda m, a, b: m.c_[M.T, a],
    "piecewise": lambda m, a, b: m.piecewise(a, [a < 0, a > 1.5], [lambda x: -x, lambda x: x * 10]),
    "piecewise_default": lambda m, a, b: m.piecewise(a, [a < 1.5], [lambda x: x * x, 7.0]),
}


@pytest.mark.parametrize("backend", ["reference", "llvm"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy(backend, name):
    f = CASES[name]
    want = f(np, A, B)
    got = gc.function(lambda a, b: f(gnp, a, b), backend=backend)(A, B)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_partition_is_a_valid_partition():
    x = np.array([5.0, 1.0, 4.0, 2.0, 3.0, np.nan, 0.5])
    for k in range(len(x)):
        got = gc.function(lambda v: gnp.partition(v, k))(x)
        want = np.partition(x, k)
        np.testing.assert_array_equal(got[k], want[k])
        assert not np.any(got[:k] > got[k]) and not np.any(got[k + 1 :] < got[k])
        idx = gc.function(lambda v: gnp.argpartition(v, k))(x)
        np.testing.assert_array_equal(x[idx], got)


def test_derivatives_and_errors():
    check_grads(lambda a, b: gnp.r_[a * 2, gnp.sin(b)][:3] * gnp.c_[a, a * b][:, 1], (A, B),
                order=2)
    check_grads(lambda a: gnp.piecewise(a, [a < 0], [gnp.sin, lambda v: v * v]), (A,), order=2)
    with pytest.raises(gc.GraphcError, match="directive"):
        gnp.r_["r", A]
    with pytest.raises(gc.GraphcError, match="functions for"):
        gnp.piecewise(A, [A < 0], [gnp.sin, gnp.cos, gnp.exp])
