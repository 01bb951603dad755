"""``cond`` compiled natively: each branch is fused and planned as a body program (plan.py's
``Cond`` step) that reads the operands' buffers and writes the results' buffers, its own values
past the enclosing workspace. Compiled results equal the reference evaluator's (to 4 ulp where
a branch calls a math function: graphc's math library is not NumPy's; exactly otherwise)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphc as gc
from graphc import config
from graphc.backend.llvm.plan import Cond, backend_plan
from graphc.backend.llvm.tuning import Tuning


def _both(fun, *args):
    """The compiled and the reference results of ``fun``, as lists of arrays."""
    got = gc.function(fun, backend="llvm")(*args)
    want = gc.function(fun, backend="reference")(*args)
    flat = lambda r: [np.asarray(a) for a in (r if isinstance(r, tuple) else (r,))]  # noqa: E731
    return flat(got), flat(want)


def _assert_same(fun, *args, rtol=None):
    """Equal results; ``rtol`` for products and sums (their summation order is the backend's)."""
    got, want = _both(fun, *args)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        if rtol is not None:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)
        elif g.dtype.kind == "f":
            np.testing.assert_array_max_ulp(g, w, maxulp=4)
        else:
            np.testing.assert_array_equal(g, w)


def _passthrough(x, y):
    """Results: a computed value, an operand returned unchanged, a constant, one value twice."""
    def yes(a, b):
        t = np.exp(a) * b
        return t, a, np.ones_like(a), t

    def no(a, b):
        return a - 1.0, b, a * 0.0 + 2.0, a
    return gc.cond(x.sum() > 0, yes, no, x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5)])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_results_equal_the_reference(dtype, shape, sign):
    rng = np.random.default_rng(len(shape))
    x = (sign * np.abs(rng.standard_normal(shape)) + sign * 0.1).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    _assert_same(_passthrough, x, y)


def test_integer_operands_and_a_captured_constant():
    table = np.arange(6, dtype=np.int64).reshape(2, 3)

    def f(n, x):
        return gc.cond(n > 2, lambda m: m * table + 1, lambda m: table - m, n + x)
    for n in (0, 5):
        _assert_same(f, np.int64(n), np.arange(3, dtype=np.int64))


def test_nested_conds_with_matmul_and_reductions():
    def f(a, b):
        def inner(u, v):
            return gc.cond(u.max() > 1.0, lambda p, q: p @ q, lambda p, q: p @ q.T @ q * 0.5, u, v)

        return gc.cond(a.sum() > 0, inner, lambda u, v: (u * 3.0) @ v + v.sum(), a, b)
    rng = np.random.default_rng(3)
    b = rng.standard_normal((4, 4)).astype(np.float32)
    for scale in (2.0, 0.1, -1.0):
        x = (scale * np.abs(rng.standard_normal((3, 4)))).astype(np.float32)
        _assert_same(f, x, b, rtol=1e-5)


def test_values_live_across_the_cond_are_kept():
    """An outer workspace value computed before the cond and read after it survives the branch's
    own values (they live past the enclosing workspace)."""
    def f(x):
        before = np.exp(x) + 1.0
        c = gc.cond(x[0] > 0, lambda a: np.sin(a) * np.cos(a) + a * a, lambda a: a - 3.0, x)
        return c * before + before.sum()
    x = np.linspace(-1, 2, 257).astype(np.float32)
    _assert_same(f, x, rtol=1e-5)
    _assert_same(f, -x, rtol=1e-5)


def test_plan_shows_both_bodies():
    def f(x, y):
        return gc.cond(x.sum() > 0, lambda a, b: (np.exp(a) * b, a), lambda a, b: (a - 1.0, a), x, y)
    t = np.zeros(5, np.float32)
    graph = gc.function(f, backend="llvm").concrete(t, t).graph
    program = backend_plan(graph, Tuning())
    step = program.steps[-1]
    assert isinstance(step, Cond)
    assert str(program) == """\
program: 2 kernels, workspace 128 bytes, calls direct
  k0_reduce_sum  reduce (5,)  in arg0 -> ws@0  scalar
  k1_fused  region ()  in ws@0 -> ws@64  scalar
  if ws@64, workspace at 0:
    program: 2 kernels, workspace 0 bytes, calls direct
      k2_t0_fused  region (5,)  in arg0 arg1 -> arg2  scalar  math inline
      k2_t1_copy  copy (5,)  in arg0 -> arg3  scalar
  else:
    program: 2 kernels, workspace 0 bytes, calls direct
      k2_f0_fused  region (5,)  in arg0 -> arg2  scalar
      k2_f1_copy  copy (5,)  in arg0 -> arg3  scalar"""


def test_branch_workspace_lies_past_the_enclosing_one():
    def f(x):
        return gc.cond(x[0, 0] > 0, lambda a: np.exp(a) @ np.exp(a).T, lambda a: a @ a.T, x).sum()
    x = np.ones((16, 16), np.float32)
    program = backend_plan(gc.function(f, backend="llvm").concrete(x).graph, Tuning())
    cond = next(s for s in program.steps if isinstance(s, Cond))
    outer = max(b.offset + b.nbytes for k in program.steps if not isinstance(k, Cond)
                for b in k.buffers if b.kind == "ws")
    inner = [b for k in cond.then.steps for b in k.buffers if b.kind == "ws"
             and b not in {b for k2 in program.steps if not isinstance(k2, Cond) for b in k2.buffers}]
    assert inner and min(b.offset for b in inner) >= outer
    assert program.workspace >= max(b.offset + b.nbytes for b in inner)
    _assert_same(f, x, rtol=1e-5)
    _assert_same(f, -x, rtol=1e-5)


def test_a_branch_big_enough_for_threads(monkeypatch):
    monkeypatch.setattr(config, "threads", 2)
    def f(x):
        return gc.cond(x[0] > 0, lambda a: np.tanh(np.exp(a) * a) * np.sin(a), lambda a: -a, x)
    x = np.linspace(0.5, 1.5, 1 << 21).astype(np.float32)
    program = backend_plan(gc.function(f, backend="llvm").concrete(x).graph,
                           Tuning.from_config())
    cond = next(s for s in program.steps if isinstance(s, Cond))
    assert cond.then.steps[0].split.threads == 2
    _assert_same(f, x)
    _assert_same(f, -x)


def test_called_from_threads_at_once():
    compiled = gc.function(lambda p, x: gc.cond(p, lambda a: a * 2.0, lambda a: a - 5.0, x))
    x = np.arange(1000, dtype=np.float64)
    errors = []

    def work(k):
        for i in range(50):
            flag = (i + k) % 2 == 0
            got = compiled(np.bool_(flag), x)
            if not np.array_equal(got, x * 2.0 if flag else x - 5.0):
                errors.append((k, i))
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
