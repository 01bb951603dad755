"""Reverse mode as a graph-to-graph transformation: the gradient subgraph is emitted into the
*current* trace, right after the forward nodes it differentiates, so one graph holds both.

The pieces, used by ``api.py`` (nested graphs traced from user functions), by ``tape.py`` (nodes
already in the current trace) and by control-flow rules:

  - ``inline_nodes(nodes, env)`` copies nodes into the current trace, mapping each graph ``Value``
    to a tracer of the current trace in ``env``;
  - ``path_nodes(nodes, sources, targets)`` keeps only the nodes on a differentiable path from a
    source to a target, so the backward pass is linear in the size of the forward graph and does
    not visit (or emit anything for) parts that cannot carry a gradient;
  - ``backward(nodes, env, cts)`` walks those nodes backwards calling each primitive's ``vjp``
    rule and accumulating cotangents per value.

Cotangents are tracers or ``None`` (a symbolic zero: nothing is emitted for it). Integer and bool
values never carry one. Backward nodes are emitted in the builder's ``bwd`` phase (the printer
marks them) and carry the source location of the forward node they differentiate: its rule's
nodes and the sums of the cotangents it contributes; a gradient's seed carries the line of the
op that made the output (``api``), so no gradient node names the line that asked for it, nor
none at all when no user frame called (``graphc dump``).
"""

from __future__ import annotations

import sys

from ..core import Tracer, current_trace, user_location
from ..errors import GraphcError
from ..ir import Graph, Value
from ..ops import elementwise as ew


class DifferentiationError(GraphcError, TypeError):
    """A function or argument cannot be differentiated as asked (the message says why)."""


def is_float(v) -> bool:
    """Only floating-point values carry derivatives (integer and bool ones are constants)."""
    return v.dtype.kind == "f"


def as_tracer(x, trace) -> Tracer:
    """``x`` (a tracer of an active trace, an array or a Python scalar) as a tracer of ``trace``."""
    if isinstance(x, Tracer):
        if x._trace is trace:
            return x
        return Tracer(trace.to_value(x), trace, x.weak)
    value, weak = trace.constant(x)
    return Tracer(value, trace, weak)


def inline_nodes(nodes, env: dict) -> None:
    """Emit ``nodes`` into the current trace; ``env`` maps every input Value to a current tracer and
    receives the outputs. A node keeps its phase when it is not ``fwd`` (so a gradient graph that
    is inlined again, e.g. for second derivatives, still shows which part was the gradient)."""
    trace = current_trace()
    builder = trace.builder
    for node in nodes:
        phase = node.phase if node.phase != "fwd" else builder.phase
        outs = builder.copy(node, [env[v].value for v in node.inputs], phase)
        for v, o in zip(node.outputs, outs, strict=True):
            env[v] = Tracer(o, trace)


def inline_graph(graph: Graph, args, trace=None) -> tuple[dict, list[Tracer]]:
    """Inline ``graph`` with ``args`` bound to its inputs; returns the env and output tracers."""
    trace = trace or current_trace()
    env = {v: as_tracer(a, trace) for v, a in zip(graph.inputs, args, strict=True)}
    inline_nodes(graph.nodes, env)
    return env, [env[v] for v in graph.outputs]


def active_values(nodes, sources) -> set:
    """Floating values that depend differentiably on a source."""
    active = {v for v in sources if is_float(v)}
    for node in nodes:
        if not node.prim.nondifferentiable and not active.isdisjoint(node.inputs):
            active.update(v for v in node.outputs if is_float(v))
    return active


def path_nodes(nodes, sources, targets) -> tuple[list, set]:
    """The nodes on a differentiable path from ``sources`` to ``targets`` (in order), and the
    active values; everything else is skipped by both modes."""
    active = active_values(nodes, sources)
    needed = {v for v in targets if v in active}
    path = []
    for node in reversed(nodes):
        if not needed.isdisjoint(node.outputs):
            path.append(node)
            needed.update(active.intersection(node.inputs))
    path.reverse()
    return path, active


