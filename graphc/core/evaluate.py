"""The NumPy reference evaluator: runs a graph primitive by primitive, each with its ``impl``.

It is the meaning of a graph: the reference backend (``backend/reference.py``) runs it, constant
folding uses it, and call-like primitives (``ops/call.py``) evaluate their nested graph with it.
It sits in the core, below every primitive family, since it needs only the IR and the errors.
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
