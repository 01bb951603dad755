"""The loop rewrites of the ``control`` step (passes/loops.py): loop-invariant code leaves the
body, unread stacked results and captures are dropped, and the numbers stay the same."""

import numpy as np
import pytest

import graphc as gc

BACKENDS = ("reference", "llvm")


def _loop_node(graph, name):
    (node,) = [n for n in graph.nodes if n.prim.name == name]
    return node


def _prims(graph):
    return [n.prim.name for n in graph.nodes]


def _invariant(x, w, n):
    def body(c):
        v, i = c
        return v * np.exp(w).sum() + np.sin(w) * i, i + 1

    return gc.while_loop(lambda c: c[1] < n, body, (x, 0))[0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 3])
def test_invariant_nodes_are_computed_once_before_the_loop(backend, n):
    x, w = np.ones(3), np.array([0.1, 0.2, 0.3])
    f = gc.function(_invariant, backend=backend)
    graph = f.concrete(x, w, np.int64(n)).graph
    loop = _loop_node(graph, "while_loop")
    body = _prims(loop.attrs["body_graph"])
    assert "exp" not in body and "sin" not in body and "reduce_sum" not in body
    assert {"exp", "sin", "reduce_sum"} <= set(_prims(graph))
    assert "mul" in body and "constant" in body  # carry-dependent work and constants stay
    v = x.copy()
    for i in range(n):
        v = v * np.exp(w).sum() + np.sin(w) * i
    np.testing.assert_allclose(f(x, w, np.int64(n)), v, rtol=1e-14)


def test_hoisting_reaches_scan_bodies_and_leaves_gradients_right():
    def f(xs, w):
        return gc.scan(lambda c, x: (c + x * np.cos(w), c * 2), np.zeros(3), xs)[0].sum()

    xs, w = np.arange(12.0).reshape(4, 3), np.array([0.5, 1.0, 1.5])
    graph = gc.function(f).concrete(xs, w).graph
    body = _loop_node(graph, "scan").attrs["body_graph"]
    assert "cos" not in _prims(body) and len(body.outputs) == 1  # c * 2 is never read
    g = gc.function(gc.grad(f, argnums=1))(xs, w)
    np.testing.assert_allclose(g, -np.sin(w) * xs.sum(0), rtol=1e-13)


def test_captures_no_graph_reads_are_dropped_and_conditions_are_hoisted_too():
    def f(x, w, unused, limit):
        def body(c):
            dead = unused.sum() * c  # never returned: dead code inside the body
            return c * 2 + w

        return gc.while_loop(lambda c: c.sum() < np.exp(limit), body, x)

    args = (np.ones(2), np.ones(2), np.ones(5), np.float64(np.log(100.0)))
    before = _loop_node(gc.make_graph(f)(*args), "while_loop")
    after = _loop_node(gc.function(f).concrete(*args).graph, "while_loop")
    assert len(before.inputs) == 4 and len(after.inputs) == 3  # x, w, exp(limit)
    assert "exp" not in _prims(after.attrs["cond_graph"])
    np.testing.assert_allclose(gc.function(f)(*args), [63.0, 63.0])  # 1, 3, 7, ..., 63
