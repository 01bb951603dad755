"""Matrix helpers over the last two axes (leading axes a batch), written with primitives: the
vocabulary of the factorizations' derivative rules (``factor.py``), which sit below graphc.numpy
and so cannot use it."""

from __future__ import annotations

import numpy as np

from . import elementwise as ew
from .linalg import dot_general
from .reduce import reduce_sum
from .shape import broadcast_in_dim, iota, scalar, transpose, zeros

I64 = np.dtype(np.int64)


def const(v, like):
    return scalar(v, like.dtype)


def mT(x):
    perm = list(range(x.ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    return transpose(x, perm=tuple(perm))


def mm(a, b):
    """``a @ b`` for stacks of the same batch shape."""
    nb = a.ndim - 2
    return dot_general(a, b, contracting=((nb + 1,), (nb,)), batch=(tuple(range(nb)),) * 2)


def _spread(v, axis_from_end):
    """``v`` (..., n) as (..., n, n), constant along the other of the last two axes: ``v[..., None,
    :]`` for ``axis_from_end`` 1, ``v[..., :, None]`` for 2."""
    shape = (*v.shape, v.shape[-1])
    nb = v.ndim - 1
    return broadcast_in_dim(v, shape=shape, dims=(*range(nb), nb + 2 - axis_from_end))


def along_rows(v):
    """``v[..., None, :]``: entry ``j`` in every row's column j."""
    return _spread(v, 1)


def along_cols(v):
    """``v[..., :, None]``: entry ``i`` in all of row i."""
    return _spread(v, 2)


def _indices(x):
    shape = tuple(x.shape)
    return (iota(shape=shape, dtype=I64, dimension=x.ndim - 2),
            iota(shape=shape, dtype=I64, dimension=x.ndim - 1))


def tril(x, k: int = 0):
    row, col = _indices(x)
    keep = ew.less_equal(ew.sub(col, row), scalar(k, I64))
    return ew.select(keep, x, zeros(tuple(x.shape), x.dtype))


def eye_like(x):
    row, col = _indices(x)
    return ew.convert(ew.equal(row, col), dtype=x.dtype)


def diagonal(x):
    return reduce_sum(ew.mul(x, eye_like(x)), axes=(x.ndim - 1,))


def pair_inverse(w):
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it and wherever ``w[i] == w[j]``."""
    diff = ew.sub(along_rows(w), along_cols(w))
    same = ew.equal(diff, const(0, diff))
    safe = ew.select(same, const(1, diff), diff)
    return ew.select(same, const(0, diff), ew.div(const(1, diff), safe))


def safe_inverse(s):
    """``1 / s``, 0 where ``s == 0``."""
    zero = ew.equal(s, const(0, s))
    return ew.select(zero, const(0, s), ew.div(const(1, s), ew.select(zero, const(1, s), s)))
