"""custom_gradient (TensorFlow-style), custom_vjp (JAX-style) and GradientTape."""

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.autodiff import TapeError, inline_custom_calls
from graphc.backend.reference import evaluate
from graphc.testing import check_grads

X = np.array([0.0, 1.0, 100.0, 1000.0])


@gc.custom_gradient
def log1pexp(x):
    e = gnp.exp(x)

    def grad_fn(dy):
        return dy * (1 - 1 / (1 + e))

    return gnp.log(1 + e), grad_fn


def test_custom_gradient_replaces_the_rule(ref):
    with np.errstate(over="ignore"):
        g = ref(gc.grad(lambda x: gnp.sum(log1pexp(x))))(X)
    np.testing.assert_allclose(g, [0.5, 1 / (1 + np.exp(-1.0)), 1.0, 1.0])
    graph = gc.make_graph(gc.grad(lambda x: gnp.sum(log1pexp(x))))(X[:2])
    assert "custom_vjp_call" in str(graph) and "bwd" in str(graph)


def test_custom_gradient_eager_and_multiple_inputs(ref):
    np.testing.assert_allclose(log1pexp(np.array([0.0])), [np.log(2.0)])

    @gc.custom_gradient
    def scaled(x, y):
        def grad_fn(dz):
            return 2 * dz * y, None  # y gets no gradient on purpose

        return x * y, grad_fn

    gx, gy = ref(gc.grad(lambda x, y: gnp.sum(scaled(x, y)), argnums=(0, 1)))(X[:2], X[:2] + 1)
    np.testing.assert_allclose(gx, 2 * (X[:2] + 1))
    np.testing.assert_array_equal(gy, [0.0, 0.0])


def test_custom_gradient_second_order(ref):
    @gc.custom_gradient
    def cube(x):
        return x**3, lambda dy: dy * 3 * x**2

    d2 = ref(gc.grad(gc.grad(lambda x: cube(x))))(1.5)
    np.testing.assert_allclose(d2, 6 * 1.5)
    check_grads(lambda x: cube(x), (np.array([0.3, -1.2]),), order=2)


def test_custom_gradient_bad_gradient_shape():
    @gc.custom_gradient
    def bad(x):
        return gnp.sum(x), lambda dy: dy  # a scalar for a (4,) input

    with pytest.raises(gc.GraphcError, match=r"shape \(\), expected \(4,\)"):
        gc.grad(lambda x: bad(x))(X)


def test_custom_vjp_with_nondiff_argnums(ref):
    from functools import partial

    @partial(gc.custom_vjp, nondiff_argnums=(1,))
    def clip_gradient(x, bound):
        return x

    clip_gradient.defvjp(
        lambda x, bound: (x, None), lambda bound, res, g: (gnp.clip(g, -bound, bound),)
    )
    g = ref(gc.grad(lambda x: gnp.sum(clip_gradient(x, 0.5) * np.array([2.0, -0.1, 0.3, -7.0]))))(X)
    np.testing.assert_allclose(g, [0.5, -0.1, 0.3, -0.5])


def test_custom_vjp_residuals_and_pytrees(ref):
    @gc.custom_vjp
    def f(p):
        return gnp.sin(p["a"]) * p["b"]

    def fwd(p):
        return f(p), (gnp.cos(p["a"]), p["b"], gnp.sin(p["a"]))

    def bwd(res, g):
        cos_a, b, sin_a = res
        return ({"a": g * cos_a * b, "b": g * sin_a},)

    f.defvjp(fwd, bwd)
    p = {"a": np.array([0.1, 0.7]), "b": np.array([2.0, -1.0])}
    g = ref(gc.grad(lambda p: gnp.sum(f(p))))(p)
    np.testing.assert_allclose(g["a"], np.cos(p["a"]) * p["b"])
    np.testing.assert_allclose(g["b"], np.sin(p["a"]))
    _out, t = gc.jvp(f, (p,), ({"a": np.ones(2), "b": np.zeros(2)},))  # forward mode: fwd graph
    np.testing.assert_allclose(t, np.cos(p["a"]) * p["b"])


def test_custom_vjp_without_defvjp():
    @gc.custom_vjp
    def f(x):
        return x

    with pytest.raises(gc.GraphcError, match="defvjp"):
        gc.grad(lambda x: gnp.sum(f(x)))(X)


