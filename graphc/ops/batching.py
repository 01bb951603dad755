"""Batching rules' common parts (``gc.vmap``, graphc/vmap.py). A rule is a primitive's ``batch``
field, ``rule(prim, args, batched, size, **attrs) -> result(s)``: ``args`` are the node's operands,
``batched[i]`` says whether operand i carries the batch as its leading axis (of length ``size``),
at least one does, and every result carries it as its leading axis. Elementwise primitives need
no rule of their own (``elementwise_rule``, from their ``elementwise`` flag).

``loop_rule`` is the rule of the primitives whose batched form would be a different computation
(loops, branches on a batched predicate, custom rules): the node applied to one example at a time
in a ``scan`` over the batch. It is exact and differentiable (the scan's own rules), just not
vectorized across the batch.
"""

from __future__ import annotations

from ..core import new_trace
from ..ir import TensorType
from .shape import broadcast_in_dim, reshape, transpose


def lead(x, size: int):
    """``x`` with a leading batch axis of ``size`` (a copy per example, made by broadcasting)."""
    return broadcast_in_dim(x, shape=(size, *x.shape), dims=tuple(range(1, x.ndim + 1)))


def all_batched(args, batched, size):
    return [a if b else lead(a, size) for a, b in zip(args, batched, strict=True)]


def to_front(x, axis: int):
    """``x`` with axis ``axis`` moved to the front."""
    if axis == 0:
        return x
    perm = (axis, *(a for a in range(x.ndim) if a != axis))
    return transpose(x, perm=perm)


def elementwise_rule(prim, args, batched, size, **attrs):
    """NumPy broadcasting aligns trailing axes: a batched operand of lower rank than the result
    gets unit axes after its batch axis; unbatched operands broadcast as they are."""
    rank = max(a.ndim - b for a, b in zip(args, batched, strict=True))
    ops = []
    for a, b in zip(args, batched, strict=True):
        if b and a.ndim - 1 < rank:
            a = reshape(a, shape=(a.shape[0], *(1,) * (rank - a.ndim + 1), *a.shape[1:]))
        ops.append(a)
    return prim(*ops, **attrs)


def leading_batch_rule(prim, args, batched, size, **attrs):
    """For primitives whose leading axes already are a batch (the factorizations): every operand
    batched, then the primitive as it is."""
    return prim(*all_batched(args, batched, size), **attrs)


def loop_rule(prim, args, batched, size, **attrs):
    """``prim`` on one example at a time: a ``scan`` whose body applies it to the batched
    operands' slices and the unbatched operands as they are."""
    from .control import scan

    xs = [a for a, b in zip(args, batched, strict=True) if b]
    params = [a for a, b in zip(args, batched, strict=True) if not b]
    with new_trace(f"{prim.name}_per_example") as tr:
        slices = [tr.new_input(_example_type(a)) for a in xs]
        fixed = [tr.new_input(TensorType(tuple(a.shape), a.dtype)) for a in params]
        it_x, it_p = iter(slices), iter(fixed)
        ins = [next(it_x) if b else next(it_p) for b in batched]
        outs = prim(*ins, **attrs)
        outs = list(outs) if prim.multiple_results else [outs]
        body, captured = tr.graph(outs)
    res = scan(*xs, *params, *captured, body_graph=body, n_carry=0, n_xs=len(xs), length=size,
               reverse=False)
    return list(res) if prim.multiple_results else res[0]


def _example_type(a):
    return TensorType(tuple(a.shape[1:]), a.dtype)


def batch_graph(graph, args, batched, size) -> list:
    """``graph`` applied to ``args`` in the current trace, batched: ``[(value, is batched)]`` per
    output. Nodes no batched value reaches are emitted as they are; the others by their
    primitive's rule."""
    env = dict(zip(graph.inputs, zip(args, batched, strict=True), strict=True))
    for node in graph.nodes:
        ins = [env[v] for v in node.inputs]
        values = [a for a, _ in ins]
        flags = tuple(b for _, b in ins)
        if any(flags):
            rule = node.prim.batch or (elementwise_rule if node.prim.elementwise else None)
            if rule is None:
                from ..errors import GraphcError

                raise GraphcError(f"vmap: {node.prim.name} has no batching rule")
            outs = rule(node.prim, values, flags, size, **node.attrs)
        else:
            outs = node.prim(*values, **node.attrs)
        outs = list(outs) if node.prim.multiple_results else [outs]
        env.update(zip(node.outputs, ((o, any(flags)) for o in outs), strict=True))
    return [env[v] for v in graph.outputs]
