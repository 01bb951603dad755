"""Rewrites of ``while_loop`` and ``scan`` nodes across their body graphs (the ``control`` step,
``passes/control.py``, calls ``rewrite`` for each):

  - loop-invariant code motion: body (and condition) nodes that read only the loop's captures
    (and constants, and each other) are computed once before the loop, their values passed in
    as new captures;
  - a ``scan``'s stacked results no one reads are dropped from its body;
  - captures neither the body nor the condition reads are dropped.

Why here and not in the generic passes: the other passes optimize inside nested graphs but never
change a node's interface, which each of these does on both sides at once. Constants stay in the
body (a constant passed in as a capture would hide it from simplification there); nodes holding
nested graphs and impure ones stay too. Hoisting runs a hoisted node once even when the loop
runs zero times, as XLA's does; graphc's operations cannot trap, so only time is at stake.
"""

from __future__ import annotations

from ..ir import Builder, Graph
from ..ops import control
from ..ops import shape as shape_ops
from .nested_io import drop_inputs, read_mask, restrict, with_inputs
from .rewrite import has_nested

LOOPS = (control.while_loop, control.scan)


def _first_capture(node) -> int:
    a = node.attrs
    if node.prim is control.scan:
        return a["n_carry"] + a["n_xs"]
    return len(a["body_graph"].outputs)


def _invariant_nodes(body: Graph, first_cap: int) -> list:
    """Non-constant body nodes computed from captures, constants and each other only."""
    known = set(body.inputs[first_cap:])
    known.update(v for n in body.nodes if n.prim is shape_ops.constant for v in n.outputs)
    hoist = []
    for node in body.nodes:
        if node.prim is shape_ops.constant or has_nested(node) or not node.prim.pure:
            continue
        if node.inputs and all(v in known for v in node.inputs):
            known.update(node.outputs)
            hoist.append(node)
    return hoist


def _hoisted(b: Builder, body: Graph, first_cap: int, caps, hoist) -> tuple[Graph, list]:
    """Emit ``hoist`` into ``b`` (reading the outer ``caps``); returns the body reading the
    hoisted values it still needs as extra trailing inputs, and those outer values."""
    env = dict(zip(body.inputs[first_cap:], caps, strict=True))
    producer = {v: n for n in body.nodes for v in n.outputs}
    moved = set(hoist)

    def outer(v):
        if v not in env:  # a constant a hoisted node reads: copied out
            env.update(zip(producer[v].outputs, b.copy(producer[v], []), strict=True))
        return env[v]

    for node in hoist:
        env.update(zip(node.outputs, b.copy(node, [outer(v) for v in node.inputs]), strict=True))
    kept = [n for n in body.nodes if n not in moved]
    read = set(body.outputs).union(*(n.inputs for n in kept))
    passed = [v for n in hoist for v in n.outputs if v in read]
    nb = Builder(body.name)
    inner = {v: nb.add_input(v.type) for v in [*body.inputs, *passed]}
    for node in kept:
        outs = nb.copy(node, [inner[v] for v in node.inputs])
        inner.update(zip(node.outputs, outs, strict=True))
    return nb.build([inner[v] for v in body.outputs]), [env[v] for v in passed]


def rewrite(b: Builder, node, ins, attrs, used):
    """The rewritten loop's outputs (None for a dropped one), or None when no rule applies."""
    first, attrs, ins = _first_capture(node), dict(attrs), list(ins)
    changed = False
    names = ["body_graph"] + (["cond_graph"] if node.prim is control.while_loop else [])
    for name in names:  # a while loop's graphs share one signature: each gets the other's extras
        hoist = _invariant_nodes(attrs[name], first)
        if hoist:
            attrs[name], extra = _hoisted(b, attrs[name], first, ins[first:], hoist)
            for other in names:
                if other != name:
                    attrs[other] = with_inputs(attrs[other], [v.type for v in extra])
            ins += extra
            changed = True
    body = attrs["body_graph"]
    keep = [True] * len(node.outputs)
    if node.prim is control.scan:
        nc = attrs["n_carry"]
        keep = [i < nc or v in used for i, v in enumerate(node.outputs)]
        if not all(keep):
            body, changed = restrict(body, keep), True
    graphs = [body] + ([attrs["cond_graph"]] if node.prim is control.while_loop else [])
    read = [any(col) for col in zip(*(read_mask(g) for g in graphs))]
    read[:first] = [True] * first
    if not all(read):
        body = drop_inputs(body, read)
        if node.prim is control.while_loop:
            attrs["cond_graph"] = drop_inputs(attrs["cond_graph"], read)
        ins, changed = [x for x, r in zip(ins, read) if r], True
    if not changed:
        return None
    attrs["body_graph"] = body
    outs = iter(b.emit(node.prim, ins, attrs, node.loc))
    return [next(outs) if k else None for k in keep]
