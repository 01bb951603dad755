"""Workspace planning: every intermediate array gets an offset in one workspace sized at compile
time.

Algorithm: linear scan over the kernels in execution order with a first-fit free list. Before kernel
``i`` runs, its outputs and scratch panels are allocated (so they never overlap anything it reads);
after it, its scratch panels and every buffer whose last reader is kernel ``i`` (or that nobody
reads) return to the free list, where neighbouring free ranges coalesce. Offsets are 64-byte aligned
(a cache line, the widest vector). The workspace size is the high-water mark.
"""

from __future__ import annotations

ALIGN = 64


def round_up(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class _FreeList:
    def __init__(self):
        self.free: list[list[int]] = []  # sorted [offset, size]
        self.end = 0

    def alloc(self, size: int) -> int:
        size = round_up(max(size, 1))
        for k, (off, n) in enumerate(self.free):
            if n >= size:
                if n == size:
                    self.free.pop(k)
                else:
                    self.free[k] = [off + size, n - size]
                return off
        if self.free and self.free[-1][0] + self.free[-1][1] == self.end:
            off = self.free.pop()[0]
        else:
            off = self.end
        self.end = off + size
        return off

    def release(self, off: int, size: int) -> None:
        size = round_up(max(size, 1))
        self.free.append([off, size])
        self.free.sort()
        merged = [self.free[0]]
        for o, n in self.free[1:]:
            if merged[-1][0] + merged[-1][1] == o:
                merged[-1][1] += n
            else:
                merged.append([o, n])
        self.free = merged


def plan(steps, sizes: dict) -> tuple[dict, int]:
    """``steps``: per kernel (defs, uses, temps) lists of buffer keys (only workspace buffers);
    ``sizes``: bytes per key. Returns ({key: offset}, workspace bytes)."""
    last = {}
    for i, (defs, uses, temps) in enumerate(steps):
        for k in (*defs, *uses):
            last[k] = i
    fl, offsets = _FreeList(), {}
    for i, (defs, uses, temps) in enumerate(steps):
        for k in (*defs, *temps):
            if k not in offsets:
                offsets[k] = fl.alloc(sizes[k])
        for k in temps:
            fl.release(offsets[k], sizes[k])
        for k in dict.fromkeys((*uses, *defs)):
            if last.get(k) == i:
                fl.release(offsets[k], sizes[k])
    return offsets, fl.end
