"""graphc.optim: optimizers as pure (init, update) pairs, usable inside a compiled train step.

    opt = graphc.optim.adam(1e-3)
    state = opt.init(params)
    params, state = opt.update(grads, state, params)

Unlike optax, ``update`` returns the new parameters (API.md's contract), not the updates. States are
pytrees of arrays, so they pass in and out of ``gc.function`` like parameters do. Each new state
leaf keeps its parameter's dtype; the step counter is an int32 0-d array.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from . import numpy as gnp
from .numpy._core import cast, lift
from .trace.pytree import flatten, tree_map, unflatten

__all__ = ["Optimizer", "sgd", "adam", "rmsprop"]


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params) -> (params, state)``."""

    init: Callable
    update: Callable


def _map(f, *trees):
    """Apply ``f`` leafwise to trees of one structure; ``f`` returns a tuple, one entry per output tree."""
    leaves = [flatten(t)[0] for t in trees]
    treedef = flatten(trees[0])[1]
    results = [f(*xs) for xs in zip(*leaves, strict=True)]
    if not results:
        return ()
    return tuple(unflatten(treedef, [r[i] for r in results]) for i in range(len(results[0])))


def _zeros(params):
    return tree_map(gnp.zeros_like, params)


def _typed(value, like):
    return cast(value, lift(like).dtype)


def sgd(lr, momentum=0.0):
    """p <- p - lr * v, v <- momentum * v + g (PyTorch's SGD; plain SGD when momentum == 0)."""

    def init(params):
        return {"velocity": _zeros(params)} if momentum else {}

    def update(grads, state, params):
        if not momentum:
            (new,) = _map(lambda g, p: (p - _typed(lr, p) * g,), grads, params)
            return new, state

        def step(g, v, p):
            v = _typed(momentum, p) * v + g
            return p - _typed(lr, p) * v, v

        new, velocity = _map(step, grads, state["velocity"], params)
        return new, {"velocity": velocity}

    return Optimizer(init, update)


def adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba) with bias correction, eps outside the square root (as optax and PyTorch)."""

    def init(params):
        return {"step": gnp.zeros((), "int32"), "mu": _zeros(params), "nu": _zeros(params)}

    def update(grads, state, params):
        step = state["step"] + 1

        def leaf(g, m, v, p):
            t = _typed(step, p)
            m = _typed(b1, p) * m + _typed(1 - b1, p) * g
            v = _typed(b2, p) * v + _typed(1 - b2, p) * g * g
            m_hat = m / (1 - gnp.power(_typed(b1, p), t))
            v_hat = v / (1 - gnp.power(_typed(b2, p), t))
            return p - _typed(lr, p) * m_hat / (gnp.sqrt(v_hat) + _typed(eps, p)), m, v

        new, mu, nu = _map(leaf, grads, state["mu"], state["nu"], params)
        return new, {"step": step, "mu": mu, "nu": nu}

    return Optimizer(init, update)


def rmsprop(lr, decay=0.9, eps=1e-8):
    """RMSProp: s <- decay*s + (1-decay)*g², p <- p - lr*g/(sqrt(s)+eps)."""

    def init(params):
        return {"nu": _zeros(params)}

    def update(grads, state, params):
        def leaf(g, s, p):
            s = _typed(decay, p) * s + _typed(1 - decay, p) * g * g
            return p - _typed(lr, p) * g / (gnp.sqrt(s) + _typed(eps, p)), s

        new, nu = _map(leaf, grads, state["nu"], params)
        return new, {"nu": nu}

    return Optimizer(init, update)
