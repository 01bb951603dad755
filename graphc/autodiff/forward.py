"""Forward mode as a graph-to-graph transformation: tangent nodes are emitted into the current trace
after the primal nodes, by each primitive's ``jvp`` rule.

Tangents are tracers or ``None`` (a symbolic zero). Only nodes on a path from a value with a
tangent to an output are visited; integer and bool values never carry a tangent. Tangent nodes are
emitted in the builder's ``jvp`` phase (the printer marks them).

``transpose_linear`` runs a graph that is linear in some of its inputs backwards (JAX's
``linear_transpose``): how a user's backward function (``v -> J^T v``) gives the forward-mode
tangent ``J t`` of a custom rule. It checks the linearity first, since the transpose of a graph
that is not linear is silently wrong.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np

from ..core import current_trace, located, user_location
from ..core.locations import definition_location
from ..errors import GraphcError
from ..ir import Graph
from ..ops import elementwise as ew
from ..ops import reduce as red
from ..ops import shape as sh
from ..ops.linalg import dot_general
from ..ops.shape import zeros
from .reverse import (
    DifferentiationError,
    Linearized,
    at_node,
    inline_graph,
    is_float,
    path_nodes,
    rule_of,
)


def tangents(nodes, env: dict, tans: dict) -> dict:
    """Push tangents through ``nodes`` (a ``path_nodes`` result): ``tans`` maps values to their
    tangents and receives the outputs' ones."""
    trace = current_trace()
    here = user_location()
    with trace.builder.in_phase("jvp"), trace.location_above(sys._getframe(), here):
        for node in nodes:
            t_in = [tans.get(v) for v in node.inputs]
            if all(t is None for t in t_in):
                continue
            rule = rule_of(node, "jvp")
            trace.locate_at(at_node(node, here))
            out = rule(
                [env[v] for v in node.inputs], t_in, [env[v] for v in node.outputs],
                **node.attrs,
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


@contextmanager
def derivative_nodes(phase: str, loc, fun):
    """Nodes graphc makes for a derivative outside any rule (a Jacobian's seeds, zero tangents for
    outputs that do not depend on the inputs, the stacking of a Jacobian's rows) are in
    ``phase`` (``jvp`` or ``bwd``) at the line of the op that made the output they stand for
    (``loc``), or at ``fun``'s definition when no op did (an input's seed, an output that is an
    input): never the line that asked for the derivative, as reverse mode's seeds and sums."""
    trace = current_trace()
    with trace.builder.in_phase(phase), trace.nodes_at(loc or definition_location(fun)):
        yield


class LinearizedForward:
    """A graph inlined into the current trace once, ready for any number of tangent passes (one per
    direction, as ``jacfwd`` needs)."""

    def __init__(self, graph: Graph, args):
        self.graph = graph
        self.env, self.outs = inline_graph(graph, args)

    output_loc = Linearized.output_loc  # the user's line of the op that made output i

    def push(self, in_tangents, wanted=None) -> list:
        """Output tangents (tracers or None) for one tangent (tracer or None) per graph input;
        ``wanted`` (one bool per output) limits the work to some outputs (the others get None)."""
        tans = {
            v: t
            for v, t in zip(self.graph.inputs, in_tangents, strict=True)
            if t is not None and is_float(v)
        }
        outs = self.graph.outputs
        if wanted is not None:
            outs = [v for v, w in zip(outs, wanted, strict=True) if w]
        path, _ = path_nodes(self.graph.nodes, list(tans), outs)
        tangents(path, self.env, tans)
        return [tans.get(v) if v in outs else None for v in self.graph.outputs]


# --- transposing a linear graph -------------------------------------------------------------------
def _others_zero(node, dep, known_zero, first=0):
    """Every operand from ``first`` on depends on the linear inputs or is a known zero."""
    return all(d or known_zero(v) for v, d in zip(node.inputs[first:], dep[first:], strict=True))


#: ``rule(node, dep, known_zero)``: whether ``node`` is linear in its operands that depend on the
#: linear inputs (``dep``, one bool per operand). Adding a constant that is not a known zero is
#: affine, not linear; ``stop_gradient`` is linear but its vjp is zero, so it is left out.
_LINEAR_USE = {
    **dict.fromkeys(
        (ew.neg, red.reduce_sum, sh.broadcast_in_dim, sh.reshape, sh.transpose, sh.rev, sh.slice_,
         red.cumsum),
        lambda node, dep, known_zero: True,
    ),
    ew.convert: lambda node, dep, known_zero: node.outputs[0].dtype.kind == "f",
    sh.pad: lambda node, dep, known_zero: not np.any(node.attrs["value"]),
    ew.mul: lambda node, dep, known_zero: sum(dep) == 1,
    dot_general: lambda node, dep, known_zero: sum(dep) == 1,
    ew.div: lambda node, dep, known_zero: dep == [True, False],
    ew.add: _others_zero,
    ew.sub: _others_zero,
    sh.concatenate: _others_zero,
    ew.select: lambda node, dep, known_zero: not dep[0] and _others_zero(node, dep, known_zero, 1),
}

#: Primitives a known zero passes through unchanged.
_KEEPS_ZERO = frozenset((sh.broadcast_in_dim, sh.reshape, sh.transpose, ew.convert))


def check_linear(graph: Graph, n_linear: int, wanted, who: str) -> None:
    """Raise a DifferentiationError naming ``who`` and the node's line unless ``graph`` is linear in
    its first ``n_linear`` inputs, for the outputs marked in ``wanted``: every node on a path from
    them to those outputs is a linear use (``_LINEAR_USE``), and each of those outputs depends on
    them or is a known zero. Only the part that is transposed is checked, as JAX does."""
    producer = {v: node for node in graph.nodes for v in node.outputs}

    def known_zero(v):
        node = producer.get(v)
        while node is not None and node.prim in _KEEPS_ZERO:
            node = producer.get(node.inputs[0])
        return node is not None and node.prim is sh.constant and not np.any(
            node.attrs["value"].array
        )

    dep = set(graph.inputs[:n_linear])
    for node in graph.nodes:
        if not dep.isdisjoint(node.inputs):
            dep.update(node.outputs)
    outs = [v for v, w in zip(graph.outputs, wanted, strict=True) if w]
    needed, used = set(outs), []
    for node in reversed(graph.nodes):
        if not needed.isdisjoint(node.outputs):
            needed.update(node.inputs)
            used.append(node)
    for node in reversed(used):
        mask = [v in dep for v in node.inputs]
        if not any(mask):
            continue
        rule = _LINEAR_USE.get(node.prim)
        if rule is None or not rule(node, mask, known_zero):
            what = (
                f"it applies {node.prim.name}{_in(node)} to the cotangent in a way that is not "
                "linear"
            )
            raise _not_linear(node, who, what)
    for k, (v, w) in enumerate(zip(graph.outputs, wanted, strict=True)):
        if w and v not in dep and not known_zero(v):
            node = producer.get(v)
            what = f"its gradient {k}{_in(node)} does not depend on the cotangent"
            raise _not_linear(node, who, what)


def _in(node) -> str:
    """`` (in fn)``: the user's function that made ``node`` (the backward function or a helper)."""
    return f" (in {node.loc.function})" if node is not None and node.loc is not None else ""


def _not_linear(node, who, what) -> DifferentiationError:
    """The error for a backward function that forward mode cannot transpose, located at ``node``'s
    line in it (or the line that asked for the derivative when there is no such node)."""
    message = (
        f"{who}: forward mode (jvp, jacfwd, hessian) transposes the backward function, which "
        f"must be linear in the cotangent, but {what}; reverse mode alone can use this rule"
    )
    return located(DifferentiationError, message, at=node.loc if node is not None else None)


def transpose_linear(graph: Graph, n_linear: int, consts, out_cts, who: str) -> list:
    """For ``graph`` linear in its first ``n_linear`` inputs (the others are ``consts``): the
    transposed map applied to ``out_cts`` (one tracer or None per output), one result (tracer or
    None) per linear input. It is a reverse pass of the graph inlined at zero linear inputs: a
    linear primitive's vjp does not depend on the point (dead primal nodes are removed by DCE)."""
    check_linear(graph, n_linear, [c is not None for c in out_cts], who)
    builder = current_trace().builder
    start = len(builder.nodes)
    lin_in = [zeros(v.shape, v.dtype) for v in graph.inputs[:n_linear]]
    wrt = [True] * n_linear + [False] * len(consts)
    result = Linearized(graph, lin_in + list(consts), wrt).backward(list(out_cts))
    for node in builder.nodes[start:]:  # the reverse pass is a tangent computation here
        node.phase = builder.phase
    return result
