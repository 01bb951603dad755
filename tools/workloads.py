"""The benchmark workloads of BENCHMARKS.md: graphc versions, NumPy hand-derived gradients (the
baseline and the correctness check), and JAX and PyTorch versions used when those are installed.

Each ``make_<id>()`` returns a Workload: ``args`` (NumPy inputs), ``graphc()`` -> a callable,
``numpy`` (hand-gradient callable), and optional ``jax()`` and ``torch(compiled=False)`` factories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np

import graphc as gc
import graphc.nn as gnn
import graphc.numpy as gnp
from graphc.trace.pytree import flatten, tree_map, unflatten


@dataclass
class Workload:
    name: str
    args: tuple
    graphc: Callable
    numpy: Callable
    jax: Callable | None = None
    torch: Callable | None = None  # torch(compiled: bool) -> callable; see _torch_factory
    steps: int = 1  # calls per "iteration" (W4 runs a whole loop per iteration)
    torch_compiles: bool = True  # False where torch.compile does not finish in minutes (W6)


def _torch_factory(build):
    """A ``Workload.torch`` factory. ``build(torch, tf)`` returns a function of tensors, ``tf``
    giving ``jit`` (identity or ``torch.compile``), ``grad`` and ``value_and_grad``; the callable
    returned takes and returns NumPy like the other systems (``torch.from_numpy`` shares memory,
    so the conversions are cheap). torch uses 2 threads (the machine's cores), as in BENCHMARKS.md.

    Eager differentiates with ``torch.autograd.grad``: what eager users write, and half the
    per-call overhead of ``torch.func.grad`` (W1: ~100 µs against ~240 µs). torch.compile gets
    ``torch.func`` transforms, which it traces whole (``autograd.grad`` would break its graph)."""

    def factory(compiled=False):
        import torch

        torch.set_num_threads(2)
        if compiled:
            tf = SimpleNamespace(jit=torch.compile, grad=torch.func.grad,
                                 value_and_grad=partial(_func_value_and_grad, torch))
        else:
            tf = SimpleNamespace(jit=lambda f: f, grad=partial(_autograd, torch),
                                 value_and_grad=partial(_autograd, torch, with_value=True))
        fn = build(torch, tf)

        def call(*args):
            out = fn(*tree_map(lambda a: torch.from_numpy(np.asarray(a)), args))
            return tree_map(lambda t: t.numpy(), out)

        return call

    return factory


def _func_value_and_grad(torch, f, argnums=0):
    """``(value, grad)`` like graphc/JAX; ``torch.func.grad_and_value`` gives ``(grad, value)``."""
    gv = torch.func.grad_and_value(f, argnums=argnums)

    def vg(*args):
        g, v = gv(*args)
        return v, g

    return vg


def _autograd(torch, f, argnums=0, with_value=False):
    """JAX-style ``grad``/``value_and_grad`` (pytree arguments) on ``torch.autograd.grad``."""
    nums = (argnums,) if isinstance(argnums, int) else argnums

    def run(*args):
        args = list(args)
        for i in nums:
            args[i] = tree_map(lambda t: t.detach().requires_grad_(), args[i])
        value = f(*args)
        leaves, treedef = flatten([args[i] for i in nums])
        grads = unflatten(treedef, list(torch.autograd.grad(value, leaves)))
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
        return (value.detach(), g) if with_value else g

    return run


def _rng():
    return np.random.default_rng(0)


# --- W1 ---------------------------------------------------------------------------------------------
def make_w1():
    rng = _rng()
    x, y = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)

    def f(x, y):
        return gnp.sum((x - y) ** 2)

    def np_vg(x, y):
        d = x - y
        return np.sum(d * d), 2 * d

    def jax_f():
        import jax
        import jax.numpy as jnp

        return jax.jit(jax.value_and_grad(lambda x, y: jnp.sum((x - y) ** 2)))

    def torch_f(torch, tf):
        return tf.jit(tf.value_and_grad(lambda x, y: torch.sum((x - y) ** 2)))

    return Workload("W1", (x, y), lambda: gc.value_and_grad(f), np_vg, jax_f, _torch_factory(torch_f))


# --- W2 and W7 --------------------------------------------------------------------------------------
def _w2_f(x):
    return gnp.sum(gnp.sin(x) * gnp.exp(-x * x) + 0.5 * gnp.tanh(x) + gnp.log1p(x * x))


def _w2_f_torch(torch):
    return lambda x: torch.sum(torch.sin(x) * torch.exp(-x * x) + 0.5 * torch.tanh(x)
                               + torch.log1p(x * x))


def _w2_grad_np(x):
    e = np.exp(-x * x)
    t = np.tanh(x)
    return np.cos(x) * e - 2 * x * np.sin(x) * e + 0.5 * (1 - t * t) + 2 * x / (1 + x * x)


def make_w2():
    x = _rng().standard_normal(1_000_000).astype(np.float32)

    def jax_f():
        import jax
        import jax.numpy as jnp

        return jax.jit(jax.grad(lambda x: jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + 0.5 * jnp.tanh(x)
                                                  + jnp.log1p(x * x))))

    def torch_f(torch, tf):
        return tf.jit(tf.grad(_w2_f_torch(torch)))

    return Workload("W2", (x,), lambda: gc.grad(_w2_f), _w2_grad_np, jax_f, _torch_factory(torch_f))


def _w2_hess_diag_np(x):
    """Second derivative of W2's f (its Hessian is diagonal)."""
    s, c, e, t = np.sin(x), np.cos(x), np.exp(-x * x), np.tanh(x)
    d2 = (-s * e - 4 * x * c * e + (4 * x * x - 2) * s * e) - t * (1 - t * t) \
        + (2 - 2 * x * x) / (1 + x * x) ** 2
    return d2


def make_w7():
    rng = _rng()
    x = rng.standard_normal(10_000).astype(np.float32)
    v = rng.standard_normal(10_000).astype(np.float32)

    def hvp(x, v):
        return gc.grad(lambda x: gnp.sum(gc.grad(_w2_f)(x) * v))(x)

    def jax_f():
        import jax
        import jax.numpy as jnp

        f = lambda x: jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + 0.5 * jnp.tanh(x) + jnp.log1p(x * x))
        return jax.jit(lambda x, v: jax.grad(lambda x: jnp.vdot(jax.grad(f)(x), v))(x))

    def torch_f(torch, tf):
        grad = torch.func.grad  # grad of grad: torch.func's way (eager and compiled alike)
        f = _w2_f_torch(torch)
        return tf.jit(lambda x, v: grad(lambda x: torch.vdot(grad(f)(x), v))(x))

    return Workload("W7", (x, v), lambda: gc.function(hvp), lambda x, v: _w2_hess_diag_np(x) * v, jax_f,
                    _torch_factory(torch_f))


