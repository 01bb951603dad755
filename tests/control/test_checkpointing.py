"""Checkpointed reverse mode of ``gc.while_loop(..., checkpoints=K)``: the binomial schedule
(``ops.control.reverse_loop``) keeps at most K carries and stays within its recomputation bound,
and compiled gradients equal the fully saved ones on both backends, forward mode included."""

import math
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm.plan import Tape, backend_plan
from graphc.ops.control import reverse_loop
from graphc.testing import check_grads

BACKENDS = ("reference", "llvm")


def _bound(n, k):
    """The recomputation bound ``t``: the least with ``C(k - 1 + t, t) >= n`` (k >= 2)."""
    t = 1
    while math.comb(k - 1 + t, t) < n:
        t += 1
    return t


@pytest.mark.parametrize("n", [0, 1, 2, 7, 100, 1000, 10_000])
@pytest.mark.parametrize("k", [1, 2, 3, 20, None])
def test_schedule_reverses_every_step_within_the_memory_and_work_bounds(n, k):
    if k is not None and k < 3 and n > 1000:
        pytest.skip("quadratic with one or two checkpoints")
    live, peak, steps = weakref.WeakSet(), [0], [0]

    class Carry:
        def __init__(self, i):
            self.i = i
            live.add(self)
            peak[0] = max(peak[0], len(live))

    def step(c):
        steps[0] += 1
        return Carry(c.i + 1)

    ct = reverse_loop(Carry(0), lambda c: c.i < n, step, lambda c, ct: ct + [c.i], [], k)
    assert ct == list(range(n - 1, -1, -1))  # every step once, last first
    if k is None:
        assert steps[0] == n
        return
    assert peak[0] <= k + 2  # the k checkpoints, the carry being advanced and its successor
    if k == 1:
        assert steps[0] <= n + n * (n - 1) // 2
    elif n > 1:
        assert steps[0] <= (_bound(n, k) + 1) * n


def _loss(checkpoints):
    def f(x, n):
        def body(c):
            v, i = c
            return v * 0.999 + 0.01 * np.sin(v) * v, i + 1

        v = gc.while_loop(lambda c: c[1] < n, body, (x, 0), checkpoints=checkpoints)[0]
        return (v ** 2).sum()

    return f


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n", [0, 1, 5, 37, 1000])
@pytest.mark.parametrize("k", [1, 3, 20])
def test_checkpointed_gradients_equal_the_saved_ones(backend, n, k):
    if k == 1 and n > 100:
        pytest.skip("quadratic with one checkpoint")
    x = np.linspace(-1.0, 2.0, 5)
    args = (x, np.int64(n))
    want = gc.function(gc.grad(_loss(None)), backend="reference")(*args)
    got = gc.function(gc.grad(_loss(k)), backend=backend)(*args)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_mode_and_second_order_work_under_checkpointing(backend):
    x, n = np.array([0.3, -0.6]), np.int64(9)
    h = gc.function(gc.hessian(lambda x: _loss(4)(x, n)), backend=backend)(x)
    h_ref = gc.function(gc.hessian(lambda x: _loss(None)(x, n)), backend="reference")(x)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12)
    jf = gc.function(gc.jacfwd(lambda x: _loss(4)(x, n)), backend=backend)(x)
    np.testing.assert_allclose(jf, gc.function(gc.grad(lambda x: _loss(None)(x, n)))(x),
                               rtol=1e-12)


def test_the_native_plan_keeps_k_carries_and_no_growing_stack():
    x = np.ones(1000)
    graph = gc.function(gc.grad(_loss(20))).concrete(x, np.int64(3)).graph
    (tape,) = [s for s in backend_plan(graph).steps if isinstance(s, Tape)]
    assert tape.checkpoints == 20 and tape.slots.nbytes == 20 * (x.nbytes + 8)


