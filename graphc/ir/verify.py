"""The IR verifier: SSA order, types that match each primitive's shape rule, nested graphs too."""

from __future__ import annotations

from ..errors import GraphcError
from .graph import Graph


class VerifyError(GraphcError):
    """The graph breaks an IR invariant (a bug in graphc, not in user code)."""


def verify(graph: Graph) -> None:
    """Raise VerifyError on the first broken invariant. Nested graphs are checked on their own:
    they may not use the enclosing graph's values (they take everything as inputs)."""
    defined = set()
    for v in graph.inputs:
        if v in defined:
            raise VerifyError(f"{graph.name}: input {v} listed twice")
        defined.add(v)
    for i, node in enumerate(graph.nodes):
        where = f"{graph.name}: node {i} ({node.prim.name})"
        for v in node.inputs:
            if v not in defined:
                raise VerifyError(f"{where} uses {v} before it is defined")
        try:
            expected = list(node.prim.infer([v.type for v in node.inputs], **node.attrs))
        except GraphcError as e:
            raise VerifyError(f"{where}: shape rule rejects its inputs: {e}") from e
        got = [v.type for v in node.outputs]
        if expected != got:
            raise VerifyError(f"{where}: outputs typed {got}, shape rule says {expected}")
        for v in node.outputs:
            if v in defined:
                raise VerifyError(f"{where} redefines {v}")
            defined.add(v)
        for sub in node.subgraphs():
            verify(sub)
    for v in graph.outputs:
        if v not in defined:
            raise VerifyError(f"{graph.name}: output {v} is not defined")
