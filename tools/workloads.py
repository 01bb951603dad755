"""The benchmark workloads of BENCHMARKS.md: graphc versions, NumPy hand-derived gradients (the
baseline and the correctness check), and JAX versions used when JAX is installed.

Each ``make_<id>()`` returns a Workload: ``args`` (NumPy inputs), ``graphc()`` -> a callable,
``numpy`` (hand-gradient callable), and an optional ``jax()`` factory (a PyTorch column is not
written yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import graphc as gc
import graphc.numpy as gnp
import graphc.nn as gnn


@dataclass
class Workload:
    name: str
    args: tuple
    graphc: Callable
    numpy: Callable
    jax: Callable | None = None
    steps: int = 1  # calls per "iteration" (W4 runs a whole loop per iteration)


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

    return Workload("W1", (x, y), lambda: gc.value_and_grad(f), np_vg, jax_f)


# --- W2 and W7 --------------------------------------------------------------------------------------
def _w2_f(x):
    return gnp.sum(gnp.sin(x) * gnp.exp(-x * x) + 0.5 * gnp.tanh(x) + gnp.log1p(x * x))


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

    return Workload("W2", (x,), lambda: gc.grad(_w2_f), _w2_grad_np, jax_f)


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

        f = lambda x: jnp.sum(jnp.sin(x) * jnp.exp(-x * x) + 0.5 * jnp.tanh(x) + jnp.log1p(x * x))  # noqa
        return jax.jit(lambda x, v: jax.grad(lambda x: jnp.vdot(jax.grad(f)(x), v))(x))

    return Workload("W7", (x, v), lambda: gc.function(hvp), lambda x, v: _w2_hess_diag_np(x) * v, jax_f)


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

    return Workload("W3", (params, x, labels), lambda: gc.function(step), np_step, jax_f)


# --- W4 ---------------------------------------------------------------------------------------------
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
        f = gc.function(step)

        def loop(p, x, y):
            for _ in range(1000):
                p = f(p, x, y)
            return p

        return loop

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

        f = jax.jit(jstep)

        def loop(p, x, y):
            for _ in range(1000):
                p = f(p, x, y)
            return p

        return loop

    return Workload("W4", (p0, x, y), run_graphc, np_loop, jax_f, steps=1000)


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

    return Workload("W5", (w, b, x, y), lambda: gc.grad(loss, argnums=(0, 1)), np_grad, jax_f)


# --- W6 ---------------------------------------------------------------------------------------------
def make_w6(n):
    x = _rng().standard_normal(1024).astype(np.float32)

    def f(x):
        for _ in range(n):
            x = x + 0.01 * gnp.sin(x) * x
        return gnp.sum(x)

    def np_grad(x):
        tape = []
        for _ in range(n):
            tape.append(x)
            x = x + np.float32(0.01) * np.sin(x) * x
        g = np.ones_like(x)
        for xi in reversed(tape):
            g = g * (1 + np.float32(0.01) * (np.cos(xi) * xi + np.sin(xi)))
        return g

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jf(x):
            for _ in range(n):
                x = x + 0.01 * jnp.sin(x) * x
            return jnp.sum(x)

        return jax.jit(jax.grad(jf))

    return Workload(f"W6 n={n}", (x,), lambda: gc.grad(f), np_grad, jax_f)


def all_workloads():
    return {
        "W1": make_w1, "W2": make_w2, "W3": make_w3, "W4": make_w4, "W5": make_w5,
        "W6-10": lambda: make_w6(10), "W6-100": lambda: make_w6(100), "W6-1000": lambda: make_w6(1000),
        "W7": make_w7,
    }
