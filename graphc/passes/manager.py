"""The pass manager (the pass pipeline arrives with the optimization-passes issue)."""

from __future__ import annotations

from ..ir import Graph


def optimize(graph: Graph) -> tuple[Graph, list]:
    """Run the pass pipeline; returns the optimized graph and per-pass statistics."""
    return graph, []
