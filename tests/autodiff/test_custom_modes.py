"""Custom rules (custom_gradient, custom_vjp) hold in every mode: reverse (grad, vjp, jacobian),
forward (jvp, jacfwd: the transpose of the user's backward function) and second order (hessian,
Hessian-vector products both ways, forward over forward).

Every rule here deliberately differs from the true derivative, so a mode that ignores the rule
fails. Oracles are the rule's Jacobian written out by hand (trigonometric factors with mpmath,
correctly rounded) or, for linear-algebra rules, the reverse-mode Jacobian, which evaluates the
user's backward function directly and shares no code with the transposition.
"""

import mpmath
import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.autodiff import DifferentiationError

rng = np.random.default_rng(8)
DTYPES = [np.float32, np.float64]
SHAPES = [(), (1,), (5,), (2, 3)]


def _exact(fn, x):
    """``fn`` (an mpmath function) elementwise at 50 digits, rounded to float64."""
    with mpmath.workdps(50):
        flat = [float(fn(mpmath.mpf(float(v)))) for v in np.ravel(x)]
    return np.array(flat, np.float64).reshape(np.shape(x))


def _close(actual, expected, dtype):
    assert np.asarray(actual).dtype == dtype
    tol = 2e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=tol, atol=tol)


def _diag(d):
    """The Jacobian (shape S + S) of an elementwise map with derivative ``d`` (shape S)."""
    d = np.asarray(d, np.float64)
    return (np.diag(d.ravel())).reshape(d.shape + d.shape)


def hvp_fwd_rev(f, x, v):
    """Forward over reverse: the tangent of grad f along v (H v)."""
    return gc.jvp(gc.grad(f), (x,), (v,))[1]


def hvp_rev_rev(f, x, v):
    """Reverse over reverse: the gradient of <grad f, v> (H^T v)."""
    return gc.grad(lambda x: gnp.sum(gc.grad(f)(x) * v))(x)


def _sample(shape, dtype, lo=-1.5, hi=1.5, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape).astype(dtype)


# --- the example: y = x with dy/dx = 10 ---------------------------------------------------
@gc.custom_gradient
def ten_x(x):
    return x, lambda dy: dy * 10


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_identity_with_rule_ten_in_every_mode(ref, dtype, shape):
    x, t = _sample(shape, dtype), _sample(shape, dtype, seed=1)
    ten = 10 * np.eye(int(np.prod(shape))).reshape(shape + shape)
    _close(gc.jvp(ten_x, (x,), (t,))[1], 10.0 * t, dtype)  # outside any trace
    _close(ref(lambda x, t: gc.jvp(ten_x, (x,), (t,))[1])(x, t), 10.0 * t, dtype)
    _close(gc.jacfwd(ten_x)(x), ten, dtype)
    _close(ref(gc.jacobian(ten_x))(x), ten, dtype)
    _close(gc.grad(lambda x: gnp.sum(ten_x(x)))(x), np.full(shape, 10.0), dtype)

    def square(x):  # grad = 10 * 2y; y's derivative is the rule's too: Hessian 200 I (true: 2 I)
        return gnp.sum(ten_x(x) ** 2)

    _close(ref(gc.hessian(square))(x), 20 * ten, dtype)
    _close(hvp_fwd_rev(square, x, t), 200.0 * t, dtype)
    _close(ref(lambda x, t: hvp_rev_rev(square, x, t))(x, t), 200.0 * t, dtype)


# --- custom_vjp with residuals: sin with the rule 3 cos -------------------------------------------
@gc.custom_vjp
def sin3(x):
    return gnp.sin(x)


