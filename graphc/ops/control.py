"""Control-flow primitives: nodes whose work is nested graphs held in their attributes.

``cond``: operands ``(pred, *operands)`` with ``pred`` a 0-d bool; attributes ``true_graph`` and
``false_graph``, two graphs that take the operands' types and return the same list of types; the
results are the outputs of the branch ``pred`` picks. Each branch takes everything it uses as
an input (a branch closing over an outer value gets it as an operand), so a branch is a graph
on its own that passes and backends can plan, optimize and compile like any other.

The shape rule and the NumPy evaluation are here; the derivative rules differentiate the branch
graphs, which needs the autodiff package above this one, so they are attached there.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import define, evaluate
from ..dtypes import bool_
from ..errors import DTypeError, ShapeError
from ..ir import TensorType
from .batching import loop_rule


def _cond_infer(types, *, true_graph, false_graph):
    pred, *operands = types
    if pred.shape != () or pred.dtype != bool_:
        raise DTypeError(f"cond: the predicate must be a 0-d bool, got {pred}")
    for which, graph in (("true", true_graph), ("false", false_graph)):
        if graph.in_types != operands:
            raise ShapeError(
                f"cond: the {which} branch takes {graph.in_types}, the operands are {operands}"
            )
    if true_graph.out_types != false_graph.out_types:
        raise ShapeError(
            f"cond: the branches return different types: true {true_graph.out_types}, "
            f"false {false_graph.out_types}"
        )
    return true_graph.out_types


def _cond_impl(pred, *operands, true_graph, false_graph):
    return tuple(evaluate(true_graph if bool(pred) else false_graph, list(operands)))


# gc.vmap (ops/batching.py): loops run per example (``loop_rule``); a cond on a batched
# predicate computes both branches for the whole batch and selects (JAX's choice: no loop)
def _cond_batch(prim, args, batched, size, true_graph, false_graph):
    from .batching import batch_graph, lead
    from .elementwise import select
    from .shape import reshape

    if not batched[0]:  # a shared predicate: one cond whose branches are the batched ones
        graphs = [_batched_branch(g, args[1:], batched[1:], size) for g in (true_graph,
                                                                             false_graph)]
        return cond(*args, true_graph=graphs[0], false_graph=graphs[1])
    pred, *ops = args
    branches = [batch_graph(g, ops, batched[1:], size) for g in (true_graph, false_graph)]
    outs = []
    for (a, ba), (b, bb) in zip(*branches, strict=True):
        a, b = (a if ba else lead(a, size)), (b if bb else lead(b, size))
        outs.append(select(reshape(pred, shape=(size, *(1,) * (a.ndim - 1))), a, b))
    return outs


def _batched_branch(graph, ops, batched, size, out_batched=None):
    """``graph`` batched as a closed graph of the (partly batched) operands, each result batched
    where ``out_batched`` says (default: all; both branches of a cond must give the same types)."""
    from ..core import new_trace
    from .batching import batch_graph, lead

    want = out_batched or [True] * len(graph.outputs)
    with new_trace(graph.name + "_batched") as tr:
        ins = [tr.new_input(TensorType(tuple(a.shape), a.dtype)) for a in ops]
        got = batch_graph(graph, ins, batched, size)
        if any(b and not w for (_, b), w in zip(got, want, strict=True)):
            raise ShapeError(f"internal: vmap of {graph.name} batched a result it should not")
        outs = [lead(v, size) if w and not b else v for (v, b), w in zip(got, want, strict=True)]
        branch, captured = tr.graph(outs)
    if captured:  # the original graph is closed, so its batched form is too
        raise ShapeError(f"internal: vmap of {graph.name} captured outer values")
    return branch


cond = define(
    "cond", infer=_cond_infer, impl=_cond_impl, multiple_results=True, family="control",
    batch=_cond_batch,
)


# --- loops -----------------------------------------------------------------------------------------
def _check_graph(what, graph, in_types, out_types):
    if graph.in_types != list(in_types):
        raise ShapeError(f"{what} takes {graph.in_types}, the operands are {list(in_types)}")
    if out_types is not None and graph.out_types != list(out_types):
        raise ShapeError(f"{what} returns {graph.out_types}, expected {list(out_types)}")


def _check_pred(what, graph):
    if [(t.shape, t.dtype) for t in graph.out_types] != [((), bool_)]:
        raise DTypeError(f"{what} must return one 0-d bool, it returns {graph.out_types}")


def _while_infer(types, *, cond_graph, body_graph, checkpoints=None):
    n = len(body_graph.outputs)
    _check_graph("while_loop: the body", body_graph, types, types[:n])
    _check_graph("while_loop: the condition", cond_graph, types, None)
    _check_pred("while_loop: the condition", cond_graph)
    return types[:n]


def _while_impl(*operands, cond_graph, body_graph, checkpoints=None):
    n = len(body_graph.outputs)
    carry, caps = list(operands[:n]), list(operands[n:])
    while bool(evaluate(cond_graph, carry + caps)[0]):
        carry = evaluate(body_graph, carry + caps)
    return tuple(carry)


# gc.vmap: JAX's rule. A carry the body makes batched is batched from the start (a fixed point);
# with a shared predicate the loop stays one loop over the batched carries; with a per-example
# predicate it runs while any example's holds, each step keeping the carries of the examples whose
# predicate no longer holds (so each gets exactly its own number of steps).
def _while_batch(prim, args, batched, size, cond_graph, body_graph, checkpoints=None):
    from .batching import lead

    n = len(body_graph.outputs)
    flags = list(batched)
    while True:
        grown = [f or o for f, o in zip(flags[:n], _out_flags(body_graph, args, batched, flags,
                                                               size), strict=True)]
        if grown == flags[:n]:
            break
        flags[:n] = grown
    per_example = _out_flags(cond_graph, args, batched, flags, size)[0]
    if per_example:
        flags[:n] = [True] * n
    ops = [lead(a, size) if f and not b else a for a, b, f in zip(args, batched, flags,
                                                                   strict=True)]
    body = _batched_branch(body_graph, ops, flags, size, flags[:n])
    pred = _batched_branch(cond_graph, ops, flags, size, [per_example])
    if per_example:
        pred, body = _any_example(pred, ops, size), _active_examples(pred, body, ops, n, size)
    return while_loop(*ops, cond_graph=pred, body_graph=body, checkpoints=checkpoints)


def _out_flags(graph, args, batched, flags, size) -> list[bool]:
    """Which results of ``graph`` are batched when the operands batched are those ``flags``
    says (``args`` as given are batched where ``batched`` says), traced aside and dropped."""
    from ..core import new_trace
    from .batching import batch_graph

    with new_trace(graph.name + "_flags") as tr:
        ins = [tr.new_input(TensorType((size, *a.shape) if f and not b else tuple(a.shape),
                                       a.dtype))
               for a, b, f in zip(args, batched, flags, strict=True)]
        return [b for _, b in batch_graph(graph, ins, flags, size)]


def _inline(graph, ins) -> list:
    """``graph``'s results on ``ins`` in the current trace (its nodes emitted as they are)."""
    from .batching import batch_graph

    return [v for v, _ in batch_graph(graph, ins, [False] * len(ins), 0)]