# --- W3 ---------------------------------------------------------------------------------------------
def _mlp_params(rng, dtype=np.float32):
    return {
        "W1": (rng.standard_normal((784, 512)) * 0.05).astype(dtype),
        "b1": np.zeros(512, dtype),
        "W2": (rng.standard_normal((512, 10)) * 0.05).astype(dtype),
        "b2": np.zeros(10, dtype),
    }


def make_w3():
    rng = _rng()
    params = _mlp_params(rng)
    x = rng.standard_normal((256, 784)).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 256)]

    def loss(p, x, y):
        h = gnn.relu(x @ p["W1"] + p["b1"])
        return gnn.softmax_cross_entropy(h @ p["W2"] + p["b2"], y)

    def step(p, x, y):
        value, g = gc.value_and_grad(loss)(p, x, y)
        return {k: p[k] - 0.01 * g[k] for k in p}, value

    def np_step(p, x, y):
        z1 = x @ p["W1"] + p["b1"]
        h = np.maximum(z1, 0)
        logits = h @ p["W2"] + p["b2"]
        m = logits.max(1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(1, keepdims=True)
        logp = logits - m - np.log(s)
        value = -(y * logp).sum(1).mean()
        dlogits = (e / s - y) / x.shape[0]
        dh = dlogits @ p["W2"].T
        dz1 = dh * (z1 > 0)
        g = {"W2": h.T @ dlogits, "b2": dlogits.sum(0), "W1": x.T @ dz1, "b1": dz1.sum(0)}
        return {k: p[k] - 0.01 * g[k] for k in p}, value

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jloss(p, x, y):
            h = jnp.maximum(x @ p["W1"] + p["b1"], 0)
            logits = h @ p["W2"] + p["b2"]
            return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(logits), axis=-1))

        def jstep(p, x, y):
            value, g = jax.value_and_grad(jloss)(p, x, y)
            return {k: p[k] - 0.01 * g[k] for k in p}, value

        return jax.jit(jstep)

    def torch_f(torch, tf):
        def tloss(p, x, y):
            h = torch.relu(x @ p["W1"] + p["b1"])
            return -torch.mean(torch.sum(y * torch.log_softmax(h @ p["W2"] + p["b2"], -1), -1))

        def tstep(p, x, y):
            value, g = tf.value_and_grad(tloss)(p, x, y)
            return {k: p[k] - 0.01 * g[k] for k in p}, value

        return tf.jit(tstep)

    return Workload("W3", (params, x, labels), lambda: gc.function(step), np_step, jax_f,
                    _torch_factory(torch_f))


