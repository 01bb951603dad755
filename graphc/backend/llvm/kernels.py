"""Loop nests: elementwise regions, reductions (blocked pairwise sums), cumulative sums.

Reductions. Float sums and products use blocked pairwise summation: the reduced range (flattened to
one linear index) is cut into blocks of ``BLOCK`` = 128 elements; inside a block the adds carry the
``reassoc`` flag so the vectorizer keeps several partial sums in vector lanes; block results are
combined pairwise with a binary-counter stack (the block count's popcount entries deep). The result
is the exact sum of the ``x_i`` perturbed by at most
    (BLOCK - 1 + ceil(log2(ceil(n / BLOCK)))) * u * sum|x_i|      (u = 2**-24 for f32, 2**-53 for
    f64)
for any association the vectorizer picks inside a block; with its usual VF*UF = 64 lanes the block
term is ~log2(64) + 128/64, below NumPy's pairwise bound (~16 + log2(n / 128)). Integer sums wrap
and are exact in any order; max/min are exact and propagate NaN like ``np.max``.

When the innermost axis is kept (e.g. a column sum over axis 0), the reduced axes are strided: the
domain is then walked in row-major order and each element folded into its output slot, so the inner
loop runs along contiguous memory and vectorizes. Each output element is then a sequential sum, with
bound (n - 1) * u * sum|x_i| -- the order and bound of NumPy's own reductions over non-innermost
axes, which add whole rows rather than summing pairwise.
"""

from __future__ import annotations

import math
from contextlib import ExitStack, contextmanager

import numpy as np

from ... import dtypes
from ...ops import elementwise as ew
from ...ops import reduce as red
from ...ops import shape as sh
from . import vecmath
from .irtext import REG, const
from .region import Emitter, Index, LoweringError, delinearize, row_major
from .scalar import SCALAR

BLOCK = 128
#: reduction primitive -> (combine kind, identity of the accumulator)
REDUCERS = {
    red.reduce_sum: "sum",
    red.reduce_prod: "prod",
    red.reduce_max: "max",
    red.reduce_min: "min",
}


def _identity(kind, d, inner=True):
    if kind == "sum":
        return const(-0.0 if inner else 0.0, d) if dtypes.is_float(d) else const(0, d)
    if kind == "prod":
        return const(1, d)
    big = {"max": -np.inf, "min": np.inf}[kind]
    if dtypes.is_float(d):
        return const(big, d)
    if dtypes.is_bool(d):
        return const(kind == "min", d)
    info = np.iinfo(d)
    return const(info.min if kind == "max" else info.max, d)


class _Pair:
    """A stand-in node for the scalar max/min rules (they read only the operand dtype)."""

    def __init__(self, d):
        self.inputs = (_Typed(d), _Typed(d))


class _Typed:
    def __init__(self, d):
        self.dtype = d


def combine(cx, kind, d, a, b, reassoc=False):
    t = REG[d]
    if kind in ("sum", "prod"):
        if dtypes.is_float(d):
            flag = " reassoc" if reassoc else ""
            return cx.f.op(f"{'fadd' if kind == 'sum' else 'fmul'}{flag} {t} {a}, {b}")
        return cx.f.op(f"{'add' if kind == 'sum' else 'mul'} {t} {a}, {b}")
    rule = SCALAR[ew.maximum if kind == "max" else ew.minimum]
    return rule(cx, _Pair(d), [a, b])


def _accumulate(cx, n, kind, d, body, offset="0"):
    """Fold ``body(r)`` for r in [offset, offset + n), reassociating sums and products inside."""
    f, t = cx.f, REG[d]
    reassoc = kind in ("sum", "prod")
    lp = f.loop_begin(n, carried=[(t, _identity(kind, d))], stem="R")
    v = body(f.add(offset, lp.index))
    return f.loop_end(lp, [combine(cx, kind, d, lp.phis[0], v, reassoc)])[0]


