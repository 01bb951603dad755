"""Reverse mode is linear in the size of the forward graph, and the gradient part is marked.

Factor: the traced (unoptimized) graph of grad(f) — forward and gradient nodes together — has at
most 4x the nodes of f's own graph (measured: 2.86x for this chain, before any optimization)."""

import numpy as np

import graphc as gc
import graphc.numpy as gnp

FACTOR = 4


def chain(x, n):
    """BENCHMARKS.md W6: an unrolled chain."""
    for _ in range(n):
        x = x + 0.01 * gnp.sin(x) * x
    return gnp.sum(x)


def test_unrolled_chain_of_1000_steps_gradient_graph_is_linear():
    x = np.ones(8)
    forward = gc.make_graph(lambda x: chain(x, 1000))(x)
    gradient = gc.make_graph(gc.grad(lambda x: chain(x, 1000)))(x)
    assert len(forward.nodes) >= 1000 * 4
    assert len(gradient.nodes) <= FACTOR * len(forward.nodes), (
        len(gradient.nodes),
        len(forward.nodes),
    )
    bwd = sum(n.phase == "bwd" for n in gradient.nodes)
    assert 0 < bwd <= (FACTOR - 1) * len(forward.nodes)


def test_gradient_nodes_are_marked_and_located():
    graph = gc.make_graph(gc.grad(lambda x: gnp.sum(gnp.sin(x) * x)))(np.ones(3))
    text = str(graph)
    fwd_lines = [ln for ln in text.splitlines() if "= sin" in ln]
    bwd_lines = [ln for ln in text.splitlines() if "# bwd" in ln]
    assert fwd_lines and "bwd" not in fwd_lines[0]
    assert any("= cos" in ln for ln in bwd_lines)
    assert all("test_graph_size.py" in ln for ln in bwd_lines)


def test_parts_that_cannot_carry_a_gradient_are_not_visited():
    def f(x, c):
        k = gnp.exp(c) * 3.0  # depends only on a non-differentiated argument
        for _ in range(50):
            k = gnp.sin(k)
        return gnp.sum(x * k)

    graph = gc.make_graph(gc.grad(f))(np.ones(3), np.ones(3))
    bwd = [n for n in graph.nodes if n.phase == "bwd"]
    assert not any(n.prim.name == "cos" for n in bwd)  # no backward pass through the sin chain
    assert len(bwd) <= 6


def test_gradient_values_of_the_chain():
    x = np.linspace(0.1, 1.0, 5)
    g = gc.function(gc.grad(lambda x: chain(x, 20)), backend="reference")(x)
    eps = 1e-6
    num = [(chain(x + eps * e, 20) - chain(x - eps * e, 20)) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(g, num, rtol=1e-6)
