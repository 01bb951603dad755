"""Derivative rules of the loop primitives (``while_loop``, ``while_grad``, ``scan``): each is
another loop over the body's derivative, so a derivative of a loop is still one native loop, and
differentiating it again (grad of grad, jvp of vjp) uses these same rules. Attached here for the
reason ``control.py`` gives for ``cond``.

JVP (``while_loop``, ``scan``): the loop runs again carrying ``(carry, tangent)`` pairs; a carry
gets a tangent when its initial value has one or the body gives it one from a value that has one
(a fixed point over the body), other carries and results keep symbolic zeros. Cost: one more run
of the loop (the primal values are recomputed alongside the tangents); memory: none saved.

VJP of ``while_loop``: a ``while_grad`` node (``ops/control.py``) runs the loop forward from the
initial carry saving each step's carry (storage that grows by doubling, natively), then one
backward step per iteration in reverse (``back_graph``: the body's VJP, which recomputes that
step's forward). Carries the backward step never reads are not saved, so a loop whose adjoint
needs no trajectory (a carried sum, a fixed linear update) saves only the trip count. With
``checkpoints=K`` the carries are checkpointed (binomial, ``reverse_loop``). Cost: one more forward
run of the loop and one backward step per iteration.

VJP of ``scan``: a forward ``scan`` that also stacks the carry entering each step (memory:
``length`` carries), then a ``scan`` in the other direction over those carries, the ``xs`` and
the ``ys``' cotangents, carrying the carry's cotangent and the captures' summed cotangents.

Derivatives of ``while_grad`` (``G(c0, p, ct) = dF^T ct`` for the loop ``F``) use the loop ``L2``
that carries ``(c, dc)``, ``F``'s JVP: its ``while_grad`` with cotangents ``(a, b)`` is
``d/d(c0, p) [a.F + b.dF]``. So ``jvp G`` along ``(dc0, dp, dct)`` is ``L2``'s ``while_grad`` with
``(a, b) = (dct, ct)``, and ``vjp G`` with ``(u_c, u_p)`` is ``dF`` along ``u`` (for ``ct``) and
``L2``'s ``while_grad`` with ``(0, ct)`` (for ``c0`` and ``p``): second order costs one JVP loop.
"""

from __future__ import annotations

from ..ir import without_effects
from ..ir.diagnostics import internal_message
from ..errors import GraphcError
from ..ops import control
from ..ops.shape import zeros
from ..trace.branches import branch_graphs
from .control import _spread, _zero_filled
from .forward import LinearizedForward
from .reverse import Linearized, active_values, inline_graph, is_float


def _graph(fun, in_types, name):
    """One closed graph of ``fun`` over ``in_types`` ((TensorType, weak) pairs), without effects:
    a derivative's bodies recompute the primal one, whose ``gc.print`` runs in the primal loop
    (which effects keep alive) and not again."""
    graphs, caps, _ = branch_graphs((fun,), in_types, (name,))
    if caps:
        raise GraphcError(internal_message(None, f"tracing {name}", "a derivative body captured "
                                           "outer values"))
    return without_effects(graphs[0])


def _types(values, weak=True):
    return [(v.aval, v.weak and weak) for v in values]


def _pick(values, mask):
    return [v for v, m in zip(values, mask, strict=True) if m]


def _floats(values):
    return [is_float(v) for v in values]


def _tangents_or_zeros(tans, values, mask):
    """The tangents marked in ``mask``, a zero where one is missing."""
    return [t if t is not None else zeros(v.shape, v.dtype)
            for t, v, m in zip(tans, values, mask, strict=True) if m]


def _carried(body, n_carry, has_in):
    """Which carries get a tangent: the fixed point of "the initial value has one, or the body
    makes one from an input that has one" (``has_in``: per body input, the carries first)."""
    has = list(has_in)
    while True:
        active = active_values(body.nodes, _pick(body.inputs, has))
        grown = [h or v in active for h, v in zip(has[:n_carry], body.outputs[:n_carry])]
        if grown == has[:n_carry]:
            return has, [v in active for v in body.outputs]
        has[:n_carry] = grown


def _interleave(groups, mask):
    """Index lists: per group of ``groups`` sizes, its values then its marked values' tangents
    (a loop keeps its carries, then their tangents, then the next group)."""
    order, pos = [], 0
    for size in groups:
        order += [("v", pos + i) for i in range(size)]
        order += [("t", pos + i) for i in range(size) if mask[pos + i]]
        pos += size
    return order


