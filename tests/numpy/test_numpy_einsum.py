"""``einsum`` in full (graphc/numpy/einsum.py) against ``np.einsum``: ellipses with broadcasting,
repeated letters (diagonals, traces), implicit outputs, many operands in the greedy order, the
sublist form; on both backends, with derivatives; and its errors."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

rng = np.random.default_rng(0)


def r(*shape):
    return rng.normal(size=shape)


CASES = [
    ("ii->i", r(3, 3)), ("ii", r(3, 3)), ("iij->j", r(3, 3, 2)), ("iii->i", r(2, 2, 2)),
    ("ij,jk,kl->il", r(3, 3), r(3, 4), r(4, 5)), ("ij,jk,k", r(3, 3), r(3, 4), r(4)),
    ("ab,bc,cd,de->ae", r(2, 30), r(30, 2), r(2, 30), r(30, 3)),
    ("...ij,...jk->...ik", r(2, 3, 4), r(2, 4, 5)), ("...ii->...i", r(2, 1, 3, 3)),
    ("i...->...", r(2, 3, 4)), ("ij...,jk...", r(3, 4, 2), r(4, 5, 2)),
    ("...,...", r(2, 1, 3), r(2, 1, 3)), ("a...,...a->...", r(3, 2), r(2, 3)),
    ("...j,j->...", r(2, 1, 3), r(3)), ("ab...,b...->a...", r(2, 3, 1, 4), r(3, 5, 4)),
    ("bij,bjk->bik", r(2, 3, 4), r(2, 4, 2)), ("ij", r(3, 4)), ("ji", r(3, 4)),
    ("i,i", r(5), r(5)), ("i,j->ij", r(5), r(4)), ("ii,i->i", r(3, 3), r(3)),
]


@pytest.mark.parametrize("backend", ["reference", "llvm"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_matches_numpy(backend, case):
    spec, *ops = case
    want = np.einsum(spec, *ops)
    got = gc.function(lambda *o: np.einsum(spec, *o), backend=backend)(*ops)
    assert got.shape == np.shape(want) and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gnp.einsum(spec, *ops), want, rtol=1e-12, atol=1e-12)


def test_sublist_form_and_dtypes():
    a, b, s = r(3, 3), r(3, 4), r(2, 1, 3, 3)
    f = gc.function(lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]))
    np.testing.assert_allclose(f(a, b), a @ b, rtol=1e-13)
    np.testing.assert_allclose(gc.function(lambda a, b: np.einsum(a, [0, 1], b, [1, 2]))(a, b),
                               a @ b, rtol=1e-13)
    g = gc.function(lambda s: np.einsum(s, [Ellipsis, 0, 0], [Ellipsis, 0]))(s)
    np.testing.assert_allclose(g, np.einsum(s, [Ellipsis, 0, 0], [Ellipsis, 0]), rtol=1e-13)
    ints = np.arange(9, dtype=np.int32).reshape(3, 3)
    np.testing.assert_array_equal(gc.function(lambda m: np.einsum("ii", m))(ints),
                                  np.einsum("ii", ints))
    f32 = gc.function(lambda a, b: np.einsum("ij,jk", a, b))(a.astype(np.float32), b)
    assert f32.dtype == np.float64  # promoted, as NumPy does


def test_greedy_order_joins_the_small_pair_first():
    """``ab,bc,cd`` with a huge b and c: joining the first two first would make a 2 x 2 result
    either way, but the order must never build an (a, c) of 30 x 30 when (b, d) is 2 x 2."""
    x, y, z = r(30, 2), r(2, 30), r(30, 2)
    graph = gc.make_graph(lambda x, y, z: gnp.einsum("ab,bc,cd->ad", x, y, z))(x, y, z)
    sizes = [int(np.prod(n.outputs[0].shape)) for n in graph.nodes
             if n.prim.name == "dot_general"]
    assert max(sizes) <= 60  # (b, d) first: 2 x 2, then 30 x 2 -- never the 30 x 30


def test_derivatives():
    check_grads(lambda a, b: gnp.einsum("ij,jk->ik", a, b), (r(2, 3), r(3, 2)), order=2)
    check_grads(lambda a: gnp.einsum("ii->i", a) * gnp.einsum("ii", a), (r(3, 3),), order=2)
    check_grads(lambda a, b: gnp.einsum("...ij,...jk", a, b), (r(2, 2, 3), r(2, 3, 2)), order=2)


def test_errors():
    with pytest.raises(gc.ShapeError, match="sizes 2 and 3"):
        gnp.einsum("ii->i", np.ones((2, 3)))
    with pytest.raises(gc.ShapeError, match="appears in no input"):
        gnp.einsum("ij->k", np.ones((2, 3)))
    with pytest.raises(gc.ShapeError, match="2 operand subscripts for 1"):
        gnp.einsum("ij,jk", np.ones((2, 3)))
    with pytest.raises(gc.GraphcError, match="sublist"):
        gnp.einsum(np.ones(2), ["a"])
