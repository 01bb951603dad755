"""graphc.nn at NaN, +-inf and masked logits (issue 8 item 3), eagerly and on both backends,
float32 and float64, one row and rows repeated 17 and 1000 times. Expected values are known
ones from the definitions (limits where they exist; JAX's NaN rows for softmax where not)."""

import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn
import graphc.numpy as gnp

BACKENDS = ["eager", "reference", "llvm"]
DTYPES = [np.float32, np.float64]
inf, nan = np.inf, np.nan
LOG2 = 0.6931471805599453


def run(f, backend, *args):
    return f(*args) if backend == "eager" else gc.function(f, backend=backend)(*args)


def _rows(row, dtype, n):
    """``row`` itself (n None) or stacked n times."""
    row = np.array(row, dtype)
    return row if n is None else np.tile(row, (n, 1))


def _check(f, row, want, dtype, backend, *extra):
    for n in (None, 1, 17, 1000):
        got = run(f, backend, _rows(row, dtype, n), *extra)
        assert np.asarray(got).dtype == dtype
        expect = np.array(want, np.float64) if n is None else np.tile(want, (n, 1))
        np.testing.assert_allclose(np.asarray(got, np.float64), expect, rtol=1e-6, atol=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_relu_keeps_nan(backend, dtype):
    """It returned 0 for NaN (``where(x > 0, x, 0)``); np.maximum(x, 0) and JAX give NaN."""
    _check(nn.relu, [nan, -1.0, 2.0, 0.0, -0.0, inf, -inf], [nan, 0, 2, 0, 0, inf, 0], dtype,
           backend)
    assert np.isnan(run(nn.relu, backend, dtype(nan)))


SPECIAL = [nan, inf, -inf, 0.0]
ELEMENTWISE = {
    "sigmoid": (nn.sigmoid, [nan, 1.0, 0.0, 0.5]),
    "softplus": (nn.softplus, [nan, inf, 0.0, LOG2]),
    "tanh": (nn.tanh, [nan, 1.0, -1.0, 0.0]),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_at_nan_and_inf(name, backend, dtype):
    f, want = ELEMENTWISE[name]
    _check(f, SPECIAL, want, dtype, backend)


def _bce(x, y, **kw):
    return nn.binary_cross_entropy_with_logits(x, y, reduction="none", **kw)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_at_infinite_logits_is_the_limit(backend, dtype):
    """A logit of +-inf with the matching label costs 0, with the other label inf, with a soft
    label inf; a NaN logit or label gives NaN. It gave NaN (0 * -inf) for the matching label."""
    x = [inf, -inf, inf, -inf, inf, nan, 0.0]
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 1.0, nan], dtype)
    want = [0.0, 0.0, inf, inf, inf, nan, nan]
    _check(lambda x: _bce(x, y), x, want, dtype, backend)
    pw = np.full(7, 2.0, dtype)
    _check(lambda x: _bce(x, y, pos_weight=pw), x, [0, 0, inf, inf, inf, nan, nan], dtype, backend)


SOFTMAX_ROWS = [
    # (row, softmax, log_softmax): -inf entries are exact zeros / -inf; a row holding +inf, only
    # -inf, or a NaN is NaN throughout (JAX's jax.nn.softmax and log_softmax).
    ([-inf, 0.0, 0.0], [0.0, 0.5, 0.5], [-inf, -LOG2, -LOG2]),
    ([inf, 1.0, 2.0], [nan] * 3, [nan] * 3),
    ([inf, -inf, 0.0], [nan] * 3, [nan] * 3),
    ([-inf, -inf, -inf], [nan] * 3, [nan] * 3),
    ([nan, 1.0, 2.0], [nan] * 3, [nan] * 3),
    ([1e4, 1e4, -1e4], [0.5, 0.5, 0.0], [-LOG2, -LOG2, -2e4 - LOG2]),
]


@pytest.mark.parametrize("case", range(len(SOFTMAX_ROWS)))
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_with_infinities(case, backend, dtype):
    row, soft, log_soft = SOFTMAX_ROWS[case]
    _check(nn.softmax, row, soft, dtype, backend)
    _check(nn.log_softmax, row, log_soft, dtype, backend)


@pytest.mark.parametrize("backend", ["reference", "llvm"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_masked_softmax_cross_entropy_value_and_gradient(backend, dtype):
    """A class masked with a logit of -inf and label 0 adds nothing (it gave NaN): the loss of
    [-inf, 0, 0] against [0, 1, 0] is log 2 and its gradient softmax - label = [0, -1/2, 1/2]."""
    for n in (1, 17):
        logits = _rows([-inf, 0.0, 0.0], dtype, n)
        labels = _rows([0.0, 1.0, 0.0], dtype, n)
        loss = run(nn.softmax_cross_entropy, backend, logits, labels)
        np.testing.assert_allclose(loss, LOG2, rtol=1e-6)
        g = run(gc.grad(nn.softmax_cross_entropy), backend, logits, labels)
        np.testing.assert_allclose(g, _rows([0.0, -0.5, 0.5], np.float64, n) / n, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_by_global_norm_non_finite_norm_is_nan_everywhere(backend, dtype):
    """TensorFlow's documented rule: an infinite or NaN global norm sets every entry to NaN
    (scaling by max_norm / inf zeroed the finite entries, hiding the overflow)."""
    for bad in (inf, -inf, nan):
        tree = {"a": np.array([bad, 1.0], dtype), "b": np.array([3.0, 4.0, 0.0], dtype)}
        out = run(lambda t: nn.clip_by_global_norm(t, 1.0), backend, tree)
        assert all(np.isnan(v).all() for v in out.values())
    tree = {"a": np.array([0.6, 0.0], dtype), "b": np.array([0.8], dtype)}
    out = run(lambda t: nn.clip_by_global_norm(t, 2.0), backend, tree)  # norm 1: unchanged
    np.testing.assert_array_equal(out["a"], tree["a"])
    np.testing.assert_array_equal(out["b"], tree["b"])
    assert nn.clip_by_global_norm({}, 1.0) == {}


@pytest.mark.parametrize("backend", ["reference", "llvm"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_by_global_norm_derivatives_at_zero(backend, dtype):
    """At a zero tree the map is the identity: both modes give 1, not NaN (forward mode gave
    NaN in float32: max_norm / 1e-30 / 1e-30 overflowed)."""
    f = lambda x: nn.clip_by_global_norm([x], 1.0)[0]  # noqa: E731
    z = np.zeros(3, dtype)
    jac = run(gc.jacobian(f), backend, z)
    np.testing.assert_array_equal(jac, np.eye(3))
    tangent = run(lambda x: gc.jvp(f, (x,), (gnp.ones_like(x),))[1], backend, z)
    np.testing.assert_array_equal(tangent, np.ones(3))
