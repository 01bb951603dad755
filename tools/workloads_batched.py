"""The batched workloads of issue 14: W8, per-example gradients of W5's logistic regression over
a batch of 256 (``vmap(grad)``), and W9, the Jacobian of a 100 -> 100 ``tanh(W @ x)`` map. Each
against a hand-derived NumPy result, JAX's ``vmap``/``jacrev`` and ``torch.func``'s."""

from __future__ import annotations

import numpy as np

import graphc as gc
import graphc.nn as gnn
from workloads import Workload, _rng, _torch_factory


def make_w8():
    rng = _rng()
    xs = rng.standard_normal((256, 5)).astype(np.float32)
    ys = (rng.random((256, 3)) > 0.5).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)

    def loss(w, b, x, y):
        return gnn.binary_cross_entropy_with_logits(x @ w + b, y)

    def np_grads(w, b, xs, ys):
        dz = (1 / (1 + np.exp(-(xs @ w + b))) - ys) / ys.shape[1]  # (256, 3)
        return xs[:, :, None] * dz[:, None, :], dz

    def jax_f():
        import jax
        import jax.numpy as jnp

        def jloss(w, b, x, y):
            z = x @ w + b
            return jnp.mean(jnp.maximum(z, 0) - z * y + jnp.log1p(jnp.exp(-jnp.abs(z))))

        return jax.jit(jax.vmap(jax.grad(jloss, argnums=(0, 1)), in_axes=(None, None, 0, 0)))

    def torch_f(torch, tf):
        def tloss(w, b, x, y):
            z = x @ w + b
            return torch.mean(torch.relu(z) - z * y + torch.log1p(torch.exp(-torch.abs(z))))

        per = torch.func.vmap(torch.func.grad(tloss, argnums=(0, 1)), in_dims=(None, None, 0, 0))
        return tf.jit(per)

    return Workload("W8", (w, b, xs, ys), lambda: gc.function(gc.vmap(
        gc.grad(loss, argnums=(0, 1)), in_axes=(None, None, 0, 0))), np_grads, jax_f,
        _torch_factory(torch_f))


def make_w9():
    rng = _rng()
    w = (rng.standard_normal((100, 100)) / 10).astype(np.float32)
    x = rng.standard_normal(100).astype(np.float32)

    def np_jac(x, w):
        return (1 - np.tanh(w @ x) ** 2)[:, None] * w

    def jax_f():
        import jax
        import jax.numpy as jnp

        return jax.jit(jax.jacrev(lambda x, w: jnp.tanh(w @ x)))

    def torch_f(torch, tf):
        return tf.jit(torch.func.jacrev(lambda x, w: torch.tanh(w @ x)))

    return Workload("W9", (x, w), lambda: gc.function(gc.jacobian(lambda x, w: np.tanh(w @ x))),
                    np_jac, jax_f, _torch_factory(torch_f))