def reduce_linear(cx, n, kind, d, body) -> str:
    """The reduction of ``body(r)`` over r in [0, n), n >= 1 (blocked pairwise for float
    sum/prod)."""
    blocked = dtypes.is_float(d) and kind in ("sum", "prod")
    if not blocked or n <= BLOCK:
        return _accumulate(cx, n, kind, d, body)
    f, t = cx.f, REG[d]
    full, tail = divmod(n, BLOCK)
    stack = f.alloca(f"[64 x {t}]")
    lp = f.loop_begin(full, stem="B")
    s = _accumulate(cx, BLOCK, kind, d, body, offset=f.mul(lp.index, BLOCK))
    _push(cx, stack, lp.index, s, kind, d)
    f.loop_end(lp)
    if tail:  # NOTE: a separate loop (not a masked block) keeps the full blocks' loads contiguous
        s = _accumulate(cx, tail, kind, d, body, offset=str(full * BLOCK))
        _push(cx, stack, str(full), s, kind, d)
    depth = (full + (tail > 0)).bit_count()
    acc = None
    for level in range(depth - 1, -1, -1):
        v = f.op(f"load {t}, ptr {f.gep(t, stack, str(level))}")
        acc = v if acc is None else combine(cx, kind, d, v, acc)
    return acc


def _push(cx, stack, blk, s, kind, d):
    """Push block sum ``s`` (block number ``blk``) merging equal-sized partial sums, like a binary
    counter: the stack holds popcount(blk) sums of decreasing power-of-two block counts."""
    f, t = cx.f, REG[d]
    merges = f.op(f"call i64 @llvm.cttz.i64(i64 {f.op(f'xor i64 {blk}, -1')}, i1 false)")
    top = f.op(f"call i64 @llvm.ctpop.i64(i64 {blk})")
    pred = f.block
    head, body, done = f.fresh("M"), f.fresh("Mb"), f.fresh("Mx")
    f.jump(head)
    f.start_block(head)
    j = f.phi("i64", [("0", pred)])
    sv = f.phi(t, [(s, pred)])
    f.branch(f.op(f"icmp ult i64 {j.name}, {merges}"), body, done)
    f.start_block(body)
    pos = f.op(f"sub i64 {f.op(f'sub i64 {top}, 1')}, {j.name}")
    older = f.op(f"load {t}, ptr {f.gep(t, stack, pos)}")
    sv.add(combine(cx, kind, d, older, sv.name), f.block)
    j.add(f.op(f"add i64 {j.name}, 1"), f.block)
    f.jump(head)
    f.start_block(done)
    dst = f.op(f"sub i64 {top}, {merges}")
    f.do(f"store {t} {sv.name}, ptr {f.gep(t, stack, dst)}")


# - elementwise and reduction regions --------------------------------------------------------------
#: Non-elementwise primitives a flat loop handles (a one-element operand is read at index 0).
_FLAT_LEAVES = (sh.constant, sh.broadcast_in_dim)


def _flat(nodes_by_value, outputs, shape) -> bool:
    """True when every value reachable from ``outputs`` is elementwise over ``shape`` with operands
    of the same shape or of one element, so one linear loop (no per-axis index) suffices."""
    seen, stack, shape = set(), list(outputs), tuple(shape)
    size = math.prod(shape)
    while stack:
        v = stack.pop()
        node = nodes_by_value.get(v)
        if node is None or v in seen:
            continue
        seen.add(v)
        if node.prim not in SCALAR and node.prim not in _FLAT_LEAVES:
            return False
        if node.prim is sh.constant and math.prod(node.outputs[0].shape) not in (1, size):
            return False
        for x in node.inputs:
            if tuple(x.shape) != shape and math.prod(x.shape) != 1:
                return False
            stack.append(x)
    return True


