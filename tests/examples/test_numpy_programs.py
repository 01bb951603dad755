"""Real NumPy programs run unchanged under graphc (issue 12): a convolution layer
(examples/conv2d.py: pad, slicing, stack, einsum) and a character RNN (examples/char_rnn.py:
integer indexing, repeat, hstack, vstack, tanh, take_along_axis, a log-sum-exp). Each gives
plain NumPy's numbers, and its gradient passes the numerical check."""

import importlib.util
import pathlib

import numpy as np

import graphc as gc
from graphc.testing import check_grads

_EXAMPLES = pathlib.Path(__file__).parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, _EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
