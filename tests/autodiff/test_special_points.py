"""Gradients of composites at special points, with JAX's conventions:
- ``abs'(0) = 0``; ``relu'(0) = 0``;
- ``maximum``/``minimum`` at a tie give each operand half the gradient; ``clip`` at a bound
  likewise gives half (it is ``minimum(maximum(x, lo), hi)``);
- ``where`` sends the gradient only to the selected operand;
- ``max``/``min`` reductions share the gradient evenly among the tied maxima;
- ``norm`` and ``std`` at zero have gradient 0 (a subgradient), not NaN;
- ``logsumexp``/``softmax`` stay finite for logits of 1e4;
- ``x ** n`` for a Python int ``n`` is exact at a zero base; ``pow``'s d/dy at x == 0 is 0.
"""

import mpmath
import numpy as np
import oracles
import pytest

import graphc as gc
import graphc.numpy as gnp

nn = pytest.importorskip("graphc.nn")


def grad(f, *args, argnums=0):
    return gc.function(gc.grad(f, argnums=argnums), backend="reference")(*args)


def test_abs_and_relu_at_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(grad(lambda x: gnp.sum(gnp.abs(x)), x), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad(lambda x: gnp.sum(nn.relu(x)), x), [0.0, 0.0, 1.0])


def test_maximum_minimum_ties_split_evenly():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    gx, gy = grad(lambda x, y: gnp.sum(gnp.maximum(x, y)), x, y, argnums=(0, 1))
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])
    gx, gy = grad(lambda x, y: gnp.sum(gnp.minimum(x, y)), x, y, argnums=(0, 1))
    np.testing.assert_array_equal(gx, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0, 1.0])


def test_maximum_with_itself_has_full_gradient():
    x = np.array([1.0, -2.0])
    np.testing.assert_array_equal(grad(lambda x: gnp.sum(gnp.maximum(x, x)), x), [1.0, 1.0])


def test_clip_at_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(
        grad(lambda x: gnp.sum(gnp.clip(x, -1.0, 1.0)), x), [0.0, 0.5, 1.0, 0.5, 0.0]
    )


def test_where_sends_gradient_to_selected_branch():
    x = np.array([-1.0, 0.5, 2.0])
    g = grad(lambda x: gnp.sum(gnp.where(x > 0, x * x, 3 * x)), x)
    np.testing.assert_array_equal(g, [3.0, 1.0, 4.0])


def test_reduction_max_ties_share():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    g = grad(lambda x: gnp.sum(gnp.max(x, axis=1)), x)
    np.testing.assert_array_equal(g, [[0, 0.5, 0.5], [0.5, 0, 0.5]])


def test_norm_and_std_at_zero_are_finite():
    z = np.zeros(3)
    np.testing.assert_array_equal(grad(lambda x: gnp.linalg.norm(x), z), z)
    np.testing.assert_array_equal(grad(lambda x: gnp.std(x), np.full(4, 2.0)), np.zeros(4))
    g = grad(lambda x: gnp.sum(gnp.linalg.norm(x, axis=1)), np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[0, 0], [0.6, 0.8]])
    h = gc.function(gc.hessian(lambda x: gnp.linalg.norm(x)), backend="reference")(z)
    assert np.all(np.isfinite(h))


def _softmax_exact(x):
    """softmax at oracles.PREC bits, correctly rounded (not NumPy's exp)."""
    with mpmath.workprec(oracles.PREC):
        e = [mpmath.exp(mpmath.mpf(float(v)) - mpmath.mpf(float(x.max()))) for v in x]
        total = mpmath.fsum(e)
        return oracles.round_to(np.array([v / total for v in e], dtype=object), np.float64)


def test_logsumexp_and_softmax_large_logits():
    x = np.array([1e4, 1e4 - 1.0, -1e4])
    s = _softmax_exact(x)
    g = grad(lambda x: gnp.logsumexp(x), x)
    np.testing.assert_allclose(g, s)
    v = np.array([1.0, -2.0, 0.5])
    _, vjp_sm = gc.vjp(nn.softmax, x)
    (ct,) = vjp_sm(v)
    np.testing.assert_allclose(ct, s * (v - np.dot(s, v)), atol=1e-12)
    g2 = grad(lambda x: gnp.sum(nn.log_softmax(x) * v), x)
    np.testing.assert_allclose(g2, v - s * v.sum())
    assert np.all(np.isfinite(gc.hessian(lambda x: gnp.logsumexp(x))(x)))


def test_power_integer_and_negative_exponents_zero_base():
    x = np.array([0.0, 1.5, -2.0])
    np.testing.assert_array_equal(grad(lambda x: gnp.sum(x**2), x), 2 * x)
    np.testing.assert_array_equal(grad(lambda x: gnp.sum(x**1), x), np.ones(3))
    np.testing.assert_array_equal(grad(lambda x: gnp.sum(x**0), x), np.zeros(3))
    np.testing.assert_allclose(grad(lambda x: gnp.sum(x**3), x), [0.0, 6.75, 12.0])
    nz = np.array([0.5, -2.0])
    np.testing.assert_allclose(grad(lambda x: gnp.sum(x**-2), nz), [-16.0, 0.25])
    d2 = gc.function(gc.grad(gc.grad(lambda x: x**2)), backend="reference")(0.0)
    assert float(d2) == 2.0


def test_float_power_at_zero_base():
    gx, gy = grad(
        lambda x, y: gnp.sum(gnp.power(x, y)),
        np.array([0.0, 0.0, 2.0]),
        np.array([2.0, 1.0, 0.0]),
        argnums=(0, 1),
    )
    np.testing.assert_array_equal(gx, [0.0, 1.0, 0.0])
    ln2 = oracles.correctly_rounded("log", 2.0, dtype=np.float64)
    np.testing.assert_allclose(gy, [0.0, 0.0, ln2])