def _region_shape(producers, outputs) -> tuple | None:
    """The domain of an elementwise region (None: it ends in a reduction)."""
    reduce_nodes = {producers[v] for v in outputs if v in producers and producers[v].prim in REDUCERS}
    if len(reduce_nodes) > 1:
        raise LoweringError("a region may end in at most one reduction")
    if reduce_nodes:
        return None
    shape = tuple(outputs[0].shape)
    for v in outputs:
        if tuple(v.shape) != shape:
            raise LoweringError(f"region outputs of different shapes {shape} and {v.shape}")
    return shape


def region_lanes(nodes, leaves, outputs, inline: bool, tuning) -> int | None:
    """The plan's decision: the lanes of the explicit vector loop of a region computing ``outputs``
    with ``nodes`` from ``leaves`` (None: scalar loops). ``inline``: the kernel inlines its math."""
    producers = {o: n for n in nodes for o in n.outputs}
    shape = _region_shape(producers, list(outputs))
    size = math.prod(shape) if shape is not None else 0
    if not size or not _flat(producers, list(outputs), shape):
        return None
    pairs = bool(_sincos_operands(nodes))
    lanes = vector_lanes(tuning, inline, nodes, leaves, pairs)
    return lanes if lanes and size >= lanes else None


def emit_region(scope, f, leaves: dict, nodes, outputs) -> str:
    """Emit one loop nest computing ``outputs`` (list of (Value, Buf)) as ``scope.kernel`` plans
    it; returns a kernel description."""
    producers = {o: n for n in nodes for o in n.outputs}
    em = Emitter(f, scope, leaves, producers)
    shape = _region_shape(producers, [v for v, _ in outputs])
    if shape is None:
        node = next(producers[v] for v, _ in outputs if v in producers and producers[v].prim in REDUCERS)
        return _emit_reduce(em, node, outputs)
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0:
        return f"elementwise {shape} (empty)"
    flat = _flat(producers, [v for v, _ in outputs], shape)
    em.paired = _sincos_operands(producers.values())
    lanes = scope.kernel.lanes
    if lanes:
        if not flat or size < lanes:
            raise LoweringError(f"planned {lanes} lanes for a region that is not flat over them")
        return _emit_vector_flat(em, outputs, shape, size, lanes, scope.kernel.split.blocks)
    with ExitStack() as stack:
        if flat:
            idx = Index(shape, linear=stack.enter_context(f.loop(size)))
        else:
            axes = tuple(stack.enter_context(f.loop(n)) for n in shape)
            idx = Index(shape, axes=axes)
        em.reset()
        for v, buf in outputs:
            em.store(buf, idx, em.value(v, idx))
    return f"elementwise {shape}{' flat' if flat else ''}, {len(outputs)} out"


#: Element types the explicit vector path handles (integer rules are not all lane-wise here).
_VECTOR_DTYPES = {np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.bool_)}
#: Loop metadata of explicitly vectorized loops: the loop vectorizer has nothing left to do there.
_VECTOR_LOOP = ('!{!"llvm.loop.vectorize.enable", i1 false}', '!{!"llvm.loop.unroll.disable"}')


def _sincos_operands(nodes) -> set:
    """Values of which a region computes both sin and cos."""
    nodes = list(nodes)
    sins = {n.inputs[0] for n in nodes if n.prim is ew.sin}
    return {n.inputs[0] for n in nodes if n.prim is ew.cos and n.inputs[0] in sins}


def vector_lanes(tuning, inline, nodes, leaves, pairs=False) -> int | None:
    """Lanes for an explicitly vectorized flat region (two native vectors of its widest float
    type), or None when a value's type is not handled, ``tuning.explicit_vectors`` is off, or the
    kernel calls its math functions out of line (``inline`` false) and has no sin/cos pair
    (``pairs``): measured, the loop vectorizer's code calling the vector variants ran ~10% faster
    there (W6), while explicit code with inlined math beat the vectorizer's (W7 17%, W2 3%), and a
    pair computed by one sincos call saves ~40% of its math (sin*cos chain: 34 -> 21 us)."""
    if not tuning.explicit_vectors or not (inline or pairs):
        return None
    types = [v.dtype for n in nodes for v in (*n.inputs, *n.outputs)]
    types += [v.dtype for v in leaves]
    if not types or any(d not in _VECTOR_DTYPES for d in types):
        return None
    floats = [d.itemsize for d in types if dtypes.is_float(d)]
    return vecmath.lanes(tuning.vector_bits, max(floats)) if floats else None


