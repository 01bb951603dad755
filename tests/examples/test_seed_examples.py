"""The seed-topic examples (issue 13, item 3) run and give the right numbers, each checked
independently of graphc: hand-derived gradients and Hessians, NumPy reimplementations of the
optimizer steps, least squares, accuracy and convergence thresholds."""

import importlib.util

import numpy as np
from _examples import load as _load

import graphc as gc


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def test_linear_regression_dict_gradients_and_least_squares_fit():
    lr = _load("linear_regression_dict")
    losses, params, (x, y), true = lr.main(n=48, d=3, steps=200)
    # the gradient dict at a random point, against the hand-derived formula
    rng = np.random.default_rng(1)
    p = {"w": rng.normal(size=3), "b": np.float64(rng.normal())}
    value, g = gc.jit(gc.value_and_grad(lr.loss))(p, x, y)
    r = x @ p["w"] + p["b"] - y
    np.testing.assert_allclose(value, np.mean(r ** 2), rtol=1e-12)
    assert set(g) == {"w", "b"} and g["w"].shape == (3,) and np.shape(g["b"]) == ()
    np.testing.assert_allclose(g["w"], 2 * x.T @ r / len(y), rtol=1e-12)
    np.testing.assert_allclose(g["b"], 2 * np.mean(r), rtol=1e-12)
    # gradient descent reaches the least-squares solution
    coef = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)[0]
    np.testing.assert_allclose(params["w"], coef[:3], atol=1e-6)
    np.testing.assert_allclose(params["b"], coef[3], atol=1e-6)
    np.testing.assert_allclose(params["w"], true["w"], atol=0.05)
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


def test_d2l_autodiff_walkthrough():
    d2l = _load("d2l_autodiff")
    out = d2l.main(n=4, seed=3)
    x = out["x"]
    np.testing.assert_array_equal(out["grad_two_dot"], 4 * x)
    np.testing.assert_array_equal(out["grad_sum"], np.ones(4))
    np.testing.assert_array_equal(out["vjp_square"], 2 * x)
    np.testing.assert_array_equal(out["jacobian_square"], np.diag(2 * x))
    np.testing.assert_array_equal(out["grad_detached"], x * x)  # u, not 3 x**2
    np.testing.assert_array_equal(out["grad_stop_gradient"], x * x)
    np.testing.assert_array_equal(out["grad_undetached"], 2 * x)
    # control flow: f is linear in a piece by piece, so its derivative is f(a) / a
    f = d2l.control_flow_f()
    a, fa, ga = out["control_scalar"]
    np.testing.assert_allclose(fa, f(a), rtol=1e-12)
    np.testing.assert_allclose(ga, f(a) / a, rtol=1e-12)
    av, d, g = out["control_vector"]
    np.testing.assert_allclose(d, f(av), rtol=1e-12)  # plain NumPy runs the same loop
    np.testing.assert_allclose(g, f(av) / av, rtol=1e-12)
    assert len(np.unique(g)) == 1  # one factor for all entries: d = k a


def test_logistic_regression_gradients_and_accuracy():
    logreg = _load("logistic_regression")
    losses, (w, b), (x, y), acc = logreg.main(n=120, steps=200)
    # the BCE-with-logits loss and its (w, b) gradients at a random point, by hand
    rng = np.random.default_rng(2)
    w0, b0 = rng.normal(size=2), np.float64(rng.normal())
    z = x @ w0 + b0
    want = np.mean(np.logaddexp(0, z) - y * z)
    np.testing.assert_allclose(gc.jit(logreg.forward)(x, y, w0, b0), want, rtol=1e-12)
    gw, gb = gc.grad(logreg.forward, argnums=(2, 3))(x, y, w0, b0)
    np.testing.assert_allclose(gw, x.T @ (_sigmoid(z) - y) / len(y), rtol=1e-10)
    np.testing.assert_allclose(gb, np.mean(_sigmoid(z) - y), rtol=1e-10)
    # the data are separable with a margin, and training separates them
    _, _, (w_true, b_true) = logreg.data(120, 2)
    assert np.min(np.abs(x @ w_true + b_true)) >= 0.3
    assert np.mean((x @ w + b > 0) == (y == 1)) >= 0.99 and acc >= 0.99
    assert losses[-1] < 0.05 < 0.69 < losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


def test_tensorflow_style_tapes_and_custom_gradient():
    tf = _load("tensorflow_style")
    out = tf.main(seed=4)
    (w, b, x), (loss, g) = out["dense"]
    y = (x @ w + b).astype(np.float64)
    dy = 2 * y / y.size
    np.testing.assert_allclose(loss, np.mean(y ** 2), rtol=1e-6)
    np.testing.assert_allclose(g["w"], x.T @ dy, rtol=1e-5)
    np.testing.assert_allclose(g["b"], dy.sum(axis=0), rtol=1e-5)
    assert g["w"].dtype == np.float32 and g["b"].dtype == np.float32
    np.testing.assert_allclose(out["persistent"], (4 * 3.0 ** 3, 2 * 3.0))
    np.testing.assert_allclose(out["second"], (3 * 2.0 ** 2, 6 * 2.0))
    points = out["points"].astype(np.float64)
    value, grad = out["custom"]
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, np.logaddexp(0, points), rtol=1e-6, atol=1e-40)  # subnormal
    np.testing.assert_allclose(grad, _sigmoid(points), rtol=1e-6, atol=1e-40)
    np.testing.assert_allclose(out["custom_grad"], _sigmoid(points), rtol=1e-6, atol=1e-40)
    naive_value, naive_grad = out["naive"]
    assert np.isinf(naive_value[-1]) and np.isnan(naive_grad[-1])  # what the custom rule fixes
    np.testing.assert_allclose(naive_grad[1:4], _sigmoid(points[1:4]), rtol=1e-6)


