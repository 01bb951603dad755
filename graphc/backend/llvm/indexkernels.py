"""Kernels of the indexing primitives (ops/indexing.py): ``scatter_add`` (a copy, then additions
in index order) and ``argsort`` (a stable bottom-up merge sort per line). Both are whole
kernels, single-threaded, with loops whose bounds depend on data, written with ``alloca``
counters and explicit blocks (LLVM's mem2reg turns them into registers)."""

from __future__ import annotations

from contextlib import ExitStack

import numpy as np

from ... import dtypes
from .irtext import REG
from .kernels import combine
from .region import Emitter, Index, gather_axes, row_major


def emit_scatter(scope, f, node, bufs, out_buf) -> str:
    """``out = x`` then, over the updates in row-major order, ``out[.., pos, ..] += upd`` (the
    order ``ops/indexing.py`` evaluates in, so float sums match the reference). One thread."""
    x, ind, upd = node.inputs
    axis = node.attrs["axis"]
    em = Emitter(f, scope, dict(zip(node.inputs, bufs, strict=True)), {})
    size = int(np.prod(x.shape, dtype=np.int64))
    if size:
        with f.loop(size) as i:
            at = Index(x.shape, linear=i)
            em.store(out_buf, at, em.load(bufs[0], at))
    if int(np.prod(upd.shape, dtype=np.int64)) == 0:
        return f"scatter_add {tuple(x.shape)} (no updates)"
    with ExitStack() as stack:
        axes = tuple(stack.enter_context(f.loop(n)) for n in upd.shape)
        em.reset()
        pos = gather_axes(em, ind, axes, axis, x.shape[axis], lambda at: em.load(bufs[1], at))
        target = Index(x.shape, axes=pos)
        old, new = em.load(out_buf, target), em.load(bufs[2], Index(upd.shape, axes=axes))
        total = (f.op(f"or i1 {old}, {new}") if dtypes.is_bool(x.dtype)  # NumPy's bool +
                 else combine(em, "sum", x.dtype, old, new))
        em.store(out_buf, target, total)
    return f"scatter_add {tuple(upd.shape)} into {tuple(x.shape)} axis {axis}"


def _less(f, d, a: str, b: str) -> str:
    """NumPy's sort order: ``a < b``, NaN after every number (so ``a`` before a NaN ``b``)."""
    t = REG[d]
    if dtypes.is_float(d):
        lt = f.op(f"fcmp olt {t} {a}, {b}")
        a_num = f.op(f"fcmp ord {t} {a}, {a}")
        b_nan = f.op(f"fcmp uno {t} {b}, {b}")
        return f.op(f"or i1 {lt}, {f.op(f'and i1 {a_num}, {b_nan}')}")
    return f.op(f"icmp {'ult' if dtypes.is_bool(d) else 'slt'} {t} {a}, {b}")


