"""Derivative nodes get their source location when they are emitted: differentiation never assigns
to a node that exists (the IR promises nodes are never mutated), and the lines are still those of
the forward ops they differentiate."""

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.ir.graph import Node

X = np.linspace(0.1, 1.0, 4)


def _no_reassignment(monkeypatch):
    """Every later assignment to a field of a made Node raises (the first one, in __init__, is
    allowed)."""
    setter = object.__setattr__

    def guarded(self, name, value):
        if hasattr(self, name):
            raise AssertionError(f"node field {name} reassigned ({getattr(self, name)!r} -> "
                                 f"{value!r})")
        setter(self, name, value)

    monkeypatch.setattr(Node, "__setattr__", guarded)


def _sin_line(x):
    return gnp.sum(gnp.sin(x) * x)  # the line every derivative node of sin points at


@gc.custom_vjp
def _custom(x):
    return gnp.sin(x)


_custom.defvjp(lambda x: (gnp.sin(x), x), lambda x, g: (g * gnp.cos(x),))

CASES = {
    "grad": lambda: gc.make_graph(gc.grad(_sin_line))(X),
    "hessian": lambda: gc.make_graph(gc.hessian(_sin_line))(X),
    "jacfwd": lambda: gc.make_graph(gc.jacfwd(lambda x: gnp.sin(x) * x))(X),
    "vjp": lambda: gc.make_graph(lambda x, v: gc.vjp(lambda y: gnp.sin(y) * y, x)[1](v))(X, X),
    "custom_vjp": lambda: gc.make_graph(gc.grad(lambda x: gnp.sum(_custom(x))))(X),
}


@pytest.mark.parametrize("name", list(CASES))
def test_differentiation_assigns_to_no_node(name, monkeypatch):
    _no_reassignment(monkeypatch)
    graph = CASES[name]()
    assert any(n.phase != "fwd" for n in graph.nodes)


def test_derivative_nodes_point_at_the_op_they_differentiate():
    graph = gc.make_graph(gc.grad(_sin_line))(X)
    sin_line = _sin_line.__code__.co_firstlineno + 1
    derivative = [n for n in graph.nodes if n.phase == "bwd"]
    assert derivative
    assert {n.loc.line for n in derivative} == {sin_line}
    cos = [n for n in derivative if n.prim.name == "cos"]
    assert len(cos) == 1 and cos[0].loc.function == "_sin_line"
