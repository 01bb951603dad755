"""Helpers for the pass tests: small graphs built by hand, evaluations compared bit for bit."""

from __future__ import annotations

import numpy as np

from graphc.backend.reference import evaluate
from graphc.ir import Builder, Literal, TensorType
from graphc.ops import REGISTRY
from graphc.ops.call import call_primitive
from graphc.core import Primitive

F32, F64, I32, I64, B = (np.dtype(d) for d in ("float32", "float64", "int32", "int64", "bool"))


class G:
    """A tiny graph-building DSL over ``Builder``: ``g.sin(x)``, ``g.add(x, y)``, ``g.c(1.0)``."""

    def __init__(self, *in_types, name="g"):
        self.b = Builder(name)
        self.inputs = [self.b.add_input(TensorType(tuple(s), np.dtype(d))) for s, d in in_types]

    def __getattr__(self, name):
        prim = REGISTRY[{"slice_": "slice"}.get(name, name)]
        return lambda *ins, **attrs: self.emit(prim, *ins, **attrs)

    def emit(self, prim, *ins, **attrs):
        outs = self.b.emit(prim, ins, attrs)
        return outs if prim.multiple_results else outs[0]

    def c(self, value, dtype=F32):
        """A constant (0-d for a scalar)."""
        return self.emit(REGISTRY["constant"], value=Literal(np.asarray(value, dtype=dtype)))

    def splat(self, value, shape, dtype=F32):
        """A 0-d constant broadcast to ``shape`` (how autodiff makes zeros and ones)."""
        return self.broadcast_in_dim(self.c(value, dtype), shape=tuple(shape), dims=())

    def build(self, *outputs):
        return self.b.build(list(outputs))


def prims(graph) -> list[str]:
    """The primitive names of a graph's nodes, in order."""
    return [n.prim.name for n in graph.nodes]


def bits_equal(a, b) -> bool:
    """Same shape, dtype and bits, except that any NaN equals any NaN (IEEE leaves NaN signs and
    payloads open, and no comparison can see them)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return bool(np.array_equal(a, b))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return False
    ua = a[~nan_a].view(f"u{a.dtype.itemsize}")
    ub = b[~nan_b].view(f"u{b.dtype.itemsize}")
    return bool(np.array_equal(ua, ub))


def evaluations_equal(g1, g2, args) -> bool:
    with np.errstate(all="ignore"):
        r1, r2 = evaluate(g1, args), evaluate(g2, args)
    return all(bits_equal(a, b) for a, b in zip(r1, r2, strict=True))


def duplicate_nodes(graph) -> list:
    """Pairs of pure nodes that apply the same primitive with equal attributes to the same inputs
    (commutative operands in either order)."""
    from graphc.passes.cse import node_key

    seen, dups = {}, []
    for node in graph.nodes:
        if not node.prim.pure:
            continue
        key = node_key(node, node.inputs, node.attrs)
        hash(key)
        if key in seen:
            dups.append((seen[key], node))
        seen[key] = node
    return dups


# Test-only primitives, deliberately not registered (the registry's completeness test wants rows).
EFFECT = Primitive("effect", infer=lambda types: [types[0]], impl=lambda x: x, pure=False)
SPLIT = Primitive(
    "split2", infer=lambda types: [types[0], types[0]], impl=lambda x: (x, -x),
    multiple_results=True,
)


CALL = call_primitive("call", "body", inline=False)