def _jvp_body(body, in_groups, has, out_groups, out_has):
    """``body`` with tangents: its inputs come in ``in_groups`` (sizes), each group followed by the
    tangents of its inputs marked in ``has``; its outputs likewise (``out_groups``, ``out_has``)."""
    in_order = _interleave(in_groups, has)
    out_order = _interleave(out_groups, out_has)

    def run(*ins):
        prim = [None] * len(body.inputs)
        tans = [None] * len(body.inputs)
        for (kind, i), x in zip(in_order, ins, strict=True):
            (prim if kind == "v" else tans)[i] = x
        lin = LinearizedForward(body, prim)
        pushed = lin.push(tans, out_has)
        return [lin.outs[i] if kind == "v" else pushed[i] if pushed[i] is not None else
                zeros(body.outputs[i].shape, body.outputs[i].dtype) for kind, i in out_order]

    return run


def _interleaved_types(types, groups, mask):
    """``types`` ((TensorType, weak) per value) in ``_interleave``'s order; tangents are strong."""
    return [(types[i][0], types[i][1] and kind == "v") for kind, i in _interleave(groups, mask)]


# --- while_loop ------------------------------------------------------------------------------------
def _jvp_loop(cond_graph, body_graph, has_c, has_p, ops):
    """The cond and body graphs of the loop carrying ``(c, dc[has_c])`` with captures ``(p,
    dp[has_p])``, traced on ``ops`` (the loop's operands) for their types."""
    n = len(body_graph.outputs)
    groups = [n, len(ops) - n]
    types = _interleaved_types(_types(ops), groups, has_c + has_p)
    n_dc = sum(has_c)

    def cond(*ins):
        return inline_graph(cond_graph, ins[:n] + ins[n + n_dc : n + n_dc + groups[1]])[1]

    body = _jvp_body(body_graph, groups, has_c + has_p, [n], has_c)
    return (_graph(cond, types, cond_graph.name + "_jvp"),
            _graph(body, types, body_graph.name + "_jvp"))


def _while_jvp(primals, tans, outs, *, cond_graph, body_graph, checkpoints=None):
    n = len(body_graph.outputs)
    has_in = [t is not None and is_float(v) for v, t in zip(primals, tans, strict=True)]
    has, _ = _carried(body_graph, n, has_in)
    has_c, has_p = has[:n], has[n:]
    if not any(has_c):
        return [None] * n
    c, p = primals[:n], primals[n:]
    cg, bg = _jvp_loop(cond_graph, body_graph, has_c, has_p, primals)
    res = control.while_loop(*c, *_tangents_or_zeros(tans[:n], c, has_c), *p,
                             *_tangents_or_zeros(tans[n:], p, has_p),
                             cond_graph=cg, body_graph=bg)
    return _spread(res[n:], has_c)


def _back_graph(body_graph, ops, wanted):
    """One step's VJP ``(c, p, ct[float c]) -> (ct_before[float c], ct_p[wanted])``."""
    n = len(body_graph.outputs)
    floats = _floats(ops[:n])
    wrt = floats + [j in wanted for j in range(len(ops) - n)]
    like = _pick(ops, wrt)

    def run(*ins):
        lin = Linearized(body_graph, ins[: len(ops)], wrt)
        return _zero_filled(lin.backward(_spread(ins[len(ops):], floats)), like)

    types = _types(ops) + _types(_pick(ops[:n], floats), False)
    return _graph(run, types, body_graph.name + "_vjp")


def _emit_while_grad(cond_graph, body_graph, ops, cts, wanted, checkpoints):
    body_graph = without_effects(body_graph)  # the reverse pass reruns it: see ``_graph``
    back = _back_graph(body_graph, ops, wanted)
    return control.while_grad(*ops, *cts, cond_graph=cond_graph, body_graph=body_graph,
                              back_graph=back, wanted=tuple(wanted), checkpoints=checkpoints)


def _while_vjp(cts, primals, outs, needed, *, cond_graph, body_graph, checkpoints=None):
    n = len(body_graph.outputs)
    floats = _floats(primals[:n])
    wanted = [j for j, v in enumerate(primals[n:]) if needed[n + j] and is_float(v)]
    if all(c is None for c in cts) or not (any(_pick(needed[:n], floats)) or wanted):
        return [None] * len(primals)
    ct = _tangents_or_zeros(cts, outs, floats)
    res = _emit_while_grad(cond_graph, body_graph, primals, ct, wanted, checkpoints)
    nf = sum(floats)
    grads = _spread(res[:nf], floats) + [None] * (len(primals) - n)
    for j, g in zip(wanted, res[nf:], strict=True):
        grads[n + j] = g
    return [g if w else None for g, w in zip(grads, needed, strict=True)]


