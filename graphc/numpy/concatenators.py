"""``graphc.numpy.r_`` and ``c_`` (NumPy's index-expression concatenators) over traced pieces,
and ``piecewise``, ``partition``/``argpartition``.

``r_[a, b, 0:3, 7]`` concatenates along the first axis (scalars and slices become 1-D pieces:
``start:stop:step`` an ``arange``, ``start:stop:Nj`` a ``linspace``); ``c_[...]`` joins along the
last axis with 1-D pieces made columns; a leading string ``'axis'`` or ``'axis,ndmin'`` (NumPy's
first two directive fields) picks the axis and raises every piece to ``ndmin`` dimensions, 1-D
pieces becoming rows. NumPy's third field and its matrix directives are not built (an error).
"""

from __future__ import annotations

from ..core import located
from ..errors import GraphcError
from ._core import lift, promote
from .assembly import atleast_1d
from .creation import arange, linspace
from .elementwise import where
from .shapes import broadcast_to, concatenate, reshape
from .sorting import argsort, sort


def _piece(item):
    if isinstance(item, slice):
        step = 1 if item.step is None else item.step
        start = 0 if item.start is None else item.start
        if isinstance(step, complex):
            return linspace(start, item.stop, int(abs(step)))
        return arange(start, item.stop, step)
    return lift(item)


class _Concatenator:
    def __init__(self, axis: int, ndmin: int, column: bool):
        self.axis, self.ndmin, self.column = axis, ndmin, column

    def __getitem__(self, key):
        items = list(key) if isinstance(key, tuple) else [key]
        axis, ndmin = self.axis, self.ndmin
        if items and isinstance(items[0], str):
            fields = items.pop(0).split(",")
            if len(fields) > 2 or not all(f.strip().lstrip("-").isdigit() for f in fields):
                raise located(GraphcError, f"r_/c_: directive {','.join(fields)!r} is not "
                              "supported (only 'axis' or 'axis,ndmin')")
            axis = int(fields[0])
            ndmin = int(fields[1]) if len(fields) > 1 else 1
        pieces = [_piece(i) for i in items]
        if not pieces:
            raise located(GraphcError, "r_/c_: nothing to concatenate")
        pieces = [atleast_1d(p) for p in pieces]
        raised = []
        for p in pieces:
            while p.ndim < ndmin:  # 1-D pieces become rows (columns for c_)
                p = reshape(p, (*p.shape, 1)) if self.column and p.ndim == 1 else reshape(
                    p, (1, *p.shape))
            raised.append(p)
        return concatenate(promote(*raised)[0], axis=axis)


r_ = _Concatenator(0, 1, False)
c_ = _Concatenator(-1, 2, True)


def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: each function is evaluated on the whole ``x`` (traced code has no
    data-dependent subsets) and its values kept where its condition holds (the last condition
    that holds wins, as in NumPy); one extra function is the default (else 0). Functions must be
    elementwise for the result to be NumPy's."""
    x = lift(x)
    conds = list(condlist) if isinstance(condlist, (list, tuple)) else [condlist]
    funcs = list(funclist)
    if len(funcs) not in (len(conds), len(conds) + 1):
        raise located(GraphcError, f"piecewise: {len(funcs)} functions for {len(conds)} "
                      "conditions (give one each, plus an optional default)")

    def value(f):
        v = f(x, *args, **kw) if callable(f) else f
        return broadcast_to(lift(v).astype(x.dtype), tuple(x.shape))

    out = value(funcs[-1] if len(funcs) > len(conds) else 0)
    for cond, f in zip(conds, funcs):
        out = where(cond, value(f), out)
    return out


def partition(a, kth, axis=-1, kind="introselect", order=None):
    """A valid partition: the fully sorted array (every element at or before ``kth`` is no
    larger, every one after no smaller; NumPy leaves the order within the parts unspecified)."""
    return sort(a, axis=axis)


def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    """The indices of ``partition``'s result: ``argsort``."""
    return argsort(a, axis=axis)
