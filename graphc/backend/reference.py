"""The NumPy reference evaluator: runs a graph primitive by primitive.

It is the oracle compiled code is tested against, the engine of constant folding, and the backend
selected by ``gc.function(..., backend="reference")``.
"""

from __future__ import annotations

import numpy as np

from ..errors import GraphcError
from ..ir import Graph
from ..ir.diagnostics import internal_error


def evaluate(graph: Graph, args) -> list[np.ndarray]:
    """Run ``graph`` on NumPy arrays; returns its outputs (possibly read-only views).

    NumPy's floating-point warnings are off: graphc follows IEEE semantics, where ``log(0) = -inf``
    and ``inf - inf = NaN`` are results like any other, as in compiled code (and JAX)."""
    env = dict(zip(graph.inputs, args, strict=True))
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            try:
                res = node.prim.impl(*[env[v] for v in node.inputs], **node.attrs)
            except (GraphcError, MemoryError):
                raise
            except Exception as e:
                raise internal_error(f"evaluating {node.prim.name}", e, node) from e
            outs = res if node.prim.multiple_results else (res,)
            for v, r in zip(node.outputs, outs, strict=True):
                env[v] = np.asarray(r)
    return [env[v] for v in graph.outputs]


class Executable:
    """The backend interface's callable for the reference backend: interprets its graph."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def __call__(self, *arrays) -> list[np.ndarray]:
        return [np.array(r, copy=True) for r in evaluate(self.graph, arrays)]

    def text(self, stage: str) -> str:
        raise GraphcError(f"the reference backend has no {stage!r} stage (it interprets the graph)")

    def stats(self) -> dict:
        return {"backend": "reference"}


#: This backend has no passes of its own (see ``graphc.backend.llvm.PASSES``).
PASSES = ()


def compile(graph: Graph) -> Executable:  # noqa: A001  (the backend interface's name)
    """Nothing to compile: the graph is interpreted node by node at each call."""
    return Executable(graph)
