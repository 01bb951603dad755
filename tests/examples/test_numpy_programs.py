"""Real NumPy programs run unchanged under graphc (issue 12): a convolution layer
(examples/conv2d.py: pad, slicing, stack, einsum) and a character RNN (examples/char_rnn.py:
integer indexing, repeat, hstack, vstack, tanh, take_along_axis, a log-sum-exp) and a
Gaussian-process regression (examples/gaussian_process.py: cholesky, solve, slogdet, diag). Each
gives plain NumPy's numbers, and its gradient passes the numerical check."""

import numpy as np
from _examples import load as _load

import graphc as gc
from graphc.scipy import stats
from graphc.testing import check_grads


def test_convolution_matches_numpy_and_its_gradient_checks():
    conv = _load("conv2d")
    (w, b, x, target), value, grads = conv.main(size=6)
    np.testing.assert_allclose(value, conv.loss(w, b, x, target), rtol=1e-12)
    np.testing.assert_allclose(gc.function(conv.conv2d)(x, w, b), conv.conv2d(x, w, b),
                               rtol=1e-12, atol=1e-14)
    check_grads(lambda w, b: conv.loss(w, b, x, target), (w, b), order=1)
    assert grads[0].shape == w.shape and grads[1].shape == b.shape


def test_char_rnn_matches_numpy_trains_and_its_gradient_checks():
    rnn = _load("char_rnn")
    losses, params, (chars, targets) = rnn.main(steps=8)
    assert losses[-1] < losses[0] * 0.9
    np.testing.assert_allclose(gc.function(rnn.nll)(params, chars, targets),
                               rnn.nll(params, chars, targets), rtol=1e-12)
    short = (chars[:2, :3], targets[:2, :3])
    check_grads(lambda e, w: rnn.nll([e, w, *params[2:]], *short), (params[0], params[1]),
                order=1)


def test_gaussian_process_matches_numpy_fits_and_its_gradient_checks():
    gp = _load("gaussian_process")
    losses, params, (x, y), (mean, var) = gp.main(n=12, steps=25)
    assert losses[-1] < losses[0] - 1
    for f in (gp.neg_log_marginal_likelihood, gp.neg_log_marginal_likelihood_slogdet):
        np.testing.assert_allclose(gc.function(f)(params, x, y), f(params, x, y), rtol=1e-11)
    # an independent formula: -log N(y; 0, K) by graphc.scipy.stats
    np.testing.assert_allclose(
        gc.function(gp.neg_log_marginal_likelihood)(params, x, y),
        -stats.multivariate_normal.logpdf(y, None, gp.covariance(params, x)), rtol=1e-11)
    want_mean, want_var = gp.predict(params, x, y, x)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(var, want_var, rtol=1e-8, atol=1e-12)
    for f in (gp.neg_log_marginal_likelihood, gp.neg_log_marginal_likelihood_slogdet):
        check_grads(lambda p: f(p, x, y), (params,), order=2)
    check_grads(lambda p, xn: gp.predict(p, x, y, xn)[0], (params, x[:3] + 0.1), order=1)
