"""Running a program of flat elementwise kernels chunk by chunk (strip-mining across kernels).

When every kernel of a graph is a flat elementwise map over the same ``n`` elements of one item
size (W6: an unrolled chain and its gradient), ``graphc_main`` runs them chunk by chunk: for each
chunk of ``BLOCK_VECTORS`` vector blocks it calls every kernel on that chunk's range (the kernels'
``[%lo, %hi)`` parameters of threads.py; the chunk ending at the last block also runs the scalar
tail). Element ``i`` of every output depends only on element ``i`` of the inputs, so any order of
(kernel, chunk) pairs that keeps the kernels' order within a chunk computes the same bits.

Why: one kernel at a time streams every intermediate array through the caches; chunk by chunk, a
chunk's intermediates stay in L2. The workspace is laid out chunk-major (chunk ``c`` of every
intermediate lies together; ``Plan``) because arrays one page apart map to the same cache sets:
with the plain layout, blocking ran W6 n=100 slower (273 -> 315 us); chunk-major 273 -> 197 us.
No workspace range is reused within the program (a later kernel's chunk would overwrite what an
earlier kernel's later chunk still reads). Measured on W6 (1024 float32, n=100, 2-core EPYC, 512 KB
L2 per core): 8-16 vectors of 16 per chunk ran fastest (197 us), 32: 225 us.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ...passes.fuse import fused
from . import vecmath
from .irtext import Func
from .memory import ALIGN

#: Vector blocks per chunk; 0 turns blocking off (tests compare both).
BLOCK_VECTORS = 16
#: Programs with more kernels run unblocked: W6 n=1000 (109 kernels) blocked ran 2510 -> 2215 us
#: but its LLVM time grew 300 -> 720 ms (first call over 1 s).
MAX_KERNELS = 32
#: Programs whose unblocked workspace is smaller fit in L2 anyway (W6 n=10, 13 KB: 16.0 -> 16.6 us
#: blocked).
MIN_WORKSPACE = 128 << 10


def candidate(steps, storage, threads_of, plain_bytes: int) -> bool:
    """Whether the kernels of ``steps`` may run chunk by chunk: all ``fused`` single-threaded flat
    elementwise kernels (no reduction or matmul in their bodies) whose values all have one element
    count and item size, at least two, with an unblocked workspace (``plain_bytes``) too large for
    the cache to hold. Whether their code takes ranges is known only once emitted (``plan``)."""
    if not BLOCK_VECTORS or not 2 <= len(steps) <= MAX_KERNELS or plain_bytes < MIN_WORKSPACE:
        return False
    sizes = set()
    for step in steps:
        node = step.node
        if node is None or node.prim is not fused or threads_of(step) != 1:
            return False
        body = node.attrs["body"]
        if any(not n.prim.elementwise and n.prim.name != "constant" for n in body.nodes):
            return False
        for v in (*step.reads, *step.writes):
            if storage[v].kind != "global":
                sizes.add((v.type.size, v.type.dtype.itemsize))
    return len(sizes) == 1


@dataclass
class Plan:
    """The chunk-major layout: ``offsets`` of each intermediate's chunk 0, and per chunk ``c`` the
    shift ``c * (stride - per_chunk)`` added to every intermediate's pointer."""

    offsets: dict
    chunks: list  # (lo, hi) in vector blocks
    stride: int  # bytes of one chunk of all intermediates
    per_chunk: int  # bytes of one full chunk of one array
    workspace: int


def plan(module, pending, steps) -> Plan | None:
    """A chunk layout for the emitted kernels ``pending`` ((name, stores, blocks) each), or None
    when some kernel took no range or the work fits in one chunk."""
    blocks = {b for _, _, b in pending}
    if len(blocks) != 1 or None in blocks:
        return None
    (n_blocks,) = blocks
    if n_blocks <= BLOCK_VECTORS:
        return None
    v = (steps[0].reads or steps[0].writes)[0]
    size, item = v.type.size, v.type.dtype.itemsize
    lanes = vecmath.lanes(module.vector_bits, item)
    if size // lanes != n_blocks:
        return None
    per_chunk = BLOCK_VECTORS * lanes * item
    room = -(-((BLOCK_VECTORS + 1) * lanes * item) // ALIGN) * ALIGN  # a full chunk plus the tail
    ws = [st for _, stores, _ in pending for st in stores if st.kind == "ws"]
    offsets = {st: k * room for k, st in enumerate(dict.fromkeys(ws))}
    stride = len(offsets) * room
    cuts = list(range(0, n_blocks, BLOCK_VECTORS)) + [n_blocks]
    chunks = list(itertools.pairwise(cuts))
    return Plan(offsets, chunks, stride, per_chunk, stride * len(chunks))


def emit_calls(module, main, pending, offsets, ptrs, layout: Plan | None) -> None:
    """Call the kernels of ``pending`` from ``graphc_main``: chunk by chunk over ``layout``, or
    (None) each once over its whole range with the plain ``offsets``."""
    if layout is None:
        for name, stores, blocks in pending:
            _call(module, main, name, stores, offsets, ptrs, ("0", str(blocks or 0), "0"))
        return
    # unrolled, the loop's hundreds of calls made LLVM's time on graphc_main 5x (W6 n=1000)
    main.meta_ids, main.loop_hint = module.meta_ids, ('!{!"llvm.loop.unroll.disable"}',)
    loop = main.loop_begin(len(layout.chunks))
    lo = main.op(f"mul i64 {loop.index}, {BLOCK_VECTORS}")
    hi = main.op(
        f"call i64 @llvm.umin.i64(i64 {main.op(f'add i64 {lo}, {BLOCK_VECTORS}')}, "
        f"i64 {layout.chunks[-1][1]})"
    )
    shift = main.op(f"mul i64 {loop.index}, {layout.stride - layout.per_chunk}")
    for name, stores, _ in pending:
        _call(module, main, name, stores, layout.offsets, ptrs, (lo, hi, shift))
    main.loop_end(loop)
    module.metadata += main.metadata
    main.metadata = []


def _call(module, main, name, stores, offsets, ptrs, lo_hi_shift) -> None:
    """``name.b(args, table, lo, hi, shift)``: the wrapper loads (slot, offset, shifted) triples
    and passes ``args[slot] + offset (+ shift for workspace buffers)`` and the range."""
    ws_slot = len(ptrs) - 1
    rows = [(s.slot, 0, 0) if s.kind == "arg" else (ws_slot, offsets[s], 1) for s in stores]
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
