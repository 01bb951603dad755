"""graphc.optim against hand-written NumPy updates, eagerly and inside a compiled step."""

import numpy as np
import pytest

import graphc as gc
import graphc.optim as optim

rng = np.random.default_rng(1)


def _np_adam(p, grads, lr, b1, b2, eps):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


def _np_sgd(p, grads, lr, momentum):
    v = np.zeros_like(p)
    for g in grads:
        v = momentum * v + g
        p = p - lr * v
    return p


def _np_rmsprop(p, grads, lr, decay, eps):
    s = np.zeros_like(p)
    for g in grads:
        s = decay * s + (1 - decay) * g * g
        p = p - lr * g / (np.sqrt(s) + eps)
    return p


CASES = {
    "adam": (optim.adam(0.05), lambda p, gs: _np_adam(p, gs, 0.05, 0.9, 0.999, 1e-8)),
    "sgd": (optim.sgd(0.1), lambda p, gs: _np_sgd(p, gs, 0.1, 0.0)),
    "sgd_momentum": (optim.sgd(0.1, momentum=0.9), lambda p, gs: _np_sgd(p, gs, 0.1, 0.9)),
    "rmsprop": (optim.rmsprop(0.01), lambda p, gs: _np_rmsprop(p, gs, 0.01, 0.9, 1e-8)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("compiled", [False, True])
def test_optimizer_matches_numpy(name, compiled):
    opt, ref = CASES[name]
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    grads = [{"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)} for _ in range(4)]
    update = gc.function(opt.update, backend="reference") if compiled else opt.update
    state = opt.init(params)
    p = params
    for g in grads:
        p, state = update(g, state, p)
    for k in params:
        np.testing.assert_allclose(p[k], ref(params[k], [g[k] for g in grads]), rtol=1e-10)


def test_state_keeps_float32_dtypes():
    opt = optim.adam(1e-2)
    params = {"w": np.ones(3, np.float32)}
    state = opt.init(params)
    new, state = gc.function(opt.update, backend="reference")({"w": np.ones(3, np.float32)}, state, params)
    assert new["w"].dtype == np.float32
    assert state["mu"]["w"].dtype == np.float32
    assert state["step"].dtype == np.int32 and int(state["step"]) == 1
