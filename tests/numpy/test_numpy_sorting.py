"""sort, argsort, searchsorted and select (graphc/numpy/sorting.py) against NumPy (bit for bit:
NaN last, stable ties, signed zeros) on both backends and through ``np.`` calls; gradients
through ``sort`` follow the permutation; the options that are not built are refused."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

rng = np.random.default_rng(0)
BACKENDS = ("reference", "llvm")


def _data(dtype, shape=(4, 6)):
    x = (rng.normal(size=shape) * 3).round(0).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x.flat[:4] = [np.nan, -0.0, 0.0, np.inf]
    return x


def _same(got, want):
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("axis", [-1, 0, None])
def test_sort_and_argsort(backend, dtype, axis):
    x = _data(dtype)
    for f in (lambda v: np.sort(v, axis=axis), lambda v: gnp.sort(v, axis=axis),
              lambda v: np.argsort(v, axis=axis, kind="stable")):
        _same(np.asarray(gc.function(f, backend=backend)(x)), f(x))
    stable = gc.function(lambda v: gnp.argsort(v, axis=axis, stable=True), backend=backend)(x)
    _same(stable, np.argsort(x, axis=axis, kind="stable"))  # NumPy 2's keyword, on NumPy 1 too


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
def test_searchsorted(backend, side, dtype):
    a = np.sort(_data(dtype, (12,)))
    q = _data(dtype, (2, 5))
    f = lambda a, q: np.searchsorted(a, q, side=side)  # noqa: E731
    _same(gc.function(f, backend=backend)(a, q), f(a, q))
    perm = rng.permutation(12)
    g = lambda a, q: np.searchsorted(a[perm], q, side=side, sorter=np.argsort(a[perm]))  # noqa: E731
    h = lambda a, q: gnp.searchsorted(a[perm], q, side=side,  # noqa: E731
                                      sorter=np.argsort(a[perm], kind="stable"))
    _same(gc.function(h, backend=backend)(a, q), g(a, q))


@pytest.mark.parametrize("backend", BACKENDS)
def test_select(backend):
    x = rng.normal(size=(3, 4))
    f = lambda x: np.select([x > 0.5, x < -0.5, x > 0.0], [x * 2, -x, x + 1], default=7.0)  # noqa: E731
    _same(gc.function(f, backend=backend)(x), f(x))
    ints = np.arange(6)
    f = lambda i: np.select([i < 2, i > 3], [i, i * 10])  # noqa: E731
    _same(gc.function(f, backend=backend)(ints), f(ints))


def test_gradients_follow_the_permutation():
    x = rng.normal(size=(3, 5))
    w = np.arange(5.0)
    g = gc.grad(lambda v: (np.sort(v, axis=1) * w).sum())(x)
    np.testing.assert_array_equal(g, w[np.argsort(np.argsort(x, axis=1), axis=1)])
    check_grads(lambda v: gnp.sort(v * v, axis=0), (x,), order=2)
    check_grads(lambda v: gnp.select([v > 0], [gnp.sin(v)], default=v * 3), (x,), order=2)


def test_unsupported_options_are_refused():
    with pytest.raises(gc.GraphcError, match="stably"):
        gnp.sort(np.ones(3), stable=False)
    with pytest.raises(gc.GraphcError, match="order="):
        gnp.argsort(np.ones(3), order="a")
    with pytest.raises(gc.GraphcError, match="side"):
        gnp.searchsorted(np.ones(3), 1.0, side="middle")


def test_zero_dimensional_inputs_follow_numpy():
    """NumPy's argsort of a 0-d array sorts it flattened (``[0]``); its sort refuses one."""
    x = np.array(2.5)
    np.testing.assert_array_equal(gc.function(lambda v: np.argsort(v))(x), np.argsort(x))
    assert gc.function(lambda v: gnp.argsort(v))(x).dtype == np.int64
    with pytest.raises(gc.GraphcError, match="sort: axis -1 is out of bounds"):
        gc.function(lambda v: np.sort(v))(x)
