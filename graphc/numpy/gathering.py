"""Indexing with integer arrays (issue 12, item 4, in part): ``take``, ``take_along_axis``,
``x[idx]`` with integer-array (or traced integer) indices among basic ones, and JAX's
functional updates ``x.at[idx].add/set/multiply/min/max(v)`` and ``.get()``; built on the ``gather`` and
``scatter_add`` primitives (ops/indexing.py: negative indices as NumPy, out-of-range ones
clamped as JAX does).

Several array indices in one subscript broadcast together (NumPy's rules, Python ints among
them counting as array indices). Not built here (an error says so): boolean masks (their
result's shape depends on the data: write ``np.where(mask, x, 0)`` or ``(x * mask).sum()``; a
static mask is fine in ``.at[...]``), and a traced index in ``.at[...]`` after anything but full
slices.
"""

from __future__ import annotations

import numpy as np

from ..core import Tracer, located
from ..errors import GraphcError, ShapeError
from ..ops import indexing as ix
from ..ops import shape as sh
from ._core import lift, normalize_axis
from .elementwise import where
from .shapes import broadcast_arrays, broadcast_to, ravel, reshape, transpose
from .shapes import getitem as basic_getitem

_MASK_HINT = ("a boolean mask index gives a shape that depends on the data, which a compiled "
              "graph cannot have: write np.where(mask, x, 0), x * mask, or (x * mask).sum()")


def is_array_index(i) -> bool:
    """An integer-array index (a traced integer, an integer ndarray, a list of ints)."""
    if isinstance(i, Tracer):
        return True
    if isinstance(i, (list, np.ndarray)):
        return True
    return False


def _index_array(i):
    """``i`` as an integer tracer or array, or an error naming what it is."""
    a = lift(np.asarray(i) if isinstance(i, (list, int, np.integer)) else i)
    if a.dtype.kind == "b":
        raise located(GraphcError, _MASK_HINT)
    if a.dtype.kind not in "iu":
        raise located(GraphcError, f"array indices must be integers, got {a.dtype}")
    return a


def positions(idx, n: int):
    """The int64 positions on an axis of ``n`` that ``idx`` names (NumPy's negatives, JAX's
    clamp): a gather from ``0..n-1``, so they follow the gather primitive's rule exactly."""
    return ix.gather(sh.iota(shape=(n,), dtype=np.dtype(np.int64), dimension=0), idx, axis=0)


def take(a, indices, axis=None, mode=None):
    """``np.take``; out-of-range indices are clamped (``mode='clip'``, JAX's behaviour; NumPy's
    default raises). ``mode='wrap'`` is not built."""
    if mode not in (None, "clip", "raise"):
        raise located(GraphcError, f"take: mode {mode!r} is not supported (indices are clamped)")
    x = lift(a)
    if axis is None:
        x, axis = ravel(x), 0
    return ix.gather(x, _index_array(indices), axis=normalize_axis(axis, x.ndim, "take"))


def take_along_axis(arr, indices, axis):
    """``np.take_along_axis``: each position reads along ``axis`` at its own index (a gather
    from the flattened array at ``position * stride`` plus the other axes' offsets); the other
    axes of the array and the indices broadcast, as in NumPy."""
    x = lift(arr)
    idx = _index_array(indices)
    if axis is None:
        x, axis = ravel(x), 0
        idx = ravel(idx)
    axis = normalize_axis(axis, x.ndim, "take_along_axis")
    if idx.ndim != x.ndim:
        raise located(ShapeError, f"take_along_axis: indices have {idx.ndim} dimensions, the array "
                      f"{x.ndim}")
    if any(p != q and 1 not in (p, q) for a, (p, q) in enumerate(zip(x.shape, idx.shape))
           if a != axis):
        raise located(ShapeError, f"take_along_axis: shapes {x.shape} and {idx.shape} do not "
                      "broadcast")
    out = [idx.shape[a] if a == axis else max(x.shape[a], idx.shape[a]) for a in range(x.ndim)]
    x = broadcast_to(x, tuple(x.shape[a] if a == axis else out[a] for a in range(x.ndim)))
    idx = broadcast_to(idx, tuple(out))
    i64 = np.dtype(np.int64)
    pos = positions(idx, x.shape[axis])
    strides = [int(np.prod(x.shape[a + 1 :], dtype=np.int64)) for a in range(x.ndim)]
    flat = pos * strides[axis]
    for a in range(x.ndim):
        if a != axis:
            flat = flat + sh.iota(shape=tuple(out), dtype=i64, dimension=a) * strides[a]
    return ix.gather(ravel(x), flat, axis=0)


