"""Constant folding: evaluate pure nodes whose inputs are all constants, at compile time.

Two forms:
  - *full folding*: every input is a ``constant`` node; the node's own NumPy evaluation (the same
    ``impl`` the reference evaluator runs, so the result is bit-identical to what the unoptimized
    graph gives there) replaces it by ``constant`` nodes;
  - *splat folding*: an elementwise node whose inputs are all splats (a 0-d constant, possibly
    broadcast) becomes one 0-d constant broadcast to the output shape, whatever that shape's size;
    so does a reshape, transpose or broadcast of a splat. The element is computed by the same
    ``impl`` on 0-d arrays: NumPy's scalar and SIMD loops give the same bits (the property tests
    compare with the evaluation of the full arrays).

NOTE: the size limit. A full fold happens only when every output has at most ``FOLD_LIMIT`` = 64
elements *and* no more elements than the largest input (at least 1). 64 elements is 256 bytes of
float32, four cache lines: small enough to be an immediate-like global in the generated code, while
a larger result is cheaper to compute inside a fused loop than to load from memory, and would bloat
the code and the compile time. The second condition means a fold never makes the program's data
grow: ``broadcast_in_dim`` of a scalar, ``iota`` and ``pad`` stay the compact expressions they are
(the backend makes them on the fly), which also keeps splats recognizable for ``simplify``.
Primitives that are not ``pure``, and nodes holding nested graphs, are never folded. A node whose
evaluation raises is left for run time to report.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Literal, Node
from ..ops import shape as shape_ops
from .consts import SPLAT_MAKERS, SPLAT_PRESERVING, constant_array, make_splat, splat
from .rewrite import Rewriter, has_nested, rewrite_graph

FOLD_LIMIT = 64


def _evaluate(node: Node, arrays, attrs, shapes) -> list[np.ndarray] | None:
    """``node``'s NumPy evaluation on ``arrays``, each result of ``shapes[i]`` and the output's
    dtype; None when it fails or disagrees with the node's types."""
    try:
        with np.errstate(all="ignore"):
            res = node.prim.impl(*arrays, **attrs)
    except Exception:  # noqa: BLE001  (any failure means: do not fold, let run time report it)
        return None
    results = list(res) if node.prim.multiple_results else [res]
    out = []
    for r, v, shape in zip(results, node.outputs, shapes, strict=True):
        r = np.asarray(r)
        if r.shape != shape or r.dtype.kind != v.dtype.kind:
            return None
        out.append(np.asarray(r, dtype=v.dtype))
    return out


def _full_fold(rw: Rewriter, node: Node, inputs, attrs):
    arrays = [constant_array(rw, v) for v in inputs]
    if any(a is None for a in arrays):
        return None
    largest = max((a.size for a in arrays), default=1)
    if any(v.type.size > min(FOLD_LIMIT, max(largest, 1)) for v in node.outputs):
        return None
    results = _evaluate(node, arrays, attrs, [v.shape for v in node.outputs])
    if results is None:
        return None
    return [rw.emit(shape_ops.constant, (), value=Literal(r)) for r in results]


def _splat_fold(rw: Rewriter, node: Node, inputs, attrs):
    if not inputs or not (node.prim.elementwise or node.prim in SPLAT_PRESERVING):
        return None
    scalars = [splat(rw, v) for v in inputs]
    if any(s is None for s in scalars):
        return None
    if node.prim in SPLAT_PRESERVING:
        # NOTE: a broadcast of a 0-d constant is the normal form; re-making it would never stop.
        if (
            node.prim is shape_ops.broadcast_in_dim
            and inputs[0].shape == ()
            and constant_array(rw, inputs[0]) is not None
        ):
            return None
        return [make_splat(rw, scalars[0], node.outputs[0].type)]
    results = _evaluate(node, scalars, attrs, [()] * len(node.outputs))
    if results is None:
        return None
    return [make_splat(rw, r, v.type) for r, v in zip(results, node.outputs, strict=True)]


def fold(graph: Graph, options=None) -> Graph:
    """The pass: full and splat folding (see the module docstring)."""

    def rule(rw: Rewriter, node: Node, inputs: tuple, attrs: dict):
        if not node.prim.pure or node.prim is shape_ops.constant:
            return None
        for v in inputs:  # a cheap test that skips most nodes: only splat makers make constants
            maker = rw.producer.get(v)
            if maker is None or maker.prim not in SPLAT_MAKERS:
                return None
        if has_nested(node):
            return None
        return _full_fold(rw, node, inputs, attrs) or _splat_fold(rw, node, inputs, attrs)

    return rewrite_graph(graph, rule, nested=lambda g: fold(g, options))
