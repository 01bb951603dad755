"""Recognizing constants in a graph under construction.

A value is *constant* when a ``constant`` node makes it. It is a *splat* (every element the same
known value) when it is a constant whose elements are all bit-identical, or a
``broadcast_in_dim``, ``reshape`` or ``transpose`` of a splat: autodiff and the numpy layer make
zeros and ones as broadcasts of 0-d constants, and identity rewrites (``x*1``,
``select(true, a, b)``) must see through them. Comparisons are bit-for-bit, so ``-0.0`` is not
``0.0`` and no NaN equals anything.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Literal, Value
from ..ops import shape as shape_ops
from .rewrite import Rewriter

#: Primitives that pass a splat through unchanged (every element of the output is an element of the
#: input, with no arithmetic).
SPLAT_PRESERVING = frozenset((shape_ops.broadcast_in_dim, shape_ops.reshape, shape_ops.transpose))
SPLAT_MAKERS = SPLAT_PRESERVING | {shape_ops.constant}


def constant_array(rw: Rewriter, v: Value) -> np.ndarray | None:
    """The array of ``v`` when a constant node makes it."""
    node = rw.producer.get(v)
    if node is not None and node.prim is shape_ops.constant:
        return node.attrs["value"].array
    return None


def uniform_element(a: np.ndarray) -> np.ndarray | None:
    """The element (0-d) of an array whose elements are all bit-identical, or None."""
    if a.ndim == 0:
        return a.copy()  # (what the general path gives a 0-d array, without its NumPy calls)
    if a.size == 0:
        return None
    flat = a.reshape(-1)
    bits = flat.view(f"u{a.dtype.itemsize}")
    return np.array(flat[0], dtype=a.dtype) if bool((bits == bits[0]).all()) else None


def splat(rw: Rewriter, v: Value) -> np.ndarray | None:
    """The one element (a 0-d array of ``v``'s dtype) of a splat value, or None."""
    node = rw.producer.get(v)
    if node is None or node.prim not in SPLAT_MAKERS:
        return None
    cache = rw.cache.setdefault("splat", {})
    if v in cache:
        return cache[v]
    result = None
    if node.prim is shape_ops.constant:
        result = uniform_element(node.attrs["value"].array)
    elif v.type.size > 0:
        result = splat(rw, node.inputs[0])
    cache[v] = result
    return result


def splat_is(rw: Rewriter, v: Value, target) -> bool:
    """Whether every element of ``v`` is bit-identical to ``target`` converted to ``v``'s dtype."""
    s = splat(rw, v)
    if s is None:
        return False
    return s.tobytes() == _bits(target, s.dtype)


#: ``_bits`` by (dtype, target, target's sign): the sign keeps 0.0 and -0.0 (equal keys
#: otherwise) apart. Rules ask about a few targets (0, -0.0, 1, ...) for every node of a graph.
_BITS: dict = {}


def _bits(target, dtype) -> bytes:
    """The bytes of ``target`` converted to ``dtype``."""
    key = (dtype, target, math.copysign(1.0, target))
    bits = _BITS.get(key)
    if bits is None:
        bits = _BITS[key] = np.asarray(target, dtype=dtype).tobytes()
    return bits


def is_zero(rw: Rewriter, v: Value) -> bool:
    """+0 (the additive identity of integers; for floats only ``x + (-0.0)`` is exact)."""
    return splat_is(rw, v, 0)


def is_neg_zero(rw: Rewriter, v: Value) -> bool:
    return v.dtype.kind == "f" and splat_is(rw, v, -0.0)


def is_any_zero(rw: Rewriter, v: Value) -> bool:
    return is_zero(rw, v) or is_neg_zero(rw, v)


def is_one(rw: Rewriter, v: Value) -> bool:
    return splat_is(rw, v, 1)


def make_splat(rw: Rewriter, value, type_) -> Value:
    """A value of ``type_`` whose every element is ``value``: a 0-d constant, broadcast if needed
    (never a large constant array)."""
    scalar = rw.emit(shape_ops.constant, (), value=Literal(np.asarray(value, dtype=type_.dtype)))
    if type_.shape == ():
        return scalar
    return rw.emit(shape_ops.broadcast_in_dim, (scalar,), shape=tuple(type_.shape), dims=())


def broadcast_to(rw: Rewriter, x: Value, type_) -> Value:
    """``x`` as a value of ``type_`` (same dtype) by NumPy's implicit broadcasting (trailing axes
    aligned), which is how elementwise primitives broadcast their operands."""
    if x.type == type_:
        return x
    if x.dtype != type_.dtype:
        raise TypeError(f"broadcast_to: dtype {x.dtype} is not {type_.dtype}")
    lead = len(type_.shape) - len(x.shape)
    dims = tuple(range(lead, len(type_.shape)))
    return rw.emit(shape_ops.broadcast_in_dim, (x,), shape=tuple(type_.shape), dims=dims)