def _emit_vector_flat(em, outputs, shape, size, lanes, ranged_blocks) -> str:
    """A flat elementwise region as explicit ``<lanes x T>`` code over whole vectors, then a scalar
    loop for the ``size % lanes`` tail. Why: each math call works on two independent native vectors
    (their polynomial chains overlap) and the loop vectorizer has nothing left to analyse.
    ``ranged_blocks`` (the plan's split): the loop runs blocks ``[%lo, %hi)`` (threads.py)."""
    f = em.f
    blocks, tail = divmod(size, lanes)
    ranged = ranged_blocks is not None
    if ranged and ranged_blocks != blocks:
        raise LoweringError(f"planned {ranged_blocks} vector blocks, the region has {blocks}")
    hint, f.loop_hint = f.loop_hint, _VECTOR_LOOP
    with range_loop(f) if ranged else f.loop(blocks) as b:
        em.reset()
        em.lanes = lanes
        idx = Index(shape, linear=f.mul(b, lanes))
        for node in em.producers.values():  # in order: keeps value()'s recursion shallow
            em.value(node.outputs[0], idx)
        for v, buf in outputs:
            em.store(buf, idx, em.value(v, idx))
        em.lanes = None
    f.loop_hint = hint
    if tail:
        last = f.when(f.op(f"icmp eq i64 %hi, {blocks}"), "T") if ranged else ExitStack()
        with last, f.loop(tail) as i:  # (ranged: only the chunk ending at the last block)
            em.reset()
            idx = Index(shape, linear=f.add(str(blocks * lanes), i))
            for v, buf in outputs:
                em.store(buf, idx, em.value(v, idx))
    return f"elementwise {shape} flat, {len(outputs)} out, vectors of {lanes}" + (
        ", block ranges" if ranged else ""
    )


@contextmanager
def range_loop(f):
    """``for b in range(%lo, %hi)`` (run-time bounds from the kernel's parameters; empty when lo
    >= hi), tagged with ``f.loop_hint`` like a counted loop."""
    pred, head, done = f.block, f.fresh("P"), f.fresh("Px")
    f.branch(f.op("icmp ult i64 %lo, %hi"), head, done)
    f.start_block(head)
    i = f.phi("i64", [("%lo", pred)], name=f"%{head}.i")
    yield i.name
    i.add(f"{i.name}.next", f.block)
    f.do(f"{i.name}.next = add nuw nsw i64 {i.name}, 1")
    f.branch(f.op(f"icmp eq i64 {i.name}.next, %hi"), done, head, f.loop_tag(f.loop_hint))
    f.start_block(done)


def _full_index(f, shape, kept, reduced, kept_axes, r):
    """The domain index from the kept axes' indices and the linear reduced index ``r``."""
    red_shape = [shape[a] for a in reduced]
    if not kept:
        return Index(shape, linear=r)
    axes = [None] * len(shape)
    for a, i in zip(kept, kept_axes, strict=True):
        axes[a] = i
    if sum(n > 1 for n in red_shape) <= 1:
        for a in reduced:
            axes[a] = r if shape[a] > 1 else "0"
        return Index(shape, axes=tuple(axes))
    if reduced == list(range(len(kept), len(shape))):
        kept_lin = f.linear(zip(kept_axes, row_major([shape[a] for a in kept]), strict=True))
        n = int(np.prod(red_shape))
        return Index(shape, linear=f.add(f.mul(kept_lin, n), r))
    for a, i in zip(reduced, delinearize(f, r, red_shape), strict=True):
        axes[a] = i
    return Index(shape, axes=tuple(axes))