def test_a_long_checkpointed_loop_runs_natively():
    """100,000 steps of a 1,000-element carry with 20 checkpoints: 160 KB of slots where saving
    every step would take 800 MB (tools/loop_memory.py measures the peak RSS of both)."""
    x = np.linspace(-1.0, 1.0, 1000)
    g = gc.function(gc.grad(_loss(20)))(x, np.int64(100_000))
    d, v = np.ones_like(x), x.copy()
    for _ in range(100_000):
        d = d * (0.999 + 0.01 * (np.cos(v) * v + np.sin(v)))
        v = v * 0.999 + 0.01 * np.sin(v) * v
    np.testing.assert_allclose(g, 2 * v * d, rtol=1e-9, atol=1e-300)


@gc.checkpoint
def _block(p, x):
    """A layer whose internals (sin, the product, tanh) are recomputed in the backward pass."""
    return {"h": np.tanh(np.sin(x * p["w"]) * x + p["b"]), "n": (x * x).sum()}


def _deep(p, x):
    for _ in range(3):
        out = _block(p, x)
        x = out["h"] + 0.1 * out["n"]
    return (x ** 2).sum()


def _deep_plain(p, x):
    for _ in range(3):
        h = np.tanh(np.sin(x * p["w"]) * x + p["b"])
        x = h + 0.1 * (x * x).sum()
    return (x ** 2).sum()


@pytest.mark.parametrize("backend", BACKENDS)
def test_gc_checkpoint_gradients_equal_the_stored_ones(backend):
    p, x = {"w": np.array([0.5, -1.2, 0.8]), "b": np.float64(0.1)}, np.array([0.3, -0.7, 1.1])
    got = gc.function(gc.grad(_deep, argnums=(0, 1)), backend=backend)(p, x)
    want = gc.function(gc.grad(_deep_plain, argnums=(0, 1)), backend=backend)(p, x)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-13)
    for k in p:
        np.testing.assert_allclose(got[0][k], want[0][k], rtol=1e-13)
    jf = gc.function(gc.jacfwd(_deep, argnums=1), backend=backend)(p, x)
    np.testing.assert_allclose(jf, want[1], rtol=1e-12)
    assert _block(p, x)["n"] == (x * x).sum()  # eager: just the function


def test_gc_checkpoint_keeps_only_the_blocks_inputs_for_the_backward_pass():
    """The optimized gradient graph: three forward remat nodes returning only the block's
    results, and three backward ones recomputing the internals (no sin/tanh outside them)."""
    p, x = {"w": np.ones(3), "b": np.float64(0.1)}, np.ones(3)
    graph = gc.function(gc.grad(_deep)).concrete(p, x).graph
    remats = [n for n in graph.nodes if n.prim.name == "remat"]
    assert len(remats) == 6
    assert all(len(n.outputs) <= 3 for n in remats[:3])
    assert not {"sin", "tanh"} & {n.prim.name for n in graph.nodes}


def _nested(k):
    """A checkpointed while loop and a scan inside a scan's body: the native reverse function
    reads rows of the outer scan (its index is passed in)."""
    def f(xs, h):
        def step(h, x):
            v = gc.while_loop(lambda c: c[1] < 3, lambda c: (np.tanh(c[0] * x + h), c[1] + 1),
                              (h, 0), checkpoints=k)[0]
            inner = gc.scan(lambda a, r: (a * r + v, a.sum()), h, np.stack([x, x * 2]))[0]
            return inner * 0.5, v.sum()

        c, ys = gc.scan(step, h, xs)
        return (c ** 2).sum() + (ys ** 2).sum()

    return f


def test_checkpointed_loops_nested_in_scans():
    rng = np.random.default_rng(0)
    xs, h = rng.normal(size=(4, 3)), rng.normal(size=3)
    want = gc.function(gc.grad(_nested(None), argnums=(0, 1)), backend="reference")(xs, h)
    for k in (None, 2):
        got = gc.function(gc.grad(_nested(k), argnums=(0, 1)))(xs, h)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    check_grads(_nested(2), (xs, h), order=2)


def _inner_loop_in_a_checkpointed_one(steps):
    def f(x, n):
        def outer(c):
            v, i = c
            w = gc.while_loop(lambda d: d[1] < n, lambda d: (np.sin(d[0]) * v, d[1] + 1),
                              (v, 0))[0]
            return w * 0.5 + v, i + 1

        return gc.while_loop(lambda c: c[1] < steps, outer, (x, 0), checkpoints=2)[0].sum()

    return f


