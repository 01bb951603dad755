"""Integer-array indexing (graphc/numpy/gathering.py): ``x[idx]`` forms, ``take``,
``take_along_axis`` and ``x.at[...]`` against NumPy (bit for bit) on both backends and through
``np.`` calls, their gradients (scatter-add in reverse, repeated indices summing), and the errors
for what is not supported."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 5))
IDX = np.array([3, -1, 0, 3])
BACKENDS = ("reference", "llvm")

GETITEM = {
    "rows": lambda x, i: x[i],
    "columns": lambda x, i: x[:, i],
    "with_basic": lambda x, i: x[1:, i, None],
    "ellipsis": lambda x, i: x[..., i],
    "2d_index": lambda x, i: x[i.reshape(2, 2)],
    "scalar_index": lambda x, i: x[i[0]],
    "two_arrays": lambda x, i: x[i, i + 1],
    "array_and_int": lambda x, i: x[i, 2],
    "int_and_array": lambda x, i: x[-1, i],
    "broadcast_arrays": lambda x, i: x[i.reshape(4, 1), i.reshape(1, 4)],
}


def test_several_array_indices_follow_numpys_placement():
    x = rng.normal(size=(4, 5, 6, 3))
    j, k = np.array([1, 3]), np.array([4, 0])
    cases = [lambda x: x[:, j, :, 2], lambda x: x[j, 2], lambda x: x[1, :, j],
             lambda x: x[j, :, k, -1], lambda x: x[:, j, k, 1], lambda x: x[2, j],
             lambda x: x[None, j, k], lambda x: x[..., j, j - 1], lambda x: x[j, 1:, k]]
    for f in cases:
        for backend in BACKENDS:
            got, want = gc.function(f, backend=backend)(x), f(x)
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)
    g = gc.grad(lambda v: (v[j, :, k] ** 2).sum())(x)
    want = np.zeros_like(x)
    np.add.at(want, (j, slice(None), k), 2 * x[j, :, k])
    np.testing.assert_allclose(g, want, rtol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(GETITEM))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_getitem_with_an_integer_array(backend, name, dtype):
    x = (X * 10).astype(dtype)
    f = GETITEM[name]
    for idx in (IDX, IDX.astype(np.int32)):
        got = gc.function(f, backend=backend)(x, idx)
        want = f(x, idx)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gc.function(lambda x: x[[0, 2, -1]])(x), x[[0, 2, -1]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_take_and_take_along_axis(backend):
    order = np.argsort(X, axis=1)
    cases = [
        (lambda x, i: np.take(x, i), (X, IDX)),
        (lambda x, i: np.take(x, i, axis=1), (X, IDX)),
        (lambda x, i: gnp.take(x, i, axis=0), (X, IDX)),
        (lambda x, j: np.take_along_axis(x, j, axis=1), (X, order)),
        (lambda x, j: np.take_along_axis(x, j, axis=0), (X, order[:2] % 4)),
        (lambda x, j: np.take_along_axis(x, j, axis=1), (X, order[:, :1])),  # broadcast rows
        (lambda x, j: np.take_along_axis(x, j, axis=1), (X[:1], order)),
    ]
    for f, args in cases:
        np.testing.assert_array_equal(gc.function(f, backend=backend)(*args), f(*args))


def test_out_of_range_indices_are_clamped_as_in_jax():
    got = gc.function(lambda x, i: x[i])(np.arange(4.0), np.array([5, -7, 2]))
    np.testing.assert_array_equal(got, [3.0, 0.0, 2.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_at_add_set_and_get(backend):
    def run(f, *args):
        return gc.function(f, backend=backend)(*args)

    want = X.copy()
    np.add.at(want, IDX, 1.5)
    np.testing.assert_array_equal(run(lambda x, i: x.at[i].add(1.5), X, IDX), want)
    want = X.copy()
    np.add.at(want, (slice(None), IDX), np.arange(4.0))
    np.testing.assert_array_equal(run(lambda x, i: x.at[:, i].add(np.arange(4.0)), X, IDX), want)
    want = X.copy()
    want[[0, 2]] = 7.0
    np.testing.assert_array_equal(run(lambda x: x.at[np.array([0, 2])].set(7.0), X), want)
    dup = run(lambda x: x.at[np.array([1, 3, 1])].set(np.array([[2.0] * 5, [5.0] * 5,
                                                                 [4.0] * 5])), X)
    np.testing.assert_array_equal(dup[1], np.full(5, 4.0))  # a repeated position: the last wins
    np.testing.assert_array_equal(dup[3], np.full(5, 5.0))
    zero = run(lambda x: x.at[np.array([1])].set(-0.0), np.ones(3))
    assert np.signbit(zero[1]) and zero[0] == 1.0
    big = run(lambda x: x.at[np.array([0, 0, 0])].set(np.float32(3e38)), np.ones(2, np.float32))
    np.testing.assert_array_equal(big, [np.float32(3e38), 1.0])
    flags = run(lambda x: x.at[np.array([2, 0])].set(True), np.zeros(3, bool))
    np.testing.assert_array_equal(flags, [True, False, True])
    np.testing.assert_array_equal(run(lambda x, i: x.at[:, i].get(), X, IDX), X[:, IDX])
    ints = np.arange(6, dtype=np.int32)
    np.testing.assert_array_equal(run(lambda x: x.at[2].set(9), ints), [0, 1, 9, 3, 4, 5])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_at_multiply_min_max_and_any_static_index(backend, dtype):
    """``.multiply/.min/.max`` are NumPy's ``ufunc.at`` (every update at a repeated position
    counts), and a static index may be anything NumPy takes (slices with steps, ints, Ellipsis,
    a boolean mask, arrays in several axes) for every method."""
    x = (np.arange(20).reshape(4, 5) % 7 + 1).astype(dtype)
    ufuncs = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}
    indices = [(IDX,), (slice(None), np.array([4, 0, 4, -1])), (slice(1, None, 2), 3),
               (Ellipsis, slice(None, None, -2)), (x > 4,), (np.array([0, 3]), np.array([1, 1]))]
    for name, ufunc in ufuncs.items():
        for index in indices:
            upd = (np.arange(np.empty(x.shape)[index].size) % 5 - 2).astype(dtype)
            upd = upd.reshape(np.empty(x.shape)[index].shape)
            want = x.copy()
            ufunc.at(want, index, upd)
            got = gc.function(lambda x, u: getattr(x.at[index], name)(u), backend=backend)(x, upd)
            assert got.dtype == x.dtype
            np.testing.assert_array_equal(got, want, err_msg=f"{name} {index}")
        want = x.copy()
        want[1:3, ::2] = 0
        got = gc.function(lambda x: x.at[1:3, ::2].set(0), backend=backend)(x)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(gc.function(lambda x: x.at[..., 1:3].get())(x), x[..., 1:3])
    traced = gc.function(lambda x, i: x.at[:, i].max(np.full((4, 3), 5, dtype)), backend=backend)
    want = x.copy()
    np.maximum.at(want, (slice(None), np.array([0, 0, 2])), np.full((4, 3), 5, dtype))
    np.testing.assert_array_equal(traced(x, np.array([0, 0, 2])), want)


def test_at_multiply_min_max_gradients():
    v = rng.normal(size=4)
    check_grads(lambda x, v: x.at[1, IDX].multiply(v), (X, v), order=2)
    check_grads(lambda x, v: x.at[IDX[:2], :].min(v[:, None] * 0.1 + 2.0), (X, v[:2]), order=1)
    check_grads(lambda x, v: x.at[1:4:2].max(v[:2, None] - 1.0), (X, v), order=1)
    with pytest.raises(gc.GraphcError, match="out of bounds"):
        gc.function(lambda x: x.at[5].set(1.0))(np.zeros(3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_scatter_add_is_a_logical_or(backend):
    """NumPy's bool ``+`` is ``or``: np.add.at on bools never toggles back."""
    idx = np.array([0, 0, 1, 2])
    upd = np.array([True, True, True, False])
    for x in (np.zeros(3, bool), np.ones(3, bool)):
        want = x.copy()
        np.add.at(want, idx, upd)
        np.testing.assert_array_equal(
            gc.function(lambda x, u: x.at[idx].add(u), backend=backend)(x, upd), want)