sin3.defvjp(lambda x: (sin3(x), gnp.cos(x)), lambda cos_x, g: (3 * g * cos_x,))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_custom_vjp_first_and_second_order(ref, dtype, shape):
    x, v = _sample(shape, dtype), _sample(shape, dtype, seed=1)
    d1 = 3 * _exact(mpmath.cos, x)
    d2 = -3 * _exact(mpmath.sin, x)  # the derivative of the user's bwd through its residual
    _close(gc.jvp(sin3, (x,), (v,))[1], d1 * v, dtype)
    _close(ref(gc.jacfwd(sin3))(x), _diag(d1), dtype)
    _close(gc.jacobian(sin3)(x), _diag(d1), dtype)

    def total(x):
        return gnp.sum(sin3(x))

    _close(ref(gc.grad(total))(x), d1, dtype)
    _close(gc.hessian(total)(x), _diag(d2), dtype)
    _close(ref(gc.jacobian(gc.jacobian(total)))(x), _diag(d2), dtype)  # reverse over reverse
    _close(ref(lambda x, v: hvp_fwd_rev(total, x, v))(x, v), d2 * v, dtype)
    _close(hvp_rev_rev(total, x, v), d2 * v, dtype)
    along = gc.jvp(lambda x: gc.jvp(sin3, (x,), (v,))[1], (x,), (v,))[1]  # forward over forward
    _close(along, d2 * v * v, dtype)
    rev_fwd = gc.grad(lambda x: gnp.sum(gc.jvp(sin3, (x,), (v,))[1]))(x)  # reverse over forward
    _close(rev_fwd, d2 * v, dtype)


def test_second_derivative_is_that_of_the_users_bwd(ref):
    """The rule's first derivative is right (3x^2) but its own derivative is 6.6x: every
    composition must differentiate the user's bwd (as JAX does for reverse over reverse)."""

    @gc.custom_gradient
    def cube(x):
        return x**3, lambda dy: dy * (3.3 * x**2 - 0.3 * gc.stop_gradient(x) ** 2)

    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, -2.0, 0.5])
    f = lambda x: gnp.sum(cube(x))  # noqa: E731
    np.testing.assert_allclose(ref(gc.grad(f))(x), 3 * x**2, rtol=1e-14)
    for h in (gc.hessian(f)(x), gc.jacobian(gc.grad(f))(x), gc.jacfwd(gc.jacfwd(f))(x)):
        np.testing.assert_allclose(h, np.diag(6.6 * x), rtol=1e-14)
    np.testing.assert_allclose(hvp_fwd_rev(f, x, v), 6.6 * x * v, rtol=1e-14)
    np.testing.assert_allclose(hvp_rev_rev(f, x, v), 6.6 * x * v, rtol=1e-14)


# --- several inputs and outputs, pytrees, broadcasting --------------------------------------------
@gc.custom_vjp
def pair(p):
    a, b = p["a"], p["b"]
    return a * b, gnp.sin(a)


def _pair_fwd(p):
    return pair(p), (p["a"], p["b"], gnp.cos(p["a"]))


def _pair_bwd(res, gs):
    """The rule du = 2b da + 3a db, dw = -cos(a) da + 0.5 db (the true one: b da + a db, cos a da);
    b is 0-d and broadcast, so its gradient is summed."""
    a, b, cos_a = res
    gu, gw = gs
    return ({"a": 2 * b * gu - cos_a * gw, "b": gnp.sum(3 * a * gu + 0.5 * gw)},)


pair.defvjp(_pair_fwd, _pair_bwd)


def _pair_jvp_oracle(p, t):
    a, b = (np.asarray(p[k], np.float64) for k in "ab")
    ta, tb = (np.asarray(t[k], np.float64) for k in "ab")
    return 2 * b * ta + 3 * a * tb, -_exact(mpmath.cos, a) * ta + 0.5 * tb


@pytest.mark.parametrize("dtype", DTYPES)
def test_pytree_inputs_and_outputs(ref, dtype):
    p = {"a": _sample((4,), dtype), "b": np.asarray(0.7, dtype)}
    t = {"a": _sample((4,), dtype, seed=2), "b": np.asarray(-1.3, dtype)}
    expected = _pair_jvp_oracle(p, t)
    inside = ref(lambda p, t: gc.jvp(pair, (p,), (t,))[1])(p, t)
    for tangents in (gc.jvp(pair, (p,), (t,))[1], inside):
        for got, want in zip(tangents, expected, strict=True):
            _close(got, want, dtype)
    fwd, rev = gc.jacfwd(pair)(p), ref(gc.jacobian(pair))(p)
    for k in range(2):
        for leaf in "ab":
            assert fwd[k][leaf].shape == (4,) + p[leaf].shape
            np.testing.assert_array_equal(fwd[k][leaf], rev[k][leaf])