def test_inline_custom_calls_gives_plain_graph():
    graph = gc.make_graph(lambda x: gnp.sum(log1pexp(x)))(X[:2])
    flat = inline_custom_calls(graph)
    assert "custom_vjp_call" not in str(flat)
    gc.ir.verify(flat)
    np.testing.assert_allclose(evaluate(flat, [X[:2]])[0], evaluate(graph, [X[:2]])[0])


# --- GradientTape ---------------------------------------------------------------------------------
def test_tape_gradient(ref):
    @ref
    def step(x, w):
        with gc.GradientTape() as tape:
            tape.watch(x)
            y = gnp.sum(x * x * w)
        return tape.gradient(y, x)

    np.testing.assert_allclose(step(X[:3], 2.0), 4 * X[:3])


def test_tape_pytree_sources_unwatched_and_intermediate(ref):
    @ref
    def step(a, b, c):
        with gc.GradientTape() as tape:
            tape.watch({"a": a, "b": b})
            h = a * b
            y = gnp.sum(gnp.sin(h) + c)
        return tape.gradient(y, {"a": a, "b": b, "h": h}), tape.watched_variables()[0]

    a, b = np.array([0.3, 1.0]), np.array([2.0, -1.0])
    (g, w) = step(a, b, np.ones(2))
    np.testing.assert_allclose(g["a"], np.cos(a * b) * b)
    np.testing.assert_allclose(g["b"], np.cos(a * b) * a)
    np.testing.assert_allclose(g["h"], np.cos(a * b))
    np.testing.assert_allclose(w, a)

    @ref
    def unwatched(a, c):
        with gc.GradientTape() as tape:
            tape.watch(a)
            y = gnp.sum(a * c)
        return tape.gradient(y, [a, c], unconnected_gradients="zero")

    ga, gc_ = unwatched(a, b)
    np.testing.assert_allclose(ga, b)
    np.testing.assert_array_equal(gc_, [0.0, 0.0])  # TensorFlow: c was not watched


def test_tape_unwatched_source_is_none():
    def step(a):
        with gc.GradientTape() as tape:
            y = gnp.sum(a * a)
        assert tape.gradient(y, a) is None
        return y

    gc.make_graph(step)(X)


def test_tape_persistence_and_nesting(ref):
    @ref
    def step(x):
        with gc.GradientTape(persistent=True) as outer:
            outer.watch(x)
            with gc.GradientTape() as inner:
                inner.watch(x)
                y = gnp.sum(x**3)
            dy = inner.gradient(y, x)
        d2 = outer.gradient(dy, x)  # d/dx sum(3 x^2) = 6x
        again = outer.gradient(y, x)
        return dy, d2, again

    dy, d2, again = step(X[:3])
    np.testing.assert_allclose(dy, 3 * X[:3] ** 2)
    np.testing.assert_allclose(d2, 6 * X[:3])
    np.testing.assert_allclose(again, 3 * X[:3] ** 2)


def test_tape_non_persistent_second_call_raises():
    def step(x):
        with gc.GradientTape() as tape:
            tape.watch(x)
            y = gnp.sum(x * x)
        tape.gradient(y, x)
        return tape.gradient(y, x)

    with pytest.raises(TapeError, match="non-persistent"):
        gc.make_graph(step)(X)
    assert issubclass(TapeError, gc.GraphcError)


def test_tape_stop_recording_and_output_gradients(ref):
    @ref
    def step(x):
        with gc.GradientTape() as tape:
            tape.watch(x)
            with tape.stop_recording():
                s = x * 10.0  # not recorded: no gradient through s
            y = x * x + s
        return tape.gradient(y, x, output_gradients=gnp.array([1.0, 2.0, 3.0]))

    np.testing.assert_allclose(step(X[:3]), 2 * X[:3] * [1.0, 2.0, 3.0])


def test_tape_outside_trace_raises():
    with pytest.raises(TapeError, match="inside a gc.function"), gc.GradientTape():
        pass


def test_custom_gradient_closing_over_a_differentiated_value(ref):
    def outer(w):
        @gc.custom_gradient
        def f(x):
            return gnp.sin(x) * w, lambda dy: dy * 10.0  # a deliberately different rule for x

        return gnp.sum(f(np.array([0.3, 0.4])) + f(w))

    # w enters explicitly once (rule: 10) and closed over twice (ordinary: sin(x) and sin(w))
    w = np.array([0.5, -0.2])
    g = ref(gc.grad(outer))(w)
    np.testing.assert_allclose(g, 10.0 + np.sin([0.3, 0.4]) + np.sin(w))