def _while_grad_jvp(primals, tans, outs, *, cond_graph, body_graph, back_graph, wanted,
                    checkpoints):
    n, n_ops = len(body_graph.outputs), len(cond_graph.inputs)
    ops, ct = primals[:n_ops], primals[n_ops:]
    if all(t is None for t in tans):
        return [None] * len(outs)
    floats, fp = _floats(ops[:n]), _floats(ops[n:])
    cg, bg = _jvp_loop(cond_graph, body_graph, floats, fp, ops)
    ops2 = (*ops[:n], *_tangents_or_zeros(tans[:n], ops[:n], floats), *ops[n:],
            *_tangents_or_zeros(tans[n:n_ops], ops[n:], fp))
    dct = _tangents_or_zeros(tans[n_ops:], ct, [True] * len(ct))
    res = _emit_while_grad(cg, bg, ops2, [*dct, *ct], wanted, checkpoints)
    nf = len(ct)
    return [*res[:nf], *res[2 * nf :]]


def _while_grad_vjp(cts, primals, outs, needed, *, cond_graph, body_graph, back_graph, wanted,
                    checkpoints):
    n, n_ops = len(body_graph.outputs), len(cond_graph.inputs)
    ops, ct = primals[:n_ops], primals[n_ops:]
    nf = len(ct)
    if all(c is None for c in cts):
        return [None] * len(primals)
    floats = _floats(ops[:n])
    has_p = [j in wanted for j in range(n_ops - n)]
    u_p = [None] * (n_ops - n)
    for j, u in zip(wanted, cts[nf:], strict=True):
        u_p[j] = u
    cg, bg = _jvp_loop(cond_graph, body_graph, floats, has_p, ops)
    ops2 = (*ops[:n], *_tangents_or_zeros(_spread(cts[:nf], floats), ops[:n], floats), *ops[n:],
            *_tangents_or_zeros(u_p, ops[n:], has_p))
    grads = [None] * len(primals)
    if any(needed[n_ops:]):
        d_f = control.while_loop(*ops2, cond_graph=cg, body_graph=bg)[n:]
        grads[n_ops:] = d_f
    want_b = [j for j, v in enumerate(ops[n:]) if needed[n + j] and is_float(v)]
    if any(_pick(needed[:n], floats)) or want_b:
        zero = [zeros(v.shape, v.dtype) for v in ct]
        res = _emit_while_grad(cg, bg, ops2, [*zero, *ct], want_b, checkpoints)
        grads[:n] = _spread(res[:nf], floats)
        for j, g in zip(want_b, res[2 * nf :], strict=True):
            grads[n + j] = g
    return [g if w else None for g, w in zip(grads, needed, strict=True)]


control.while_loop.jvp = _while_jvp
control.while_loop.vjp = _while_vjp
control.while_grad.jvp = _while_grad_jvp
control.while_grad.vjp = _while_grad_vjp


# --- scan ------------------------------------------------------------------------------------------
def _body_types(body_graph, primals):
    """(TensorType, weak) per body input: the carries', the x slices' and the captures'."""
    weak = [v.weak for v in primals]
    return [(v.type, w) for v, w in zip(body_graph.inputs, weak, strict=True)]


def _scan_jvp(primals, tans, outs, *, body_graph, n_carry, n_xs, length, reverse):
    nc, nx = n_carry, n_xs
    has_in = [t is not None and is_float(v) for v, t in zip(primals, tans, strict=True)]
    has, active = _carried(body_graph, nc, has_in)
    ny = len(body_graph.outputs) - nc
    y_has = active[nc:]
    if not any(has[:nc]) and not any(y_has):
        return [None] * len(outs)
    groups = [nc, nx, len(primals) - nc - nx]
    types = _interleaved_types(_body_types(body_graph, primals), groups, has)
    body = _graph(_jvp_body(body_graph, groups, has, [nc, ny], has[:nc] + y_has), types,
                  body_graph.name + "_jvp")
    ops, pos = [], 0
    for size in groups:
        part = primals[pos : pos + size]
        ops += [*part, *_tangents_or_zeros(tans[pos : pos + size], part, has[pos : pos + size])]
        pos += size
    ndc, ndx = sum(has[:nc]), sum(has[nc : nc + nx])
    res = control.scan(*ops, body_graph=body, n_carry=nc + ndc, n_xs=nx + ndx, length=length,
                       reverse=reverse)
    return _spread(res[nc : nc + ndc], has[:nc]) + _spread(res[nc + ndc + ny :], y_has)


