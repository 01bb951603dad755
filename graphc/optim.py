"""graphc.optim: optimizers as pure (init, update) pairs, usable inside a compiled train step.

    opt = graphc.optim.adam(1e-3)
    state = opt.init(params)
    params, state = opt.update(grads, state, params)

Unlike optax, ``update`` returns the new parameters (API.md's contract), not the updates. States are
pytrees of arrays, so they pass in and out of ``gc.function`` like parameters do. Each new state
leaf keeps its parameter's dtype; the step counter is an int32 0-d array.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from . import numpy as gnp
from .core import located
from .errors import ArgumentError
from .numpy._core import cast, lift, shape_of
from .trace.pytree import describe, flatten, tree_map, unflatten
from .trace.signature import leaf_paths

__all__ = ["Optimizer", "sgd", "adam", "rmsprop"]


class Optimizer(NamedTuple):
    """``init(params) -> state`` and ``update(grads, state, params) -> (params, state)``."""

    init: Callable
    update: Callable


def _map(who, f, trees):
    """Apply ``f`` leafwise to ``trees``, ``(name, tree)`` pairs in ``f``'s argument order ending
    with ``params``; ``f`` returns a tuple, one entry per output tree. Every tree must have the
    structure of ``params`` and each leaf its parameter's shape (a broadcast would silently
    reshape the parameter), else an ArgumentError naming ``who`` and the leaf."""
    flat = [(name, *flatten(tree)) for name, tree in trees]
    _, p_leaves, treedef = flat[-1]
    for name, _, tree in flat[:-1]:
        if tree != treedef:
            raise located(ArgumentError, f"{who}: {name} has the structure {describe(tree)}, "
                          f"but params has {describe(treedef)}")
    columns = list(zip(*(leaves for _, leaves, _ in flat), strict=True))
    for path, xs in zip(leaf_paths(treedef), columns, strict=True):
        want = shape_of(xs[-1])
        for (name, _, _), x in zip(flat[:-1], xs[:-1], strict=True):
            if shape_of(x) != want:
                raise located(ArgumentError, f"{who}: {name}{path} has shape {shape_of(x)}, "
                              f"but params{path} has shape {want}")
    results = [f(*xs) for xs in columns]
    if not results:
        return ()
    return tuple(unflatten(treedef, [r[i] for r in results]) for i in range(len(results[0])))


def _state(who, state, keys):
    """``state``, which must be what this optimizer's ``init`` returned (a dict of ``keys``)."""
    if type(state) is not dict or set(state) != set(keys):
        got = f"a dict with keys {list(state)}" if isinstance(state, dict) else (
            f"a {type(state).__name__}")
        raise located(ArgumentError, f"{who}: state must be what its init returned, a dict with "
                      f"keys {sorted(keys)}, got {got}")
    return state


def _zeros(params):
    return tree_map(gnp.zeros_like, params)


def _typed(value, like):
    return cast(value, lift(like).dtype)


def sgd(lr: Any, momentum: float = 0.0) -> Optimizer:
    """p <- p - lr * v, v <- momentum * v + g (PyTorch's SGD; plain SGD when momentum == 0).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> opt = gc.optim.sgd(0.5)
        >>> params = {"w": np.array([1.0, 2.0])}
        >>> state = opt.init(params)
        >>> params, state = opt.update({"w": np.array([1.0, -1.0])}, state, params)
        >>> print(params["w"])
        [0.5 2.5]
        >>> opt = gc.optim.sgd(0.5, momentum=0.5)
        >>> params = np.array([1.0])
        >>> state = opt.init(params)
        >>> for _ in range(2):
        ...     params, state = opt.update(np.array([1.0]), state, params)
        >>> print(params, state["velocity"])  # 1 - 0.5 * 1 - 0.5 * 1.5
        [-0.25] [1.5]
    """

    def init(params):
        return {"velocity": _zeros(params)} if momentum else {}

    def update(grads, state, params):
        if not momentum:
            _state("sgd.update", state, ())
            (new,) = _map("sgd.update", lambda g, p: (p - _typed(lr, p) * g,),
                          [("grads", grads), ("params", params)])
            return new, state

        def step(g, v, p):
            v = _typed(momentum, p) * v + g
            return p - _typed(lr, p) * v, v

        velocity = _state("sgd.update", state, ("velocity",))["velocity"]
        new, velocity = _map("sgd.update", step, [
            ("grads", grads), ("state['velocity']", velocity), ("params", params)])
        return new, {"velocity": velocity}

    return Optimizer(init, update)


def adam(lr: Any, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> Optimizer:
    """Adam (Kingma & Ba) with bias correction, eps outside the square root (as optax and PyTorch).

    Example (one compiled train step: gradient and update)::

        >>> import numpy as np
        >>> import graphc as gc
        >>> opt = gc.optim.adam(0.1)
        >>> loss = lambda p: np.sum(p["w"] ** 2)
        >>> @gc.function
        ... def step(params, state):
        ...     return opt.update(gc.grad(loss)(params), state, params)
        >>> params = {"w": np.array([1.0, -2.0])}
        >>> state = opt.init(params)
        >>> for _ in range(3):
        ...     params, state = step(params, state)
        >>> print(np.round(params["w"], 2), int(state["step"]))
        [ 0.7 -1.7] 3
    """

    def init(params):
        return {"step": gnp.zeros((), "int32"), "mu": _zeros(params), "nu": _zeros(params)}

    def update(grads, state, params):
        state = _state("adam.update", state, ("step", "mu", "nu"))
        step = state["step"] + 1

        def leaf(g, m, v, p):
            t = _typed(step, p)
            m = _typed(b1, p) * m + _typed(1 - b1, p) * g
            v = _typed(b2, p) * v + _typed(1 - b2, p) * g * g
            m_hat = m / (1 - gnp.power(_typed(b1, p), t))
            v_hat = v / (1 - gnp.power(_typed(b2, p), t))
            return p - _typed(lr, p) * m_hat / (gnp.sqrt(v_hat) + _typed(eps, p)), m, v

        new, mu, nu = _map("adam.update", leaf, [
            ("grads", grads), ("state['mu']", state["mu"]), ("state['nu']", state["nu"]),
            ("params", params)])
        return new, {"step": step, "mu": mu, "nu": nu}

    return Optimizer(init, update)


def rmsprop(lr: Any, decay: float = 0.9, eps: float = 1e-8) -> Optimizer:
    """RMSProp: s <- decay*s + (1-decay)*g², p <- p - lr*g/(sqrt(s)+eps).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> opt = gc.optim.rmsprop(0.01)
        >>> params = np.array([1.0, 1.0])
        >>> state = opt.init(params)
        >>> params, state = opt.update(np.array([2.0, -2.0]), state, params)
        >>> print(np.round(params, 4), np.round(state["nu"], 4))  # s = 0.1 * g ** 2
        [0.9684 1.0316] [0.4 0.4]
    """

    def init(params):
        return {"nu": _zeros(params)}

    def update(grads, state, params):
        def leaf(g, s, p):
            s = _typed(decay, p) * s + _typed(1 - decay, p) * g * g
            return p - _typed(lr, p) * g / (gnp.sqrt(s) + _typed(eps, p)), s

        nu = _state("rmsprop.update", state, ("nu",))["nu"]
        new, nu = _map("rmsprop.update", leaf, [
            ("grads", grads), ("state['nu']", nu), ("params", params)])
        return new, {"nu": nu}

    return Optimizer(init, update)