def _closed(name, ops, make):
    """The closed graph of ``make(inputs)`` on inputs of ``ops``' types."""
    from ..core import new_trace

    with new_trace(name) as tr:
        graph, captured = tr.graph(make([tr.new_input(TensorType(tuple(a.shape), a.dtype))
                                         for a in ops]))
    if captured:
        raise ShapeError(f"internal: vmap of while_loop: {name} captured outer values")
    return graph


def _any_example(pred, ops, size):
    from .reduce import reduce_max

    return _closed(pred.name + "_any", ops, lambda ins: [
        reduce_max(_inline(pred, ins)[0], axes=(0,))])


def _active_examples(pred, body, ops, n, size):
    """The body stepping only the examples whose predicate holds."""
    from .elementwise import select
    from .shape import reshape

    def step(ins):
        (p,), new = _inline(pred, ins), _inline(body, ins)
        return [select(reshape(p, shape=(size, *(1,) * (v.ndim - 1))), v, old)
                for v, old in zip(new, ins[:n], strict=True)]

    return _closed(body.name + "_active", ops, step)


while_loop = define(
    "while_loop", infer=_while_infer, impl=_while_impl, multiple_results=True, family="control",
    batch=_while_batch,
)
"""``while_loop``: operands ``(*carry, *captures)``; ``cond_graph`` and ``body_graph`` both take
them all; the body returns the new carry (the same types), the condition a 0-d bool.
``checkpoints`` (when given) is the user's memory bound for the reverse pass (``while_grad``)."""