def test_a_saving_loop_inside_a_checkpointed_reverse_pass():
    """The inner loop's growing tape lives in the native reverse function: its out-of-memory
    exit returns a status the caller checks."""
    x = np.array([0.3, 0.7])
    f = _inner_loop_in_a_checkpointed_one(4)
    want = gc.function(gc.grad(f), backend="reference")(x, np.int64(3))
    np.testing.assert_allclose(gc.function(gc.grad(f))(x, np.int64(3)), want, rtol=1e-13)


_NESTED_OOM = """
import os, resource, sys, numpy as np, graphc as gc
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from test_checkpointing import _inner_loop_in_a_checkpointed_one
g = gc.function(gc.grad(_inner_loop_in_a_checkpointed_one(3)))
x = np.ones(100_000)
small = g(x, np.int64(2))
vsz = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
resource.setrlimit(resource.RLIMIT_AS, (vsz + (300 << 20), resource.RLIM_INFINITY))
try:
    g(x, np.int64(10_000))  # the inner tape: 10,000 carries of 800 KB
except MemoryError:
    print("MemoryError")
assert np.array_equal(g(x, np.int64(2)), small)
print("ok")
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_out_of_memory_inside_a_checkpointed_reverse_pass_is_a_memory_error():
    out = subprocess.run([sys.executable, "-c", _NESTED_OOM, __file__], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["MemoryError", "ok"]


def _nested_checkpointed(k_outer, k_inner):
    def f(x):
        def body(s):
            w = gc.while_loop(lambda t: t[1] < 3,
                              lambda t: (np.sin(t[0]) * x + 0.1, t[1] + 1), (s[0], 0),
                              checkpoints=k_inner)[0]
            return w, s[1] + 1

        return gc.while_loop(lambda s: s[1] < 4, body, (x, 0), checkpoints=k_outer)[0]

    return f


@pytest.mark.parametrize("ks", [(2, 2), (2, 1), (1, 2), (3, 3), (4, 2), (None, 2), (3, None)])
def test_checkpointed_loops_nested_in_checkpointed_loops(ks):
    """Each reverse function is defined once per module, the split helper too, whatever the
    nesting (a missing definition was a call through a null pointer)."""
    f = _nested_checkpointed(*ks)
    want = gc.function(gc.grad(f), backend="reference")(0.6)
    np.testing.assert_allclose(gc.function(gc.grad(f))(0.6), want, rtol=1e-13)


def test_scans_before_and_inside_checkpointed_loops():
    """A finished scan's index is not passed on to a later reverse function (it would not
    dominate the call)."""
    def inside(x):
        def body(s):
            c, _ = gc.scan(lambda c, a: (c * np.sin(a + c), c), s[0], np.arange(1.0, 3.0) * x)
            return c + x * 0.1, s[1] + 1

        return gc.while_loop(lambda s: s[1] < 3, body, (x, 0), checkpoints=2)[0]

    def before(x, p):
        def t(x):
            return gc.scan(lambda c, a: (c * np.sin(a), c * a), x, np.arange(1.0, 4.0) * x)[0]

        y = gc.cond(p, t, lambda x: x * 2.0, x)
        return gc.while_loop(lambda s: s[1] < 3, lambda s: (np.sin(s[0]) * 1.1, s[1] + 1),
                             (y, 0), checkpoints=2)[0]

    for f, args in ((inside, (0.6,)), (before, (0.4, True)), (before, (0.4, False))):
        want = gc.function(gc.grad(f), backend="reference")(*args)
        np.testing.assert_allclose(gc.function(gc.grad(f))(*args), want, rtol=1e-13)
    np.testing.assert_allclose(gc.function(gc.grad(gc.grad(inside)))(0.6),
                               gc.function(gc.grad(gc.grad(inside)), backend="reference")(0.6),
                               rtol=1e-12)
