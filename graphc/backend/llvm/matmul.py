"""``dot_general`` as a register-blocked vector kernel.

The operands' axes are grouped (batch, free, contracting) and each group is flattened to one strided
axis when its memory layout allows it (any order of the lhs, e.g. a transposed lhs, needs no copy);
otherwise the operand is first copied into a workspace panel. Two strategies:
  - ``gemm`` (N >= one vector): the rhs must have unit stride along N (else it is packed, an O(K*N)
    copy); an MR x (2 vectors) block of C lives in registers while k runs, each step loading two
    vectors of B, broadcasting MR elements of A and issuing 2*MR fused multiply-adds. Edge rows and
    columns use the same microkernel with fewer rows, one vector, or scalar "vectors".
  - ``dot`` (narrow N, e.g. matrix-vector): every output element is a blocked pairwise reduction
    over k (see kernels.py), vectorized along k.
  - ``blas`` (when ``lower_graph`` is given NumPy's bundled gemm, see blas.py, for float operands
    and M*N*K >= ``BLAS_MIN``): one cblas gemm call per batch; transposed operands are passed as
    ``CblasTrans`` (no copy). Below the threshold the call overhead outweighs its speed.
Accumulation along k is sequential per element in ``gemm`` (error <= K u sum|a||b|) and blocked in
``dot``.
"""

from __future__ import annotations

import itertools
from contextlib import ExitStack

import numpy as np

from ... import dtypes
from .irtext import REG, SUFFIX, const
from .kernels import range_loop, reduce_linear
from .region import Index, delinearize, row_major

MR = 6
BLAS_MIN = 32 * 32 * 32
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _free(ndim, *groups):
    used = {a for g in groups for a in g}
    return [a for a in range(ndim) if a not in used]


def group_stride(shape, strides, axes):
    """The single stride of ``axes`` flattened in this order, or None when they do not flatten."""
    live = [a for a in axes if shape[a] != 1]
    for a, b in itertools.pairwise(live):
        if strides[a] != strides[b] * shape[b]:
            return None
    return strides[live[-1]] if live else 0


