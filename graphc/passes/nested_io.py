"""Changing a nested graph's interface: which inputs it reads, dropping outputs or inputs, adding
inputs it ignores (the control-flow rewrites change a node and its graphs together)."""

from __future__ import annotations

from ..ir import Builder, Graph
from .dce import live_nodes


def read_mask(g: Graph) -> list[bool]:
    """Per input of ``g``: whether its outputs or nodes read it."""
    read = set(g.outputs).union(*(n.inputs for n in g.nodes))
    return [v in read for v in g.inputs]


def restrict(g: Graph, keep) -> Graph:
    """``g`` returning only the outputs marked in ``keep``, its then-dead nodes removed (dce's
    liveness)."""
    outs = Graph(list(g.inputs), list(g.nodes), [v for v, k in zip(g.outputs, keep) if k], g.name)
    return Graph(list(g.inputs), live_nodes(outs), list(outs.outputs), g.name)


def drop_inputs(g: Graph, keep) -> Graph:
    return Graph([v for v, k in zip(g.inputs, keep) if k], list(g.nodes), list(g.outputs), g.name)


def with_inputs(graph: Graph, types) -> Graph:
    """``graph`` taking extra trailing inputs of ``types`` it does not read."""
    nb = Builder(graph.name)
    inner = {v: nb.add_input(v.type) for v in graph.inputs}
    for t in types:
        nb.add_input(t)
    for node in graph.nodes:
        inner.update(zip(node.outputs, nb.copy(node, [inner[v] for v in node.inputs]),
                         strict=True))
    return nb.build([inner[v] for v in graph.outputs])