class _MergeSort:
    """One line's merge sort: ``line`` holds the order (indices into the line), ``tmp`` the
    merged runs; ``key(p)`` loads the value at line position ``p``."""

    def __init__(self, f, n: int, line: str, tmp: str, key, dtype):
        self.f, self.n, self.line, self.tmp, self.key, self.dtype = f, n, line, tmp, key, dtype
        self.vars = {k: f.alloca("i64", 8) for k in ("w", "lo", "i", "j", "k")}

    def get(self, k):
        return self.f.op(f"load i64, ptr {self.vars[k]}, align 8")

    def put(self, k, v):
        self.f.do(f"store i64 {v}, ptr {self.vars[k]}, align 8")

    def at(self, base, p):
        return self.f.gep("i64", base, p)

    def while_(self, cond, body):
        with self.f.repeat_while(cond, stem="Sh"):
            body()

    def run(self):
        f, n = self.f, self.n
        with f.loop(n) as p:
            f.do(f"store i64 {p}, ptr {self.at(self.line, p)}, align 8")
        self.put("w", "1")
        self.while_(lambda: f.op(f"icmp slt i64 {self.get('w')}, {n}"), self.sweep)

    def sweep(self):
        """Merge every pair of runs of width ``w`` into ``tmp``, copy back, double ``w``."""
        f, n = self.f, self.n
        self.put("lo", "0")
        self.while_(lambda: f.op(f"icmp slt i64 {self.get('lo')}, {n}"), self.merge)
        with f.loop(n) as p:
            v = f.op(f"load i64, ptr {self.at(self.tmp, p)}, align 8")
            f.do(f"store i64 {v}, ptr {self.at(self.line, p)}, align 8")
        self.put("w", f.op(f"shl i64 {self.get('w')}, 1"))

    def merge(self):
        f, n = self.f, self.n
        lo, w = self.get("lo"), self.get("w")
        self.mid = f.op(f"call i64 @llvm.smin.i64(i64 {f.op(f'add i64 {lo}, {w}')}, i64 {n})")
        self.hi = f.op(f"call i64 @llvm.smin.i64(i64 {f.op(f'add i64 {self.mid}, {w}')}, i64 {n})")
        self.lo = lo
        self.put("i", lo), self.put("j", self.mid), self.put("k", lo)
        self.while_(lambda: f.op(f"icmp slt i64 {self.get('k')}, {self.hi}"), self.take)
        self.put("lo", self.hi)

    def take(self):
        """One element into ``tmp[k]``: the right run's head only when it is strictly less
        (ties keep the left one first: stable)."""
        f = self.f
        i, j, k = self.get("i"), self.get("j"), self.get("k")
        left_ok = f.op(f"icmp slt i64 {i}, {self.mid}")
        right_done = f.op(f"icmp sge i64 {j}, {self.hi}")
        ii = f.op(f"select i1 {left_ok}, i64 {i}, i64 {self.lo}")  # in range for the loads
        jj = f.op(f"select i1 {right_done}, i64 {self.lo}, i64 {j}")
        vi = f.op(f"load i64, ptr {self.at(self.line, ii)}, align 8")
        vj = f.op(f"load i64, ptr {self.at(self.line, jj)}, align 8")
        right_less = _less(f, self.dtype, self.key(vj), self.key(vi))
        right_ok = f.op(f"and i1 {f.op(f'xor i1 {right_done}, true')}, {right_less}")
        take_right = f.op(f"or i1 {f.op(f'xor i1 {left_ok}, true')}, {right_ok}")
        v = f.op(f"select i1 {take_right}, i64 {vj}, i64 {vi}")
        f.do(f"store i64 {v}, ptr {self.at(self.tmp, k)}, align 8")
        self.put("i", f.op(f"select i1 {take_right}, i64 {i}, i64 {f.op(f'add i64 {i}, 1')}"))
        self.put("j", f.op(f"select i1 {take_right}, i64 {f.op(f'add i64 {j}, 1')}, i64 {j}"))
        self.put("k", f.op(f"add i64 {k}, 1"))


def emit_argsort(scope, f, node, x_buf, out_buf, line_buf, tmp_buf) -> str:
    """Per line along the axis: the merge sort of its indices (``_MergeSort``, O(n log n)), then
    the line into the output (strided along the axis)."""
    (x,) = node.inputs
    axis, shape = node.attrs["axis"], tuple(x.shape)
    n = shape[axis]
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return f"argsort {shape} (empty)"
    em = Emitter(f, scope, {x: x_buf}, {})
    stride = row_major(shape)[axis]
    with ExitStack() as stack:
        outer = [stack.enter_context(f.loop(m)) if a != axis else "0" for a, m in enumerate(shape)]
        base = f.linear([(i, s) for i, s in zip(outer, row_major(shape)) if i != "0"])

        def key(pos):
            return em.load(x_buf, Index(shape, linear=f.add(base, f.mul(pos, stride))))

        _MergeSort(f, n, line_buf.ptr, tmp_buf.ptr, key, x.dtype).run()
        with f.loop(n) as p:
            v = f.op(f"load i64, ptr {f.gep('i64', line_buf.ptr, p)}, align 8")
            at = f.gep("i64", out_buf.ptr, f.add(base, f.mul(p, stride)))
            f.do(f"store i64 {v}, ptr {at}, align 8")
    return f"argsort {shape} axis {axis} (merge sort)"
