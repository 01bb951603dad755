"""The graph IR: typed SSA values, nodes that apply one primitive each, and graphs.

Values are immutable and compared by identity. A node's attributes are static and hashable
(arrays are wrapped in ``Literal``; nested graphs, e.g. loop bodies, are attribute values too).
Passes build new graphs rather than mutating nodes in place.
"""

from __future__ import annotations

import itertools
import dataclasses
from dataclasses import dataclass

import numpy as np

from .types import TensorType

_ids = itertools.count()


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """Where in the user's code a node was made."""

    file: str
    line: int
    function: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Value:
    """One SSA value: made by exactly one node (or a graph input); compared by identity. The ``id``
    only orders values (CSE's commutative keys); printed names are renumbered per graph."""

    # NOTE: a plain slotted class (not a dataclass): big graphs make tens of thousands of values,
    # and a dataclass ``default_factory`` costs an extra call for each.
    __slots__ = ("id", "type")

    def __init__(self, type: TensorType, id: int | None = None):
        self.type = type
        self.id = next(_ids) if id is None else id

    @property
    def shape(self):
        return self.type.shape

    @property
    def dtype(self):
        return self.type.dtype

    def __repr__(self) -> str:
        return f"Value(%{self.id}: {self.type})"


class Literal:
    """A constant array as a hashable attribute (hash and equality by dtype, shape and bytes)."""

    __slots__ = ("_key", "array")

    def __init__(self, array):
        a = np.array(array, copy=True)
        a.setflags(write=False)
        self.array = a
        self._key = (a.dtype.str, a.shape, a.tobytes())

    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Literal) and self._key == other._key

    def __repr__(self) -> str:
        a = self.array
        if a.size <= 8:
            text = np.array2string(a, separator=",", precision=8, floatmode="maxprec")
            return text.replace("\n", "")
        return f"<{a.size} elements>"


@dataclass(eq=False, slots=True)
class Node:
    """One application of a primitive. ``phase`` marks where it came from ("fwd" or "bwd")."""

    prim: object  # core.Primitive; typed loosely to keep the IR below the registry
    inputs: tuple[Value, ...]
    attrs: dict
    outputs: tuple[Value, ...]
    loc: SourceLoc | None = None
    phase: str = "fwd"

    def attrs_key(self) -> tuple:
        return tuple(sorted(self.attrs.items()))

    def subgraphs(self):
        """The nested graphs in this node's attributes (a graph, or a tuple holding graphs)."""
        for v in self.attrs.values():
            if isinstance(v, Graph):
                yield v
            elif isinstance(v, tuple):
                yield from (g for g in v if isinstance(g, Graph))


def holds_graphs(attrs: dict) -> bool:
    """Whether a node with these attributes has ``subgraphs()`` (asked of every node by passes and
    node counts, so it makes no generator)."""
    for v in attrs.values():
        if isinstance(v, Graph):
            return True
        if isinstance(v, tuple):
            for g in v:
                if isinstance(g, Graph):
                    return True
    return False


def has_effects(node: Node) -> bool:
    """Whether ``node``, or a node of a graph nested in it (a loop printing in its body), has
    effects (its primitive is not ``pure``): passes must neither drop nor merge it."""
    if not node.prim.pure:
        return True
    return bool(node.attrs) and holds_graphs(node.attrs) and any(
        has_effects(n) for g in node.subgraphs() for n in g.nodes)


def without_effects(graph: "Graph") -> "Graph":
    """``graph`` without its effect-only nodes (impure, no results), nested graphs included: the
    form a derivative recomputes a loop body in, so that a body's ``gc.print`` runs once per
    forward iteration and not again in the reverse pass. The same graph when it has none."""
    if not any(has_effects(n) for n in graph.nodes):
        return graph
    nodes = []
    for node in graph.nodes:
        if not node.prim.pure and not node.outputs:
            continue
        if holds_graphs(node.attrs):
            attrs = {k: without_effects(v) if isinstance(v, Graph) else
                     tuple(without_effects(g) if isinstance(g, Graph) else g for g in v)
                     if isinstance(v, tuple) else v for k, v in node.attrs.items()}
            node = dataclasses.replace(node, attrs=attrs)
        nodes.append(node)
    return dataclasses.replace(graph, nodes=nodes)


@dataclass(eq=False)
class Graph:
    """Inputs, nodes in an order where every value is defined before use, and outputs."""

    inputs: list[Value]
    nodes: list[Node]
    outputs: list[Value]
    name: str = "graph"

    def __str__(self) -> str:
        from .printer import format_graph

        return format_graph(self)

    def __repr__(self) -> str:
        return f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.nodes)} nodes>"

    @property
    def in_types(self) -> list[TensorType]:
        return [v.type for v in self.inputs]

    @property
    def out_types(self) -> list[TensorType]:
        return [v.type for v in self.outputs]

    def subgraphs(self):
        """Nested graphs held in node attributes (one level down)."""
        for node in self.nodes:
            yield from node.subgraphs()

    def count_nodes(self, nested: bool = True) -> int:
        n = len(self.nodes)
        if nested:
            for node in self.nodes:
                if node.attrs and holds_graphs(node.attrs):
                    n += sum(g.count_nodes() for g in node.subgraphs())
        return n
