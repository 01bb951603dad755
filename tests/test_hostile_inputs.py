"""Issue 9, items 5 and 6: hostile shapes, sizes, arguments and options. Each must be a clear
GraphcError at the user's line (``tests/_lines.py``), never a raw Python error, a hang or a
silently wrong result: shapes whose size overflows 64-bit indexing, negative, float and bool
dimensions, Jacobians of 1e12 elements, optimizer trees that do not match, arguments that are not
NumPy values (torch tensors, ``jax.ShapeDtypeStruct``), bad einsum subscripts. Neither torch nor
jax is a dependency: small classes below behave like their objects do."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import graphc as gc
import graphc.nn as nn
import graphc.numpy as gnp
import graphc.optim as optim
from graphc.errors import AxisError
from graphc.ir import TensorType
from graphc.ir.types import MAX_BYTES
from graphc.ops import shape as sh

from _lines import SourceLines, error_rows

LINES = SourceLines(__file__)
A, S, G = gc.ArgumentError, gc.ShapeError, gc.GraphcError
X = np.ones(3)


def fn(f, *args):
    """``f`` traced and run on the reference backend with ``args`` (default ``X``)."""
    return gc.function(f, backend="reference")(*(args or (X,)))


def wide(x, shape):
    """``x`` broadcast to ``shape`` inside a trace: a huge value that is never stored."""
    return gnp.broadcast_to(x, shape)


class TorchLike:
    """What graphc sees of a ``torch.Tensor``: ``__array__``, ``.numpy()``, ``.detach()``,
    ``requires_grad``, and a dtype NumPy does not know. Like torch, ``__array__`` refuses a
    tensor that requires grad."""

    def __init__(self, data, requires_grad=False):
        self._data = np.asarray(data, np.float32)
        self.requires_grad = requires_grad
        self.shape, self.dtype = self._data.shape, "torch.float32"

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data if dtype is None else self._data.astype(dtype)

    def numpy(self):
        return np.array(self)

    def detach(self):
        return TorchLike(self._data)


class SeriesLike:
    """A pandas-Series-like object: converts with ``__array__`` and has a NumPy dtype."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape, self.dtype = self._data.shape, self._data.dtype

    def __array__(self, dtype=None, copy=None):
        return self._data


