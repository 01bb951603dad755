"""Constant folding: full folds within the size limit, splat folds of any size, no impure nodes."""

import numpy as np
import pytest
from passes_util import EFFECT, F32, F64, I32, G, bits_equal, evaluations_equal, prims

from graphc.backend.reference import evaluate
from graphc.ir import verify
from graphc.core import Primitive
from graphc.passes.dce import dce
from graphc.passes.fold import FOLD_LIMIT, fold


def _fold(graph):
    out = dce(fold(graph))
    verify(out)
    return out


def test_constant_arithmetic_folds_to_the_bits_numpy_computes():
    g = G()
    a = g.c([0.1, 0.7, -3.0])
    b = g.c(3.0)
    graph = g.build(g.exp(g.div(g.mul(a, b), g.c(7.0))))
    out = _fold(graph)
    assert prims(out) == ["constant"]
    expected = np.exp(np.float32([0.1, 0.7, -3.0]) * np.float32(3.0) / np.float32(7.0))
    assert bits_equal(out.nodes[0].attrs["value"].array, expected)


def test_fold_mixes_with_non_constant_inputs():
    g = G(((3,), F32))
    (x,) = g.inputs
    graph = g.build(g.mul(x, g.add(g.c(2.0), g.c(0.5))))
    out = _fold(graph)
    assert prims(out) == ["constant", "mul"]
    assert out.nodes[0].attrs["value"].array == np.float32(2.5)


@pytest.mark.parametrize("n, folded", [(FOLD_LIMIT, True), (FOLD_LIMIT + 1, False)])
def test_size_limit(n, folded):
    g = G()
    a = g.c(np.arange(n, dtype=np.float32))
    graph = g.build(g.sin(a))
    out = _fold(graph)
    assert prims(out) == (["constant"] if folded else ["constant", "sin"])
    assert evaluations_equal(graph, out, [])


def test_a_fold_never_makes_data_bigger():
    """A broadcast of a scalar constant stays a broadcast (8 elements would fit the limit)."""
    g = G()
    graph = g.build(g.splat(2.0, (2, 4)), g.pad(g.c([1.0, 2.0]), lo=(1,), hi=(1,), interior=(0,),
                                                   value=0.0))
    out = _fold(graph)
    assert prims(out) == ["constant", "broadcast_in_dim", "constant", "pad"]


def test_reductions_of_big_constants_fold_to_small_results():
    g = G()
    big = g.c(np.linspace(-1, 1, 1000, dtype=np.float64), F64)
    graph = g.build(g.reduce_sum(big, axes=(0,)))
    out = _fold(graph)
    assert prims(out) == ["constant"]
    assert evaluations_equal(graph, out, [])


def test_elementwise_ops_on_splats_fold_to_a_broadcast_scalar_whatever_the_size():
    g = G(((1000,), F32))
    (x,) = g.inputs
    s = g.sin(g.mul(g.splat(0.5, (1000,)), g.splat(3.0, (1000,))))
    graph = g.build(g.add(x, s))
    out = _fold(graph)
    assert prims(out) == ["constant", "broadcast_in_dim", "add"]
    assert out.nodes[0].attrs["value"].array == np.sin(np.float32(1.5))
    assert evaluations_equal(graph, out, [np.linspace(-2, 2, 1000, dtype=np.float32)])


def test_shape_ops_of_splats_become_splats():
    g = G()
    s = g.splat(1.5, (2, 3))
    graph = g.build(g.transpose(g.reshape(s, shape=(3, 2)), perm=(1, 0)))
    out = _fold(graph)
    assert prims(out) == ["constant", "broadcast_in_dim"]
    assert out.outputs[0].type.shape == (2, 3)


def test_integer_and_bool_constants_fold():
    g = G()
    i = g.add(g.c([1, 2, 3], I32), g.c(5, I32))
    graph = g.build(i, g.lt(i, g.c(7, I32)))
    out = _fold(graph)
    assert prims(out) == ["constant", "constant"]
    assert evaluations_equal(graph, out, [])


def test_impure_nodes_are_never_folded():
    g = G()
    graph = g.build(g.emit(EFFECT, g.c(1.0)))
    assert prims(_fold(graph)) == ["constant", "effect"]


def test_a_failing_evaluation_is_left_for_run_time():
    def boom(x):
        raise ZeroDivisionError("no")

    failing = Primitive("boom", infer=lambda types: [types[0]], impl=boom)
    g = G()
    graph = g.build(g.emit(failing, g.c(1.0)))
    assert fold(graph) is graph


def test_folded_graph_evaluates_like_the_original():
    g = G(((2, 3), F32))
    (x,) = g.inputs
    w = g.c(np.arange(6, dtype=np.float32).reshape(2, 3) / 7)
    t = g.transpose(g.neg(w), perm=(1, 0))
    graph = g.build(g.mul(x, g.transpose(t, perm=(1, 0))))
    out = _fold(graph)
    assert prims(out) == ["constant", "mul"]
    args = [np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)]
    assert bits_equal(evaluate(graph, args)[0], evaluate(out, args)[0])
