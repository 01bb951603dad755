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
        outputs = tuple(Value(t) for t in out_types)
        self.nodes.append(Node(prim, inputs, dict(attrs), outputs, loc, self.phase))
        return outputs

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
        outs = builder.emit(node.prim, [env[v] for v in node.inputs], node.attrs, node.loc)
        env.update(zip(node.outputs, outs, strict=True))
    return [env[v] for v in graph.outputs]