def _emit_reduce(em, node, outputs) -> str:
    f = em.f
    (x,) = node.inputs
    shape, d, kind = tuple(x.shape), x.dtype, REDUCERS[node.prim]
    reduced = sorted(node.attrs["axes"])
    kept = [a for a in range(len(shape)) if a not in reduced]
    out_shape = tuple(shape[a] for a in kept)
    n = int(np.prod([shape[a] for a in reduced], dtype=np.int64))
    result_buf = next(b for v, b in outputs if v is node.outputs[0])
    others = [(v, b) for v, b in outputs if v is not node.outputs[0]]
    for v, _ in others:
        if tuple(v.shape) != shape:
            raise LoweringError(f"a reduction region's other outputs must have shape {shape}")
    if int(np.prod(out_shape, dtype=np.int64)) == 0:
        return f"reduce_{kind} {shape} (empty)"
    if kept[-1:] == [len(shape) - 1] and shape[-1] > 1 and n > 1:
        return _emit_reduce_rows(em, node, result_buf, others, kind)

    def body(r):
        em.reset()
        idx = _full_index(f, shape, kept, reduced, kept_axes, r)
        for v, b in others:
            em.store(b, idx, em.value(v, idx))
        return em.value(x, idx)

    with ExitStack() as stack:
        kept_axes = tuple(stack.enter_context(f.loop(shape[a])) for a in kept)
        out_idx = Index(out_shape, axes=kept_axes)
        if n == 0:
            acc = _identity(kind, d, inner=False)
        else:
            acc = reduce_linear(em, n, kind, d, body)
        em.store(result_buf, out_idx, acc)
    return f"reduce_{kind} {shape} over {tuple(reduced)}, {len(outputs)} out"


def _emit_reduce_rows(em, node, result_buf, others, kind) -> str:
    """Fold the domain in row-major order into the output (see the module docstring)."""
    f, (x,) = em.f, node.inputs
    shape, d = tuple(x.shape), x.dtype
    kept = [a for a in range(len(shape)) if a not in node.attrs["axes"]]
    out_shape = tuple(shape[a] for a in kept)
    with f.loop(int(np.prod(out_shape))) as i:
        em.store(result_buf, Index(out_shape, linear=i), _identity(kind, d, inner=False))
    with ExitStack() as stack:
        axes = tuple(stack.enter_context(f.loop(m)) for m in shape)
        em.reset()
        idx = Index(shape, axes=axes)
        for v, b in others:
            em.store(b, idx, em.value(v, idx))
        out_idx = Index(out_shape, axes=tuple(axes[a] for a in kept))
        acc = combine(em, kind, d, em.load(result_buf, out_idx), em.value(x, idx))
        em.store(result_buf, out_idx, acc)
    return f"reduce_{kind} {shape} over {tuple(node.attrs['axes'])} by rows, {1 + len(others)} out"


def emit_cumsum(scope, f, node, x_buf, out_buf) -> str:
    """Sequential running sum along one axis (NumPy's order, so float results match it exactly)."""
    (x,) = node.inputs
    shape, d = tuple(x.shape), x.dtype
    axis, reverse = node.attrs["axis"], node.attrs["reverse"]
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return f"cumsum {shape} (empty)"
    em = Emitter(f, scope, {x: x_buf}, {})
    n, t = shape[axis], REG[d]
    with ExitStack() as stack:
        outer = [stack.enter_context(f.loop(m)) if a != axis else None for a, m in enumerate(shape)]
        lp = f.loop_begin(n, carried=[(t, _identity("sum", d))], stem="S")
        pos = f.op(f"sub nsw i64 {n - 1}, {lp.index}") if reverse else lp.index
        axes = tuple(pos if a == axis else i for a, i in enumerate(outer))
        idx = Index(shape, axes=axes)
        em.reset()
        acc = combine(em, "sum", d, lp.phis[0], em.load(x_buf, idx))
        em.store(out_buf, idx, acc)
        f.loop_end(lp, [acc])
    return f"cumsum {shape} axis {axis}"

