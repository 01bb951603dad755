"""Running a program of flat elementwise kernels chunk by chunk (strip-mining across kernels).

When every kernel of a graph is a flat elementwise map over the same ``n`` elements of one item
size (W6: an unrolled chain and its gradient), ``graphc_main`` runs them chunk by chunk: for each
chunk of ``Tuning.block_vectors`` vector blocks it calls every kernel on that chunk's range (the kernels'
``[%lo, %hi)`` parameters of threads.py; the chunk ending at the last block also runs the scalar
tail). Element ``i`` of every output depends only on element ``i`` of the inputs, so any order of
(kernel, chunk) pairs that keeps the kernels' order within a chunk computes the same bits.

Why: one kernel at a time streams every intermediate array through the caches; chunk by chunk, a
chunk's intermediates stay in L2. The workspace is laid out chunk-major (chunk ``c`` of every
intermediate lies together; ``Layout``) because arrays one page apart map to the same cache sets:
with the plain layout, blocking ran W6 n=100 slower (273 -> 315 us); chunk-major 273 -> 197 us.
No workspace range is reused within the program (a later kernel's chunk would overwrite what an
earlier kernel's later chunk still reads). Measured on W6 (1024 float32, n=100, 2-core EPYC, 512 KB
L2 per core): see ``Tuning.block_vectors``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ...ops import shape as sh
from ...ops.call import fused
from . import vecmath
from .irtext import Func
from .memory import ALIGN

def candidate(steps, storage, n_threads, plain_bytes: int, tuning) -> bool:
    """Whether the kernels of ``steps`` may run chunk by chunk: all ``fused`` single-threaded flat
    elementwise kernels (no reduction or matmul in their bodies) whose values all have one element
    count and item size, at least two, with an unblocked workspace (``plain_bytes``) too large for
    the cache to hold (the limits are ``tuning.block_*``)."""
    if not tuning.block_vectors or not 2 <= len(steps) <= tuning.block_max_kernels:
        return False
    if plain_bytes < tuning.block_min_workspace or any(n != 1 for n in n_threads):
        return False
    sizes = set()
    for step in steps:
        node = step.node
        if node is None or node.prim is not fused:
            return False
        if any(not n.prim.elementwise and n.prim is not sh.constant for n in node.attrs["body"].nodes):
            return False
        for v in (*step.reads, *step.writes):
            if storage[v].kind != "global":
                sizes.add((v.type.size, v.type.dtype.itemsize))
    return len(sizes) == 1


@dataclass(frozen=True)
class Layout:
    """The chunk-major layout: ``offsets`` of each intermediate's chunk 0, and per chunk ``c`` the
    shift ``c * (stride - per_chunk)`` added to every intermediate's pointer."""

    offsets: dict
    chunks: tuple  # (lo, hi) in vector blocks
    stride: int  # bytes of one chunk of all intermediates
    per_chunk: int  # bytes of one full chunk of one array
    workspace: int
    block_vectors: int  # vector blocks per chunk


def layout(blocks, steps, ws, tuning) -> Layout | None:
    """A chunk layout for kernels over ``blocks`` vector blocks each (their workspace buffers:
    ``ws``, in first-use order), or None when some kernel's loop takes no range or the work fits in
    one chunk."""
    per = tuning.block_vectors
    if len(set(blocks)) != 1 or blocks[0] is None or blocks[0] <= per:
        return None
    n_blocks = blocks[0]
    v = (steps[0].reads or steps[0].writes)[0]
    size, item = v.type.size, v.type.dtype.itemsize
    lanes = vecmath.lanes(tuning.vector_bits, item)
    if size // lanes != n_blocks:
        return None
    per_chunk = per * lanes * item
    room = -(-((per + 1) * lanes * item) // ALIGN) * ALIGN  # a full chunk plus the tail
    offsets = {st: k * room for k, st in enumerate(ws)}
    stride = len(offsets) * room
    cuts = list(range(0, n_blocks, per)) + [n_blocks]
    chunks = tuple(itertools.pairwise(cuts))
    return Layout(offsets, chunks, stride, per_chunk, stride * len(chunks), per)


def emit_calls(module, main, calls, rows, layout: Layout | None) -> None:
    """Call the kernels ``calls`` ((name, buffers, blocks) each) from ``graphc_main``: chunk by
    chunk over ``layout``, or (None) each once over its whole range. ``rows(buffers)`` gives the
    (slot, offset, shifted) triple of each buffer (see ``_call``)."""
    if layout is None:
        for name, buffers, blocks in calls:
            _call(module, main, name, rows(buffers), ("0", str(blocks or 0), "0"))
        return
    per = layout.block_vectors
    # unrolled, the loop's hundreds of calls made LLVM's time on graphc_main 5x (W6 n=1000)
    main.meta_ids, main.loop_hint = module.meta_ids, ('!{!"llvm.loop.unroll.disable"}',)
    loop = main.loop_begin(len(layout.chunks))
    lo = main.op(f"mul i64 {loop.index}, {per}")
    hi = main.op(
        f"call i64 @llvm.umin.i64(i64 {main.op(f'add i64 {lo}, {per}')}, "
        f"i64 {layout.chunks[-1][1]})"
    )
    shift = main.op(f"mul i64 {loop.index}, {layout.stride - layout.per_chunk}")
    for name, buffers, _ in calls:
        _call(module, main, name, rows(buffers), (lo, hi, shift))
    main.loop_end(loop)
    module.metadata += main.metadata
    main.metadata, main.loop_hint = [], ()


def _call(module, main, name, rows, lo_hi_shift) -> None:
    """``name.b(args, table, lo, hi, shift)``: the wrapper loads (slot, offset, shifted) triples
    and passes ``args[slot] + offset (+ shift for workspace buffers)`` and the range."""
    if f"{name}.b" not in module.wrapped:
        module.wrapped.add(f"{name}.b")
        module.functions.append(_wrapper(name, len(rows)))
    table = module.global_array(np.array(rows, dtype=np.int64).reshape(-1))
    lo, hi, shift = lo_hi_shift
    main.do(f"call void @{name}.b(ptr %args, ptr {table.ptr}, i64 {lo}, i64 {hi}, i64 {shift})")


def _wrapper(name: str, n: int) -> str:
    w = Func(
        f"{name}.b",
        ["ptr %args", "ptr %tbl", "i64 %lo", "i64 %hi", "i64 %shift"],
        attrs="noinline nounwind",
    )
    args = []
    for i in range(n):
        slot, off, flag = (
            w.op(f"load i64, ptr {w.gep('i64', '%tbl', str(3 * i + j))}, align 8") for j in range(3)
        )
        base = w.op(f"load ptr, ptr {w.gep('ptr', '%args', slot)}, align 8")
        total = w.op(f"add i64 {off}, {w.op(f'mul i64 {flag}, %shift')}")
        args.append(f"ptr {w.gep('i8', base, total)}")
    w.do(f"call void @{name}({', '.join(args)}, i64 %lo, i64 %hi)")
    return w.text()
