"""``gc.vmap``: vectorizing a function over a batch axis, as ``jax.vmap`` does.

A graph-to-graph transformation: the function is traced once on one example's shapes, then its
graph is emitted again with every value a batched input reaches carrying the batch as its leading
axis (``ops/batching.py``): elementwise primitives broadcast, reductions and shape primitives shift
their axes, a product with a shared operand stays one matrix product (one gemm for a batch of
matrix-vector products), factorizations treat the batch as theirs, a ``cond`` on a batched
predicate becomes a ``select`` of both branches (on a shared one, a ``cond`` of the batched
branches), a ``while_loop`` stays one loop (on a per-example predicate: while any example's
holds, the others' carries kept); scans, gathers whose data and indices are both batched,
scatters with batched indices, and custom rules run per example in a ``scan`` (exact, not
vectorized).
The result is an ordinary graph: ``grad``, ``jvp``, ``jit`` and ``vmap`` itself compose with it.

    >>> import numpy as np
    >>> import graphc as gc
    >>> gc.vmap(lambda x, w: np.tanh(x @ w), in_axes=(0, None))(np.ones((4, 3)),
    ...                                                         np.ones((3, 2))).shape
    (4, 2)
    >>> grads = gc.vmap(gc.grad(lambda w, x: (x @ w) ** 2), in_axes=(None, 0))
    >>> print(grads(np.array([1.0, 2.0]), np.array([[1.0, 0.0], [0.0, 1.0]])).tolist())
    [[2.0, 0.0], [0.0, 4.0]]
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from .core import current_trace, located
from .errors import ArgumentError
from .ops.batching import batch_graph, lead, to_front
from .ops.shape import transpose
from .trace import pytree


def _axes(spec, n: int, what: str) -> tuple:
    """One int or None per positional argument (``in_axes``) or output (``out_axes``)."""
    if spec is None or isinstance(spec, (int, np.integer)):
        return (None if spec is None else int(spec),) * n
    if isinstance(spec, (tuple, list)) and len(spec) == n and all(
            a is None or isinstance(a, (int, np.integer)) for a in spec):
        return tuple(None if a is None else int(a) for a in spec)
    raise located(ArgumentError, f"vmap: {what} must be an int, None, or a tuple of one int or "
                  f"None per {'argument' if what == 'in_axes' else 'output'} ({n}), got {spec!r}")


def _shape(x):
    return tuple(np.shape(x)) if not hasattr(x, "aval") else tuple(x.shape)


def _vmap_in_trace(fun, args, in_axes, out_axes):
    from .autodiff.nested import trace_function

    axes = _axes(in_axes, len(args), "in_axes")
    examples, inputs, flags, sizes = [], [], [], set()
    for i, (arg, axis) in enumerate(zip(args, axes, strict=True)):
        leaves, tree = pytree.flatten(arg)
        ex = []
        for leaf in leaves:
            if axis is None:
                ex.append(leaf)
                inputs.append(leaf)
                flags.append(False)
                continue
            shape = _shape(leaf)
            if not -len(shape) <= axis < len(shape):
                raise located(ArgumentError, f"vmap: in_axes {axis} of argument {i} is out of "
                              f"range for shape {shape}")
            axis %= len(shape)
            sizes.add(shape[axis])
            moved = to_front(leaf, axis) if axis else leaf
            dtype = leaf.dtype if hasattr(leaf, "dtype") else np.asarray(leaf).dtype
            ex.append(np.broadcast_to(np.zeros((), dtype), shape[:axis] + shape[axis + 1:]))
            inputs.append(moved)
            flags.append(True)
        examples.append(pytree.unflatten(tree, ex))
    if len(sizes) != 1:
        raise located(ArgumentError, "vmap: " + ("no argument is mapped (in_axes are all None)"
                      if not sizes else f"the mapped axes have different sizes {sorted(sizes)}"))
    (size,) = sizes
    traced = trace_function(fun, tuple(examples), {}, tuple(range(len(args))), who="vmap")
    outs = batch_graph(traced.graph, inputs + list(traced.captured),
                       flags + [False] * len(traced.captured), size)
    o_axes = _axes(out_axes, len(outs), "out_axes")
    result = []
    for (v, batched), axis in zip(outs, o_axes, strict=True):
        if axis is None:
            if batched:
                raise located(ArgumentError, "vmap: out_axes None for an output that depends "
                              "on the mapped arguments")
            result.append(v)
            continue
        v = v if batched else lead(v, size)
        if not -v.ndim <= axis < v.ndim:
            raise located(ArgumentError, f"vmap: out_axes {axis} is out of range for an output "
                          f"of rank {v.ndim} (batch axis included)")
        axis %= v.ndim
        perm = [a for a in range(1, v.ndim)]
        perm.insert(axis, 0)
        result.append(v if axis == 0 else transpose(v, perm=tuple(perm)))
    return pytree.unflatten(traced.out_tree, result)


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0) -> Callable:
    """``fun`` mapped over axis ``in_axes`` of its arguments (an int, None for an argument that is
    shared by every example, or one per positional argument; every array leaf of an argument is
    mapped over the same axis); the results have the batch at ``out_axes``. Called from plain
    Python it is compiled (``gc.function``), once per signature."""
    if not callable(fun):
        raise located(ArgumentError, f"vmap: expected a function, got {type(fun).__name__}")
    return Mapped(fun, in_axes, out_axes)


class Mapped:
    """What ``vmap`` returns. A class, not a closure, so that it pickles: as ``vmap`` of ``fun``
    when ``fun`` is importable, else as the compiled signatures of its calls."""

    def __init__(self, fun, in_axes, out_axes):
        functools.update_wrapper(self, fun, updated=())
        self.fun, self.in_axes, self.out_axes = fun, in_axes, out_axes
        self._compiled = None  # the gc.function plain-Python calls run (cached per fun)

    def __call__(self, *args):
        fun, in_axes, out_axes = self.fun, self.in_axes, self.out_axes
        if current_trace() is not None:
            return _vmap_in_trace(fun, args, in_axes, out_axes)
        from .autodiff.api import _named, _top_level

        key = ("vmap", _key(in_axes), _key(out_axes))
        self._compiled = _top_level(fun, key, lambda ref: _named(
            fun, "vmap", lambda *a: _vmap_in_trace(ref(), a, in_axes, out_axes)))
        return self._compiled(*args)

    def _pickle_recipe(self):
        return vmap, (self.fun, self.in_axes, self.out_axes)

    def __reduce__(self):
        from .trace import pickling

        return pickling.reduce(self, self._compiled)


def _key(axes):
    return tuple(axes) if isinstance(axes, list) else axes