@pytest.mark.parametrize("dtype", DTYPES)
def test_adjoint_identity_with_the_custom_jacobian(dtype):
    """<v, J u> = <J^T v, u> with jvp (the transposed rule) and vjp (the rule itself)."""
    p = {"a": _sample((6,), dtype), "b": np.asarray(0.4, dtype)}
    for seed in range(3):
        u = {"a": _sample((6,), dtype, seed=10 + seed), "b": np.asarray(seed - 1.0, dtype)}
        v = (_sample((6,), dtype, seed=20 + seed), _sample((6,), dtype, seed=30 + seed))
        ju = gc.jvp(pair, (p,), (u,))[1]
        (jtv,) = gc.vjp(pair, p)[1](v)
        lhs = sum(np.vdot(np.float64(a), np.float64(b)) for a, b in zip(v, ju, strict=True))
        rhs = sum(np.vdot(np.float64(jtv[k]), np.float64(u[k])) for k in "ab")
        np.testing.assert_allclose(lhs, rhs, rtol=1e-5 if dtype == np.float32 else 1e-13)
        for got, want in zip(ju, _pair_jvp_oracle(p, u), strict=True):
            _close(got, want, dtype)


def test_non_symmetric_rule_gives_h_v_and_h_transpose_v():
    """With the rule (2y, 3x) for x*y, d(grad)/d(x, y) = [[0, 2], [3, 0]] is not symmetric:
    forward over reverse gives H w, reverse over reverse H^T w, and hessian gives H."""

    @gc.custom_gradient
    def xy(x, y):
        return x * y, lambda dz: (2 * dz * y, 3 * dz * x)

    def f(x, y):
        return gnp.sum(xy(x, y))

    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.75])
    u, w = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 4.0])
    g = gc.grad(f, argnums=(0, 1))
    fr = gc.jvp(lambda x, y: g(x, y), (x, y), (u, w))[1]
    rr = gc.grad(lambda x, y: gnp.sum(g(x, y)[0] * u) + gnp.sum(g(x, y)[1] * w), (0, 1))(x, y)
    np.testing.assert_array_equal(fr[0], 2 * w)
    np.testing.assert_array_equal(fr[1], 3 * u)
    np.testing.assert_array_equal(rr[0], 3 * w)
    np.testing.assert_array_equal(rr[1], 2 * u)
    h = gc.hessian(f, argnums=(0, 1))(x, y)
    for (i, j), scale in {(0, 0): 0, (0, 1): 2, (1, 0): 3, (1, 1): 0}.items():
        np.testing.assert_array_equal(h[i][j], scale * np.eye(3))


# --- partial rules, closures, constants -----------------------------------------------------------
def test_input_without_gradient_and_integer_input(ref):
    @gc.custom_gradient
    def scaled(x, y, k):
        return x * y * k, lambda dz: (2 * dz * y, None, None)  # y (and the int k) get none

    x, y, k = np.array([0.5, 2.0]), np.array([3.0, -1.0]), np.int64(4)
    tx, ty = np.array([1.0, -1.0]), np.array([5.0, 7.0])
    _, t = ref(lambda *a: gc.jvp(scaled, a[:3], a[3:]))(x, y, k, tx, ty, np.int64(0))
    np.testing.assert_array_equal(t, 2 * y * tx)
    np.testing.assert_array_equal(gc.jacfwd(scaled, argnums=1)(x, y, k), np.zeros((2, 2)))