def getitem(x, index):
    """NumPy indexing: basic (static ints, slices, None, Ellipsis: ``shapes.getitem``) and one
    integer-array or traced-integer index among them."""
    entries = index if isinstance(index, tuple) else (index,)
    if not any(is_array_index(i) for i in entries):
        return basic_getitem(x, index)
    x = lift(x)
    n_real = sum(1 for i in entries if i is not None and i is not Ellipsis)
    dots = [k for k, i in enumerate(entries) if i is Ellipsis]  # (`in` would compare arrays)
    fill = (slice(None),) * (x.ndim - n_real)
    if dots:
        entries = entries[: dots[0]] + fill + entries[dots[0] + 1 :]
    else:
        entries = entries + fill
    return advanced_getitem(x, entries, basic_getitem)


def advanced_getitem(x, index, basic):
    """``x[index]`` with array entries in ``index`` (already Ellipsis-free and full length): the
    basic entries first (``basic`` is graphc.numpy's getitem), then one gather. A single array
    index is a gather along its axis; several broadcast together and index the flattened block
    of their axes (``sum(position * stride)``), the result's broadcast axes placed where NumPy
    places them: at the first array axis when the array entries are adjacent, else in front."""
    arrays = [k for k, i in enumerate(index) if is_array_index(i) or (  # with an array index
        isinstance(i, (int, np.integer)) and not isinstance(i, bool))]  # an int is one too
    rest = basic(x, tuple(slice(None) if j in arrays else i for j, i in enumerate(index)))
    axes = [sum(1 for j, i in enumerate(index[:k]) if i is None or isinstance(i, slice)
                or j in arrays) for k in arrays]  # where each array entry's axis is in ``rest``
    if len(arrays) == 1:
        return ix.gather(rest, _index_array(index[arrays[0]]), axis=axes[0])
    idx = broadcast_arrays(*(_index_array(index[k]) for k in arrays))
    flat = None
    for a, i in zip(axes, idx, strict=True):  # row-major over the indexed axes, in their order
        n = rest.shape[a]
        pos = positions(i, n)
        flat = pos if flat is None else flat * n + pos
    others = [a for a in range(rest.ndim) if a not in axes]
    block = reshape(transpose(rest, axes + others),
                    (int(np.prod([rest.shape[a] for a in axes], dtype=np.int64)),
                     *(rest.shape[a] for a in others)))
    out = ix.gather(block, flat, axis=0)  # broadcast axes first, then the others
    adjacent = arrays == list(range(arrays[0], arrays[0] + len(arrays)))
    if not adjacent or axes[0] == 0:
        return out
    k = idx[0].ndim
    order = list(range(k, k + axes[0])) + list(range(k)) + list(range(k + axes[0], out.ndim))
    return transpose(out, order)


class _At:
    """``x.at``: ``x.at[idx]`` names positions for a functional update (JAX's ``.at``)."""

    def __init__(self, x):
        self.x = x

    def __getitem__(self, index):
        return _AtIndex(self.x, index)


