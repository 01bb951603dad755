"""Dead-code elimination."""

import numpy as np
from passes_util import CALL, EFFECT, F32, SPLIT, G, evaluations_equal, prims

from graphc.ir import Graph, TensorType, verify
from graphc.passes.dce import dce


def test_removes_unused_chains_and_keeps_used_nodes():
    g = G(((3,), F32))
    (x,) = g.inputs
    unused = g.exp(g.sin(x))
    g.neg(unused)
    y = g.cos(x)
    graph = g.build(y)
    out = dce(graph)
    assert prims(out) == ["cos"]
    assert out.inputs == graph.inputs and out.outputs == graph.outputs
    verify(out)


def test_nothing_to_remove_returns_the_same_graph():
    g = G(((3,), F32))
    graph = g.build(g.sin(g.inputs[0]))
    assert dce(graph) is graph


def test_impure_nodes_stay_even_when_unused():
    g = G(((3,), F32))
    (x,) = g.inputs
    g.emit(EFFECT, g.sin(x))
    g.cos(x)
    out = dce(g.build(x))
    assert prims(out) == ["sin", "effect"]


def test_a_node_with_one_used_output_stays_whole():
    g = G(((3,), F32))
    a, _ = g.emit(SPLIT, g.inputs[0])
    out = dce(g.build(a))
    assert prims(out) == ["split2"]


def test_nested_graphs_are_cleaned_inside_with_their_interface_kept():
    inner = G(((2,), F32), ((2,), F32), name="body")
    p, q = inner.inputs
    inner.exp(p)  # dead inside the body
    body = inner.build(inner.mul(p, q))
    g = G(((2,), F32))
    (x,) = g.inputs
    (y,) = g.emit(CALL, x, x, body=body)
    g.emit(CALL, x, x, body=body)  # a dead call: removed whole
    graph = g.build(y)
    out = dce(graph)
    assert prims(out) == ["call"]
    new_body = out.nodes[0].attrs["body"]
    assert prims(new_body) == ["mul"]
    assert new_body.inputs == body.inputs and new_body.outputs == body.outputs
    assert prims(body) == ["exp", "mul"], "the input graph must not be mutated"
    verify(out)
    assert evaluations_equal(graph, out, [np.arange(2, dtype=np.float32)])
    assert isinstance(new_body, Graph) and new_body.in_types == [TensorType((2,), F32)] * 2
