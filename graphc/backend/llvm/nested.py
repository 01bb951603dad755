"""Plans of the steps that hold body programs: ``cond`` (a ``Cond``), ``while_loop`` (a ``Move``
of the initial carry, then a while ``Loop``), ``scan`` (a ``Move``, then a counted ``Loop`` whose
body reads row ``i`` of each ``xs`` and writes row ``i`` of each ``ys`` through slice buffers)
and ``while_grad`` (a ``Tape``).

Each body graph is planned like a program of its own (``plan.py`` passes ``body``: graph,
input buffers, output buffers, first workspace byte, tag -> Program); the loop state (the
carry, the next carry, the predicate) lives in workspace buffers placed from ``base`` on, past
everything live in the enclosing program, and the bodies past those. A step's record holds
absolute offsets, so nothing is shifted when rendering.

The carry: the body reads the carry buffers and writes fresh "next" buffers (it may read an old
value after computing a new one), which a ``Move`` after each step copies back: one carry copy
per iteration, small next to the step's work for the loops this is for.
"""

from __future__ import annotations

from ...ir import Builder, inline
from ...ops import control
from ...ops import elementwise as ew
from . import memory
from .records import Buffer, Cond, Loop, Move, Tape


class Space:
    """Workspace bytes handed out from ``base`` (64-byte aligned, never reused within a step)."""

    def __init__(self, base: int):
        self.base = self.end = base

    def ws(self, nbytes: int) -> Buffer:
        buf = Buffer("ws", nbytes, offset=self.end)
        self.end += memory.round_up(max(nbytes, 1))
        return buf

    def extent(self, *bodies) -> int:
        """Bytes used past ``base``: the state, then the largest body's workspace."""
        return self.end - self.base + max((b.workspace for b in bodies), default=0)


def _cond(node, ins, outs, space, body, name):
    bodies = [body(node.attrs[a], ins[1:], outs, space.end, t)
              for t, a in (("t", "true_graph"), ("f", "false_graph"))]
    return (Cond(ins[0], *bodies),), space.extent(*bodies)


def _while_loop(node, ins, outs, space, body, name):
    n = len(outs)
    caps = ins[n:]
    nexts = [space.ws(b.nbytes) for b in outs]
    pred = space.ws(1)
    cond = body(node.attrs["cond_graph"], outs + caps, [pred], space.end, "c")
    step = body(node.attrs["body_graph"], outs + caps, nexts, space.end, "b")
    loop = Loop(None, step, cond=cond, pred=pred, moves=tuple(zip(nexts, outs)))
    return (Move(tuple(zip(ins[:n], outs))), loop), space.extent(cond, step)


def _rows(buffers, length: int, index: str) -> list[Buffer]:
    return [Buffer("slice", b.nbytes // length, parent=b, stride=b.nbytes // length, index=index)
            for b in buffers]


def _scan(node, ins, outs, space, body, name):
    nc, nx, length = node.attrs["n_carry"], node.attrs["n_xs"], node.attrs["length"]
    carry, init = outs[:nc], Move(tuple(zip(ins[:nc], outs[:nc])))
    if length == 0:
        return (init,), space.extent()
    index = f"{name}.i"
    xs, ys = _rows(ins[nc : nc + nx], length, index), _rows(outs[nc:], length, index)
    nexts = [space.ws(b.nbytes) for b in carry]
    step = body(node.attrs["body_graph"], carry + xs + ins[nc + nx :], nexts + ys, space.end, "s")
    loop = Loop(length, step, moves=tuple(zip(nexts, carry)), index=index,
                reverse=node.attrs["reverse"])
    return (init, loop), space.extent(step)


def accumulating(back, n_ct: int):
    """``back(c, p, ct) -> (ct_before, g)`` as ``(c, p, ct, acc) -> (ct_before, acc + g)``: the
    backward loop sums the captures' cotangents in its carry."""
    b = Builder(back.name)
    ins = [b.add_input(v.type) for v in back.inputs]
    acc = [b.add_input(v.type) for v in back.outputs[n_ct:]]
    outs = inline(b, back, ins)
    sums = [b.emit(ew.add, [a, g], {})[0] for a, g in zip(acc, outs[n_ct:], strict=True)]
    return b.build(outs[:n_ct] + sums)


def _while_grad(node, ins, outs, space, body, name):
    a = node.attrs
    n, n_ops = len(a["body_graph"].outputs), len(a["cond_graph"].inputs)
    carry0, caps, ct = ins[:n], ins[n:n_ops], ins[n_ops:]
    nf = len(ct)
    state = [space.ws(b.nbytes) for b in carry0]
    nexts = [space.ws(b.nbytes) for b in carry0]
    pred = space.ws(1)
    back_nexts = [space.ws(b.nbytes) for b in outs]
    k = a["checkpoints"]
    slots = None if k is None else space.ws(k * sum(b.nbytes for b in state))
    cond = body(a["cond_graph"], state + caps, [pred], space.end, "c")
    step = body(a["body_graph"], state + caps, nexts, space.end, "b")
    back = body(accumulating(a["back_graph"], nf), state + caps + outs, back_nexts, space.end, "r")
    read = set(a["back_graph"].outputs).union(*(nd.inputs for nd in a["back_graph"].nodes))
    saved = tuple(s for s, v in zip(state, a["back_graph"].inputs[:n]) if v in read)
    init = [*zip(carry0, state), *zip(ct, outs[:nf]), *((None, o) for o in outs[nf:])]
    tape = Tape(
        Loop(None, step, cond=cond, pred=pred, moves=tuple(zip(nexts, state))), saved,
        Loop(None, back, moves=tuple(zip(back_nexts, outs))), k, tuple(state), slots,
    )
    return (Move(tuple(init)), tape), space.extent(cond, step, back)


def _remat(node, ins, outs, space, body, name):
    """The body once, as a program of its own (a one-step ``Loop``): no pass or plan merges its
    values with the enclosing program's."""
    step = body(node.attrs["body_graph"], ins, outs, space.end, "m")
    return (Loop(1, step),), space.extent(step)


#: primitive -> planner(node, operand buffers, result buffers, Space, body, name) ->
#: (records, workspace bytes used past the Space's base)
PLANNERS = {
    control.cond: _cond,
    control.while_loop: _while_loop,
    control.scan: _scan,
    control.while_grad: _while_grad,
    control.remat: _remat,
}
