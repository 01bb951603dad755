"""Derivative rules of the ``cond`` primitive: each is another ``cond`` whose branches are the
derivatives of the branch graphs, so a derivative of a branch is still a branch (it runs natively,
nests, and is differentiated again for grad of grad or jvp of vjp).

Why the rules are attached here and not in ``ops/control.py``: they differentiate the branch
graphs with the graph transformations of this package (``Linearized``, ``LinearizedForward``),
and ``ops`` sits below ``autodiff`` (the autodiff package imports the ops); so, as
``custom_vjp_call``'s rules are made in ``custom.py``, this module sets ``cond.jvp``/``cond.vjp``
when the autodiff package is imported (``graphc`` always imports it).

JVP: ``cond(pred, primals, tangents) -> output tangents``; only operands with a tangent become
inputs, and an output that depends on none of them in either branch keeps a symbolic zero (no
value is computed for it); one branch's missing tangent for an output the other branch has is a
zero there. The primal outputs are those of the original node; the tangent branch recomputes the
chosen branch's forward values it needs (one extra forward evaluation of that branch).

VJP: ``cond(pred, primals, cotangents) -> operand cotangents`` for the operands the caller
``needed`` (floating ones only). Residuals: none are saved; the backward branch recomputes the
chosen branch's forward and then runs its reverse pass. Cost: one extra forward evaluation of the
branch taken, and no memory held between the forward and backward passes beyond the operands.
"""

from __future__ import annotations

from ..ir import without_effects
from ..ops import control
from ..ops.shape import zeros
from ..trace.branches import branch_graphs
from .forward import LinearizedForward
from .reverse import Linearized, active_values, is_float


def _spread(values, mask):
    """One entry per True in ``mask`` taken from ``values``, None elsewhere."""
    it = iter(values)
    return [next(it) if m else None for m in mask]


def _zero_filled(results, like):
    """``results`` (tracers or None) with each None made a zero of its ``like`` value's type."""
    return [zeros(v.shape, v.dtype) if r is None else r for r, v in zip(results, like, strict=True)]


def _derivative_cond(pred, ops, extra, funs, names):
    """A ``cond`` over the branch functions ``funs`` taking ``ops`` then ``extra`` (tracers)."""
    in_types = [(v.aval, v.weak) for v in ops] + [(v.aval, False) for v in extra]
    graphs, caps, _ = branch_graphs(funs, in_types, names)
    graphs = [without_effects(g) for g in graphs]  # the primal cond prints (see loops._graph)
    return control.cond(pred, *ops, *extra, *caps, true_graph=graphs[0], false_graph=graphs[1])


def _tangent_outputs(graphs, has):
    """Per output: whether its tangent can be non-zero in either branch."""
    masks = []
    for g in graphs:
        active = active_values(g.nodes, [v for v, h in zip(g.inputs, has) if h])
        masks.append([v in active for v in g.outputs])
    return [a or b for a, b in zip(*masks, strict=True)]


def _cond_jvp(primals, tans, outs, *, true_graph, false_graph):
    pred, *ops = primals
    has = [t is not None and is_float(v) for v, t in zip(ops, tans[1:], strict=True)]
    graphs = (true_graph, false_graph)
    out_has = _tangent_outputs(graphs, has)
    if not any(out_has):
        return [None] * len(outs)
    n = len(ops)
    like = [o for o, h in zip(outs, out_has, strict=True) if h]

    def branch(graph):
        def run(*ins):
            lin = LinearizedForward(graph, ins[:n])
            pushed = lin.push(_spread(ins[n:], has), out_has)
            return _zero_filled([t for t, h in zip(pushed, out_has) if h], like)

        return run

    tangent_in = [t for t, h in zip(tans[1:], has) if h]
    res = _derivative_cond(
        pred, ops, tangent_in, [branch(g) for g in graphs], [g.name + "_jvp" for g in graphs]
    )
    return _spread(res, out_has)


def _cond_vjp(cts, primals, outs, needed, *, true_graph, false_graph):
    pred, *ops = primals
    want = [w and is_float(v) for v, w in zip(ops, needed[1:], strict=True)]
    ct_has = [c is not None for c in cts]
    if not any(want) or not any(ct_has):
        return [None] * len(primals)
    n = len(ops)
    like = [v for v, w in zip(ops, want) if w]

    def branch(graph):
        def run(*ins):
            grads = Linearized(graph, ins[:n], want).backward(_spread(ins[n:], ct_has))
            return _zero_filled(grads, like)

        return run

    graphs = (true_graph, false_graph)
    present = [c for c in cts if c is not None]
    res = _derivative_cond(
        pred, ops, present, [branch(g) for g in graphs], [g.name + "_vjp" for g in graphs]
    )
    return [None, *_spread(res, want)]


control.cond.jvp = _cond_jvp
control.cond.vjp = _cond_vjp