# --- W4 ---------------------------------------------------------------------------------------------
def _loop(step, steps=1000):
    """W4's training loop from Python: one call of the compiled ``step`` per iteration (kept as
    ``loop.step``: the bench reads graphc's first-call breakdown from it)."""

    def loop(p, x, y):
        for _ in range(steps):
            p = step(p, x, y)
        return p

    loop.step = step
    return loop


def make_w4():
    rng = _rng()
    x = rng.standard_normal(1000).astype(np.float32)
    y = (3 * x + 2 + 0.1 * rng.standard_normal(1000)).astype(np.float32)
    p0 = {"w": np.float32(0.0) * np.ones((), np.float32), "b": np.zeros((), np.float32)}

    def loss(p, x, y):
        return gnp.mean((p["w"] * x + p["b"] - y) ** 2)

    def step(p, x, y):
        g = gc.grad(loss)(p, x, y)
        return {k: p[k] - 0.1 * g[k] for k in p}

    def run_graphc():
        return _loop(gc.function(step))

    def np_loop(p, x, y):
        for _ in range(1000):
            r = p["w"] * x + p["b"] - y
            g = {"w": np.mean(2 * r * x), "b": np.mean(2 * r)}
            p = {k: p[k] - np.float32(0.1) * g[k] for k in p}
        return p

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jstep(p, x, y):
            g = jax.grad(lambda p: jnp.mean((p["w"] * x + p["b"] - y) ** 2))(p)
            return {k: p[k] - 0.1 * g[k] for k in p}

        return _loop(jax.jit(jstep))

    def torch_f(torch, tf):
        def tstep(p, x, y):
            g = tf.grad(lambda p: torch.mean((p["w"] * x + p["b"] - y) ** 2))(p)
            return {k: p[k] - 0.1 * g[k] for k in p}

        return _loop(tf.jit(tstep))

    return Workload("W4", (p0, x, y), run_graphc, np_loop, jax_f, _torch_factory(torch_f), steps=1000)


# --- W5 ---------------------------------------------------------------------------------------------
def make_w5():
    rng = _rng()
    x = rng.standard_normal(5).astype(np.float32)
    y = (rng.random(3) > 0.5).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)

    def loss(w, b, x, y):
        return gnn.binary_cross_entropy_with_logits(x @ w + b, y)

    def np_grad(w, b, x, y):
        z = x @ w + b
        dz = (1 / (1 + np.exp(-z)) - y) / z.size
        return np.outer(x, dz), dz

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jloss(w, b, x, y):
            z = x @ w + b
            return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

        return jax.jit(jax.grad(jloss, argnums=(0, 1)))

    def torch_f(torch, tf):
        def tloss(w, b, x, y):
            z = x @ w + b
            return torch.mean(torch.relu(z) - z * y + torch.log1p(torch.exp(-torch.abs(z))))

        return tf.jit(tf.grad(tloss, argnums=(0, 1)))

    return Workload("W5", (w, b, x, y), lambda: gc.grad(loss, argnums=(0, 1)), np_grad, jax_f,
                    _torch_factory(torch_f))