def _scan_vjp(cts, primals, outs, needed, *, body_graph, n_carry, n_xs, length, reverse):
    nc, nx = n_carry, n_xs
    c, xs, p = primals[:nc], primals[nc : nc + nx], primals[nc + nx :]
    fc, fy = _floats(c), _floats(outs[nc:])
    want_x = [w and is_float(v) for v, w in zip(xs, needed[nc : nc + nx], strict=True)]
    want_p = [w and is_float(v) for v, w in zip(p, needed[nc + nx :], strict=True)]
    if all(t is None for t in cts) or not any(_pick(needed[:nc], fc) + want_x + want_p):
        return [None] * len(primals)
    types = _body_types(body_graph, primals)
    ny = len(body_graph.outputs) - nc

    def forward(*ins):  # the step, also returning the carry it started from
        return inline_graph(body_graph, ins)[1] + list(ins[:nc])

    aug = _graph(forward, types, body_graph.name + "_saving")
    saved = control.scan(*c, *xs, *p, body_graph=aug, n_carry=nc, n_xs=nx, length=length,
                         reverse=reverse)[nc + ny :]
    wrt = fc + want_x + want_p
    like = _pick(list(body_graph.inputs), wrt)
    nf, nwp = sum(fc), sum(want_p)
    y_types = [(v.type, False) for v in _pick(body_graph.outputs[nc:], fy)]
    c_types = types[:nc]

    def back(*ins):
        ct_c, acc = ins[:nf], ins[nf : nf + nwp]
        c_i, x_i = ins[nf + nwp : nf + nwp + nc], ins[nf + nwp + nc : nf + nwp + nc + nx]
        ct_y, p_i = ins[nf + nwp + nc + nx : len(ins) - len(p)], ins[len(ins) - len(p) :]
        lin = Linearized(body_graph, [*c_i, *x_i, *p_i], wrt)
        g = _zero_filled(lin.backward(_spread(ct_c, fc) + _spread(ct_y, fy)), like)
        nwx = sum(want_x)
        return [*g[:nf], *(a + b for a, b in zip(acc, g[nf + nwx :], strict=True)),
                *g[nf : nf + nwx]]

    back_types = ([(t, False) for t, _ in _pick(c_types, fc)] +
                  [(t, False) for t, _ in _pick(types[nc + nx :], want_p)] + c_types +
                  types[nc : nc + nx] + y_types + types[nc + nx :])
    back_graph = _graph(back, back_types, body_graph.name + "_vjp")
    ct_c = _tangents_or_zeros(cts[:nc], outs[:nc], fc)
    ct_y = _tangents_or_zeros(cts[nc:], outs[nc:], fy)
    acc0 = [zeros(v.shape, v.dtype) for v in _pick(p, want_p)]
    res = control.scan(*ct_c, *acc0, *saved, *xs, *ct_y, *p, body_graph=back_graph,
                       n_carry=nf + nwp, n_xs=nc + nx + len(ct_y), length=length,
                       reverse=not reverse)
    grads = _spread(res[:nf], fc) + _spread(res[nf + nwp :], want_x) + _spread(
        res[nf : nf + nwp], want_p)
    return [g if w else None for g, w in zip(grads, needed, strict=True)]


control.scan.jvp = _scan_jvp
control.scan.vjp = _scan_vjp


# --- remat -----------------------------------------------------------------------------------------
def _remat_jvp(primals, tans, outs, *, body_graph):
    has = [t is not None and is_float(v) for v, t in zip(primals, tans, strict=True)]
    _, out_has = _carried(body_graph, 0, has)
    if not any(out_has):
        return [None] * len(outs)
    n_out = len(body_graph.outputs)
    body = _graph(_jvp_body(body_graph, [len(primals)], has, [n_out], out_has),
                  _interleaved_types(_types(primals), [len(primals)], has),
                  body_graph.name + "_jvp")
    res = control.remat(*primals, *_tangents_or_zeros(tans, primals, has), body_graph=body)
    return _spread(res[n_out:], out_has)


def _remat_vjp(cts, primals, outs, needed, *, body_graph):
    want = [w and is_float(v) for v, w in zip(primals, needed, strict=True)]
    has = [c is not None for c in cts]
    if not any(want) or not any(has):
        return [None] * len(primals)
    like = _pick(primals, want)

    def run(*ins):  # the body's forward again, then its reverse pass
        lin = Linearized(body_graph, ins[: len(primals)], want)
        return _zero_filled(lin.backward(_spread(ins[len(primals):], has)), like)

    present = [c for c in cts if c is not None]
    back = _graph(run, _types(primals) + _types(present, False), body_graph.name + "_vjp")
    return _spread(control.remat(*primals, *present, body_graph=back), want)


control.remat.jvp = _remat_jvp
control.remat.vjp = _remat_vjp
