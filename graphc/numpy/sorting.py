"""Sorting and selection (issue 12, item 3, in part): ``argsort`` (the ``argsort`` primitive: a
stable merge sort, NaN last as in NumPy), ``sort`` (a gather along that order, so its gradient
follows the permutation), ``searchsorted`` (a comparison count: exact, O(n m), no gradient) and
``select``. Only ``kind``/``stable`` values that ask for what these give are accepted."""

from __future__ import annotations

import numpy as np

from ..core import located
from ..errors import GraphcError, ShapeError
from ..ops import indexing as ix
from ._core import lift, normalize_axis, promote
from .elementwise import isnan, where
from .gathering import take_along_axis
from .reductions import sum as _sum
from .shapes import broadcast_arrays, ravel, reshape


def _sort_options(kind, order, stable, name):
    if order is not None:
        raise located(GraphcError, f"{name}: order= (structured arrays) is not supported")
    if kind not in (None, "stable", "mergesort", "quicksort", "heapsort") or stable is False:
        raise located(GraphcError, f"{name}: kind={kind!r}, stable={stable!r}: graphc sorts "
                      "stably (a merge sort) only")


def argsort(a, axis=-1, kind=None, order=None, *, stable=None):
    """The stable sorting order along ``axis`` (``None``: of the flattened array). A 0-d array
    sorts as its flattened self (``[0]``), as NumPy's ``argsort`` does (its ``sort`` refuses)."""
    _sort_options(kind, order, stable, "argsort")
    x = lift(a)
    if axis is None or x.ndim == 0:
        x, axis = ravel(x), 0
    return ix.argsort(x, axis=normalize_axis(axis, x.ndim, "argsort"))


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """``a`` sorted along ``axis`` (NaN last): a gather along ``argsort``'s order."""
    _sort_options(kind, order, stable, "sort")
    x = lift(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = normalize_axis(axis, x.ndim, "sort")  # a 0-d array: refused, as NumPy does
    return take_along_axis(x, argsort(x, axis), axis)


def searchsorted(a, v, side="left", sorter=None):
    """Insertion points of ``v`` in the sorted 1-D ``a`` (NaN ordered last, as NumPy sorts it):
    the number of elements of ``a`` before each ``v``. Exact; O(len(a) * v.size)."""
    if side not in ("left", "right"):
        raise located(GraphcError, f"searchsorted: side must be 'left' or 'right', got {side!r}")
    x = lift(a)
    if sorter is not None:
        x = ix.gather(x, lift(sorter), axis=0)
    if x.ndim != 1:
        raise located(ShapeError, "searchsorted: the sorted array must be 1-D")
    (x, q), _ = promote(x, v)
    cols = reshape(q, (*q.shape, 1))
    if side == "left":  # a_i before v: a_i < v, or v is NaN and a_i is not
        before = (x < cols) | (isnan(cols) & ~isnan(x))
    else:  # not (v before a_i)
        before = ~((cols < x) | (isnan(x) & ~isnan(cols)))
    return _sum(before.astype(np.int64), axis=-1)


def select(condlist, choicelist, default=0):
    """The choice of the first true condition per element, else ``default`` (``np.select``)."""
    if len(condlist) != len(choicelist):
        raise located(ShapeError, "select: condlist and choicelist must have the same length")
    if not len(condlist):
        raise located(ShapeError, "select: condlist must not be empty")
    choices, _ = promote(*choicelist, default)
    out = broadcast_arrays(*choices, *[lift(c) for c in condlist])
    result = out[len(choices) - 1]
    for cond, choice in zip(reversed(out[len(choices):]), reversed(out[: len(choices) - 1])):
        if cond.dtype != np.bool_:
            raise located(GraphcError, "select: conditions must be boolean arrays")
        result = where(cond, choice, result)
    return result
