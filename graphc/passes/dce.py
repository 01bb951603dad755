"""Dead-code elimination: drop pure nodes none of whose outputs is used.

Liveness flows backwards from the graph's outputs. A node with effects (``ir.has_effects``: its
primitive, or one in a graph nested in it, is not ``pure``) always stays. A node with several outputs stays when any of them is used. Nested graphs
(loop bodies, branches) are cleaned inside, but their inputs and outputs are left as they are: they
are the interface their enclosing node relies on.
"""

from __future__ import annotations

from ..ir import Graph, Node, has_effects
from .rewrite import has_nested, map_nested


def live_nodes(graph: Graph) -> list:
    """The nodes of ``graph`` that stay (see the module docstring), in order; nested graphs
    untouched."""
    live = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if live.isdisjoint(node.outputs) and not has_effects(node):
            continue
        kept.append(node)
        live.update(node.inputs)
    kept.reverse()
    return kept


def live_uses(graph: Graph) -> dict:
    """How many times each value is read by the graph's outputs and its live nodes: its uses once
    dead code is gone (for rewrites that are worth making only on a value's sole use)."""
    uses: dict = {}
    for v in graph.outputs:
        uses[v] = uses.get(v, 0) + 1
    for node in live_nodes(graph):
        for v in node.inputs:
            uses[v] = uses.get(v, 0) + 1
    return uses


def dce(graph: Graph, options=None) -> Graph:
    """The pass: unused pure nodes dropped (see the module docstring)."""
    kept = live_nodes(graph)
    changed = len(kept) != len(graph.nodes)
    nodes = []
    for node in kept:
        if node.attrs and has_nested(node):
            attrs = map_nested(node.attrs, lambda g: dce(g, options))
            if attrs is not node.attrs:
                node = Node(node.prim, node.inputs, attrs, node.outputs, node.loc, node.phase)
                changed = True
        nodes.append(node)
    if not changed:
        return graph
    return Graph(list(graph.inputs), nodes, list(graph.outputs), graph.name)