def test_closed_over_values_get_the_ordinary_derivative_in_forward_mode(ref):
    def outer(w):
        @gc.custom_gradient
        def f(x):
            return gnp.sin(x) * w, lambda dy: dy * 10.0

        return f(np.array([0.3, 0.4])) + f(w)

    w = np.array([0.5, -0.2])
    expected = np.diag(10.0 + _exact(mpmath.sin, [0.3, 0.4]) + _exact(mpmath.sin, w))
    np.testing.assert_allclose(ref(gc.jacfwd(outer))(w), expected, rtol=1e-14)
    np.testing.assert_allclose(ref(gc.jacobian(outer))(w), expected, rtol=1e-14)


M = rng.standard_normal((3, 3))
MASK = np.array([True, False, True])


@gc.custom_vjp
def masked_map(x):
    return x


masked_map.defvjp(
    lambda x: (x, 1 + x**2),
    # captured constants (M, MASK), a select against zero, a division by a residual, a dot
    lambda r, g: (gnp.where(MASK, gnp.dot(g, M), 0.0) / r,),
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_linear_rule_with_captured_constants(ref, dtype):
    x, t = _sample((3,), dtype), _sample((3,), dtype, seed=3)
    x64 = x.astype(np.float64)
    jac = M * (MASK / (1 + x64**2))  # J = M diag(mask / r), since J^T v = diag(mask / r) M^T v
    _close(ref(lambda x, t: gc.jvp(masked_map, (x,), (t,))[1])(x, t), jac @ t, dtype)
    _close(gc.jacfwd(masked_map)(x), jac, dtype)
    _close(gc.jacobian(masked_map)(x), jac, dtype)


W = rng.standard_normal((3, 2))


@pytest.mark.parametrize(
    "bwd",
    [
        lambda res, g: (gnp.reshape(gnp.transpose(g) * W, (2, 3)),),
        lambda res, g: (gnp.cumsum(gnp.concatenate([g, gnp.zeros((1, 3))])[1:], axis=1),),
        lambda res, g: (-(g - 0.0) + gnp.sum(g, axis=0, keepdims=True).astype(np.float32),),
    ],
    ids=["transpose-reshape", "concatenate-zeros-slice-cumsum", "sub-zero-sum-convert"],
)
def test_linear_building_blocks_transpose_exactly(bwd):
    """For a linear bwd the forward-mode Jacobian is the reverse-mode one (the user's bwd run
    directly), element for element."""

    @gc.custom_vjp
    def f(x):
        return x

    f.defvjp(lambda x: (x, None), bwd)
    x = _sample((2, 3), np.float64)
    fwd, rev = gc.jacfwd(f)(x), gc.jacobian(f)(x)
    assert np.any(fwd != np.eye(6).reshape(2, 3, 2, 3))  # the rule, not the identity, is used
    np.testing.assert_allclose(fwd, rev, rtol=1e-6)


def test_nondiff_argnums_in_forward_mode(ref):
    from functools import partial

    @partial(gc.custom_vjp, nondiff_argnums=(1,))
    def scale_grad(x, k):
        return x

    scale_grad.defvjp(lambda x, k: (x, None), lambda k, res, g: (g * k,))
    x, t = np.array([1.0, 2.0]), np.array([0.5, -3.0])
    tangent = ref(lambda x, t: gc.jvp(lambda x: scale_grad(x, 4.0), (x,), (t,))[1])
    np.testing.assert_array_equal(tangent(x, t), 4.0 * t)


def test_custom_gradient_with_two_outputs(ref):
    @gc.custom_gradient
    def two(x):
        return (x, 2 * x), lambda d1, d2: 5 * d1 + 7 * d2  # J = (5, 7); the true one is (1, 2)

    x, t = np.array([0.5, -2.0, 3.0], np.float32), np.array([1.0, 2.0, -1.0], np.float32)
    t1, t2 = ref(lambda x, t: gc.jvp(two, (x,), (t,))[1])(x, t)
    _close(t1, 5.0 * t, np.float32)
    _close(t2, 7.0 * t, np.float32)
    j1, j2 = gc.jacfwd(two)(x)
    _close(j1, 5 * np.eye(3), np.float32)
    _close(j2, 7 * np.eye(3), np.float32)


def test_compiled_backend_runs_the_transposed_rule():
    x, t = np.linspace(-1.0, 1.0, 7, dtype=np.float32), np.ones(7, np.float32)
    got = gc.function(lambda x, t: gc.jvp(sin3, (x,), (t,))[1], backend="llvm")(x, t)
    _close(got, 3 * _exact(mpmath.cos, x), np.float32)
    hess = gc.function(gc.hessian(lambda x: gnp.sum(sin3(x))), backend="llvm")(x)
    _close(hess, _diag(-3 * _exact(mpmath.sin, x)), np.float32)


# --- a bwd that is not linear in the cotangent ----------------------------------------------------
def bwd_square(res, g): return (g * g,)  # noqa: E704
def bwd_clip(res, g): return (gnp.clip(g, -1.0, 1.0),)  # noqa: E704
def bwd_affine(res, g): return (g + 1.0,)  # noqa: E704
def bwd_relu(res, g): return (gnp.where(g > 0, g, 0.0),)  # noqa: E704
def bwd_stop(res, g): return (gc.stop_gradient(g),)  # noqa: E704
def bwd_constant(res, g): return (res,)  # noqa: E704


@pytest.mark.parametrize(
    "bwd, op",
    [
        (bwd_square, "mul"),
        (bwd_clip, "max"),
        (bwd_affine, "add"),
        (bwd_relu, "gt"),
        (bwd_stop, "stop_gradient"),
        (bwd_constant, None),
    ],
)
def test_nonlinear_bwd_is_a_clear_error_in_forward_mode_only(ref, bwd, op):
    @gc.custom_vjp
    def f(x):
        return gnp.sin(x)

    f.defvjp(lambda x: (f(x), gnp.cos(x)), bwd)
    x = np.array([0.2, -0.4])
    ref(gc.grad(lambda x: gnp.sum(f(x))))(x)  # reverse mode runs the user's bwd as it is
    if op is None:
        match = r"custom rule of f.*gradient 0 does not depend on the cotangent"
    else:
        line = bwd.__code__.co_firstlineno
        where = rf"test_custom_modes\.py:{line}: the custom rule of f: "
        match = where + rf".* applies {op} \(in {bwd.__name__}\)"
    for forward in (
        lambda: gc.jvp(f, (x,), (x,)),
        lambda: gc.jacfwd(f)(x),
        lambda: gc.hessian(lambda x: gnp.sum(f(x) ** 2))(x),  # the gradient uses y's tangent
    ):
        with pytest.raises(DifferentiationError, match=match) as info:
            forward()
        assert isinstance(info.value, gc.GraphcError)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keyword_arguments_reach_the_rule_by_position(dtype):
    """``f(x, scale=3.0)`` is ``f(x, 3.0)`` for the rule (JAX resolves keywords the same way); the
    rule (here deliberately 7 * scale, not the true derivative) is the one used."""

    @gc.custom_vjp
    def f(x, scale=2.0):
        return x * scale

    f.defvjp(lambda x, scale=2.0: (x * scale, scale), lambda scale, g: (7.0 * scale * g, None))

    @gc.custom_gradient
    def h(x, scale=2.0):
        return x * scale, lambda g: (5.0 * g, None)

    x = np.array(1.5, dtype)
    assert gc.grad(lambda x: f(x, scale=3.0))(x) == pytest.approx(21.0)
    assert gc.grad(lambda x: f(x))(x) == pytest.approx(14.0)  # the default reaches the rule
    assert gc.grad(lambda x: h(x, scale=3.0))(x) == pytest.approx(5.0)
    assert gc.function(lambda x: h(x, scale=3.0))(x) == pytest.approx(4.5)
    with pytest.raises(gc.ArgumentError, match=r"custom_vjp f: .*unexpected keyword.*'bad'"):
        gc.grad(lambda x: f(x, bad=1.0))(x)
