"""Property tests (hypothesis): random shapes, indices and axes against NumPy, traced through
gc.function on the reference backend. Example counts come from the profile in tests/conftest.py."""

from __future__ import annotations

import numpy as np
import pytest
from gnp_check import assert_same, traced
from hypothesis import given
from hypothesis import strategies as st

import graphc as gc
import graphc.numpy as gnp

shapes = st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple)


def _index_part(n):
    ints = st.integers(-n, n - 1)
    bound = st.one_of(st.none(), st.integers(-n - 2, n + 2))
    step = st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0))
    return st.one_of(ints, st.builds(slice, bound, bound, step))


@st.composite
def indexed(draw):
    shape = draw(shapes)
    parts = [draw(_index_part(n)) for n in shape[: draw(st.integers(0, len(shape)))]]
    if draw(st.booleans()) and len(parts) < len(shape):
        parts.insert(draw(st.integers(0, len(parts))), Ellipsis)
    for _ in range(draw(st.integers(0, 2))):  # new axes anywhere
        parts.insert(draw(st.integers(0, len(parts))), None)
    return shape, tuple(parts)


@given(indexed())
def test_static_indexing_matches_numpy(case):
    shape, index = case
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    try:
        expected = x[index]
    except IndexError:  # NumPy refuses it (an int past the end): so must graphc
        with pytest.raises(gc.ShapeError, match="out of bounds"):
            traced(lambda t: t[index])(x)
        return
    assert_same(traced(lambda t: t[index])(x), expected)


@st.composite
def broadcast_pair(draw):
    shape = draw(shapes)
    other = tuple(1 if draw(st.booleans()) else n for n in shape)
    other = other[draw(st.integers(0, len(other))) :]
    return (shape, other) if draw(st.booleans()) else (other, shape)


@given(broadcast_pair(), st.sampled_from(["add", "multiply", "maximum", "less", "arctan2"]))
def test_broadcasting_binary_matches_numpy(shapes_, name):
    rng = np.random.default_rng(0)
    a, b = (rng.normal(size=s).astype(np.float32) for s in shapes_)
    assert_same(traced(getattr(gnp, name))(a, b), getattr(np, name)(a, b))


@st.composite
def reduction(draw):
    shape = draw(shapes.filter(lambda s: len(s) > 0))
    axes = draw(
        st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape))
    )
    return shape, tuple(axes) if draw(st.booleans()) else None


@given(reduction(), st.sampled_from(["sum", "mean", "max", "min", "prod", "var"]), st.booleans())
def test_reductions_match_numpy(case, name, keepdims):
    shape, axis = case
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=shape)
    kw = {"axis": axis, "keepdims": keepdims}
    assert_same(traced(lambda t: getattr(gnp, name)(t, **kw))(x), getattr(np, name)(x, **kw))