def _grad_layout(types, body_graph):
    """(carry types, capture types, the indices of the float carries)."""
    n = len(body_graph.outputs)
    carry, caps = types[:n], types[n:]
    return carry, caps, [i for i, t in enumerate(carry) if t.dtype.kind == "f"]


def _while_grad_infer(types, *, cond_graph, body_graph, back_graph, wanted, checkpoints):
    nf = len(back_graph.outputs) - len(wanted)
    ops = types[: len(cond_graph.inputs)]
    _while_infer(ops, cond_graph=cond_graph, body_graph=body_graph)
    carry, caps, floats = _grad_layout(ops, body_graph)
    cts = [carry[i] for i in floats]
    if nf != len(floats) or list(types[len(ops) :]) != cts:
        raise ShapeError(f"while_grad: the cotangents are {types[len(ops):]}, expected {cts}")
    _check_graph("while_grad: the backward step", back_graph, ops + cts,
                 cts + [caps[j] for j in wanted])
    if checkpoints is not None and checkpoints < 1:
        raise ShapeError(f"while_grad: checkpoints must be at least 1, got {checkpoints}")
    return cts + [caps[j] for j in wanted]


def _while_grad_impl(*operands, cond_graph, body_graph, back_graph, wanted, checkpoints):
    n_ops = len(cond_graph.inputs)
    n = len(body_graph.outputs)
    carry, caps = list(operands[:n]), list(operands[n:n_ops])
    ct = list(operands[n_ops:])
    acc = [np.zeros_like(caps[j]) for j in wanted]

    def step(c):
        return evaluate(body_graph, c + caps)

    def back(c, ct):
        res = evaluate(back_graph, c + caps + ct)
        for a, r in zip(acc, res[len(ct):], strict=True):
            a += r
        return res[: len(ct)]

    def more(c):
        return bool(evaluate(cond_graph, c + caps)[0])

    ct = reverse_loop(carry, more, step, back, ct, checkpoints)
    return tuple(ct + acc)


while_grad = define(
    "while_grad", infer=_while_grad_infer, impl=_while_grad_impl, multiple_results=True,
    family="control", batch=loop_rule,
)
"""``while_grad``: the reverse pass of a ``while_loop`` (its VJP rule makes it; see
``autodiff/loops.py``). Operands ``(*carry, *captures, *ct)``, ``ct`` one cotangent per float
carry of the loop's final value; results: the cotangents of the initial float carries, then of
the captures listed in ``wanted``. ``back_graph(*carry, *captures, *ct) -> (*ct_before,
*ct_wanted_captures)`` is one step's VJP (it recomputes the step's forward). It runs the loop
forward saving each step's carry, then the backward steps in reverse, summing the captures'
cotangents; ``checkpoints=K`` keeps at most K carries (see ``reverse_loop``)."""


def reverse_loop(carry, more, step, back, ct, checkpoints):
    """Run ``step`` while ``more`` and then ``back(carry_i, ct)`` from the last step to the first.

    ``checkpoints=None`` saves every step's carry (memory: one carry per step, work: one forward
    and one backward step per step). ``checkpoints=K`` first counts the steps ``n`` (one forward
    sweep, nothing saved), then reverses them with binomial checkpointing (Griewank's revolve):
    at most K saved carries (the initial one included), and at most ``(t + 1) * n`` forward steps
    in all, the counting sweep included, where ``t`` is the least number with ``C(K - 1 + t, t) >=
    n`` (10,000 steps with 20 checkpoints: t = 5, measured 5.64 n forward steps)."""
    if checkpoints is None:
        saved = []
        while more(carry):
            saved.append(carry)
            carry = step(carry)
        for c in reversed(saved):
            ct = back(c, ct)
        return ct
    n, c = 0, carry
    while more(c):
        c, n = step(c), n + 1
    del c  # the final carry: not needed again
    return _revolve(carry, 0, n, checkpoints - 1, step, back, ct)


