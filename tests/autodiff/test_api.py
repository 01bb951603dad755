"""The differentiation API against analytic results: grad, value_and_grad, vjp, jvp, jacobian,
jacfwd, hessian, stop_gradient; pytrees, has_aux, argnums; composition; errors."""

from collections import namedtuple

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.autodiff import DifferentiationError

X = np.array([0.5, -1.25, 2.0])
W = np.arange(6.0).reshape(2, 3) / 7 - 0.3


# --- analytic gradients ---------------------------------------------------------------------------
def test_grad_of_2_dot_x_x_is_4x(ref):
    g = ref(gc.grad(lambda x: 2 * gnp.dot(x, x)))(X)
    np.testing.assert_allclose(g, 4 * X)
    assert g.shape == X.shape and g.dtype == X.dtype


def test_stop_gradient_and_detach(ref):
    g = ref(gc.grad(lambda x: gnp.sum(gc.stop_gradient(x * x) * x)))(X)
    np.testing.assert_allclose(g, X * X)
    g2 = ref(gc.grad(lambda x: gnp.sum((x * x).detach() * x)))(X)
    np.testing.assert_allclose(g2, X * X)


def test_float32_gradient_keeps_dtype(ref):
    x = X.astype(np.float32)
    g = ref(gc.grad(lambda x: gnp.sum(gnp.sin(x) * 2.0)))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * np.cos(x), rtol=1e-6)


def test_dict_params_give_dict_grads(ref):
    def loss(p, x):
        return gnp.sum((p["w"] @ x + p["b"]) ** 2)

    p = {"w": W, "b": np.array([0.1, -0.2])}
    g = ref(gc.grad(loss))(p, X)
    r = W @ X + p["b"]
    assert set(g) == {"w", "b"}
    np.testing.assert_allclose(g["b"], 2 * r)
    np.testing.assert_allclose(g["w"], 2 * np.outer(r, X))


def test_namedtuple_and_list_structures_are_kept(ref):
    P = namedtuple("P", "a b")
    g = ref(gc.grad(lambda p: gnp.sum(p.a * p.b[0] * p.b[1])))(P(X, [X + 1, 2.0]))
    assert isinstance(g, P) and isinstance(g.b, list)
    np.testing.assert_allclose(g.a, (X + 1) * 2.0)
    np.testing.assert_allclose(g.b[1], np.sum(X * (X + 1)))


def test_argnums_tuple_and_value_and_grad(ref):
    f = lambda x, y: gnp.sum(x * y * y)
    v, (gx, gy) = ref(gc.value_and_grad(f, argnums=(0, 1)))(X, X + 1)
    np.testing.assert_allclose(v, np.sum(X * (X + 1) ** 2))
    np.testing.assert_allclose(gx, (X + 1) ** 2)
    np.testing.assert_allclose(gy, 2 * X * (X + 1))
    gy_only = ref(gc.grad(f, argnums=-1))(X, X + 1)
    np.testing.assert_allclose(gy_only, 2 * X * (X + 1))


def test_has_aux_returns_aux_unchanged(ref):
    def f(x):
        return gnp.sum(x**2), {"mean": gnp.mean(x), "n": 3}

    g, aux = ref(gc.grad(f, has_aux=True))(X)
    np.testing.assert_allclose(g, 2 * X)
    np.testing.assert_allclose(aux["mean"], X.mean())
    np.testing.assert_array_equal(aux["n"], 3)
    (v, _aux2), g2 = ref(gc.value_and_grad(f, has_aux=True))(X)
    np.testing.assert_allclose(v, np.sum(X**2))
    np.testing.assert_allclose(g2, 2 * X)


def test_unconnected_argument_gets_zeros(ref):
    g = ref(gc.grad(lambda x, y: gnp.sum(y * 3.0), argnums=(0, 1)))(X, X)
    np.testing.assert_array_equal(g[0], np.zeros(3))
    np.testing.assert_allclose(g[1], 3.0)


def test_python_scalar_argument():
    assert float(gc.grad(lambda x: x**3)(2.0)) == pytest.approx(12.0)


def test_integer_arguments_pass_through_when_not_differentiated(ref):
    g = gc.grad(lambda x, n: gnp.sum(x**n))
    np.testing.assert_allclose(ref(lambda x: g(x, 3))(X), 3 * X**2)


# --- composition ----------------------------------------------------------------------------------
def test_grad_of_grad(ref):
    f = lambda x: gnp.sin(x) * x
    d2 = ref(gc.grad(gc.grad(f)))(0.7)
    np.testing.assert_allclose(d2, 2 * np.cos(0.7) - 0.7 * np.sin(0.7))
    d3 = ref(gc.grad(gc.grad(gc.grad(lambda x: x**4))))(1.5)
    np.testing.assert_allclose(d3, 24 * 1.5)


