"""Common-subexpression elimination by structural hashing.

Two pure nodes compute the same thing when they apply the same primitive, with equal attributes, to
the same input values; the later one is replaced by the earlier one. Operands of commutative
primitives are put in a canonical order for the key (``a*b`` is ``b*a``), so the forward and the
gradient parts of a graph share their work. Constants merge when their ``Literal`` values are equal
(same dtype, shape and bytes: ``0.0`` and ``-0.0`` stay apart). Walking in order makes the merge
transitive: once two values are merged, the nodes using them become equal too. Nested graphs get
their own CSE (they cannot see the enclosing graph's values: they take everything as inputs).
"""

from __future__ import annotations

from ..ir import Graph, Node, has_effects
from .rewrite import Rewriter, rewrite_graph


def node_key(node: Node, inputs: tuple, attrs: dict):
    """The structural key of a node: equal keys compute equal values (the key may hold unhashable
    attribute values; callers treat a TypeError on hashing as "no key")."""
    if node.prim.commutative and len(inputs) > 1:
        if len(inputs) == 2:
            a, b = inputs
            if a.id > b.id:
                inputs = (b, a)
        else:
            inputs = tuple(sorted(inputs, key=_value_id))
    if not attrs:
        return (node.prim, (), inputs)
    return (node.prim, tuple(attrs.items()) if len(attrs) == 1 else tuple(sorted(attrs.items())),
            inputs)


def _value_id(v):
    return v.id


def cse(graph: Graph, options=None) -> Graph:
    """The pass: later twins of pure nodes replaced by the first (see the module docstring)."""
    seen: dict = {}

    def rule(rw: Rewriter, node: Node, inputs: tuple, attrs: dict):
        if has_effects(node):
            return None
        key = node_key(node, inputs, attrs)
        try:
            twin = seen.get(key)
        except TypeError:  # an unhashable attribute: the node cannot be matched
            return None
        if twin is not None:
            return twin
        seen[key] = node.outputs
        return None

    return rewrite_graph(graph, rule, nested=lambda g: cse(g, options))
