"""Forward mode as a graph-to-graph transformation: tangent nodes are emitted into the current trace
after the primal nodes, by each primitive's ``jvp`` rule.

Tangents are tracers or ``None`` (a symbolic zero). Only nodes on a path from a value with a
tangent to an output are visited; integer and bool values never carry a tangent. Tangent nodes are
emitted in the builder's ``jvp`` phase (the printer marks them).
"""

from __future__ import annotations

import sys

from ..errors import GraphcError
from ..ir import Graph
from ..trace.tracer import current_trace, user_location
from .reverse import apply_rule, inline_graph, is_float, path_nodes, rule_of


def tangents(nodes, env: dict, tans: dict) -> dict:
    """Push tangents through ``nodes`` (a ``path_nodes`` result): ``tans`` maps values to their
    tangents and receives the outputs' ones."""
    trace = current_trace()
    builder = trace.builder
    here = user_location()
    with builder.in_phase("jvp"), trace.location_above(sys._getframe(), here):
        for node in nodes:
            t_in = [tans.get(v) for v in node.inputs]
            if all(t is None for t in t_in):
                continue
            rule = rule_of(node, "jvp")
            out = apply_rule(
                builder, node, here, rule,
                [env[v] for v in node.inputs], t_in, [env[v] for v in node.outputs],
            )
            outs = out if node.prim.multiple_results else [out]
            for v, t in zip(node.outputs, outs, strict=True):
                if t is not None and is_float(v):
                    _check(v, t, node)
                    tans[v] = t
    return tans


def _check(v, t, node):
    if tuple(t.shape) != tuple(v.shape) or t.dtype != v.dtype:
        raise GraphcError(
            f"internal: the jvp rule of {node.prim.name} gave a tangent {t.aval} "
            f"for a value {v.type}"
        )


class LinearizedForward:
    """A graph inlined into the current trace once, ready for any number of tangent passes (one per
    direction, as ``jacfwd`` needs)."""

    def __init__(self, graph: Graph, args):
        self.graph = graph
        self.env, self.outs = inline_graph(graph, args)

    def push(self, in_tangents) -> list:
        """Output tangents (tracers or None) for one tangent (tracer or None) per graph input."""
        tans = {
            v: t
            for v, t in zip(self.graph.inputs, in_tangents, strict=True)
            if t is not None and is_float(v)
        }
        path, _ = path_nodes(self.graph.nodes, list(tans), self.graph.outputs)
        tangents(path, self.env, tans)
        return [tans.get(v) for v in self.graph.outputs]