# --- W6 ---------------------------------------------------------------------------------------------
def _chain_grad(x, n):
    """The hand gradient of ``n`` steps of ``x + 0.01 sin(x) x`` summed (W6 and L1)."""
    tape = []
    for _ in range(n):
        tape.append(x)
        x = x + np.float32(0.01) * np.sin(x) * x
    g = np.ones_like(x)
    for xi in reversed(tape):
        g = g * (1 + np.float32(0.01) * (np.cos(xi) * xi + np.sin(xi)))
    return g


def make_w6(n):
    x = _rng().standard_normal(1024).astype(np.float32)

    def f(x):
        for _ in range(n):
            x = x + 0.01 * gnp.sin(x) * x
        return gnp.sum(x)

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jf(x):
            for _ in range(n):
                x = x + 0.01 * jnp.sin(x) * x
            return jnp.sum(x)

        return jax.jit(jax.grad(jf))

    def torch_f(torch, tf):
        def chain(x):
            for _ in range(n):
                x = x + 0.01 * torch.sin(x) * x
            return torch.sum(x)

        return tf.jit(tf.grad(chain))

    # torch.compile of n=10 did not finish in 290 s (BENCHMARKS.md), nor in 240 s here: no column
    return Workload(f"W6 n={n}", (x,), lambda: gc.grad(f), partial(_chain_grad, n=n), jax_f,
                    _torch_factory(torch_f), torch_compiles=False)


# --- L1 -------------------------------------------------------------------------------------------
def make_l1(steps=1000, size=1000):
    """Issue 11's loop workload: the gradient with respect to the initial state of ``steps``
    steps of W6's update on a ``size``-element state, written as a ``gc.while_loop`` (a native
    loop, its reverse pass saving the carries in growing storage). JAX cannot reverse a
    ``while_loop``: its column is ``fori_loop`` with the same static trip count (a ``scan``)."""
    x = _rng().standard_normal(size).astype(np.float32)

    def f(x):
        def body(c):
            v, i = c
            return v + 0.01 * gnp.sin(v) * v, i + 1

        return gnp.sum(gc.while_loop(lambda c: c[1] < steps, body, (x, 0))[0])

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jf(x):
            return jnp.sum(jax.lax.fori_loop(0, steps, lambda i, v: v + 0.01 * jnp.sin(v) * v, x))

        return jax.jit(jax.grad(jf))

    return Workload(f"L1 while {steps}x{size}", (x,), lambda: gc.grad(f),
                    partial(_chain_grad, n=steps), jax_f)


# --- P1000 -------------------------------------------------------------------------------------------
def make_p(n):
    """The gradient of a loss over a pytree of ``n`` parameters of mixed small shapes (issue 9: a
    1,000-leaf pytree once took minutes to compile; time must grow linearly with the leaves)."""
    rng = _rng()
    shapes = [(3,), (4, 2), (), (5,)]
    params = {f"p{i}": rng.standard_normal(shapes[i % 4]).astype(np.float32) for i in range(n)}

    def f(p):
        return sum(gnp.sum(gnp.sin(w) * w) for w in p.values())

    def np_grad(p):
        return {k: np.cos(w) * w + np.sin(w) for k, w in p.items()}

    def jax_f():
        import jax
        import jax.numpy as jnp

        return jax.jit(jax.grad(lambda p: sum(jnp.sum(jnp.sin(w) * w) for w in p.values())))

    def torch_f(torch, tf):
        return tf.jit(tf.grad(lambda p: sum(torch.sum(torch.sin(w) * w) for w in p.values())))

    return Workload(f"P n={n}", (params,), lambda: gc.grad(f), np_grad, jax_f, _torch_factory(torch_f))


def all_workloads():
    from workloads_batched import make_w8, make_w9

    return {
        "W1": make_w1, "W2": make_w2, "W3": make_w3, "W4": make_w4, "W5": make_w5,
        "W6-10": lambda: make_w6(10), "W6-100": lambda: make_w6(100), "W6-1000": lambda: make_w6(1000),
        "W6-10000": lambda: make_w6(10_000),
        "W7": make_w7, "W8": make_w8, "W9": make_w9, "P1000": lambda: make_p(1000),
        "L1": make_l1,
    }