def _revolve(carry, first, last, slots, step, back, ct):
    """Reverse steps ``[first, last)`` from ``carry`` (the carry before ``first``) with ``slots``
    saved carries available besides ``carry`` itself (recursion depth <= ``slots``)."""
    while last - first > 1 and slots > 0:
        mid = first + binomial_split(last - first, slots)
        c = carry
        for _ in range(first, mid):
            c = step(c)
        ct = _revolve(c, mid, last, slots - 1, step, back, ct)
        last = mid
    for i in range(last - 1, first - 1, -1):  # no slot left: recompute each step from carry
        c = carry
        for _ in range(first, i):
            c = step(c)
        ct = back(c, ct)
    return ct


def binomial_split(steps: int, slots: int) -> int:
    """Where revolve places the next checkpoint in ``steps`` steps with ``slots`` free slots
    (``slots >= 1``): with ``t`` the least repetition number such that ``C(slots + t, t) >=
    steps``, the right part (reversed first, with one slot fewer) gets at most ``C(slots - 1 + t,
    t)`` steps and the left part at most ``C(slots + t - 1, t - 1)``, so both recursions keep the
    bound ``t``."""
    t = 1
    while math.comb(slots + t, t) < steps:
        t += 1
    return max(1, steps - math.comb(slots - 1 + t, t))


def _scan_infer(types, *, body_graph, n_carry, n_xs, length, reverse):
    carry, xs = types[:n_carry], types[n_carry : n_carry + n_xs]
    for t in xs:
        if t.shape[:1] != (length,):
            raise ShapeError(f"scan: each xs leaf must have leading axis {length}, got {t}")
    x_types = [TensorType(t.shape[1:], t.dtype) for t in xs]
    ins = list(carry) + x_types + list(types[n_carry + n_xs :])
    _check_graph("scan: the body", body_graph, ins, None)
    outs = body_graph.out_types
    if outs[:n_carry] != list(carry):
        raise ShapeError(f"scan: the body returns the carry {outs[:n_carry]}, expected {carry}")
    return list(carry) + [TensorType((length, *t.shape), t.dtype) for t in outs[n_carry:]]


def _scan_impl(*operands, body_graph, n_carry, n_xs, length, reverse):
    carry = list(operands[:n_carry])
    xs, caps = operands[n_carry : n_carry + n_xs], list(operands[n_carry + n_xs :])
    ys = [np.empty((length, *t.shape), t.dtype) for t in body_graph.out_types[n_carry:]]
    for i in range(length - 1, -1, -1) if reverse else range(length):
        res = evaluate(body_graph, carry + [x[i] for x in xs] + caps)
        carry = res[:n_carry]
        for y, r in zip(ys, res[n_carry:], strict=True):
            y[i] = r
    return tuple(carry + ys)


scan = define("scan", infer=_scan_infer, impl=_scan_impl, multiple_results=True, family="control",
              batch=loop_rule)
"""``scan``: operands ``(*carry, *xs, *captures)`` (``n_carry`` and ``n_xs`` of the first two
kinds); ``body_graph(*carry, *x_slices, *captures) -> (*carry, *y)`` runs ``length`` times, over
``xs``' leading axis (last to first when ``reverse``); results: the final carry, then each ``y``
stacked along a new leading axis (at the same index as the ``x`` it was computed from)."""


def _remat_infer(types, *, body_graph):
    _check_graph("checkpoint: the body", body_graph, types, None)
    return body_graph.out_types


def _remat_impl(*operands, body_graph):
    return tuple(evaluate(body_graph, list(operands)))


remat = define("remat", infer=_remat_infer, impl=_remat_impl, multiple_results=True,
               family="control", batch=loop_rule)
"""``remat`` (``gc.checkpoint``): ``body_graph`` applied to the operands, kept as one node so
that no pass merges its internals with the rest of the graph: its VJP is another ``remat`` that
recomputes the body's forward values instead of reading them (rematerialization)."""

