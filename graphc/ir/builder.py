"""Builds graphs node by node, running each primitive's shape rule as the node is made."""

from __future__ import annotations

from contextlib import contextmanager

from ..errors import GraphcError
from .graph import Graph, Node, SourceLoc, Value
from .types import TensorType


def with_location(err: GraphcError, prim, loc: SourceLoc | None) -> GraphcError:
    """Re-make ``err`` (same class) with the op name and the user's line prefixed once."""
    if getattr(err, "_graphc_located", False):
        return err
    where = f"{loc}: " if loc is not None else ""
    new = type(err)(f"{where}in {prim.name}: {err}")
    new._graphc_located = True
    return new


class Builder:
    """Accumulates the inputs and nodes of one graph."""

    def __init__(self, name: str = "graph"):
        self.name = name
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.phase = "fwd"

    def add_input(self, type_: TensorType) -> Value:
        v = Value(type_)
        self.inputs.append(v)
        return v

    def emit(self, prim, inputs, attrs: dict, loc: SourceLoc | None = None) -> tuple[Value, ...]:
        """Append a node applying ``prim``; returns its output values."""
        inputs = tuple(inputs)
        try:
            out_types = prim.infer([v.type for v in inputs], **attrs)
        except GraphcError as e:
            raise with_location(e, prim, loc) from None
        outputs = (Value(out_types[0]),) if len(out_types) == 1 else tuple(map(Value, out_types))
        self.nodes.append(Node(prim, inputs, dict(attrs), outputs, loc, self.phase))
        return outputs

    def copy(self, node: Node, inputs, phase: str | None = None) -> tuple[Value, ...]:
        """Append a copy of the existing ``node`` applied to ``inputs`` (same attributes and
        location; ``phase`` defaults to the builder's); returns its new output values.

        NOTE: shape rules are pure functions of the input types and attributes, so when every new
        input has the type of the input it replaces the rule would give the node's own output types
        again: they are reused and the rule is skipped (inlining a 10 000-node graph re-ran it for
        every node). Other input types go through ``emit``, which checks them. Attribute dicts are
        shared: nodes are never mutated."""
        inputs = tuple(inputs)
        old = node.inputs
        if len(inputs) == len(old):
            for a, b in zip(inputs, old, strict=True):
                if a.type is not b.type and a.type != b.type:
                    break
            else:
                outputs = tuple([Value(v.type) for v in node.outputs])
                self.nodes.append(Node(node.prim, inputs, node.attrs, outputs, node.loc,
                                       self.phase if phase is None else phase))
                return outputs
        if phase is None:
            return self.emit(node.prim, inputs, node.attrs, node.loc)
        with self.in_phase(phase):
            return self.emit(node.prim, inputs, node.attrs, node.loc)

    @contextmanager
    def in_phase(self, phase: str):
        old, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = old

    def build(self, outputs) -> Graph:
        return Graph(list(self.inputs), list(self.nodes), list(outputs), self.name)


def inline(builder: Builder, graph: Graph, args) -> list[Value]:
    """Copy ``graph``'s nodes into ``builder`` with its inputs bound to ``args``; returns its
    outputs (how a traced function is spliced into its caller)."""
    env = dict(zip(graph.inputs, args, strict=True))
    for node in graph.nodes:
        outs = builder.copy(node, [env[v] for v in node.inputs])
        env.update(zip(node.outputs, outs, strict=True))
    return [env[v] for v in graph.outputs]
