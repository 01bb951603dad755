"""Plain NumPy calls on traced values (``np.sum(t)``, ``np.exp(t)``, ``t @ u``, ``np.where``,
``np.linalg.norm``) dispatch through ``__array_ufunc__`` / ``__array_function__`` and build exactly the
graph the graphc.numpy call builds. Each pair is written on one line, so the recorded source lines
agree and the whole text of the two graphs can be compared."""

from __future__ import annotations

import numpy as np
import pytest
from gnp_check import assert_same, rand, traced

import graphc as gc
import graphc.numpy as gnp

X, Y, C = rand((3, 4), "float32"), rand((4,), "float32", seed=1), rand((3, 4), "bool", seed=2)

# (plain NumPy form, graphc.numpy form), each pair on one line
# fmt: off
PAIRS = {
    "sum": (lambda t, u: np.sum(t), lambda t, u: gnp.sum(t)),
    "sum_axis": (lambda t, u: np.sum(t, axis=1, keepdims=True), lambda t, u: gnp.sum(t, axis=1, keepdims=True)),
    "mean": (lambda t, u: np.mean(t, axis=0), lambda t, u: gnp.mean(t, axis=0)),
    "max": (lambda t, u: np.max(t, axis=-1), lambda t, u: gnp.max(t, axis=-1)),
    "amin": (lambda t, u: np.amin(t), lambda t, u: gnp.min(t)),
    "var_std": (lambda t, u: np.var(t) + np.std(t, axis=0), lambda t, u: gnp.var(t) + gnp.std(t, axis=0)),
    "argmax": (lambda t, u: np.argmax(t, axis=1), lambda t, u: gnp.argmax(t, axis=1)),
    "exp": (lambda t, u: np.exp(t), lambda t, u: gnp.exp(t)),
    "log_sqrt": (lambda t, u: np.log(np.sqrt(t * t + 1.0)), lambda t, u: gnp.log(gnp.sqrt(t * t + 1.0))),
    "trig": (lambda t, u: np.sin(t) + np.cos(u) * np.tanh(t), lambda t, u: gnp.sin(t) + gnp.cos(u) * gnp.tanh(t)),
    "abs": (lambda t, u: np.abs(t) + np.absolute(u), lambda t, u: gnp.abs(t) + gnp.abs(u)),
    "binary_ufuncs": (lambda t, u: np.add(t, u) * np.maximum(t, 0.0), lambda t, u: gnp.add(t, u) * gnp.maximum(t, 0.0)),
    "compare": (lambda t, u: np.greater(t, u) & np.less(t, 1.0), lambda t, u: gnp.logical_and(gnp.greater(t, u), gnp.less(t, 1.0))),
    "matmul_op": (lambda t, u: t @ u, lambda t, u: gnp.matmul(t, u)),
    "np_matmul": (lambda t, u: np.matmul(t, u), lambda t, u: gnp.matmul(t, u)),
    "dot": (lambda t, u: np.dot(t, u), lambda t, u: gnp.dot(t, u)),
    "where": (lambda t, u: np.where(t > 0, t, u), lambda t, u: gnp.where(gnp.greater(t, 0), t, u)),
    "norm": (lambda t, u: np.linalg.norm(t, axis=1), lambda t, u: gnp.linalg.norm(t, axis=1)),
    "reshape": (lambda t, u: np.reshape(t, (2, 6)), lambda t, u: gnp.reshape(t, (2, 6))),
    "transpose": (lambda t, u: np.transpose(t), lambda t, u: gnp.transpose(t)),
    "concatenate": (lambda t, u: np.concatenate([t, t], axis=1), lambda t, u: gnp.concatenate([t, t], axis=1)),
    "stack": (lambda t, u: np.stack([u, u]), lambda t, u: gnp.stack([u, u])),
    "clip": (lambda t, u: np.clip(t, -1.0, 1.0), lambda t, u: gnp.clip(t, -1.0, 1.0)),
    "cumsum": (lambda t, u: np.cumsum(t, axis=0), lambda t, u: gnp.cumsum(t, axis=0)),
    "einsum": (lambda t, u: np.einsum("ij,j->i", t, u), lambda t, u: gnp.einsum("ij,j->i", t, u)),
    "power": (lambda t, u: np.power(t, 2) + np.square(u), lambda t, u: gnp.power(t, 2) + gnp.square(u)),
    "operators": (lambda t, u: -t / (u - 2.0) ** 3.0, lambda t, u: gnp.divide(gnp.negative(t), gnp.power(gnp.subtract(u, 2.0), 3.0))),
}
# fmt: on


