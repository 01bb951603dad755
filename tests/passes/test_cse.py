"""Common-subexpression elimination."""

import numpy as np
from passes_util import CALL, EFFECT, F32, F64, G, duplicate_nodes, evaluations_equal, prims

from graphc.ir import verify
from graphc.passes.cse import cse
from graphc.passes.dce import dce


def _cse_dce(graph):
    out = dce(cse(graph))
    verify(out)
    return out


def test_identical_nodes_merge_and_so_do_their_users():
    g = G(((3,), F32))
    (x,) = g.inputs
    a, b = g.sin(x), g.sin(x)
    graph = g.build(g.add(g.exp(a), g.exp(b)))
    out = _cse_dce(graph)
    assert prims(out) == ["sin", "exp", "add"]
    add = out.nodes[-1]
    assert add.inputs[0] is add.inputs[1]
    assert evaluations_equal(graph, out, [np.array([0.1, -2.0, 3.0], np.float32)])


def test_commutative_operands_in_either_order_merge_but_not_for_sub():
    g = G(((3,), F32), ((3,), F32))
    x, y = g.inputs
    graph = g.build(g.add(x, y), g.add(y, x), g.mul(x, y), g.mul(y, x), g.sub(x, y), g.sub(y, x))
    out = _cse_dce(graph)
    assert prims(out) == ["add", "mul", "sub", "sub"]
    assert out.outputs[0] is out.outputs[1] and out.outputs[2] is out.outputs[3]
    assert out.outputs[4] is not out.outputs[5]


def test_constants_merge_by_literal_equality_only():
    g = G()
    outs = [g.c(1.0), g.c(1.0), g.c(0.0), g.c(-0.0), g.c(1.0, F64),
            g.c([1.0, 2.0]), g.c([1.0, 2.0])]
    out = _cse_dce(g.build(*outs))
    assert len(out.nodes) == 5  # 1.0 f32, 0.0, -0.0, 1.0 f64, [1, 2]
    o = out.outputs
    assert o[0] is o[1] and o[5] is o[6]
    assert len({o[0], o[2], o[3], o[4], o[5]}) == 5


def test_different_attributes_do_not_merge():
    g = G(((2, 3), F32))
    (x,) = g.inputs
    graph = g.build(g.reduce_sum(x, axes=(0,)), g.reduce_sum(x, axes=(1,)),
                    g.reduce_sum(x, axes=(0,)))
    out = _cse_dce(graph)
    assert prims(out) == ["reduce_sum", "reduce_sum"]
    assert out.outputs[0] is out.outputs[2]


def test_impure_nodes_never_merge():
    g = G(((3,), F32))
    (x,) = g.inputs
    out = cse(g.build(g.emit(EFFECT, x), g.emit(EFFECT, x)))
    assert prims(out) == ["effect", "effect"]


def test_no_duplicates_left_and_nothing_to_do_returns_same_graph():
    g = G(((4,), F32))
    (x,) = g.inputs
    y = g.mul(g.sin(x), g.sin(x))
    z = g.mul(g.sin(x), g.sin(x))
    out = _cse_dce(g.build(g.add(y, z)))
    assert duplicate_nodes(out) == []
    assert cse(out) is out


def test_nested_graphs_get_their_own_cse():
    inner = G(((2,), F32), name="body")
    (p,) = inner.inputs
    body = inner.build(inner.add(inner.exp(p), inner.exp(p)))
    g = G(((2,), F32))
    (y,) = g.emit(CALL, g.inputs[0], body=body)
    graph = g.build(y)
    out = _cse_dce(graph)
    assert prims(out.nodes[0].attrs["body"]) == ["exp", "add"]
    assert evaluations_equal(graph, out, [np.array([0.5, -1.0], np.float32)])


def test_max_and_min_operands_are_not_swapped():
    """max(-0.0, 0.0) and max(0.0, -0.0) differ in the sign of the zero: no merge."""
    g = G(((2,), F32), ((2,), F32))
    x, y = g.inputs
    graph = g.build(g.max(x, y), g.max(y, x), g.min(x, y), g.min(y, x))
    out = _cse_dce(graph)
    assert prims(out) == ["max", "max", "min", "min"]
    args = [np.float32([-0.0, 0.0]), np.float32([0.0, -0.0])]
    assert evaluations_equal(graph, out, args)