def _mlp_grads(params, x, y):
    """Backpropagation by hand for the one-hidden-layer tanh MLP of pytorch_style.py."""
    l0, l1 = params["l0"], params["l1"]
    h = np.tanh(x @ l0["w"] + l0["b"])
    dpred = 2 * (h @ l1["w"] + l1["b"] - y) / y.size
    dz = dpred @ l1["w"].T * (1 - h * h)
    return {"l0": {"w": x.T @ dz, "b": dz.sum(0)}, "l1": {"w": h.T @ dpred, "b": dpred.sum(0)}}


def _leaves(tree):
    return [tree[k][n] for k in ("l0", "l1") for n in ("w", "b")]


def _assert_trees_close(got, want, rtol=1e-10):
    for a, b in zip(_leaves(got), _leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-13)


def test_pytorch_style_steps_match_numpy_optimizers():
    import graphc.optim as optim

    torch_style = _load("pytorch_style")
    x, y = torch_style.data(32, 0)
    p0 = torch_style.init_mlp([1, 8, 1], 0)
    _assert_trees_close(gc.grad(torch_style.mse_loss)(p0, x, y), _mlp_grads(p0, x, y))
    # two Adam steps and two momentum steps, against NumPy
    for opt, name in ((optim.adam(0.01), "adam"), (optim.sgd(0.1, momentum=0.9), "sgd")):
        step = torch_style.make_train_step(opt)
        params, state = p0, opt.init(p0)
        want = p0
        m = v = vel = [np.zeros_like(a) for a in _leaves(p0)]
        for t in (1, 2):
            params, state, _ = step(params, state, x, y)
            g = _leaves(_mlp_grads(want, x, y))
            if name == "adam":
                m = [0.9 * a + 0.1 * b for a, b in zip(m, g)]
                v = [0.999 * a + 0.001 * b * b for a, b in zip(v, g)]
                new = [p - 0.01 * (mi / (1 - 0.9 ** t)) / (np.sqrt(vi / (1 - 0.999 ** t)) + 1e-8)
                       for p, mi, vi in zip(_leaves(want), m, v)]
            else:
                vel = [0.9 * a + b for a, b in zip(vel, g)]
                new = [p - 0.1 * a for p, a in zip(_leaves(want), vel)]
            want = {"l0": {"w": new[0], "b": new[1]}, "l1": {"w": new[2], "b": new[3]}}
            _assert_trees_close(params, want, rtol=1e-9)


def test_pytorch_style_training_compares_optimizers():
    torch_style = _load("pytorch_style")
    results, initial, (x, y) = torch_style.main(n=128, hidden=16, epochs=50)
    for name, (params, final) in results.items():
        pred = torch_style.mlp(params, x)  # plain NumPy on the returned parameters
        np.testing.assert_allclose(final, np.mean((pred - y) ** 2), rtol=1e-12)
        assert final < 0.2 * initial, name
    assert results["sgd_momentum"][1] < results["sgd"][1] / 2
    assert results["adam"][1] < results["sgd"][1] / 1.5


def test_sin_derivative_is_cos_and_the_png_is_optional(tmp_path, capsys):
    sin = _load("sin_derivative")
    png = tmp_path / "sin.png"
    x, y, dy, d2y, path = sin.main(n=41, png=png)
    np.testing.assert_allclose(x, np.linspace(-2 * np.pi, 2 * np.pi, 41))
    np.testing.assert_allclose(y, np.sin(x))
    np.testing.assert_allclose(dy, np.cos(x), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(d2y, -np.sin(x), rtol=1e-12, atol=1e-15)
    out = capsys.readouterr().out
    if importlib.util.find_spec("matplotlib") is None:
        assert path is None and not png.exists()
        assert "pip install 'graphc-compiler[plot]'" in out
    else:
        assert path == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sin.main(n=5, png=None)[-1] is None


def _hessian_by_hand(x, A, C):
    p = np.exp(C @ x - np.max(C @ x))
    p /= p.sum()
    return A + C.T @ (np.diag(p) - np.outer(p, p)) @ C, p


def test_newton_hvp_matches_the_hand_hessian_and_converges():
    newton = _load("newton_hvp")
    out = newton.main(n=4, m=6, seed=5)
    A, b, C = (out["problem"][k] for k in ("A", "b", "C"))
    H, _ = _hessian_by_hand(out["x0"], A, C)
    np.testing.assert_allclose(out["hessian"], H, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["hvp"], H @ out["v"], rtol=1e-10, atol=1e-12)
    # Newton's method in NumPy with the hand Hessian finds the same minimizer
    x = out["x0"]
    for _ in range(20):
        H, p = _hessian_by_hand(x, A, C)
        x = x - np.linalg.solve(H, A @ x + b + C.T @ p)
    np.testing.assert_allclose(out["x"], x, rtol=1e-9, atol=1e-10)
    norms = out["grad_norms"]
    assert norms[-1] < 1e-10 and len(norms) <= 8
    assert norms[-2] < 1e-4  # quadratic convergence: the last step squares a small error