class ShapeDtypeStruct:
    """Like ``jax.ShapeDtypeStruct``: a shape and a dtype, no data."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)


def f(x, y=1.0):
    return gnp.sum(x * y)


def g(x, y):
    return x * y


P = {"w": np.ones((2, 3)), "b": np.ones(3)}
SGD, MOM, ADAM, RMS = optim.sgd(0.1), optim.sgd(0.1, 0.9), optim.adam(0.1), optim.rmsprop(0.1)


# --- item 5: shapes and sizes --------------------------------------------------------------------
# (id, thunk, error class, words the message must hold); each thunk on one line, which the
# message must name
SIZES = [
    ("ones-float", lambda: gnp.ones(2.5), A, ["ones: shape", "2.5 (float)"]),
    ("ones-float-traced", lambda: fn(lambda x: gnp.ones(2.5)), A, ["ones: shape", "2.5"]),
    ("ones-bool-dim", lambda: gnp.ones((2, True)), A, ["ones: shape", "True (bool)"]),
    ("zeros-bool-array", lambda: gnp.zeros(np.array([True])), A, ["zeros: shape", "True"]),
    ("zeros-float-array", lambda: gnp.zeros(np.array([2.0])), A, ["zeros: shape", "2.0"]),
    ("broadcast-to-bool", lambda: fn(lambda x: gnp.broadcast_to(x, (True, 3))), A, ["broadcast_to: shape"]),  # noqa: E501
    ("linspace-num-bool", lambda: gnp.linspace(0, 1, True), A, ["linspace: num", "bool"]),
    ("product-2**64", lambda: fn(lambda x: (gnp.ones((2**32, 1, 1)) * gnp.ones((1, 2**32, 1))).sum()), S, ["in mul", "(4294967296, 4294967296, 1)", "too big"]),  # noqa: E501
    ("product-2**62-float64", lambda: fn(lambda x: (wide(x[:1], (2**31, 1)) * wide(x[:1], (1, 2**31))).sum()), S, ["in mul", "too big", "8 bytes"]),  # noqa: E501
    ("matmul-result", lambda: fn(lambda x: (wide(x, (2**31, 3)) @ wide(x[:, None], (3, 2**31))).sum()), S, ["in dot_general", "too big"]),  # noqa: E501
    ("outer-result", lambda: fn(lambda x: gnp.outer(wide(x, (2**32, 3)), wide(x, (2**32, 3))).sum()), S, ["in mul", "too big"]),  # noqa: E501
    ("iota-negative", lambda: fn(lambda x: sh.iota(shape=(-2,), dtype=np.int64, dimension=0)), S, ["in iota", "negative"]),  # noqa: E501
    ("broadcast-in-dim-negative", lambda: fn(lambda x: sh.broadcast_in_dim(x, shape=(-1, 3), dims=(1,))), S, ["broadcast_in_dim", "negative"]),  # noqa: E501
    ("reshape-zero-size-huge", lambda: fn(lambda x: gnp.reshape(x[:0], (0, 2**62, 4))), S, ["in reshape", "too big"]),  # noqa: E501
    ("broadcast-to-huge", lambda: fn(lambda x: gnp.broadcast_to(x, (2**62, 3))), S, ["broadcast_to", "too big"]),  # noqa: E501
    ("ones-huge-eager", lambda: gnp.ones((2**40, 2**40)), S, ["ones", "too big"]),
    ("full-huge-eager", lambda: gnp.full((2**62, 4), 1.0), S, ["full", "too big"]),
    ("zeros-huge-uint64", lambda: gnp.zeros(np.uint64(2**63)), S, ["zeros", "too big"]),
    ("zeros-zero-by-huge", lambda: gnp.zeros((0, 2**70)), S, ["zeros", "too big"]),
    ("eye-huge-eager", lambda: gnp.eye(2**40), S, ["eye", "too big"]),
    ("eye-huge-traced", lambda: fn(lambda x: gnp.eye(2**40).sum()), S, ["eye", "too big"]),
    ("arange-huge-eager", lambda: gnp.arange(2**62), S, ["arange", "too big"]),
    ("arange-huge-traced", lambda: fn(lambda x: gnp.arange(2**62).sum()), S, ["arange", "too big"]),
    ("arange-bound-beyond-int64", lambda: gnp.arange(2**70, 2**70 + 3), S, ["arange", "int64"]),
    ("arange-length-overflows", lambda: gnp.arange(0, 1e300, 1e-300), S, ["arange"]),
    ("linspace-huge-traced", lambda: fn(lambda x: gnp.linspace(0, 1, 2**62).sum()), S, ["linspace", "too big"]),  # noqa: E501
    ("linspace-huge-bool", lambda: fn(lambda x: gnp.linspace(0, 1, 2**62, dtype=bool)), S, ["linspace", "float64"]),  # noqa: E501
    ("jacobian-1e12-outputs", lambda: gc.jacobian(lambda x: wide(x, (10**6, 10**6)))(np.ones(1)), S, ["jacobian", "too large", "1000000000000", "gc.jacfwd", "1 element)"]),  # noqa: E501
    ("jacobian-1e12-in-trace", lambda: fn(lambda x: gc.jacobian(lambda y: wide(y, (10**6, 10**6)))(x[:1])), S, ["jacobian", "too large", "65536"]),  # noqa: E501
    ("jacfwd-1e12-inputs", lambda: fn(lambda x: gc.jacfwd(gnp.sum)(wide(x[0], (10**6, 10**6)))), S, ["jacfwd", "too large", "inputs have 1000000000000", "gc.jacobian"]),  # noqa: E501
    ("hessian-1e6-inputs", lambda: gc.hessian(lambda x: wide(x, (10**6, 10**6)).sum())(np.ones(10**6)), S, ["hessian: the Hessian of <lambda>", "too large", "Hessian-vector"]),  # noqa: E501
    ("jacobian-block-too-big", lambda: fn(lambda x: gc.jacobian(lambda y: wide(y.sum(), (2**16,)))(wide(x[0], (2**25, 2**25)))), S, ["jacobian", "too large", "too big"]),  # noqa: E501
    ("jacfwd-block-too-big", lambda: fn(lambda x: gc.jacfwd(lambda y: wide(y.sum(), (2**25, 2**25)))(wide(x[0], (2**16,)))), S, ["jacfwd", "too large", "too big"]),  # noqa: E501
]


@error_rows(SIZES)
def test_bad_shape_or_size_is_a_clear_error_at_the_users_line(thunk, cls, words):
    LINES.raises_clear_error(thunk, cls, words)


def test_size_limit_is_exactly_what_64_bit_byte_offsets_address():
    """``MAX_BYTES`` bytes fit, one more do not, for every item size (bool 1 byte, float64 8)."""
    assert MAX_BYTES == np.iinfo(np.int64).max
    for dtype in (np.bool_, np.int32, np.float64):
        item = np.dtype(dtype).itemsize
        fits = TensorType((MAX_BYTES // item,), dtype)
        assert fits.size * item <= MAX_BYTES
        for shape in [(MAX_BYTES // item + 1,), (2, MAX_BYTES // item // 2 + 1), (2**64,)]:
            with pytest.raises(gc.ShapeError, match="too big"):
                TensorType(shape, dtype)
    assert TensorType((0, 2**58, 2), np.float64).size == 0  # empty, other dims addressable
    with pytest.raises(gc.ShapeError, match="too big"):
        TensorType((0, 2**60), np.float64)  # empty too, but its other dimension is not


@pytest.mark.parametrize("shape", [(-1,), (2, -3), (-2, -3), (2.5,), (True, 2), ("a",)])
def test_type_refuses_non_dimensions(shape):
    """Two negative dimensions multiply to a positive size; each must still be refused."""
    with pytest.raises(gc.ShapeError):
        TensorType(shape, np.float32)


def test_numpy_integer_dimensions_are_ints():
    t = TensorType((np.int64(2), np.int32(3)), np.float32)
    assert t.shape == (2, 3) and all(type(n) is int for n in t.shape)
    assert fn(lambda x: gnp.zeros((np.int8(2), np.uint16(3))) + x).shape == (2, 3)
    assert fn(lambda x: gnp.reshape(x, np.int64(3))).shape == (3,)


ARANGE_BOUNDS = [0, 5, -3, 2.5, 0.1, np.float32(0.1), np.float32(3), np.int32(4), np.int64(7)]
ARANGE_STEPS = [1, -1, 0.5, np.float32(0.3), np.int32(2), -2.5]


def test_arange_length_and_dtype_are_numpys_without_making_the_array():
    """Traced, arange is an iota whose length and dtype graphc works out itself (so that a huge
    one costs nothing): they must be NumPy's for every mix of Python and NumPy bound types
    (NumPy gives all-float32 bounds float64, all-int32 bounds int64)."""
    checked = 0
    for a, b, c in itertools.product(ARANGE_BOUNDS, ARANGE_BOUNDS, ARANGE_STEPS):
        ref = np.arange(a, b, c)
        got = fn(lambda x: gnp.arange(a, b, c))
        assert (got.dtype, got.shape) == (ref.dtype, ref.shape), (a, b, c)
        np.testing.assert_allclose(got, ref, rtol=4 * np.finfo(np.float32).eps, atol=1e-12)
        checked += ref.size > 0
    assert checked > 100


@pytest.mark.parametrize("backend", ["reference", "llvm"])
def test_eye_with_any_k_matches_numpy(backend):
    """``k`` beyond the matrix gives zeros, as in NumPy (2**70 was a raw OverflowError traced)."""
    for n, m, k in itertools.product([0, 1, 3], [None, 2, 5], [0, 1, -1, 4, -4, 2**70, -(2**70)]):
        got = gc.function(lambda: gnp.eye(n, m, k, dtype=np.int32), backend=backend)()
        np.testing.assert_array_equal(got, np.eye(n, m, k, dtype=np.int32))
        assert got.dtype == np.int32


def test_small_jacobians_and_hessians_still_build():
    """The pass limit is far above what real Jacobians need."""
    x = np.linspace(0.5, 1.5, 4)
    np.testing.assert_allclose(gc.hessian(lambda v: (v**3).sum())(x), np.diag(6 * x))
    np.testing.assert_allclose(gc.jacfwd(lambda v: v**2)(x), np.diag(2 * x))
    np.testing.assert_allclose(gc.jacobian(lambda v: gnp.sin(v))(x), np.diag(np.cos(x)))


# --- item 6: arguments and options ---------------------------------------------------------------
OPTIONS = [
    ("static-argnums-out-of-range", lambda: gc.function(lambda x: x, static_argnums=5), G, ["static_argnums 5", "out of range"]),  # noqa: E501
    ("static-argnames-unknown", lambda: gc.function(lambda x: x, static_argnames="y"), G, ["static_argnames", "'y'"]),  # noqa: E501
    ("sgd-missing-leaf", lambda: SGD.update({"w": P["w"]}, SGD.init(P), P), A, ["sgd.update", "grads has the structure {'w': *}", "'b'"]),  # noqa: E501
    ("sgd-list-for-dict", lambda: SGD.update([P["w"], P["b"]], SGD.init(P), P), A, ["sgd.update", "grads", "[*, *]"]),  # noqa: E501
    ("sgd-leaf-shape", lambda: SGD.update({**P, "b": np.ones((2, 3))}, SGD.init(P), P), A, ["grads['b'] has shape (2, 3)", "params['b'] has shape (3,)"]),  # noqa: E501
    ("sgd-scalar-grad", lambda: SGD.update({**P, "b": 1.0}, SGD.init(P), P), A, ["grads['b'] has shape ()"]),  # noqa: E501
    ("momentum-state-of-adam", lambda: MOM.update(P, ADAM.init(P), P), A, ["sgd.update: state", "['velocity']", "'mu'"]),  # noqa: E501
    ("adam-missing-leaf", lambda: ADAM.update({"b": P["b"]}, ADAM.init(P), P), A, ["adam.update", "grads has the structure"]),  # noqa: E501
    ("adam-state-none", lambda: ADAM.update(P, None, P), A, ["adam.update: state", "NoneType"]),
    ("adam-state-leaf-shape", lambda: ADAM.update(P, {**ADAM.init(P), "mu": {**P, "w": np.ones(3)}}, P), A, ["state['mu']['w'] has shape (3,)"]),  # noqa: E501
    ("rmsprop-missing-leaf", lambda: RMS.update({"w": P["w"]}, RMS.init(P), P), A, ["rmsprop.update", "grads"]),  # noqa: E501
    ("sgd-compiled", lambda: gc.function(SGD.update)({"w": P["w"]}, SGD.init(P), P), A, ["sgd.update", "grads has the structure"]),  # noqa: E501
    ("clip-negative-norm", lambda: nn.clip_by_global_norm(P, -1.0), A, ["clip_by_global_norm: max_norm", "positive", "-1.0"]),  # noqa: E501
    ("clip-nan-norm", lambda: nn.clip_by_global_norm(P, float("nan")), A, ["max_norm", "positive"]),  # noqa: E501
    ("clip-str-norm", lambda: nn.clip_by_global_norm(P, "a"), A, ["max_norm", "'a' (str)"]),
    ("torch-tensor-argument", lambda: gc.function(g)(TorchLike([1.0, 2.0]), 2.0), A, ["argument x", "TorchLike", "not a NumPy array", ".detach().cpu().numpy()"]),  # noqa: E501
    ("torch-tensor-grad", lambda: gc.grad(f)(TorchLike([1.0, 2.0])), A, ["argument x", "not a NumPy array"]),  # noqa: E501
    ("torch-tensor-in-dict", lambda: gc.function(g)(X, {"w": TorchLike([1.0])}), A, ["argument y['w']", "TorchLike"]),  # noqa: E501
    ("torch-requires-grad-eager", lambda: gnp.sin(TorchLike([1.0], requires_grad=True)), G, ["cannot convert TorchLike", "detach"]),  # noqa: E501
    ("series-argument", lambda: gc.function(g)(X, SeriesLike([1.0, 2.0, 3.0])), A, ["argument y", "SeriesLike", "np.asarray(...)"]),  # noqa: E501
    ("shape-dtype-struct-call", lambda: gc.function(g)(ShapeDtypeStruct((3,), np.float32), X), A, ["argument x", "holds no data", "np.zeros(shape, dtype)"]),  # noqa: E501
    ("shape-dtype-struct-concrete", lambda: gc.function(g).concrete(X, ShapeDtypeStruct((3,), np.float32)), A, ["argument y", "holds no data"]),  # noqa: E501
    ("shape-dtype-struct-make-graph", lambda: gc.make_graph(g)(ShapeDtypeStruct((3,), "f4"), X), A, ["argument x", "holds no data"]),  # noqa: E501
    ("shape-dtype-struct-grad", lambda: gc.grad(f)(ShapeDtypeStruct((3,), np.float32)), A, ["grad_f: argument x", "holds no data"]),  # noqa: E501
    ("tensordot-axes-eager", lambda: gnp.tensordot(np.ones((2, 3)), np.ones((3, 2)), axes=5), S, ["tensordot: axes=5"]),  # noqa: E501
    ("tensordot-axis-eager", lambda: gnp.tensordot(np.ones((2, 3)), np.ones((3, 2)), axes=([7], [0])), AxisError, ["tensordot", "axis 7"]),  # noqa: E501
    ("einsum-output-letter", lambda: gnp.einsum("ij->k", np.ones((2, 2))), S, ["einsum", "output subscript 'k'", "no input"]),  # noqa: E501
    ("einsum-output-letter-traced", lambda: fn(lambda x: gnp.einsum("i->k", x)), S, ["einsum", "'k'"]),  # noqa: E501
    ("einsum-output-repeated", lambda: gnp.einsum("ij->ii", np.ones((2, 2))), S, ["einsum", "'i' appears more than once"]),  # noqa: E501
    ("einsum-digit", lambda: gnp.einsum("i1->i", np.ones((2, 2))), S, ["einsum", "invalid subscript '1'"]),  # noqa: E501
    ("einsum-two-arrows", lambda: gnp.einsum("ij->j->i", np.ones((2, 2))), S, ["einsum", "'-'"]),
    ("linspace-negative-eager", lambda: gnp.linspace(0, 1, -1), S, ["linspace: num", "negative"]),
    ("eye-negative-eager", lambda: gnp.eye(-1), S, ["eye: N", "negative"]),
    ("grad-argument-name", lambda: gc.grad(f)("abc"), G, ["grad_f: argument x:", "str"]),
    ("grad-argument-path", lambda: gc.grad(f)({"w": object()}), G, ["argument x['w']", "object"]),  # noqa: E501
    ("vjp-argument-name", lambda: gc.vjp(g, X, "abc"), G, ["argument y:", "str"]),
    ("jacobian-argument-name", lambda: gc.jacobian(g)(X, "abc"), G, ["jacobian_g: argument y:"]),
    ("hessian-argument-name", lambda: gc.hessian(f)("abc"), G, ["argument x:"]),
]


@error_rows(OPTIONS)
def test_bad_argument_or_option_is_a_clear_error_at_the_users_line(thunk, cls, words):
    LINES.raises_clear_error(thunk, cls, words)


def test_arrays_that_convert_still_work_where_numpy_converts():
    """Eager graphc.numpy converts what ``np.asarray`` converts, as NumPy does; and a converted
    tensor is an ordinary argument."""
    t = TorchLike([0.5, 1.0])
    np.testing.assert_allclose(gnp.sin(t), np.sin(np.float32([0.5, 1.0])), rtol=1e-6)
    out = fn(lambda x: x * 2, t.detach().numpy())
    np.testing.assert_array_equal(out, np.float32([1.0, 2.0]))
    assert out.dtype == np.float32


def test_optimizers_still_take_matching_trees():
    """The checks refuse only mismatches: namedtuple and Python-scalar leaves still work."""
    params = {"w": np.ones(2), "s": 2.0}
    grads = {"w": np.full(2, 0.5), "s": 1.0}
    for opt in (SGD, MOM, ADAM, RMS):
        new, state = opt.update(grads, opt.init(params), params)
        assert new["w"].shape == (2,) and np.shape(new["s"]) == ()
        assert np.all(np.asarray(new["w"]) < 1.0) and float(new["s"]) < 2.0
        opt.update(grads, state, new)  # the state it returned fits the next step


@pytest.mark.parametrize("tree", [{}, [], (None,), None])
def test_clip_by_global_norm_of_an_empty_tree_is_that_tree(tree):
    assert nn.clip_by_global_norm(tree, 1.0) == tree
    assert fn(lambda x: nn.clip_by_global_norm(tree, 1.0)) == tree


def test_clip_by_global_norm_takes_a_traced_bound():
    out = fn(lambda x, m: nn.clip_by_global_norm({"a": x}, m), np.full(4, 2.0), 2.0)
    np.testing.assert_allclose(out["a"], np.full(4, 1.0))


# --- messages name the user's parameter ----------------------------------------------------------
def test_integer_argument_error_names_the_parameter():
    with pytest.raises(gc.GraphcError) as info:
        gc.grad(g, argnums=1)(X, np.ones(3, np.int32))
    assert "argument y," in str(info.value), str(info.value)


def test_jvp_argument_error_names_the_parameter():
    with pytest.raises(gc.GraphcError) as info:
        gc.jvp(g, (X, "abc"), (X, X))
    assert "argument y:" in str(info.value), str(info.value)


@pytest.mark.parametrize("options", [{"static_argnums": 3}, {"static_argnums": "0"},
                                     {"static_argnames": "nope"}, {"static_argnames": 1}])
def test_bad_static_options_are_argument_errors(options):
    with pytest.raises(gc.ArgumentError, match="static_argn"):
        gc.function(g, **options)
