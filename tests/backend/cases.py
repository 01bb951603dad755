"""Shared helpers of the backend tests: one-node graphs, special input values, threads."""

from __future__ import annotations

import threading

import numpy as np

from graphc.ir import Builder, TensorType


def one_node(prim, in_types, attrs=None, name="case"):
    b = Builder(name)
    ins = [b.add_input(TensorType(tuple(s), np.dtype(d))) for s, d in in_types]
    outs = b.emit(prim, ins, attrs or {})
    return b.build(list(outs))


def special_values(dtype, shape, rng, positive=False, low=None, no_huge=False):
    """Random values plus the special ones (+-0, +-inf, NaN, extremes) of ``dtype``."""
    d = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if d.kind == "b":
        return rng.random(shape) < 0.5
    if d.kind == "i":
        info = np.iinfo(d)
        vals = rng.integers(-1000, 1000, size=n).astype(d)
        extras = np.array([0, 1, -1, info.min, info.max], dtype=d)
    else:
        vals = (rng.standard_normal(n) * 3).astype(d)
        extras = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e-30, 1.0], dtype=d)
    if positive:
        vals = np.abs(vals) + (d.type(0.01) if d.kind == "f" else 1)
        extras = extras[(extras > 0) | np.isnan(extras) if d.kind == "f" else extras > 0]
    if no_huge:  # e.g. sin/cos: the math library's accurate range ends at |x| = 1e5 (f32)
        extras = extras[~(np.abs(extras) > 1e5) | np.isnan(extras)] if d.kind == "f" else extras
    if low is not None:
        vals = np.maximum(vals, d.type(low))
        extras = extras[~(extras < low)]
    k = min(len(extras), n // 2)
    if k:
        vals[rng.choice(n, size=k, replace=False)] = extras[:k]
    return vals.reshape(shape)


def in_threads(work, n=6):
    """Run ``work(k)`` for k = 0..n-1 in n threads at once and wait for them all."""
    threads = [threading.Thread(target=work, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