def _text(fn):
    return str(gc.make_graph(fn)(X, Y))


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_numpy_call_builds_the_same_graph(name):
    plain, ours = PAIRS[name]
    text = _text(plain)
    assert text == _text(ours)
    assert text.count("\n") >= 3  # some nodes were traced
    assert_same(traced(plain)(X, Y), plain(X, Y))  # and it computes what NumPy computes


def test_methods_build_the_same_graph_as_functions():
    # fmt: off
    pairs = [
        (lambda t: t.sum(axis=0) + t.mean() + t.max(), lambda t: gnp.sum(t, axis=0) + gnp.mean(t) + gnp.max(t)),
        (lambda t: t.reshape(2, 6).T.astype("float64"), lambda t: gnp.astype(gnp.transpose(gnp.reshape(t, (2, 6))), "float64")),
        (lambda t: t.prod(axis=1).dot(t), lambda t: gnp.dot(gnp.prod(t, axis=1), t)),
        (lambda t: t.min(0, keepdims=True).ravel(), lambda t: gnp.ravel(gnp.min(t, 0, keepdims=True))),
        (lambda t: t.copy().var(ddof=1) + t.std(axis=1).sum(), lambda t: gnp.var(t, ddof=1) + gnp.sum(gnp.std(t, axis=1))),
        (lambda t: t.argmax() + t.argmin(axis=0).sum(), lambda t: gnp.argmax(t) + gnp.sum(gnp.argmin(t, axis=0))),
        (lambda t: t.clip(0, 1).cumsum(axis=1).swapaxes(0, 1).squeeze(), lambda t: gnp.squeeze(gnp.swapaxes(gnp.cumsum(gnp.clip(t, 0, 1), axis=1), 0, 1))),
        (lambda t: t.transpose(1, 0).flatten(), lambda t: gnp.ravel(gnp.transpose(t, (1, 0)))),
    ]
    # fmt: on
    for plain, ours in pairs:
        assert str(gc.make_graph(plain)(X)) == str(gc.make_graph(ours)(X))


def test_unsupported_numpy_call_is_a_clear_error():
    with pytest.raises(gc.GraphcError, match="np.fft|not supported"):
        gc.make_graph(lambda t: np.fft.fft(t))(X)
    with pytest.raises(gc.GraphcError, match="np.add.reduce|not supported"):
        gc.make_graph(lambda t: np.add.reduce(t))(X)
    with pytest.raises(gc.GraphcError, match="out"):
        gc.make_graph(lambda t: np.exp(t, out=np.empty((3, 4), np.float32)))(X)
    with pytest.raises(gc.GraphcError, match="dtype"):
        gc.make_graph(lambda t: np.add(t, 1, dtype=np.float64))(X)
    with pytest.raises(gc.GraphcError, match="np.concatenate.*dtype"):
        gc.make_graph(lambda t: np.concatenate([t, t], dtype=np.float64))(X)
    with pytest.raises(gc.GraphcError, match="test_numpy_dispatch.py.*np.spacing"):
        gc.make_graph(lambda t: np.spacing(t))(X)


def test_np_asarray_on_a_tracer_is_a_clear_error():
    with pytest.raises(gc.TracerBoolError, match="test_numpy_dispatch.py"):
        gc.make_graph(lambda t: np.asarray(t))(X)
