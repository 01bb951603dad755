"""graphc.nn against NumPy formulas, eagerly and traced, including extreme logits."""

import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn

rng = np.random.default_rng(0)


def _np_logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


def _np_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


REFERENCES = {
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "sigmoid": (nn.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "softplus": (nn.softplus, _np_softplus),
    "tanh": (nn.tanh, np.tanh),
    "softmax": (nn.softmax, lambda x: np.exp(x - _np_logsumexp(x, -1))),
    "log_softmax": (nn.log_softmax, lambda x: x - _np_logsumexp(x, -1)),
}


CASES = [
    (name, shape)
    for name in sorted(REFERENCES)
    for shape in [(), (5,), (3, 4), (2, 1, 3)]
    if not (name.endswith("softmax") and shape == ())  # softmax needs an axis
]


@pytest.mark.parametrize("name,shape", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_matches_numpy(name, shape, dtype):
    f, ref = REFERENCES[name]
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    expected = ref(x.astype(np.float64))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    eager = f(x)
    traced = gc.function(f, backend="reference")(x)
    assert traced.dtype == dtype
    np.testing.assert_allclose(eager, expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(traced, expected, rtol=tol, atol=tol)


def test_softmax_is_stable_for_huge_logits():
    x = np.array([[1e4, 0.0, -1e4], [3.0, 3.0, 3.0]], np.float32)
    out = gc.function(nn.softmax, backend="reference")(x)
    np.testing.assert_allclose(out, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)
    lse = gc.function(lambda x: nn.logsumexp(x, axis=1), backend="reference")(x)
    np.testing.assert_allclose(lse, [1e4, 3 + np.log(3)], rtol=1e-6)


def test_bce_with_logits_matches_formula_and_weights():
    x = rng.standard_normal((4, 3)) * 5
    y = (rng.random((4, 3)) > 0.5).astype(np.float64)
    w = rng.random(3)
    pw = rng.random(3) + 0.5
    sig = 1 / (1 + np.exp(-x))
    ref = -w * (pw * y * np.log(sig) + (1 - y) * np.log(1 - sig))
    got = nn.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction="none")
    np.testing.assert_allclose(got, ref, rtol=1e-10)
    np.testing.assert_allclose(nn.binary_cross_entropy_with_logits(x, y, reduction="sum"),
                               (-(y * np.log(sig) + (1 - y) * np.log(1 - sig))).sum(), rtol=1e-10)
    big = nn.binary_cross_entropy_with_logits(np.array([1e4, -1e4]), np.array([0.0, 1.0]),
                                              reduction="none")
    np.testing.assert_allclose(big, [1e4, 1e4])
    with pytest.raises(gc.GraphcError, match="reduction"):
        nn.binary_cross_entropy_with_logits(x, y, reduction="avg")


def test_softmax_cross_entropy_and_mse():
    logits = rng.standard_normal((5, 4))
    labels = np.eye(4)[rng.integers(0, 4, 5)]
    logp = logits - _np_logsumexp(logits, -1)
    np.testing.assert_allclose(nn.softmax_cross_entropy(logits, labels),
                               -(labels * logp).sum(-1).mean(), rtol=1e-12)
    a, b = rng.standard_normal(6), rng.standard_normal(6)
    np.testing.assert_allclose(nn.mse(a, b), np.mean((a - b) ** 2), rtol=1e-12)


def test_clipping():
    x = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(nn.clip_by_value(x, -1, 1), [-1, 0.5, 1])
    tree = {"a": np.array([3.0, 0.0]), "b": np.array([4.0])}
    clipped = nn.clip_by_global_norm(tree, 1.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [0.8])
    same = nn.clip_by_global_norm(tree, 10.0)
    np.testing.assert_allclose(same["a"], tree["a"])