class _AtIndex:
    """The positions of one ``x.at[index]``. An index holding no traced value may be any NumPy
    index (ints, slices, Ellipsis, None, integer or boolean arrays): its positions are the
    static flat positions ``arange(x.size).reshape(x.shape)[index]``, and the update acts on
    ``ravel(x)`` (so NumPy itself checks the index and places the result's axes). A traced index
    takes the forms ``x.at[idx]`` and ``x.at[:, ..., idx]`` (full slices before one index)."""

    def __init__(self, x, index):
        x = lift(x)
        self.full_shape = tuple(x.shape)
        entries = index if isinstance(index, tuple) else (index,)
        if not any(isinstance(i, Tracer) for i in entries):
            flat = np.arange(x.size, dtype=np.int64).reshape(x.shape)
            try:
                where_ = flat[index]
            except (IndexError, TypeError) as e:
                raise located(GraphcError, f".at[{index!r}] on shape {x.shape}: {e}") from None
            self.x, self.axis, self.idx = ravel(x), 0, np.asarray(where_)
            self.shape = self.idx.shape
            return
        lead = entries[:-1]
        if not all(isinstance(i, slice) and i == slice(None) for i in lead):
            raise located(GraphcError, ".at[...] with a traced index: only x.at[idx] or "
                          "x.at[:, ..., idx] (full slices before one index) are supported")
        self.x, self.axis = x, len(lead)
        self.idx = _index_array(entries[-1])
        self.shape = ix.gathered_shape(tuple(x.shape), tuple(self.idx.shape), self.axis)

    def _spread(self, v):
        return broadcast_to(lift(v).astype(self.x.dtype) if not isinstance(v, Tracer)
                            else v.astype(self.x.dtype), self.shape)

    def _back(self, y):
        return reshape(y, self.full_shape) if tuple(y.shape) != self.full_shape else y

    def add(self, v):
        """``x`` with ``v`` added at the positions (repeated positions add every value)."""
        return self._back(ix.scatter_add(self.x, self.idx, self._spread(v), axis=self.axis))

    def _per_position(self, v, fill, combine):
        """Per position of the axis, ``combine`` (a reduction over one axis) of the updates aimed
        at it, ``fill`` where none is: an (n x m) comparison of the n positions with the m
        indices, so O(n * m) work."""
        x, axis = self.x, self.axis
        n, flat = x.shape[axis], ravel(lift(self.idx))
        m = flat.shape[0]
        rows = reshape(self._spread(v), (*x.shape[:axis], 1, m, *x.shape[axis + 1:]))
        hits = (reshape(sh.iota(shape=(n,), dtype=np.dtype(np.int64), dimension=0), (n, 1))
                == reshape(positions(flat, n), (1, m)))
        mask = reshape(hits, (1,) * axis + (n, m) + (1,) * (x.ndim - axis - 1))
        out = combine(where(mask, rows, fill), axis=axis + 1)
        return out if out.dtype == x.dtype else out.astype(x.dtype)  # prod widens small ints

    def multiply(self, v):
        """``x`` times every ``v`` aimed at each position (NumPy's ``np.multiply.at``)."""
        from .reductions import prod

        return self._back(self.x * self._per_position(v, np.ones((), self.x.dtype), prod))

    def min(self, v):
        """The minimum of ``x`` and every ``v`` aimed at each position (``np.minimum.at``)."""
        from .elementwise import minimum
        from .reductions import min as min_

        return self._back(minimum(self.x, self._per_position(v, _extreme(self.x.dtype, 1), min_)))

    def max(self, v):
        """The maximum of ``x`` and every ``v`` aimed at each position (``np.maximum.at``)."""
        from .elementwise import maximum
        from .reductions import max as max_

        return self._back(maximum(self.x, self._per_position(v, _extreme(self.x.dtype, -1), max_)))

    def set(self, v):
        """``x`` with ``v`` at the positions; where a position repeats, the last value wins (as
        ``x[idx] = v`` in NumPy): each position gathers the update of its last occurrence
        (found by comparing the m positions pairwise: O(m**2) for m indices), so values are
        moved exactly (signed zeros, any dtype) and gradients reach only the winning values."""
        x, axis = self.x, self.axis
        n, flat = x.shape[axis], ravel(lift(self.idx))
        m = flat.shape[0]
        if m == 0:
            return self._back(x)
        i64 = np.dtype(np.int64)
        pos = positions(flat, n)
        later = sh.iota(shape=(m, m), dtype=i64, dimension=1) > sh.iota(shape=(m, m), dtype=i64,
                                                                         dimension=0)
        shadowed = (reshape(pos, (m, 1)) == reshape(pos, (1, m))) & later
        last = where(shadowed, np.int64(1), np.int64(0)).sum(axis=1) == 0
        ranks = where(last, sh.iota(shape=(m,), dtype=i64, dimension=0) + 1, np.int64(0))
        winner = ix.scatter_add(broadcast_to(np.zeros((), i64), (n,)), flat, ranks, axis=0) - 1
        hit = winner >= 0
        rows = reshape(self._spread(v), (*x.shape[:axis], m, *x.shape[axis + 1 :]))
        picked = ix.gather(rows, where(hit, winner, np.int64(0)), axis=axis)
        mask = reshape(hit, (1,) * axis + (n,) + (1,) * (x.ndim - axis - 1))
        return self._back(where(mask, picked, x))

    def get(self):
        return ix.gather(self.x, lift(self.idx), axis=self.axis)


def _extreme(dtype, sign):
    """The identity of min (sign 1) or max (sign -1) for ``dtype``: +-inf, or the integer or
    bool bound."""
    if dtype.kind == "f":
        return np.array(sign * np.inf, dtype)
    if dtype.kind == "b":
        return np.array(sign > 0)
    info = np.iinfo(dtype)
    return np.array(info.max if sign > 0 else info.min, dtype)


def at(x):
    return _At(x)

