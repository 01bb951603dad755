"""Which kernels have the same code, decided before emitting them.

Unrolled loops (W6: 1,000 steps) give hundreds of fused kernels that differ only in the buffers
they are passed. LLVM's time is per instruction compiled and emitting a kernel's text costs ~1 ms
of Python, so the plan gives one kernel per structural key and calls it for every step with that
key. The key must never merge kernels whose text would differ: attributes are compared exactly
and anything without an exact key gives None (emit it on its own).
"""

from __future__ import annotations

import numpy as np

from ...ir import Literal
from ...ops.call import fused


def kernel_key(node, operands, buffers):
    """A structural key of a fused kernel: its body's nodes, types and attributes and which of the
    kernel's ``buffers`` each of its ``operands`` (the buffers of its reads, then its writes) is.
    Equal keys give equal kernel text; None when unsure."""
    if node is None or node.prim is not fused:
        return None
    pos = {b: i for i, b in enumerate(buffers)}
    where = tuple(pos[b] for b in operands)
    try:
        body = graph_key(node.attrs["body"])
    except TypeError:
        return None
    return body, where, tuple(b.name for b in buffers if b.kind == "global")


def graph_key(graph) -> tuple:
    """The graph up to renaming its values: node primitives, exact attributes, operand positions and
    types, in order (the order the lowering emits them in)."""
    ids = {v: i for i, v in enumerate(graph.inputs)}
    items = [v.type for v in graph.inputs]
    for n in graph.nodes:
        attrs = tuple((k, attr_key(a)) for k, a in sorted(n.attrs.items())) if n.attrs else ()
        items.append((n.prim, attrs, tuple([ids[v] for v in n.inputs])))
        for o in n.outputs:
            ids[o] = len(ids)
            items.append(o.type)
    items.append(tuple([ids[v] for v in graph.outputs]))
    return tuple(items)


def attr_key(a):
    """Attribute values compared exactly (``0.0 == -0.0`` and ``1 == True`` in Python are not)."""
    if isinstance(a, float):
        return ("float", a.hex())
    if isinstance(a, (bool, int, str)):
        return (type(a).__name__, a)
    if isinstance(a, (tuple, list)):
        return (type(a).__name__, tuple(attr_key(x) for x in a))
    if isinstance(a, np.dtype):
        return ("dtype", a.str)
    if isinstance(a, Literal):
        return ("literal", a.array.dtype.str, a.array.shape, a.array.tobytes())
    raise TypeError(f"no exact key for attribute {a!r}")
