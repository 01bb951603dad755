"""``einsum`` in full (issue 12, item 5): the string and the sublist forms, ``...`` (broadcast
as NumPy does), repeated letters in an operand (a diagonal: ``ii->i``, ``ii``, ``iij->j``),
implicit outputs, and any number of operands contracted pairwise in a greedy order (each step
joins the pair whose result is smallest, as ``opt_einsum``'s greedy path does). Every step is a
``dot_general``, a ``reduce_sum`` or a diagonal, so gradients come with them.

Float results can differ from ``np.einsum``'s in the last bits: NumPy (``optimize=False``)
sums in one nested loop, graphc contracts pairwise."""

from __future__ import annotations

import math

from ..core import located
from ..errors import DTypeError, GraphcError, ShapeError
from ..ops import reduce as rd
from ..ops.linalg import dot_general
from ._core import promote
from .assembly import diagonal
from .shapes import broadcast_to, transpose

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum(*args, optimize=None):
    """``np.einsum(subscripts, *operands)`` or ``np.einsum(op0, sub0, op1, sub1, ..., [out])``;
    ``optimize`` is accepted and ignored (the greedy order is always used)."""
    spec, operands = _parse(args)
    inputs, arrow, output = spec.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise located(ShapeError, f"einsum: {len(terms)} operand subscripts for "
                      f"{len(operands)} operands")
    ops = list(promote(*operands)[0]) if operands else []
    if any(x.dtype.kind == "b" for x in ops):
        raise located(DTypeError, "einsum of bool arrays: convert them first (.astype)")
    terms, output = _ellipsis(terms, output if arrow else None, ops)
    _check(terms, output)
    ops, terms = zip(*(_diagonals(x, t) for x, t in zip(ops, terms, strict=True)))
    ops, terms = list(ops), list(terms)
    sizes = _sizes(ops, terms)
    ops = [_broadcast(x, t, sizes) for x, t in zip(ops, terms, strict=True)]
    return _contract_all(ops, terms, output, sizes)


def _parse(args):
    """The subscripts string and the operands, from either form."""
    if args and isinstance(args[0], str):
        return args[0], list(args[1:])
    if len(args) % 2:  # operand, sublist pairs, then the output sublist
        ops, subs, out = list(args[0:-1:2]), list(args[1:-1:2]), args[-1]
    else:
        ops, subs, out = list(args[0::2]), list(args[1::2]), None

    def word(sub):
        parts = []
        for s in sub:
            if s is Ellipsis:
                parts.append("...")
            elif isinstance(s, int) and 0 <= s < len(_LETTERS):
                parts.append(_LETTERS[s])
            else:
                raise located(GraphcError, f"einsum: sublist entries must be ints in [0, 52) or "
                              f"Ellipsis, got {s!r}")
        return "".join(parts)

    spec = ",".join(word(s) for s in subs)
    return (spec + "->" + word(out) if out is not None else spec), ops


def _ellipsis(terms, output, ops):
    """``...`` replaced by letters no term uses, aligned from the right (the output's ``...``:
    all of them, in front for an implicit output)."""
    used = set("".join(terms) + (output or ""))
    free = [c for c in reversed(_LETTERS) if c not in used]
    width = max((x.ndim - (len(t) - 3) for t, x in zip(terms, ops) if "..." in t), default=0)
    dots = "".join(reversed(free[:width]))
    new = []
    for t, x in zip(terms, ops, strict=True):
        if "..." in t:
            k = x.ndim - (len(t) - 3)
            if k < 0:
                raise located(ShapeError, f"einsum: subscripts '{t}' do not fit shape "
                              f"{tuple(x.shape)}")
            t = t.replace("...", dots[width - k :])
        new.append(t)
    if output is None:
        letters = "".join(new)
        output = dots + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                       and c not in dots))
    else:
        output = output.replace("...", dots)
    return new, output


def _check(terms, output):
    bad = sorted(set("".join(terms) + output) - set(_LETTERS))
    if bad:
        raise located(ShapeError, f"einsum: invalid subscript {bad[0]!r}; subscripts must be "
                      "letters (one '->' separates the output)")
    for c in output:
        if output.count(c) > 1:
            raise located(ShapeError, f"einsum: output subscript '{c}' appears more than once")
        if c not in "".join(terms):
            raise located(ShapeError, f"einsum: output subscript '{c}' appears in no input")


def _diagonals(x, t):
    """Repeated letters of one operand taken along their diagonal (the letter once, last)."""
    if len(t) != x.ndim:
        raise located(ShapeError, f"einsum: subscripts '{t}' do not fit an operand of shape "
                      f"{tuple(x.shape)}")
    while len(set(t)) != len(t):
        c = next(c for c in t if t.count(c) > 1)
        i = t.index(c)
        j = t.index(c, i + 1)
        if x.shape[i] != x.shape[j]:
            raise located(ShapeError, f"einsum: repeated letter '{c}' has sizes {x.shape[i]} and "
                          f"{x.shape[j]}")
        x = diagonal(x, 0, i, j)
        t = "".join(ch for k, ch in enumerate(t) if k not in (i, j)) + c
    return x, t


def _sizes(ops, terms):
    sizes = {}
    for x, t in zip(ops, terms, strict=True):
        for c, n in zip(t, x.shape, strict=True):
            m = sizes.setdefault(c, n)
            if m != n and 1 not in (m, n):
                raise located(ShapeError, f"einsum: letter '{c}' has sizes {m} and {n}")
            sizes[c] = max(m, n) if 1 in (m, n) else n
    return sizes


def _broadcast(x, t, sizes):
    shape = tuple(sizes[c] for c in t)
    return x if tuple(x.shape) == shape else broadcast_to(x, shape)


def _sum_unused(x, t, needed):
    axes = tuple(i for i, c in enumerate(t) if c not in needed)
    if not axes:
        return x, t
    return rd.reduce_sum(x, axes=axes), "".join(c for c in t if c in needed)


def _pair(a, ta, b, tb, needed):
    shared = [c for c in ta if c in tb]
    batch = [c for c in shared if c in needed]
    contract = [c for c in shared if c not in needed]
    out = dot_general(
        a, b,
        contracting=(tuple(ta.index(c) for c in contract), tuple(tb.index(c) for c in contract)),
        batch=(tuple(ta.index(c) for c in batch), tuple(tb.index(c) for c in batch)),
    )
    rest_a = "".join(c for c in ta if c not in shared)
    return out, "".join(batch) + rest_a + "".join(c for c in tb if c not in shared)


def _contract_all(ops, terms, output, sizes):
    """Sum each operand's private letters, then join the cheapest pair until one remains."""
    def needed_by(k):
        return set(output).union(*(set(t) for j, t in enumerate(terms) if j != k))

    for k in range(len(ops)):
        ops[k], terms[k] = _sum_unused(ops[k], terms[k], needed_by(k))
    while len(ops) > 1:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                rest = set(output).union(*(set(t) for k, t in enumerate(terms) if k not in (i, j)))
                kept = (set(terms[i]) | set(terms[j])) & rest
                cost = math.prod(sizes[c] for c in kept)
                if best is None or cost < best[0]:
                    best = (cost, i, j, rest)
        _, i, j, rest = best
        joined = _pair(ops[i], terms[i], ops[j], terms[j], rest)
        for k in (j, i):
            del ops[k], terms[k]
        ops.append(joined[0])
        terms.append(joined[1])
    x, t = _sum_unused(ops[0], terms[0], set(output))
    return transpose(x, tuple(t.index(c) for c in output)) if t != output else x
