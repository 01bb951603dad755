"""Flat elementwise programs run chunk by chunk (graphc/backend/llvm/blocking.py): results are
bit-identical to the unblocked program's, the chunk-major workspace keeps every intermediate apart,
and programs that must not be blocked are not."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.backend.llvm import blocking
from graphc.backend.llvm.tuning import Tuning
from graphc.backend.reference import evaluate

from .llvm_helper import jit_tuned


def _chain(n):
    def f(x):
        for _ in range(n):
            x = x + 0.01 * gnp.sin(x) * x
        return gnp.sum(x)

    return f


def _run(fun, x, block_vectors):
    """(result, lowered module) of ``fun`` compiled with ``block_vectors`` per chunk (and no
    minimum workspace, so small test programs are blocked too)."""
    (out,), lowered = jit_tuned(fun, [x], block_vectors=block_vectors, block_min_workspace=0)
    return np.asarray(out), lowered


def _blocked(lowered) -> bool:
    return ".b(ptr %args" in lowered.ir and "llvm.umin.i64" in lowered.ir


@pytest.mark.parametrize("size", [1000, 1024, 1031, 4099])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chain_grad_bit_identical(size, dtype):
    x = np.random.default_rng(size).standard_normal(size).astype(dtype)
    fun = gc.grad(_chain(12))
    ref, plain = _run(fun, x, 0)
    got, lowered = _run(fun, x, 2)
    assert not _blocked(plain)
    assert _blocked(lowered)
    assert got.dtype == ref.dtype and np.array_equal(got, ref)


def test_w6_like_chain_matches_reference_and_numpy():
    n = 20
    x = np.random.default_rng(0).standard_normal(1024).astype(np.float32)
    fun = gc.grad(_chain(n))
    got, lowered = _run(fun, x, Tuning().block_vectors)
    assert _blocked(lowered)
    g = gc.jit(fun)
    ref = evaluate(g.concrete(x).graph, [x])[0]
    np.testing.assert_allclose(got, ref, rtol=2e-6, atol=1e-6)
    tape, y = [], x.astype(np.float64)
    for _ in range(n):
        tape.append(y)
        y = y + 0.01 * np.sin(y) * y
    want = np.ones_like(y)
    for yi in reversed(tape):
        want = want * (1 + 0.01 * (np.cos(yi) * yi + np.sin(yi)))
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_workspace_not_reused_within_blocked_program():
    """A long float64 chain: the unblocked plan reuses the bytes of dead intermediates; blocked,
    every chunk of every intermediate has its own place (a later kernel's chunk must not overwrite
    what an earlier kernel's later chunk reads), and the values are the same bits."""
    x = np.random.default_rng(1).standard_normal(777)
    fun = gc.grad(_chain(40))
    ref, plain = _run(fun, x, 0)
    got, lowered = _run(fun, x, 3)
    assert _blocked(lowered) and len(lowered.kernels) > 2
    assert lowered.workspace_bytes >= plain.workspace_bytes
    assert np.array_equal(got, ref)


def test_chunk_layout_is_disjoint():
    class V:
        def __init__(self, size):
            self.type = type("T", (), {"size": size, "dtype": np.dtype(np.float32)})()

    class Step:
        reads, writes = [V(1031)], [V(1031)]

    stores = [object() for _ in range(5)]
    lanes = 16
    n_blocks = 1031 // lanes
    layout = blocking.layout([n_blocks, n_blocks], [Step()], stores, Tuning(block_vectors=2))
    assert layout is not None and len(layout.chunks) == -(-n_blocks // 2)
    spans = []
    for c, (lo, hi) in enumerate(layout.chunks):
        last = hi == n_blocks
        end = 1031 if last else hi * lanes
        for st in stores:
            base = layout.offsets[st] + c * (layout.stride - layout.per_chunk)
            spans.append((base + lo * lanes * 4, base + end * 4))
    spans.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert spans[0][0] >= 0 and spans[-1][1] <= layout.workspace


def test_not_blocked_with_reductions_or_broadcasts():
    x = np.random.default_rng(3).standard_normal(2048).astype(np.float32)
    m = np.random.default_rng(4).standard_normal((32, 64)).astype(np.float32)
    out, lowered = _run(lambda a: gnp.sin(a) * gnp.sum(gnp.cos(a)), x, 2)
    assert not _blocked(lowered)
    np.testing.assert_allclose(out, np.sin(x) * np.sum(np.cos(x)), rtol=1e-4)
    out, lowered = _run(lambda a: gnp.exp(a) + gnp.tanh(a[0]), m, 2)
    assert not _blocked(lowered)
    np.testing.assert_allclose(out, np.exp(m) + np.tanh(m[0]), rtol=1e-4)
