"""Static indexing and slicing of traced values against NumPy: ints, negative ints, slices with any
step (negative included), None, Ellipsis, and their errors."""

from __future__ import annotations

import numpy as np
import pytest
from gnp_check import assert_same, rand, traced

import graphc as gc
import graphc.numpy as gnp

INDICES = [
    1,
    -1,
    0,
    (1, 2),
    (-1, -3),
    slice(1, 3),
    slice(None, None, -1),
    slice(None, None, -2),
    slice(3, 0, -2),
    slice(-10, 10),
    slice(3, 1),
    slice(None, None, 3),
    (slice(None), 2),
    (slice(None), slice(None, None, -1)),
    None,
    (None, 1),
    (slice(1, None), None, slice(None, None, -3)),
    Ellipsis,
    (Ellipsis, 1),
    (1, Ellipsis),
    (Ellipsis, None),
    (0, Ellipsis, None, 2),
    (),
    (slice(None), None, Ellipsis),
    (np.int64(2), np.int32(-1)),
    (1, 2, 3),
    (slice(2, 2), 0),
    (slice(None, None, -1), slice(None, None, -1), slice(None, None, -1)),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_static_indexing(index, dtype):
    x = rand((4, 5, 6), dtype)
    expected = x[index]
    assert_same(gnp.getitem(x, index), expected)
    assert_same(traced(lambda t: t[index])(x), expected)


def test_indexing_0d_and_size_1():
    x = np.float64(3.0) * np.ones(())
    for index in [(), None, Ellipsis, (None, None)]:
        assert_same(traced(lambda t: t[index])(x), x[index])
    y = rand((1, 3), "float32")
    for index in [0, (0, slice(None, None, -1)), (slice(None), None, 2), -1]:
        assert_same(traced(lambda t: t[index])(y), y[index])


def test_iteration_over_first_axis():
    theta = rand((2, 3), "float32")
    f = traced(lambda theta: [w * 2 for w in theta])
    assert_same(f(theta), [theta[0] * 2, theta[1] * 2])

    def unpack(theta):
        w, b = theta
        return w - b

    assert_same(traced(unpack)(theta), theta[0] - theta[1])


@pytest.mark.parametrize(
    "index,err",
    [
        (5, gc.ShapeError),
        (-6, gc.ShapeError),
        ((0, 0, 0, 0), gc.ShapeError),
        (True, gc.GraphcError),  # NumPy's boolean scalar index, not index 1
        ((Ellipsis, 0, Ellipsis), gc.ShapeError),
        (slice(0.5, 2), gc.GraphcError),
        (slice(None, None, 0), gc.GraphcError),
        (np.array([True, False, True, False, True]), gc.GraphcError),
        (1.5, gc.GraphcError),
        ("a", gc.GraphcError),
    ],
)
def test_bad_indices(index, err):
    x = rand((5, 2, 3), "float32")
    with pytest.raises(err):
        traced(lambda t: t[index])(x)
    with pytest.raises(err):
        gnp.getitem(x, index)


def test_traced_and_list_indices_gather():
    """A traced integer or a list of ints indexes by value (a gather, test_numpy_gather.py); a
    traced float index is refused."""
    x = np.arange(3.0)
    assert traced(lambda x, i: x[i])(x, np.int64(1)) == 1.0
    np.testing.assert_array_equal(traced(lambda x: x[[0, 1]])(x), [0.0, 1.0])
    with pytest.raises(gc.GraphcError, match="integers"):
        traced(lambda x, i: x[i])(x, np.float64(1))