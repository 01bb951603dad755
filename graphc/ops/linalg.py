"""``dot_general``: contraction with batch dimensions (matmul, dot, tensordot and einsum lower to
it).

Output axes are the batch axes, then the lhs free axes, then the rhs free axes (XLA's convention).
"""

from __future__ import annotations

import numpy as np

from ..core import define
from ..errors import DTypeError, ShapeError
from ..ir import TensorType

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _free(ndim, *used):
    taken = {a for group in used for a in group}
    return [i for i in range(ndim) if i not in taken]


def _dot_infer(types, contracting, batch):
    lhs, rhs = types
    (lc, rc), (lb, rb) = contracting, batch
    if lhs.dtype != rhs.dtype:
        raise DTypeError(f"dot_general: operand dtypes differ ({lhs.dtype}, {rhs.dtype})")
    if lhs.dtype.kind == "b":
        raise DTypeError("dot_general of bool operands: convert them first")
    ok = len(lc) == len(rc) and len(lb) == len(rb)
    ok = (
        ok
        and all(0 <= a < lhs.ndim for a in (*lc, *lb))
        and all(0 <= a < rhs.ndim for a in (*rc, *rb))
    )
    ok = ok and len({*lc, *lb}) == len(lc) + len(lb) and len({*rc, *rb}) == len(rc) + len(rb)
    if not ok or any(
        lhs.shape[a] != rhs.shape[b] for a, b in zip((*lc, *lb), (*rc, *rb), strict=True)
    ):
        raise ShapeError(
            f"cannot contract shapes {lhs.shape} and {rhs.shape} (contracting axes {tuple(lc)} "
            f"with {tuple(rc)}, batch axes {tuple(lb)} with {tuple(rb)})"
        )
    shape = (
        [lhs.shape[a] for a in lb]
        + [lhs.shape[a] for a in _free(lhs.ndim, lc, lb)]
        + [rhs.shape[a] for a in _free(rhs.ndim, rc, rb)]
    )
    return [TensorType(tuple(shape), lhs.dtype)]


def _dot_impl(lhs, rhs, contracting, batch):
    (lc, rc), (lb, rb) = contracting, batch
    letters = iter(_LETTERS)
    ls = [""] * lhs.ndim
    rs = [""] * rhs.ndim
    for a, b in zip((*lb, *lc), (*rb, *rc), strict=True):
        ls[a] = rs[b] = next(letters)
    for i in range(lhs.ndim):
        ls[i] = ls[i] or next(letters)
    for i in range(rhs.ndim):
        rs[i] = rs[i] or next(letters)
    out = (
        [ls[a] for a in lb]
        + [ls[a] for a in _free(lhs.ndim, lc, lb)]
        + [rs[a] for a in _free(rhs.ndim, rc, rb)]
    )
    spec = f"{''.join(ls)},{''.join(rs)}->{''.join(out)}"
    return np.asarray(np.einsum(spec, lhs, rhs, optimize=True), dtype=lhs.dtype)


def _dot_jvp(p, t, o, contracting, batch):
    from .elementwise import add

    terms = []
    if t[0] is not None:
        terms.append(dot_general(t[0], p[1], contracting=contracting, batch=batch))
    if t[1] is not None:
        terms.append(dot_general(p[0], t[1], contracting=contracting, batch=batch))
    return None if not terms else terms[0] if len(terms) == 1 else add(*terms)


def _transpose_operand(ct, other, mine_ndim, my_c, other_c, my_b, other_b, ct_other_free):
    """Cotangent of one operand: contract ct with the other operand over the other's free axes,
    then permute into the operand's own axis order."""
    from .shape import transpose

    nb = len(my_b)
    other_free = _free(other.ndim, other_c, other_b)
    res = dot_general(
        ct,
        other,
        contracting=(tuple(ct_other_free), tuple(other_free)),
        batch=(tuple(range(nb)), tuple(other_b)),
    )
    my_free = _free(mine_ndim, my_c, my_b)
    order = list(my_b) + my_free + [my_c[other_c.index(a)] for a in sorted(other_c)]
    perm = tuple(order.index(a) for a in range(mine_ndim))
    return res if perm == tuple(range(mine_ndim)) else transpose(res, perm=perm)


def _dot_vjp(ct, p, o, needed, contracting, batch):
    lhs, rhs = p
    (lc, rc), (lb, rb) = contracting, batch
    nb = len(lb)
    n_lfree = len(_free(lhs.ndim, lc, lb))
    ct_lfree = list(range(nb, nb + n_lfree))
    ct_rfree = list(range(nb + n_lfree, ct.ndim))
    d_lhs = d_rhs = None  # an operand that needs no cotangent (a constant matrix) gets none
    if needed[0]:
        d_lhs = _transpose_operand(ct, rhs, lhs.ndim, list(lc), list(rc), list(lb), list(rb),
                                   ct_rfree)
    if needed[1]:
        d_rhs = _transpose_operand(ct, lhs, rhs.ndim, list(rc), list(lc), list(rb), list(lb),
                                   ct_lfree)
    return [d_lhs, d_rhs]


def _dot_batch(prim, args, batched, size, contracting, batch):
    """Both operands batched: one more batch axis (the output's first). One batched: its batch
    axis is a free axis of that operand (a matmul with a shared weight stays one product), moved
    to the front of the result when it is not there already."""
    from .batching import to_front

    lhs, rhs = args
    (lc, rc), (lb, rb) = contracting, batch
    s = lambda axes: tuple(a + 1 for a in axes)  # noqa: E731
    if all(batched):
        return dot_general(lhs, rhs, contracting=(s(lc), s(rc)), batch=((0, *s(lb)), (0, *s(rb))))
    if batched[0]:
        out = dot_general(lhs, rhs, contracting=(s(lc), rc), batch=(s(lb), rb))
        return to_front(out, len(lb))  # the first of lhs's free axes
    out = dot_general(lhs, rhs, contracting=(lc, s(rc)), batch=(lb, s(rb)))
    n_lfree = lhs.ndim - len(lc) - len(lb)
    return to_front(out, len(lb) + n_lfree)  # the first of rhs's free axes


dot_general = define(
    "dot_general", infer=_dot_infer, impl=_dot_impl, jvp=_dot_jvp, vjp=_dot_vjp, family="contract",
    batch=_dot_batch,
)

