"""The walk every rewriting pass shares: copy a graph node by node into a new graph, letting the
pass replace nodes by other values, and recurse into nested graphs (attributes holding graphs).

Passes are pure functions ``Graph -> Graph``; nothing is mutated in place. Old and new graph share
what did not change:
  - a node the pass keeps, whose inputs and attributes are unchanged, is carried over as the same
    ``Node`` object (nodes are never mutated, so sharing is safe);
  - a kept node whose inputs were replaced becomes a new ``Node`` with the *same output values*
    (replacements always have the replaced value's type, so the output types cannot change).
So a pass that changes one node near the inputs of a 10 000-node graph does not re-create the rest,
and a pass that changes nothing returns the very graph it was given (the pass manager's fixed point
test is ``new is old``).
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import GraphcError
from ..ir import Builder, Graph, Node, Value
from ..ir.graph import holds_graphs


class PassError(GraphcError):
    """A pass produced something ill-typed (a bug in graphc, not in user code)."""


class Rewriter:
    """The graph under construction, with the lookups rules need (which node made a value)."""

    def __init__(self, graph: Graph):
        self.source = graph  # the graph being rewritten (rules that look at uses read it)
        self.builder = Builder(graph.name)
        self.builder.inputs = list(graph.inputs)
        self.env: dict[Value, Value] = {}
        #: The node of the new graph that computes each value (graph inputs have none).
        self.producer: dict[Value, Node] = {}
        self.node: Node | None = None  # the node being rewritten: its loc and phase go on new nodes
        self.changed = False
        self.cache: dict = {}  # per-walk memo for rules (e.g. splat values of constants)

    def value(self, v: Value) -> Value:
        """``v``'s counterpart in the new graph."""
        return self.env.get(v, v)

    def emit(self, prim, inputs, **attrs) -> Value:
        """Add a new single-output node, located where the node being rewritten was."""
        return self.emit_multi(prim, inputs, **attrs)[0]

    def emit_multi(self, prim, inputs, **attrs) -> tuple[Value, ...]:
        b = self.builder
        b.phase = self.node.phase if self.node is not None else "fwd"
        outs = b.emit(prim, inputs, attrs, self.node.loc if self.node is not None else None)
        for v in outs:
            self.producer[v] = b.nodes[-1]
        self.changed = True
        return outs

    def keep(self, node: Node, inputs: tuple, attrs: dict) -> None:
        """Carry ``node`` over with (possibly) new inputs and attributes; its outputs stay."""
        # NOTE: tuple == compares Values by identity (they have no __eq__), in C.
        if attrs is not node.attrs or (inputs is not node.inputs and inputs != node.inputs):
            node = Node(node.prim, inputs, attrs, node.outputs, node.loc, node.phase)
            self.changed = True
        self.builder.nodes.append(node)
        producer = self.producer
        for v in node.outputs:
            producer[v] = node

    def replace(self, node: Node, values) -> None:
        """Let ``values`` stand for ``node``'s outputs from here on (the node is dropped)."""
        for old, new in zip(node.outputs, values, strict=True):
            if old.type != new.type:
                raise PassError(
                    f"rewrite of {node.prim.name} changed the type {old.type} to {new.type}"
                )
            if new is not old:
                self.env[old] = new
        self.changed = True


#: ``rule(rw, node, inputs, attrs)`` returns replacement values for ``node``'s outputs (a list or
#: tuple aligned with them), or None to keep the node (with inputs and attrs as given).
Rule = Callable[[Rewriter, Node, tuple, dict], "list[Value] | tuple[Value, ...] | None"]


def map_nested(attrs: dict, fn: Callable[[Graph], Graph]) -> dict:
    """``attrs`` with each nested graph replaced by ``fn(graph)``; the same dict if none changed."""
    if not holds_graphs(attrs):
        return attrs
    new = None
    for key, value in attrs.items():
        if isinstance(value, Graph):
            mapped = fn(value)
        elif isinstance(value, tuple) and any(isinstance(g, Graph) for g in value):
            mapped = tuple(fn(g) if isinstance(g, Graph) else g for g in value)
            if all(a is b for a, b in zip(mapped, value, strict=True)):
                mapped = value
        else:
            continue
        if mapped is not value:
            new = dict(attrs) if new is None else new
            new[key] = mapped
    return attrs if new is None else new


def has_nested(node: Node) -> bool:
    """Whether ``node`` holds nested graphs (rules that rewrite one node leave such nodes alone)."""
    return bool(node.attrs) and holds_graphs(node.attrs)


def rewrite_graph(
    graph: Graph, rule: Rule, nested: Callable[[Graph], Graph] | None = None
) -> Graph:
    """Apply ``rule`` to every node in order; nested graphs go through ``nested`` first (usually the
    whole pass again). Returns ``graph`` itself when nothing changed."""
    rw = Rewriter(graph)
    env, producer, kept = rw.env, rw.producer, rw.builder.nodes
    for node in graph.nodes:
        inputs = node.inputs
        if env:  # (nothing replaced yet: the inputs are the node's own)
            inputs = tuple(map(env.get, inputs, inputs))
        attrs = node.attrs
        if attrs and nested is not None:
            attrs = map_nested(attrs, nested)
        rw.node = node
        new = rule(rw, node, inputs, attrs)
        if new is not None:
            rw.replace(node, new)
        elif attrs is node.attrs and inputs == node.inputs:
            kept.append(node)  # ``keep`` of an unchanged node, inline: most nodes are
            for v in node.outputs:
                producer[v] = node
        else:
            rw.keep(node, inputs, attrs)
    if not rw.changed:
        return graph
    return rw.builder.build([rw.value(v) for v in graph.outputs])