def test_gradients_scatter_add_repeated_indices():
    g = gc.grad(lambda x: (x[IDX] ** 2).sum())(X)
    want = np.zeros_like(X)
    np.add.at(want, IDX, 2 * X[IDX])
    np.testing.assert_allclose(g, want, rtol=1e-15)
    check_grads(lambda x: gnp.sin(x[:, IDX]) * x[IDX[:1], :4], (X,), order=2)
    check_grads(lambda x, v: x.at[IDX].add(v * v), (X, rng.normal(size=(4, 5))), order=2)
    check_grads(lambda x, v: x.at[np.array([0, 2])].set(v), (X, rng.normal(size=(2, 5))),
                order=2)
    check_grads(lambda x: np.take_along_axis(x, np.argsort(X, axis=1), axis=1) ** 2, (X,),
                order=2)


def test_errors_say_what_to_write():
    with pytest.raises(gc.GraphcError, match="np.where"):
        gc.function(lambda x: x[x > 0])(X)
    with pytest.raises(gc.GraphcError, match=r"\.at\[index\]\.set"):
        gc.function(lambda x: x.__setitem__(0, 1.0))(X)
    with pytest.raises(gc.GraphcError, match="integers"):
        gc.function(lambda x, i: x[i])(X, IDX.astype(np.float64))
