"""The reference backend, selected by ``gc.function(..., backend="reference")``: the NumPy
reference evaluator (``core.evaluate``), which runs a graph primitive by primitive. It is also the
oracle compiled code is tested against and the engine of constant folding.
"""

from __future__ import annotations

import numpy as np

from ..core import evaluate
from ..errors import GraphcError
from ..ir import Graph


class Executable:
    """The backend interface's callable for the reference backend: interprets its graph."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def __call__(self, *arrays) -> list[np.ndarray]:
        return [np.array(r, copy=True) for r in evaluate(self.graph, arrays)]

    def shipped(self) -> None:
        """Nothing beyond the graph travels in a pickle: it is all this backend runs."""
        return None

    def text(self, stage: str) -> str:
        raise GraphcError(f"the reference backend has no {stage!r} stage (it interprets the graph)")

    def stats(self) -> dict:
        return {"backend": "reference"}


#: This backend has no passes of its own (see ``graphc.backend.llvm.PASSES``).
PASSES = ()


def compile(graph: Graph) -> Executable:  # noqa: A001  (the backend interface's name)
    """Nothing to compile: the graph is interpreted node by node at each call."""
    return Executable(graph)