def test_grad_of_function_and_function_of_grad(ref):
    inner = gc.function(lambda x: gnp.sum(gnp.exp(x)))
    np.testing.assert_allclose(ref(gc.grad(inner))(X), np.exp(X))
    np.testing.assert_allclose(gc.function(gc.grad(inner), backend="reference")(X), np.exp(X))


def test_grad_inside_traced_function_with_closure(ref):
    @ref
    def step(w, x):
        loss = lambda w: gnp.sum(gnp.tanh(w @ x) ** 2)
        return w - 0.1 * gc.grad(loss)(w)

    t = np.tanh(W @ X)
    expected = W - 0.1 * np.outer(2 * t * (1 - t**2), X)
    np.testing.assert_allclose(step(W, X), expected)


def test_grad_through_closure_over_outer_differentiated_value(ref):
    # d/dy [ d/dx (x*y)^2 at x ] = d/dy 2 x y^2 = 4 x y
    f = lambda y: gc.grad(lambda x: (x * y) ** 2)(1.5)
    np.testing.assert_allclose(ref(gc.grad(f))(0.8), 4 * 1.5 * 0.8)


def test_vjp_of_function_that_calls_grad(ref):
    def g(x):
        return gc.grad(lambda x: gnp.sum(x**3))(x)  # 3x^2, Jacobian diag(6x)

    @ref
    def run(x, v):
        out, fn = gc.vjp(g, x)
        return out, fn(v)[0]

    out, ct = run(X, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, 3 * X**2)
    np.testing.assert_allclose(ct, 6 * X * [1.0, 2.0, 3.0])


def test_top_level_grad_compiles_once_per_signature():
    g = gc.grad(lambda x: gnp.sum(x * x))
    np.testing.assert_allclose(g(X), 2 * X)
    np.testing.assert_allclose(g(X + 1), 2 * (X + 1))
    g(np.ones(5))
    assert len(g._function._cache) == 2


# --- vjp, jvp, jacobians --------------------------------------------------------------------------
def test_vjp_non_scalar_output_like_backward_with_gradient():
    out, fn = gc.vjp(lambda w, x: gnp.tanh(w @ x), W, X)
    v = np.array([1.0, -2.0])
    dw, dx = fn(v)
    t = np.tanh(W @ X)
    np.testing.assert_allclose(out, t)
    np.testing.assert_allclose(dw, np.outer(v * (1 - t**2), X))
    np.testing.assert_allclose(dx, W.T @ (v * (1 - t**2)))


def test_vjp_has_aux_in_trace(ref):
    @ref
    def run(x):
        out, fn, aux = gc.vjp(lambda x: (gnp.sin(x), gnp.cos(x)), x, has_aux=True)
        return out, fn(gnp.ones_like(x))[0], aux

    _out, ct, aux = run(X)
    np.testing.assert_allclose(ct, np.cos(X))
    np.testing.assert_allclose(aux, np.cos(X))


def test_jvp_forward_mode():
    out, t = gc.jvp(lambda x, y: gnp.sin(x) * y, (X, 2.0), (np.ones(3), 0.5))
    np.testing.assert_allclose(out, np.sin(X) * 2)
    np.testing.assert_allclose(t, np.cos(X) * 2 + np.sin(X) * 0.5)


def test_jacobian_and_jacfwd_match_analytic():
    f = lambda w, x: gnp.tanh(w @ x)
    t = np.tanh(W @ X)
    expected = (1 - t**2)[:, None] * W
    np.testing.assert_allclose(gc.jacobian(f, argnums=1)(W, X), expected)
    np.testing.assert_allclose(gc.jacfwd(f, argnums=1)(W, X), expected)
    jw = gc.jacobian(f)(W, X)
    assert jw.shape == (2, 2, 3)
    np.testing.assert_allclose(jw[1, 1], (1 - t[1] ** 2) * X)
    np.testing.assert_allclose(jw[0, 1], 0)


def test_hessian():
    f = lambda x: gnp.sum(x**3) + x[0] * x[1]
    h = gc.hessian(f)(X)
    expected = np.diag(6 * X)
    expected[0, 1] = expected[1, 0] = 1
    np.testing.assert_allclose(h, expected)


# --- errors ---------------------------------------------------------------------------------------
def test_error_non_scalar_output():
    with pytest.raises(DifferentiationError, match=r"must return a scalar.*f64\[3\].*vjp"):
        gc.grad(lambda x: x * 2)(X)
    assert issubclass(DifferentiationError, gc.GraphcError)


def test_error_integer_output():
    with pytest.raises(gc.GraphcError, match=r"scalar.*i64\[\].*astype"):
        gc.grad(lambda x: gnp.argmax(x))(X)


def test_error_integer_or_bool_argument():
    with pytest.raises(gc.GraphcError, match=r"argument x.*int64.*floating"):
        gc.grad(lambda x: gnp.sum(x * 1.0))(np.arange(3))
    with pytest.raises(gc.GraphcError, match=r"argument d\['m'\].*bool"):
        gc.grad(lambda x, d: gnp.sum(x), argnums=1)(X, {"m": np.ones(2, bool)})


