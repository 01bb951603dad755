"""``gc.scan`` end to end on each backend: values against a Python loop (forwards and in
reverse, pytrees of xs and ys, captures, ``xs=None`` with a length, length 0), errors, eager
runs, and every differentiation mode, including jacfwd against jacobian through all four
control-flow primitives."""

import numpy as np
import pytest

import graphc as gc
from graphc.testing import check_grads

BACKENDS = ("reference", "llvm")


def _run(fun, backend, *args):
    return gc.function(fun, backend=backend)(*args)


def _rnn(h, xs, w):
    """An Elman-style recurrence: the carry is the state, the ys its per-step readout."""
    return gc.scan(lambda h, x: (np.tanh(h * w + x), (h * x).sum()), h, xs)


def _rnn_ref(h, xs, w, reverse=False):
    ys = []
    for x in (xs[::-1] if reverse else xs):
        ys.append((h * x).sum())
        h = np.tanh(h * w + x)
    return h, np.array(ys[::-1] if reverse else ys)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 3), (1, 1), (6, 1003), (5,)])
@pytest.mark.parametrize("reverse", [False, True])
def test_values_match_a_python_loop(backend, dtype, shape, reverse):
    rng = np.random.default_rng(0)
    xs = rng.normal(size=shape).astype(dtype)
    h, w = rng.normal(size=shape[1:]).astype(dtype), dtype(0.7)

    def f(h, xs, w):
        return gc.scan(lambda h, x: (np.tanh(h * w + x), (h * x).sum()), h, xs, reverse=reverse)

    got_h, got_ys = _run(f, backend, h, xs, w)
    want_h, want_ys = _rnn_ref(h, xs, w, reverse)
    assert got_h.dtype == dtype and got_ys.shape == (shape[0],) and got_ys.dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got_h, want_h, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(got_ys, want_ys, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pytrees_none_ys_a_length_and_length_zero(backend):
    def f(p, xs):
        def step(c, x):
            return {"s": c["s"] + x["a"] * x["b"], "n": c["n"] + 1}, (x["a"] * 2, {"b": -x["b"]})

        return gc.scan(step, p, xs)

    p = {"s": np.zeros(2), "n": np.int64(0)}
    xs = {"a": np.arange(6.0).reshape(3, 2), "b": np.ones((3, 2))}
    carry, (ya, yb) = _run(f, backend, p, xs)
    np.testing.assert_array_equal(carry["s"], xs["a"].sum(0))
    assert carry["n"] == 3
    np.testing.assert_array_equal(ya, xs["a"] * 2)
    np.testing.assert_array_equal(yb["b"], -xs["b"])

    def counting(x):
        return gc.scan(lambda c, _: (c * 2, None), x, None, length=4)

    c, ys = _run(counting, backend, np.float64(1.5))
    assert c == 24.0 and ys is None

    def empty(h, xs):
        return gc.scan(lambda h, x: (h + x, h * x), h, xs)

    c, ys = _run(empty, backend, np.ones(2), np.zeros((0, 2)))
    np.testing.assert_array_equal(c, np.ones(2))
    assert ys.shape == (0, 2)


def test_errors_name_what_is_wrong():
    with pytest.raises(gc.ShapeError, match="lengths disagree"):
        gc.function(lambda xs: gc.scan(lambda c, x: (c, x), 0.0, xs, length=3))(np.ones(4))
    with pytest.raises(gc.ShapeError, match="no length"):
        gc.function(lambda c: gc.scan(lambda c, x: (c, x), c, None))(np.ones(2))
    with pytest.raises(gc.GraphcError, match="pair"):
        gc.function(lambda xs: gc.scan(lambda c, x: c + x, 0.0, xs))(np.ones(4))
    with pytest.raises(gc.GraphcError, match=r"init\[0\].*f64\[2\].*f32\[2\]"):
        gc.function(lambda c, xs: gc.scan(lambda c, x: ((c[0].astype(np.float32),), x), (c,), xs))(
            np.ones(2), np.ones(3))


def test_eager_scan_runs_in_python():
    c, ys = gc.scan(lambda c, x: (c + x, c * x), 1.0, np.arange(3.0))
    assert c == 4.0
    np.testing.assert_array_equal(ys, [0.0, 1.0, 4.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradients_match_the_numerical_checker(backend):
    rng = np.random.default_rng(1)
    h, xs, w = rng.normal(size=3), rng.normal(size=(5, 3)), np.float64(0.8)

    def loss(h, xs, w):
        c, ys = _rnn(h, xs, w)
        return (c ** 2).sum() + (ys ** 3).sum()

    check_grads(loss, (h, xs, w), order=2)
    g = gc.function(gc.grad(loss, argnums=(0, 1, 2)), backend=backend)(h, xs, w)
    g_ref = gc.function(gc.grad(loss, argnums=(0, 1, 2)), backend="reference")(h, xs, w)
    for a, b in zip(g, g_ref):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _through_all_four(x):
    """cond, while_loop, fori_loop and scan in one function of ``x``."""
    y = gc.cond(x.sum() > 0, lambda a: np.sin(a), lambda a: a * a, x)
    y = gc.while_loop(lambda c: c[1] < 3, lambda c: (np.tanh(c[0] * 1.1 + 0.2), c[1] + 1),
                      (y, 0))[0]
    y = gc.fori_loop(0, 2, lambda i, v: v * np.cos(v) + i, y)
    return gc.scan(lambda c, r: (c * r + np.sin(c), c.sum()), y, np.stack([x, x * 2]))[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_jacfwd_and_jacobian_agree_through_all_four(backend):
    x = np.array([0.4, -0.3, 0.9])
    j_fwd = gc.function(gc.jacfwd(_through_all_four), backend=backend)(x)
    j_rev = gc.function(gc.jacobian(_through_all_four), backend=backend)(x)
    assert j_fwd.shape == (3, 3)
    np.testing.assert_allclose(j_fwd, j_rev, rtol=1e-12, atol=1e-14)
    check_grads(_through_all_four, (x,), order=2, modes=("fwd", "rev"))
