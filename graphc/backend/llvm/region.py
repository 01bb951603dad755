"""Values computed inside a loop body: every elementwise and index-remapping primitive, emitted on
demand at a multi-index.

A region (a ``fused`` node's body, or one node on its own) is lowered by asking the ``Emitter`` for
each output's value at the loop's index. Each primitive's rule ``rule(em, node, idx) -> ssa`` maps
the index to its operands' indices (broadcasting, transposing, slicing...) and combines their
values, so a chain of such ops becomes one loop body with no intermediate arrays. Values are
memoised per index inside one loop body, so a value used twice at the same point is computed once.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

from ... import dtypes
from ...ir import TensorType
from ...ops import elementwise as ew
from ...ops import indexing as ix
from ...ops import shape as sh
from ...errors import InternalError
from ...ir.diagnostics import internal_message
from .irtext import MEM, REG, SUFFIX, const
from .scalar import SCALAR, convert_value


class LoweringError(InternalError):
    """A node could not be lowered to LLVM IR (names the node and the user's line)."""


@contextmanager
def node_context(node):
    """Re-raise any failure while lowering ``node`` as a LoweringError naming it and its line."""
    try:
        yield
    except LoweringError as e:
        if getattr(e, "_located", False):
            raise
        raise _located(node, str(e)) from e
    except Exception as e:
        raise _located(node, f"{type(e).__name__}: {e}") from e


def _located(node, msg):
    err = LoweringError(internal_message(node, f"lowering {node.prim.name}", msg))
    err._located = True
    return err


def row_major(shape) -> tuple[int, ...]:
    strides, acc = [], 1
    for n in reversed(shape):
        strides.append(acc)
        acc *= n
    return tuple(reversed(strides))


class Buf:
    """A C-contiguous array reachable through the pointer ``ptr`` (a kernel parameter or a
    global)."""

    def __init__(self, ptr: str, type_: TensorType):
        self.ptr, self.type = ptr, type_
        self.strides = row_major(type_.shape)


class Index:
    """A point of ``shape``: per-axis indices and/or the row-major linear index (each made on
    demand).

    Entries are SSA names or integer literals as text ("0" for size-1 axes)."""

    def __init__(self, shape, axes=None, linear=None):
        self.shape, self.axes, self.linear = tuple(shape), axes, linear
        if axes is not None:
            self.axes = tuple("0" if n == 1 else a for a, n in zip(axes, self.shape, strict=True))
        self._key = (self.shape, self.axes, self.linear)  # fixed: later fills must not change it

    def key(self):
        return self._key

    def get_linear(self, f) -> str:
        if self.linear is None:
            self.linear = f.linear(zip(self.axes, row_major(self.shape), strict=True))
        return self.linear

    def get_axes(self, f) -> tuple[str, ...]:
        if self.axes is None:
            self.axes = delinearize(f, self.linear, self.shape)
        return self.axes


def delinearize(f, linear: str, shape) -> tuple[str, ...]:
    """Per-axis indices of a row-major linear index (udiv/urem by constants)."""
    out, outer = [], False
    for n, stride in zip(shape, row_major(shape), strict=True):
        if n == 1:
            out.append("0")
            continue
        q = linear if stride == 1 else f.op(f"udiv i64 {linear}, {stride}")
        out.append(f.op(f"urem i64 {q}, {n}") if outer else q)
        outer = True
    return tuple(out)


class Emitter:
    """Emits region values at indices into the function ``f``; ``leaves`` maps external values to
    buffers, ``producers`` maps region values to their nodes."""

    def __init__(self, f, module, leaves: dict, producers: dict):
        self.f, self.module = f, module
        self.leaves, self.producers = leaves, producers
        self.memo: dict = {}
        #: Vector mode: every value is a ``<lanes x T>`` vector of consecutive elements, and the
        #: rules print vector code through ``ty``, ``lit`` and ``intrinsic``.
        self.lanes: int | None = None
        #: Values whose sin and cos are both computed here: vector code gets both from one call.
        self.paired: set = set()
        self._pairs: dict = {}

    def ty(self, d) -> str:
        """The register type of dtype ``d`` here: scalar, or a vector in vector mode."""
        return f"<{self.lanes} x {REG[d]}>" if self.lanes else REG[d]

    def lit(self, value, d) -> str:
        """``value`` as a constant of ``ty(d)``: a literal, or its splat in vector mode."""
        return f"splat ({REG[d]} {const(value, d)})" if self.lanes else const(value, d)

    def intrinsic(self, name: str, d) -> str:
        """``@llvm.<name>`` overloaded on ``ty(d)``."""
        return f"@llvm.{name}.{f'v{self.lanes}' if self.lanes else ''}{SUFFIX[d]}"

    def math(self, fn, dtype, args):
        if self.lanes:
            return self.module.vector_math_call(self.f, fn, dtype, args, self.lanes)
        return self.module.math_call(self.f, fn, dtype, args)

    def sincos(self, x: str, d) -> tuple[str, str]:
        """(sin, cos) of the vector ``x`` from one ``sincos`` call (memoised per value)."""
        hit = self._pairs.get(x)
        if hit is None:
            f, vt = self.f, self.ty(d)
            pair = self.module.vector_math_call(f, "sincos", d, [x], self.lanes)
            hit = tuple(f.op(f"extractvalue {{{vt}, {vt}}} {pair}, {k}") for k in (0, 1))
            self._pairs[x] = hit
        return hit

    def splat(self, scalar: str, d) -> str:
        """A vector with the scalar register value ``scalar`` in every lane."""
        f, vt = self.f, self.ty(d)
        one = f.op(f"insertelement {vt} poison, {REG[d]} {scalar}, i64 0")
        return f.op(f"shufflevector {vt} {one}, {vt} poison, <{self.lanes} x i32> zeroinitializer")

    def reset(self):
        """Forget memoised values (their definitions do not dominate a new loop body)."""
        self.memo.clear()
        self._pairs.clear()

    def value(self, v, idx: Index) -> str:
        key = (v, idx.key())
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        if v in self.leaves:
            out = self.load(self.leaves[v], idx)
        else:
            node = self.producers.get(v)
            if node is None:
                raise LoweringError(f"value {v} has no producer in this region")
            rule = RULES.get(node.prim)
            if rule is None:
                raise _located(node, "cannot be computed inside a loop body")
            try:  # NOTE: not node_context: a generator context manager per value is slow here
                out = rule(self, node, idx)
            except Exception as e:
                if getattr(e, "_located", False):
                    raise
                raise _located(node, f"{type(e).__name__}: {e}") from e
        self.memo[key] = out
        return out

    def address(self, buf: Buf, idx: Index) -> str:
        return self.f.gep(MEM[buf.type.dtype], buf.ptr, idx.get_linear(self.f))

    def load(self, buf: Buf, idx: Index) -> str:
        d = buf.type.dtype
        if self.lanes:
            return self._load_vector(buf, idx)
        raw = self.f.op(f"load {MEM[d]}, ptr {self.address(buf, idx)}, align {d.itemsize}")
        return self.f.op(f"icmp ne i8 {raw}, 0") if dtypes.is_bool(d) else raw

    def _load_vector(self, buf: Buf, idx: Index) -> str:
        f, d = self.f, buf.type.dtype
        ptr = self.address(buf, idx)
        if buf.type.size == 1:  # a broadcast scalar operand
            val = f.op(f"load {MEM[d]}, ptr {ptr}, align {d.itemsize}")
            if dtypes.is_bool(d):
                val = f.op(f"icmp ne i8 {val}, 0")
            return self.splat(val, d)
        vm = f"<{self.lanes} x {MEM[d]}>"
        val = f.op(f"load {vm}, ptr {ptr}, align {d.itemsize}")
        if dtypes.is_bool(d):
            val = f.op(f"icmp ne {vm} {val}, zeroinitializer")
        return val

    def store(self, buf: Buf, idx: Index, val: str) -> None:
        """Store ``val`` (of ``ty(d)``) at ``idx``; bool as bytes."""
        d, f = buf.type.dtype, self.f
        mem = f"<{self.lanes} x {MEM[d]}>" if self.lanes else MEM[d]
        if dtypes.is_bool(d):
            val = f.op(f"zext {self.ty(d)} {val} to {mem}")
        f.do(f"store {mem} {val}, ptr {self.address(buf, idx)}, align {d.itemsize}")

    def clamp(self, i: str, n: int) -> str:
        """``i`` limited to [0, n-1] (used where a select discards the loaded value)."""
        f = self.f
        hi = f.op(f"icmp slt i64 {i}, {n - 1}")
        i = f.op(f"select i1 {hi}, i64 {i}, i64 {n - 1}")
        pos = f.op(f"icmp sgt i64 {i}, 0")
        return f.op(f"select i1 {pos}, i64 {i}, i64 0")


# - index rules ------------------------------------------------------------------------------------
def operand_index(idx: Index, out_shape, in_shape, f) -> Index:
    """Index into a NumPy-broadcast operand of shape ``in_shape``."""
    if tuple(in_shape) == tuple(out_shape):
        return idx
    if math.prod(in_shape) == 1:
        return Index(in_shape, axes=("0",) * len(in_shape), linear="0")
    axes = idx.get_axes(f)
    lead = len(out_shape) - len(in_shape)
    return Index(
        in_shape, axes=tuple("0" if n == 1 else axes[lead + i] for i, n in enumerate(in_shape))
    )


def _elementwise(em, node, idx):
    out_shape = node.outputs[0].shape
    args = [em.value(v, operand_index(idx, out_shape, v.shape, em.f)) for v in node.inputs]
    if em.lanes and node.prim in (ew.sin, ew.cos) and node.inputs[0] in em.paired:
        return em.sincos(args[0], node.outputs[0].dtype)[node.prim is ew.cos]
    return SCALAR[node.prim](em, node, args)


def _broadcast(em, node, idx, shape, dims):
    (x,) = node.inputs
    if tuple(x.shape) == tuple(shape):
        return em.value(x, idx)
    if math.prod(x.shape) == 1:
        return em.value(x, Index(x.shape, axes=("0",) * x.type.ndim, linear="0"))
    axes = idx.get_axes(em.f)
    return em.value(x, Index(x.shape, axes=tuple(axes[d] for d in dims)))


def _transpose(em, node, idx, perm):
    axes = idx.get_axes(em.f)
    inv = [0] * len(perm)
    for k, p in enumerate(perm):
        inv[p] = axes[k]
    return em.value(node.inputs[0], Index(node.inputs[0].shape, axes=tuple(inv)))


def _rev(em, node, idx, axes):
    f, shape = em.f, node.inputs[0].shape
    out = list(idx.get_axes(f))
    for a in axes:
        if shape[a] > 1:
            out[a] = f.op(f"sub nsw i64 {shape[a] - 1}, {out[a]}")
    return em.value(node.inputs[0], Index(shape, axes=tuple(out)))


def _slice(em, node, idx, start, limit, strides):
    f = em.f
    axes = idx.get_axes(f)
    src = tuple(f.add(str(s), f.mul(a, st)) for a, s, st in zip(axes, start, strides, strict=True))
    return em.value(node.inputs[0], Index(node.inputs[0].shape, axes=src))


def _pad(em, node, idx, lo, hi, interior, value):
    f, x = em.f, node.inputs[0]
    t, d = REG[x.dtype], x.dtype
    ok, src = "true", []
    for a, n, l_, k in zip(idx.get_axes(f), x.shape, lo, interior, strict=True):
        j = f.op(f"sub nsw i64 {a}, {l_}") if l_ else a
        step = k + 1
        q = f.op(f"sdiv i64 {j}, {step}") if step > 1 else j
        conds = [f.op(f"icmp sge i64 {j}, 0"), f.op(f"icmp slt i64 {q}, {n}")]
        if step > 1:
            conds.append(f.op(f"icmp eq i64 {f.op(f'srem i64 {j}, {step}')}, 0"))
        for c in conds:
            ok = c if ok == "true" else f.op(f"and i1 {ok}, {c}")
        src.append(em.clamp(q, n) if n > 0 else "0")
    if x.type.size == 0:
        return const(value, d)
    inner = em.value(x, Index(x.shape, axes=tuple(src)))
    return f.op(f"select i1 {ok}, {t} {inner}, {t} {const(value, d)}")


def _concatenate(em, node, idx, axis):
    f = em.f
    axes = idx.get_axes(f)
    t = REG[node.outputs[0].dtype]
    result, offset = None, 0
    for x in node.inputs:
        n = x.shape[axis]
        if n == 0:
            continue
        local = f.op(f"sub nsw i64 {axes[axis]}, {offset}") if offset else axes[axis]
        src = list(axes)
        src[axis] = em.clamp(local, n)
        val = em.value(x, Index(x.shape, axes=tuple(src)))
        if result is None:
            result = val
        else:
            inside = f.op(f"icmp sge i64 {axes[axis]}, {offset}")
            result = f.op(f"select i1 {inside}, {t} {val}, {t} {result}")
        offset += n
    return result


def _iota(em, node, idx, shape, dtype, dimension):
    i = idx.get_axes(em.f)[dimension]
    return convert_value(em, i, dtypes.int64, node.outputs[0].dtype)


def _constant(em, node, idx, value):
    arr = value.array
    if arr.size == 1:
        return em.lit(arr.reshape(-1)[0], arr.dtype)
    buf = em.module.global_array(arr)
    return em.load(buf, idx)


def _reshape(em, node, idx, shape):
    x = node.inputs[0]
    return em.value(x, Index(x.shape, linear=idx.get_linear(em.f)))


def _same(em, node, idx, **_):
    return em.value(node.inputs[0], idx)


def position(em, i: str, d, n: int) -> str:
    """The index value ``i`` (of integer dtype ``d``) as an i64 position on an axis of ``n``:
    NumPy's negative indices, then clamped into the axis (ops/indexing.py)."""
    f = em.f
    if d.itemsize < 8:
        i = f.op(f"sext {REG[d]} {i} to i64")
    neg = f.op(f"icmp slt i64 {i}, 0")
    i = f.op(f"select i1 {neg}, i64 {f.op(f'add i64 {i}, {n}')}, i64 {i}")
    return em.clamp(i, n)


def gather_axes(em, ind, axes, axis: int, n: int, load=None) -> tuple:
    """The operand axes of a gather or scatter point whose output axes are ``axes``: the index
    array's axes replaced by the position read from it."""
    k = ind.type.ndim
    at = Index(ind.shape, axes=tuple(axes[axis : axis + k]))
    i = load(at) if load is not None else em.value(ind, at)
    return (*axes[:axis], position(em, i, ind.dtype, n), *axes[axis + k :])


def _gather(em, node, idx, axis):
    x, ind = node.inputs
    pos = gather_axes(em, ind, idx.get_axes(em.f), axis, x.shape[axis])
    return em.value(x, Index(x.shape, axes=pos))


#: How each primitive is computed at one index of a loop body.
RULES = {prim: _elementwise for prim in SCALAR}
RULES.update(
    {
        sh.broadcast_in_dim: _broadcast,
        sh.transpose: _transpose,
        sh.rev: _rev,
        sh.slice_: _slice,
        sh.pad: _pad,
        sh.concatenate: _concatenate,
        sh.iota: _iota,
        sh.constant: _constant,
        sh.reshape: _reshape,
        sh.stop_gradient: _same,
        ix.gather: _gather,
    }
)


def _with_attrs(rule):
    """Adapt a rule taking the node's attributes as keywords to the common signature."""
    return lambda em, node, idx: rule(em, node, idx, **node.attrs)


RULES.update({p: _with_attrs(r) for p, r in RULES.items() if r is not _elementwise})
