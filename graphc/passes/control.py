"""Rewrites of ``cond`` nodes across their branch graphs (the other passes already optimize
inside nested graphs, but never look across a node's interface):

  - a constant predicate: the node is replaced by the chosen branch's nodes;
  - identical branches (the same text form, source lines aside): the branch is inlined, as the
    predicate cannot change the result;
  - results no one reads are dropped from both branches, then operands neither branch reads
    (the other passes leave a nested graph's inputs and outputs alone, as its node relies on
    them; this pass rewrites both sides together).

Nested conds (inside a branch) are handled by running the pass on each branch first.
"""

from __future__ import annotations

import numpy as np

from ..ir import Builder, Graph, format_graph, inline
from ..ops import control
from ..ops import shape as shape_ops
from . import loops
from .nested_io import drop_inputs, read_mask, restrict
from .rewrite import has_nested, map_nested


def control_flow(graph: Graph, options=None) -> Graph:
    """The pass (see the module docstring); ``graph`` itself when nothing changed."""
    if not any(has_nested(n) for n in graph.nodes):
        return graph
    producer = {v: n for n in graph.nodes for v in n.outputs}
    used = set(graph.outputs).union(*(n.inputs for n in graph.nodes))
    b = Builder(graph.name)
    env = {v: b.add_input(v.type) for v in graph.inputs}
    changed = False
    for node in graph.nodes:
        ins = [env[v] for v in node.inputs]
        attrs = map_nested(node.attrs, lambda g: control_flow(g, options)) if node.attrs else {}
        with b.in_phase(node.phase):
            outs = (_cond(b, node, ins, attrs, producer, used) if node.prim is control.cond else
                    loops.rewrite(b, node, ins, attrs, used) if node.prim in loops.LOOPS else None)
            changed |= outs is not None or attrs is not node.attrs
            if outs is None:
                outs = b.copy(node, ins) if attrs is node.attrs else b.emit(
                    node.prim, ins, attrs, node.loc)
        env.update((v, o) for v, o in zip(node.outputs, outs, strict=True) if o is not None)
    if not changed:
        return graph
    return b.build([env[v] for v in graph.outputs])


def _cond(b: Builder, node, ins, attrs, producer, used):
    """The rewritten cond's outputs (None for a dropped one), or None when no rule applies."""
    t, f = attrs["true_graph"], attrs["false_graph"]
    pred = _constant(producer.get(node.inputs[0]))
    if pred is not None or _same(t, f):
        return inline(b, t if pred is None or pred else f, ins[1:])
    keep_out = [v in used for v in node.outputs]
    if not all(keep_out):
        t, f = restrict(t, keep_out), restrict(f, keep_out)
    read = [a or c for a, c in zip(read_mask(t), read_mask(f))]
    if all(keep_out) and all(read):
        return None
    t, f = drop_inputs(t, read), drop_inputs(f, read)
    kept = [x for x, r in zip(ins[1:], read) if r]
    outs = iter(b.emit(control.cond, [ins[0], *kept], {"true_graph": t, "false_graph": f},
                       node.loc))
    return [next(outs) if k else None for k in keep_out]


def _constant(node):
    """The bool of a 0-d constant predicate, else None."""
    if node is not None and node.prim is shape_ops.constant:
        return bool(np.asarray(node.attrs["value"].array))
    return None


def _same(a: Graph, b: Graph) -> bool:
    """Both graphs have one text form once names of graphs and source lines are left out (the
    printer numbers values by appearance, so equal text means equal computations)."""
    def body(g):
        return [line.split("  # ")[0].rstrip() for line in format_graph(g).splitlines()[1:]]

    return body(a) == body(b)