def test_error_argnums_out_of_range():
    with pytest.raises(gc.GraphcError, match=r"argnums 2 is out of range.*2 positional"):
        gc.grad(lambda x, y: gnp.sum(x * y), argnums=2)(X, X)
    with pytest.raises(gc.GraphcError, match="argnums must be an int"):
        gc.grad(lambda x: gnp.sum(x), argnums="x")(X)


def test_error_has_aux_not_a_pair():
    with pytest.raises(gc.GraphcError, match=r"has_aux=True.*a pair.*value f64\[\] alone"):
        gc.grad(lambda x: gnp.sum(x), has_aux=True)(X)
    with pytest.raises(gc.GraphcError, match=r"pair.*tuple of length 3"):
        gc.grad(lambda x: (gnp.sum(x), 1, 2), has_aux=True)(X)


def test_error_names_user_line():
    with pytest.raises(gc.GraphcError, match=r"test_api.py:\d+"):
        gc.grad(lambda x: x)(X)


def test_error_vjp_cotangent_shape(ref):
    _out, fn = gc.vjp(lambda x: gnp.sin(x), X)
    with pytest.raises(gc.GraphcError, match=r"cotangent has shape \(2,\), expected \(3,\)"):
        fn(np.ones(2))


# --- more structure ------------------------------------------------------------------------------
def test_vjp_fn_called_twice_and_top_level_has_aux():
    _out, fn, aux = gc.vjp(lambda x: (x * x, gnp.sum(x)), X, has_aux=True)
    np.testing.assert_allclose(aux, X.sum())
    np.testing.assert_allclose(fn(np.ones(3))[0], 2 * X)
    np.testing.assert_allclose(fn(np.full(3, 2.0))[0], 4 * X)


def test_vjp_twice_in_one_trace(ref):
    @ref
    def run(x):
        _, fn = gc.vjp(gnp.sin, x)
        return fn(gnp.ones_like(x))[0] + fn(x)[0]

    np.testing.assert_allclose(run(X), np.cos(X) * (1 + X))


def test_jvp_integer_primal_and_output():
    _out, t = gc.jvp(lambda x, k: (x * k, k + 1), (X, np.arange(3)), (np.ones(3), np.zeros(3, int)))
    np.testing.assert_allclose(t[0], np.arange(3))
    np.testing.assert_array_equal(t[1], np.zeros(3, int))


def test_jacobian_pytrees_argnums_and_has_aux():
    def f(p, x):
        return {"y": gnp.tanh(p["w"] @ x), "s": gnp.sum(x)}, 7.0

    p = {"w": W}
    jac, aux = gc.jacobian(f, argnums=(0, 1), has_aux=True)(p, X)
    t = np.tanh(W @ X)
    assert jac["y"][0]["w"].shape == (2, 2, 3)
    np.testing.assert_allclose(jac["y"][1], (1 - t**2)[:, None] * W)
    np.testing.assert_allclose(jac["s"][1], np.ones(3))
    np.testing.assert_array_equal(jac["s"][0]["w"], np.zeros((2, 3)))
    np.testing.assert_allclose(aux, 7.0)
    jf = gc.jacfwd(f, argnums=(0, 1), has_aux=True)(p, X)[0]
    np.testing.assert_allclose(jf["y"][0]["w"], jac["y"][0]["w"])


def test_hessian_of_two_arguments():
    h = gc.hessian(lambda x, y: gnp.sum(x * x * y), argnums=(0, 1))(X, X + 1)
    np.testing.assert_allclose(h[0][0], np.diag(2 * (X + 1)))
    np.testing.assert_allclose(h[0][1], np.diag(2 * X))
    np.testing.assert_array_equal(h[1][1], np.zeros((3, 3)))


def test_constant_output_has_zero_gradient(ref):
    np.testing.assert_array_equal(ref(gc.grad(lambda x: 3.0))(X), np.zeros(3))


def test_error_not_callable_and_jvp_structure():
    with pytest.raises(gc.GraphcError, match="needs a callable"):
        gc.grad(3)
    with pytest.raises(gc.GraphcError, match="tuples"):
        gc.jvp(gnp.sin, X, X)
    with pytest.raises(gc.GraphcError, match=r"tangents\[0\] has shape \(2,\)"):
        gc.jvp(gnp.sin, (X,), (np.ones(2),))


def test_vjp_fn_used_inside_a_nested_grad(ref):
    @ref
    def run(x):
        _, fn = gc.vjp(gnp.sin, x)
        return gc.grad(lambda y: gnp.sum(fn(y)[0] * y))(x)  # d/dy sum(cos(x) y^2)

    np.testing.assert_allclose(run(X), 2 * np.cos(X) * X)
