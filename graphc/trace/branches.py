"""Tracing Python functions into *closed* branch graphs for control-flow primitives.

Each function is traced on the same input types in its own nested trace; outer traced values a
function closes over are captured, and the union of all the functions' captures becomes extra
inputs that *every* graph takes (in one order). A branch graph is then closed: it reads only its
inputs, so passes, derivative rules and backends treat it as a graph on its own, and all the
branches share one signature, as the ``cond`` primitive requires. Used by ``gc.cond`` and by the
derivative rules of ``cond`` (which trace the branches' JVPs and VJPs the same way).
"""

from __future__ import annotations

import numpy as np

from ..core import Tracer, new_trace
from ..ir import Builder, Graph, inline


def _close(graph: Graph, n_own: int, own: list, every: list) -> Graph:
    """``graph`` (its first ``n_own`` inputs the operands, then its captures ``own``) as a graph
    taking the operands and then all of ``every``, so both branches have one signature."""
    if [t.value for t in own] == [t.value for t in every]:
        return graph
    b = Builder(graph.name)
    ins = [b.add_input(v.type) for v in graph.inputs[:n_own]]
    extra = {t.value: b.add_input(t.value.type) for t in every}
    outs = inline(b, graph, ins + [extra[t.value] for t in own])
    return b.build(outs)


def branch_graphs(funs, in_types, names) -> tuple[list[Graph], list[Tracer], list[list]]:
    """Trace each ``fun(*tracers) -> list of leaves`` in ``funs`` on inputs of ``in_types`` (each
    a ``(TensorType, weak)``); returns the closed graphs (all taking the operands then the shared
    captures), the captured outer tracers, and each function's output leaves' weakness."""
    traced = []
    for fun, name in zip(funs, names, strict=True):
        with new_trace(name) as tr:
            ins = [tr.new_input(t, weak) for t, weak in in_types]
            outs = [o if isinstance(o, Tracer) else Tracer(tr.to_value(o), tr, _weak(o))
                    for o in fun(*ins)]
            graph, captured = tr.graph(outs)
        traced.append((graph, captured, [o.weak for o in outs]))
    every: dict = {}
    for _, captured, _ in traced:
        every.update((t.value, t) for t in captured if t.value not in every)
    all_caps = list(every.values())
    graphs = [_close(g, len(in_types), caps, all_caps) for g, caps, _ in traced]
    return graphs, all_caps, [w for _, _, w in traced]


def _weak(x) -> bool:
    """A Python scalar result is weakly typed (NEP 50), as in the rest of tracing."""
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)