def accumulate(cts: dict, value: Value, ct, node=None) -> None:
    """Add ``ct`` into the cotangent of ``value`` (None is a zero and adds nothing)."""
    if ct is None or value.type.dtype.kind != "f":  # (is_float, without its property calls)
        return
    ct_type = ct.value.type
    if ct_type is not value.type and ct_type != value.type:
        where = f" from the vjp rule of {node.prim.name}" if node is not None else ""
        raise GraphcError(
            f"internal: cotangent {ct.aval}{where} does not match its value {value.type}"
        )
    old = cts.get(value)
    cts[value] = ct if old is None else ew.add(old, ct)


def backward(nodes, env: dict, cts: dict, active: set) -> dict:
    """Walk ``nodes`` (a ``path_nodes`` result) backwards, emitting each rule into the current
    trace; ``cts`` maps output values to their cotangents and receives the inputs' ones. Each rule
    is told which inputs need a cotangent (the others, such as constants, may get None)."""
    trace = current_trace()
    here = user_location()  # the line that asked for the gradient: what bind() records
    with trace.builder.in_phase("bwd"), trace.location_above(sys._getframe(), here):
        for node in reversed(nodes):
            if node.prim.multiple_results:
                ct_arg = [cts.get(v) for v in node.outputs]
                if all(c is None for c in ct_arg):
                    continue
            else:
                ct_arg = cts.get(node.outputs[0])
                if ct_arg is None:
                    continue
            rule = rule_of(node, "vjp")
            needed = tuple([v in active for v in node.inputs])
            # the rule's nodes and the sums of its cotangents into others differentiate node
            trace.locate_at(at_node(node, here))
            in_cts = rule(ct_arg, [env[v] for v in node.inputs],
                          [env[v] for v in node.outputs], needed, **node.attrs)
            for v, c, need in zip(node.inputs, in_cts, needed, strict=True):
                if need:
                    accumulate(cts, v, c, node)
    return cts


def at_node(node, here):
    """Where the derivative nodes of ``node`` point: the user's line of the node they
    differentiate, else the line that asked for the derivative (``here``, or None when no user
    frame called, as under ``graphc dump``); nodes inlined from a nested graph, such as a custom
    gradient's, keep their own lines."""
    return node.loc if node.loc is not None else here


def rule_of(node, mode: str):
    """``node``'s ``jvp`` or ``vjp`` rule (``mode``), or a DifferentiationError naming the
    primitive and the user's line when it has none (``after_differentiation`` primitives)."""
    rule = getattr(node.prim, mode)
    if rule is None:
        kind = "forward-mode" if mode == "jvp" else "reverse-mode"
        raise DifferentiationError(
            f"{node.loc or 'here'}: primitive {node.prim.name} has no {kind} rule"
        )
    return rule


class Linearized:
    """A graph inlined into the current trace, ready for any number of backward passes (``vjp``
    may be applied more than once; each call emits one more reverse pass)."""

    def __init__(self, graph: Graph, args, wrt):
        self.graph = graph
        self.trace = current_trace()
        self.env, self.outs = inline_graph(graph, args, self.trace)
        self.sources = [v for v, w in zip(graph.inputs, wrt, strict=True) if w]

    def output_loc(self, i: int):
        """The user's line of the node that made output ``i`` (None for an input or constant)."""
        out = self.graph.outputs[i]
        for node in reversed(self.graph.nodes):
            if out in node.outputs:
                return node.loc
        return None

    def backward(self, out_cts) -> list:
        """Cotangents (tracers, or None for zero) of the differentiated inputs, given one
        cotangent (tracer or None) per graph output. Called inside a trace nested in the one that
        linearized (a vjp function used under ``grad``), the forward values are captured."""
        cts: dict = {}
        targets = []
        for i, (v, c) in enumerate(zip(self.graph.outputs, out_cts, strict=True)):
            if c is not None and is_float(v):
                with self.trace.nodes_at(self.output_loc(i) if v in cts else None):
                    accumulate(cts, v, c)  # an output returned twice gets the sum
                targets.append(v)
        path, active = path_nodes(self.graph.nodes, self.sources, targets)
        backward(path, self.env, cts, active)
        return [cts.get(v) for v in self.sources]