class DotPlan:
    """Sizes, groups and strides of one dot_general; which operands need packing."""

    def __init__(self, node, vector_bits=256, blas=None):
        lhs, rhs = node.inputs
        (lc, rc), (lb, rb) = node.attrs["contracting"], node.attrs["batch"]
        self.d = lhs.dtype
        self.groups = {
            "lhs": (list(lb), _free(lhs.type.ndim, lc, lb), list(lc)),
            "rhs": (list(rb), list(rc), _free(rhs.type.ndim, rc, rb)),
        }
        self.shapes = {"lhs": tuple(lhs.shape), "rhs": tuple(rhs.shape)}
        size = lambda s, g: int(np.prod([s[a] for a in g], dtype=np.int64))
        bl, fl, cl = self.groups["lhs"]
        self.B, self.M, self.K = (size(lhs.shape, g) for g in (bl, fl, cl))
        self.N = size(rhs.shape, self.groups["rhs"][2])
        self.width = max(1, vector_bits // 8 // self.d.itemsize)
        self.strategy = "gemm" if self.N >= self.width else "dot"
        self.blas = (blas or {}).get(self.d.name)
        self.threads_symbol = (blas or {}).get("threads")
        if self.blas and self.M * self.N * self.K >= BLAS_MIN and self._fits(self.blas[1]) and not (
                self.strategy == "gemm" and _narrow(blas, vector_bits)):
            self.strategy = "blas"
        self.strides = {}
        self.pack = {}
        for side in ("lhs", "rhs"):
            st = [
                group_stride(self.shapes[side], row_major(self.shapes[side]), g)
                for g in self.groups[side]
            ]
            need = any(s is None for s in st)
            if not need and self.strategy == "blas":
                dims = (self.M, self.K) if side == "lhs" else (self.K, self.N)
                need = _blas_layout(st[1], st[2], *dims) is None
            elif side == "rhs" and self.strategy == "gemm" and st[2] not in (1, 0):
                need = True
            self.pack[side] = need
            if need:  # packed panel laid out (batch, group1, group2) row-major
                dims = [self.B, *(size(self.shapes[side], g) for g in self.groups[side][1:])]
                st = list(row_major(dims))
            self.strides[side] = st

    def threads(self, tuning) -> int:
        """Threads a product is split over by rows: a single product (B = 1) that calls gemm on
        an OpenBLAS whose own threads it can turn off, or runs graphc's gemm kernel over at least
        two blocks of MR rows, packs nothing (each thread would pack the whole panel into one
        buffer) and is large enough (``Tuning.gemm_thread_min`` multiply-adds) to repay a
        thread."""
        from .threads import pthreads

        if self.B != 1 or any(self.pack.values()):
            return 1
        if self.M * self.N * self.K < tuning.gemm_thread_min:
            return 1
        if self.strategy == "blas" and not self.threads_symbol:
            return 1
        if self.strategy not in ("blas", "gemm") or self.row_units < 2:
            return 1
        n = min(tuning.threads, tuning.max_threads, self.row_units)
        return n if n > 1 and pthreads() else 1

    @property
    def row_units(self) -> int:
        """What a threaded product's row ranges count: rows of a gemm call, blocks of MR rows of
        graphc's kernel."""
        return self.M if self.strategy == "blas" else self.M // MR

    def _fits(self, int_bits: int) -> bool:
        """Whether every dimension and leading dimension fits the gemm's integers: a 32-bit
        cblas (when NumPy's wheel has no 64-bit one) would truncate a dimension of 2**31 or more,
        so such products use graphc's own kernel."""
        limit = 2 ** (int_bits - 1)
        return max(self.M * self.K, self.K * self.N, self.M * self.N) < limit

    def panel_shape(self, side):
        g1, g2 = self.groups[side][1:]
        s = self.shapes[side]
        return (self.B, int(np.prod([s[a] for a in g1])), int(np.prod([s[a] for a in g2])))


def _narrow(blas: dict, vector_bits: int) -> bool:
    """Whether OpenBLAS runs kernels narrower than graphc compiles for (``OPENBLAS_CORETYPE=Haswell``
    on an AVX-512 machine: W3 2.0 -> 7.0 ms). graphc's own gemm kernel is then faster (single
    thread, W3's 256x784x512: ~1.35-1.8 ms against 1.96 ms), so products it runs as ``gemm`` do
    not call BLAS and graphc's speed does not hinge on another library's environment variable;
    narrow products (N below a vector) still call it (256x512x10: 47 us against 240 us)."""
    bits = blas.get("core_bits")
    return bits is not None and bits < vector_bits


def _blas_layout(s_rows, s_cols, rows, cols):
    """(transpose flag, leading dimension) describing a rows x cols matrix with these strides to a
    row-major cblas call, or None when neither orientation fits."""
    if (cols == 1 or s_cols == 1) and (ld := s_rows if rows > 1 else cols) >= max(1, cols):
        return _NO_TRANS, ld
    if (rows == 1 or s_rows == 1) and (ld := s_cols if cols > 1 else rows) >= max(1, rows):
        return _TRANS, ld
    return None


def _blas_call(em, plan, a0, b0, c0, strides, rows=None, update=None):
    """One gemm call; ``rows``: the ``(lo, hi)`` IR values of a threaded kernel's row range (the
    call computes those rows of C). OpenBLAS runs it on the calling thread alone. ``update``:
    ``(W's pointer, scale)``: C = W + scale * A @ B (W's rows copied into C, then alpha = scale,
    beta = 1)."""
    f, t = em.f, REG[plan.d]
    sam, sak, sbk, sbn = strides
    (ta, lda), (tb, ldb) = (
        _blas_layout(sam, sak, plan.M, plan.K),
        _blas_layout(sbk, sbn, plan.K, plan.N),
    )
    symbol, bits = plan.blas
    i = f"i{bits}"
    m = str(plan.M)
    w0, rows_here = (update[0] if update else None), str(plan.M)
    if rows is not None:
        lo, hi = rows
        a0 = f.gep(t, a0, f.mul(lo, sam))
        c0 = f.gep(t, c0, f.mul(lo, plan.N))
        w0 = w0 and f.gep(t, w0, f.mul(lo, plan.N))
        m = rows_here = f.op(f"sub i64 {hi}, {lo}")
        if bits != 64:
            m = f.op(f"trunc i64 {m} to {i}")
    alpha, beta = (update[1], 1) if update else (1, 0)
    if update:
        size = f.op(f"mul i64 {rows_here}, {plan.N * plan.d.itemsize}")
        f.do(f"call void @llvm.memmove.p0.p0.i64(ptr {c0}, ptr {w0}, i64 {size}, i1 false)")
    local = (plan.threads_symbol or (None,))[0]
    prev = f.op(f"call i32 @{local}(i32 1)") if local else None
    f.do(
        f"call void @{symbol}(i32 {_ROW_MAJOR}, i32 {ta}, i32 {tb}, {i} {m}, {i} {plan.N}, "
        f"{i} {plan.K}, {t} {const(alpha, plan.d)}, ptr {a0}, {i} {lda}, ptr {b0}, {i} {ldb}, "
        f"{t} {const(beta, plan.d)}, ptr {c0}, {i} {max(1, plan.N)})"
    )
    if prev is not None:
        f.op(f"call i32 @{local}(i32 {prev})")


def emit_pack(em, plan, side, src_buf, panel_buf):
    """Copy an operand into its (batch, group1, group2) panel."""
    f = em.f
    shape = plan.shapes[side]
    groups = plan.groups[side]
    dims = plan.panel_shape(side)
    if 0 in dims:
        return
    with f.loop(dims[0]) as b, f.loop(dims[1]) as i, f.loop(dims[2]) as j:
        axes = [None] * len(shape)
        for g, lin in zip(groups, (b, i, j), strict=True):
            for a, v in zip(
                g, delinearize(f, lin, [shape[a] for a in g]) if g else (), strict=True
            ):
                axes[a] = v
        idx = Index(shape, axes=tuple(axes))
        panel_idx = Index(dims, axes=(b, i, j))
        em.store(panel_buf, panel_idx, em.load(src_buf, idx))


def emit_dot(em, plan, a_ptr, b_ptr, c_ptr, rows=None, update=None) -> str:
    """The product's code; ``rows``: a threaded gemm kernel's ``(lo, hi)`` row range;
    ``update``: a gemm call's ``(W's pointer, scale)`` (``_blas_call``)."""
    f = em.f
    if plan.B * plan.M * plan.N == 0:
        return "dot_general (empty)"
    if plan.K == 0:
        zero = const(0, plan.d)
        with f.loop(plan.B * plan.M * plan.N) as i:
            f.do(f"store {REG[plan.d]} {zero}, ptr {f.gep(REG[plan.d], c_ptr, i)}")
        return "dot_general (K=0 fill)"
    sab, sam, sak = plan.strides["lhs"]
    sbb, sbk, sbn = plan.strides["rhs"]
    with f.loop(plan.B) as b:
        a0 = f.gep(REG[plan.d], a_ptr, f.mul(b, sab))
        b0 = f.gep(REG[plan.d], b_ptr, f.mul(b, sbb))
        c0 = f.gep(REG[plan.d], c_ptr, f.mul(b, plan.M * plan.N))
        if plan.strategy == "blas":
            _blas_call(em, plan, a0, b0, c0, (sam, sak, sbk, sbn), rows, update)
        elif plan.strategy == "gemm":
            _gemm(em, plan, a0, b0, c0, (sam, sak, sbk), rows is not None)
        else:
            _dot(em, plan, a0, b0, c0, (sam, sak, sbk, sbn))
    return (
        f"dot_general {plan.strategy} B={plan.B} M={plan.M} N={plan.N} K={plan.K}"
        f"{f' update {update[1]:+g}' if update else ''}"
        f"{' pack-lhs' if plan.pack['lhs'] else ''}{' pack-rhs' if plan.pack['rhs'] else ''}"
    )


def _dot(em, plan, a0, b0, c0, strides):
    f, t = em.f, REG[plan.d]
    sam, sak, sbk, sbn = strides
    with f.loop(plan.M) as m, f.loop(plan.N) as n:
        arow = f.gep(t, a0, f.mul(m, sam))
        bcol = f.gep(t, b0, f.mul(n, sbn))

        def body(k):
            x = f.op(f"load {t}, ptr {f.gep(t, arow, f.mul(k, sak))}")
            y = f.op(f"load {t}, ptr {f.gep(t, bcol, f.mul(k, sbk))}")
            return f.op(f"{'fmul' if dtypes.is_float(plan.d) else 'mul'} {t} {x}, {y}")

        acc = reduce_linear(em, plan.K, "sum", plan.d, body)
        f.do(f"store {t} {acc}, ptr {f.gep(t, c0, f.add(f.mul(m, plan.N), n))}")


def _k_block(k: int) -> int:
    """The k extent of one pass over C: the largest divisor of ``k`` in [128, 384] when k > 384, so
    a panel of B (kc x 2 vectors) stays in L1 while the row blocks sweep over it; else ``k``."""
    if k <= 384:
        return k
    return next((kc for kc in range(384, 127, -1) if k % kc == 0), k)


def _gemm(em, plan, a0, b0, c0, strides, ranged=False):
    """C[M, N] (row-major) = A[M, K] @ B[K, N] with B unit-stride along N. With k blocking, C is
    zeroed and each block adds into it (the same sequential order along k per element).
    ``ranged``: compute the row blocks ``[%lo, %hi)`` of MR rows (a threaded kernel's chunk; the
    chunk ending at the last block also computes the ``M % MR`` rows left)."""
    f, t = em.f, REG[plan.d]
    _, sak, sbk = strides
    kc = _k_block(plan.K)
    if kc == plan.K:
        _gemm_pass(em, plan, a0, b0, c0, strides, kc, False, ranged)
        return

    def zero(row, rows):
        with f.loop(rows * plan.N) as i:
            f.do(f"store {t} {const(0, plan.d)}, ptr {f.gep(t, c0, f.add(f.mul(row, plan.N), i))}")

    _row_blocks(f, plan.M, ranged, zero)
    with f.loop(plan.K // kc) as kb:
        ak = f.gep(t, a0, f.mul(kb, kc * sak))
        bk = f.gep(t, b0, f.mul(kb, kc * sbk))
        _gemm_pass(em, plan, ak, bk, c0, strides, kc, True, ranged)


def _row_blocks(f, m: int, ranged: bool, body) -> None:
    """``body(first row, rows)`` for each block of MR rows (those of ``[%lo, %hi)`` when
    ``ranged``), then for the ``m % MR`` rows left (ranged: in the chunk ending at the last
    block)."""
    blocks, tail = divmod(m, MR)
    if blocks:
        with range_loop(f) if ranged else f.loop(blocks) as ib:
            body(f.mul(ib, MR), MR)
    if tail:
        with f.when(f.op(f"icmp eq i64 %hi, {blocks}"), "T") if ranged else ExitStack():
            body(str(m - tail), tail)


def _gemm_pass(em, plan, a0, b0, c0, strides, kc, accumulate, ranged):
    f, w = em.f, plan.width
    N = plan.N
    col_blocks = [(2 * w, N // (2 * w), 0)]
    done = (N // (2 * w)) * 2 * w
    if N - done >= w:
        col_blocks.append((w, 1, done))
        done += w
    if N > done:
        col_blocks.append((1, N - done, done))
    for cols, count, start in col_blocks:
        if count == 0:
            continue
        shape = (2, w) if cols == 2 * w else (1, cols)
        with f.loop(count) as jb:
            col = f.add(str(start), f.mul(jb, cols))
            tile = (em, plan, a0, b0, c0, strides, kc, accumulate)
            _row_blocks(f, plan.M, ranged, lambda row, rows: _micro(*tile, row, rows, col, *shape))


def _micro(em, plan, a0, b0, c0, strides, kc, accumulate, row, rows, col, nvec, width):
    """``rows`` x ``nvec`` accumulators of ``width`` lanes over ``kc`` values of k (starting from
    zero, or from C's current values when ``accumulate``)."""
    f, d, t = em.f, plan.d, REG[plan.d]
    sam, sak, sbk = strides
    vt = f"<{width} x {t}>" if width > 1 else t
    crows = [f.gep(t, c0, f.add(f.mul(f.add(row, str(r)), plan.N), col)) for r in range(rows)]
    dsts = [f.gep(t, crows[r], str(v * width)) for r in range(rows) for v in range(nvec)]
    if accumulate:
        inits = [f.op(f"load {vt}, ptr {p}, align {d.itemsize}") for p in dsts]
    else:
        inits = ["zeroinitializer" if width > 1 else const(0, d)] * len(dsts)
    lp = f.loop_begin(kc, carried=[(vt, i) for i in inits], stem="K")
    k = lp.index
    brow = f.gep(t, b0, f.add(f.mul(k, sbk), col))
    bv = [
        f.op(f"load {vt}, ptr {f.gep(t, brow, str(v * width))}, align {d.itemsize}")
        for v in range(nvec)
    ]
    nexts = []
    for r in range(rows):
        aoff = f.add(f.mul(f.add(row, str(r)), sam), f.mul(k, sak))
        a = f.op(f"load {t}, ptr {f.gep(t, a0, aoff)}, align {d.itemsize}")
        if width > 1:
            ins = f.op(f"insertelement {vt} poison, {t} {a}, i64 0")
            a = f.op(f"shufflevector {vt} {ins}, {vt} poison, <{width} x i32> zeroinitializer")
        for v in range(nvec):
            nexts.append(_fma(f, d, vt, width, a, bv[v], lp.phis[r * nvec + v]))
    final = f.loop_end(lp, nexts)
    for value, dst in zip(final, dsts, strict=True):
        f.do(f"store {vt} {value}, ptr {dst}, align {d.itemsize}")


def _fma(f, d, vt, width, a, b, acc):
    if dtypes.is_float(d):
        mangle = f"v{width}{SUFFIX[d]}" if width > 1 else SUFFIX[d]
        return f.op(f"call {vt} @llvm.fmuladd.{mangle}({vt} {a}, {vt} {b}, {vt} {acc})")
    prod = f.op(f"mul {vt} {a}, {b}")
    return f.op(f"add {vt} {acc}, {prod}")
