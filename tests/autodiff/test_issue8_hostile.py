"""Issue 8, items 9 and 11 (the rest): wrong arguments to graphc.numpy (shapes, axes, keepdims,
dtypes, counts, indices, ord, wrong-type operands), malformed custom rules, differentiated
functions that return something other than arrays, and the lines of the nodes graphc makes for
Jacobians and tangents. Each error must be a GraphcError subclass whose message starts with the
user's file:line (read from this file's text, ``tests/_lines.py``), names it once, and says what
is wrong."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.autodiff import DifferentiationError
from graphc.errors import AxisError

from _lines import SourceLines, error_rows

LINES = SourceLines(__file__)
at = LINES.at
X = np.arange(1.0, 7.0).reshape(2, 3)
A, S, T, G = gc.ArgumentError, gc.ShapeError, gc.DTypeError, gc.GraphcError
B, D, AX = gc.TracerBoolError, DifferentiationError, AxisError


def _sq(x):
    return gnp.sum(x * x)


def fn(f, *args):
    """``f`` traced and run (the reference backend, see conftest) on ``args`` (default ``X``)."""
    return gc.function(f)(*(args or (X,)))


# --- graphc.numpy arguments ----------------------------------------------------------------------
# (id, thunk, error class, words the message must hold); each thunk on one line, which the
# message must name
NUMPY = [
    ("reshape-str", lambda: fn(lambda x: x.reshape("a")), A, ["reshape: shape", "'a' (str)"]),
    ("reshape-float", lambda: fn(lambda x: x.reshape(2.5, 2)), A, ["2.5 (float)"]),
    ("reshape-negative", lambda: fn(lambda x: x.reshape(-2, -3)), S, ["negative", "(-2, -3)"]),
    ("reshape-two-unknown", lambda: fn(lambda x: x.reshape(-1, -1)), S, ["one unknown"]),
    ("reshape-huge", lambda: fn(lambda x: gnp.reshape(x, 2**70)), S, ["(2, 3)", "cannot reshape"]),
    ("reshape-traced", lambda: fn(lambda x, n: x.reshape(n, 3), X, 2), B, ["reshape: shape"]),
    ("reshape-order-array", lambda: fn(lambda x: gnp.ravel(x, np.ones(2))), G, ["order"]),
    ("reshape-str-operand", lambda: fn(lambda x: gnp.reshape("abc", 3) + x), G, ["str"]),
    ("sum-axis-str", lambda: fn(lambda x: x.sum(axis="a")), A, ["sum: axis", "'a' (str)"]),
    ("sum-axis-float", lambda: fn(lambda x: x.sum(axis=0.5)), A, ["sum: axis", "0.5 (float)"]),
    ("sum-axis-bool", lambda: fn(lambda x: x.sum(axis=True)), A, ["True (bool)"]),
    ("sum-axis-list-str", lambda: fn(lambda x: gnp.sum(x, axis=[0, "a"])), A, ["holds 'a'"]),
    ("sum-axis-out", lambda: fn(lambda x: x.sum(axis=2)), AX, ["axis 2", "dimension 2"]),
    ("sum-axis-negative", lambda: fn(lambda x: x.sum(axis=-3)), AX, ["axis -3", "dimension"]),
    ("sum-axis-traced", lambda: fn(lambda x, a: x.sum(axis=a), X, 0), B, ["sum: axis", "static"]),
    ("sum-axis-repeated", lambda: fn(lambda x: x.sum(axis=(0, -2))), S, ["repeated axis"]),
    ("sum-keepdims-str", lambda: fn(lambda x: x.sum(keepdims="a")), A, ["sum: keepdims", "bool"]),
    ("sum-keepdims-traced", lambda: fn(lambda x: x.sum(keepdims=x[0, 0] > 0)), B, ["keepdims"]),
    ("sum-dtype", lambda: fn(lambda x: x.sum(dtype="foo")), T, ["sum", "'foo'"]),
    ("sum-dict-operand", lambda: fn(lambda x: gnp.sum({}) + x), T, ["dict"]),
    ("sum-unknown-kwarg", lambda: fn(lambda x: gnp.sum(x, where=x > 0)), G, ["sum", "where"]),
    ("mean-keepdims-list", lambda: fn(lambda x: gnp.mean(x, keepdims=[1])), A, ["mean: keepdims"]),
    ("max-axis-tuple-out", lambda: fn(lambda x: gnp.max(x, axis=(0, 5))), AX, ["max", "axis 5"]),
    ("argmax-axis-float", lambda: fn(lambda x: gnp.argmax(x, axis=1.5)), A, ["argmax: axis"]),
    ("argmin-axis-tuple", lambda: fn(lambda x: gnp.argmin(x, axis=(0, 1))), A, ["argmin: axis"]),
    ("cumsum-axis-str", lambda: fn(lambda x: gnp.cumsum(x, axis="a")), A, ["cumsum: axis"]),
    ("var-ddof-str", lambda: fn(lambda x: gnp.var(x, ddof="a")), A, ["var: ddof", "number"]),
    ("std-ddof-traced", lambda: fn(lambda x: gnp.std(x, ddof=x[0, 0])), B, ["var: ddof", "static"]),
    ("logsumexp-axis", lambda: fn(lambda x: gnp.logsumexp(x, axis="a")), A, ["logsumexp: axis"]),
    ("zeros-str", lambda: fn(lambda x: gnp.zeros((2, "a")) + x), A, ["zeros: shape", "'a' (str)"]),
    ("zeros-traced", lambda: fn(lambda n: gnp.zeros(n), 3), B, ["zeros: shape", "static Python"]),
    ("zeros-traced-size", lambda: fn(lambda x: gnp.zeros(x.sum())), B, ["static Python ints"]),
    ("zeros-traced-shape", lambda: fn(lambda s: gnp.ones(s), np.array([2, 3])), B, ["ones: shape"]),
    ("zeros-negative", lambda: fn(lambda x: gnp.zeros((-1, 3))), S, ["zeros", "negative"]),
    ("zeros-huge", lambda: fn(lambda x: gnp.zeros((2**40, 2**40))), S, ["zeros", "too big"]),
    ("zeros-eager-str", lambda: gnp.zeros((2, "a")), A, ["zeros: shape"]),
    ("zeros-eager-negative", lambda: gnp.zeros(-1), S, ["negative"]),
    ("ones-dtype", lambda: fn(lambda x: gnp.ones(3, dtype="foo")), T, ["ones", "'foo'"]),
    ("full-like-shape", lambda: fn(lambda x: gnp.full_like(x, 1.0, shape="ab")), A, ["full_like"]),
    ("full-fill-str", lambda: fn(lambda x: gnp.full((2,), "a")), G, ["str"]),
    ("eye-str", lambda: fn(lambda x: gnp.eye("a")), A, ["eye: N"]),
    ("eye-negative", lambda: fn(lambda x: gnp.eye(3, -1)), S, ["eye: M", "negative"]),
    ("eye-k-float", lambda: fn(lambda x: gnp.eye(3, k=0.5)), A, ["eye: k"]),
    ("linspace-num-str", lambda: fn(lambda x: gnp.linspace(0, 1, "a")), A, ["linspace: num"]),
    ("linspace-num-negative", lambda: fn(lambda x: gnp.linspace(0, 1, -1)), S, ["linspace: num"]),
    ("linspace-traced", lambda: fn(lambda x: gnp.linspace(x[0, 0], 1.0, 3)), B, ["linspace"]),
    ("arange-str", lambda: fn(lambda x: gnp.arange("a")), A, ["arange: stop", "number"]),
    ("arange-step-zero", lambda: fn(lambda x: gnp.arange(0, 5, 0)), A, ["step"]),
    ("arange-nan", lambda: fn(lambda x: gnp.arange(float("nan"))), S, ["arange"]),
    ("arange-traced", lambda: fn(lambda n: gnp.arange(n), 3), B, ["arange: stop", "static"]),
    ("transpose-str", lambda: fn(lambda x: x.transpose("ab")), A, ["transpose: axes"]),
    ("transpose-float", lambda: fn(lambda x: gnp.transpose(x, (0.5, 1))), A, ["0.5"]),
    ("swapaxes-str", lambda: fn(lambda x: x.swapaxes("a", 0)), A, ["swapaxes: axis"]),
    ("moveaxis-out-of-range", lambda: fn(lambda x: gnp.moveaxis(x, 0, 7)), AX, ["axis 7"]),
    ("expand-dims-str", lambda: fn(lambda x: gnp.expand_dims(x, "a")), A, ["expand_dims: axis"]),
    ("expand-dims-out", lambda: fn(lambda x: gnp.expand_dims(x, 5)), AX, ["dimension 3"]),
    ("squeeze-float", lambda: fn(lambda x: gnp.squeeze(x, 0.5)), A, ["squeeze: axis"]),
    ("broadcast-to-str", lambda: fn(lambda x: gnp.broadcast_to(x, "ab")), A, ["broadcast_to"]),
    ("broadcast-to-negative", lambda: fn(lambda x: gnp.broadcast_to(x, (-2, 3))), S, ["negative"]),
    ("broadcast-arrays", lambda: fn(lambda x: gnp.broadcast_arrays(x, np.ones(2))), S, ["(2, 3)"]),
    ("concatenate-int", lambda: fn(lambda x: gnp.concatenate(5)), A, ["concatenate", "sequence"]),
    ("concatenate-axis-str", lambda: fn(lambda x: gnp.concatenate([x, x], axis="a")), A, ["axis"]),
    ("stack-axis-str", lambda: fn(lambda x: gnp.stack([x, x], axis="a")), A, ["stack: axis"]),
    ("split-str", lambda: fn(lambda x: gnp.split(x, "a")), A, ["split: indices_or_sections"]),
    ("split-index-str", lambda: fn(lambda x: gnp.split(x, [1, "a"], axis=1)), A, ["holds 'a'"]),
    ("split-traced", lambda: fn(lambda x, k: gnp.split(x, k), X, 2), B, ["split", "static"]),
    ("tensordot-axes-str", lambda: fn(lambda x: gnp.tensordot(x, x, "a")), A, ["tensordot: axes"]),
    ("tensordot-float", lambda: fn(lambda x: gnp.tensordot(x, x.T, 1.5)), A, ["tensordot: axes"]),
    ("tensordot-axes-too-many", lambda: fn(lambda x: gnp.tensordot(x, x, 3)), S, ["axes=3"]),
    ("tensordot-scalar", lambda: fn(lambda x: gnp.tensordot(2.0, x)), S, ["axes=2", "()"]),
    ("tensordot-pairs", lambda: fn(lambda x: gnp.tensordot(x, x, ((0, 1), (0,)))), S, ["pair"]),
    ("norm-ord-list", lambda: fn(lambda x: gnp.linalg.norm(x[0], ord=[1])), A, ["norm: ord"]),
    ("norm-ord-traced", lambda: fn(lambda x: gnp.linalg.norm(x[0], ord=x[0, 0])), B, ["norm: ord"]),
    ("shape-ragged", lambda: fn(lambda x: x + gnp.ndim([[1.0], [2.0, 3.0]])), G, ["ragged"]),
    ("index-float", lambda: fn(lambda x: x[0.5]), G, ["index 0.5"]),
    ("index-out-of-range", lambda: fn(lambda x: x[5]), S, ["index 5", "size 2"]),
]


@error_rows(NUMPY)
def test_numpy_argument_is_a_clear_error_at_the_users_line(thunk, cls, words):
    LINES.raises_clear_error(thunk, cls, words)


def test_axis_error_is_numpys_too():
    """Code written for NumPy catches it (``np.exceptions.AxisError``, an IndexError and a
    ValueError), and it carries NumPy's ``axis``/``ndim`` attributes."""
    for axis in (2, -3, (0, 2)):
        with pytest.raises(np.exceptions.AxisError) as info:
            fn(lambda x: gnp.sum(x, axis=axis))  # @axis-error
        err = info.value
        assert isinstance(err, gc.ShapeError) and isinstance(err, IndexError)
        assert err.ndim == 2 and err.axis in (2, -3)
        assert str(err).startswith(f"{at('axis-error')}: sum: axis {err.axis} is out of bounds")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_static_arguments_numpy_accepts_still_work(dtype):
    """What NumPy takes as an int (NumPy ints, 0-d integer arrays, integer arrays as shapes,
    ``keepdims=1``) keeps working, with the values NumPy gives (sums of small ints: exact)."""
    x = np.arange(6, dtype=dtype).reshape(2, 3)

    def f(x):
        return (
            gnp.sum(x, axis=np.int32(1)),
            gnp.sum(x, axis=np.array(-1), keepdims=1),
            gnp.zeros(np.array([2, 3]), dtype) + x,
            x.reshape(np.int64(3), -1),
            gnp.mean(x, axis=[0]),
        )

    for out in (fn(f, x), f(x)):  # traced, and eager (outside any trace)
        s, k, z, r, m = out
        np.testing.assert_array_equal(s, [3, 12])
        assert k.shape == (2, 1) and z.shape == (2, 3) and r.shape == (3, 2)
        np.testing.assert_array_equal(m, [1.5, 2.5, 3.5])
        assert s.dtype == dtype and m.dtype == dtype


@pytest.mark.parametrize("cuts", [[-1], [2, -1], [3, 1], [-10, 10], [0], []])
def test_split_indices_follow_python_slicing(cuts):
    """``split(x, cuts)`` gives ``x[0:c0], x[c0:c1], ..., x[ck:]`` with Python's slice rules
    (negative indices count from the end), as NumPy; the oracle is plain list slicing."""
    data = [1.0, 2.0, 3.0, 4.0, 5.0]
    bounds = [0, *cuts, None]
    expected = [data[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]
    for dtype in (np.float32, np.float64):
        got = fn(lambda x: gnp.split(x, cuts), np.array(data, dtype))
        assert [list(map(float, g)) for g in got] == expected
        assert all(g.dtype == dtype for g in got)


# --- custom rules --------------------------------------------------------------------------------
@gc.custom_gradient
def _cg_bare(x):
    return x * 2.0


@gc.custom_gradient
def _cg_triple(x):
    return x * 2.0, lambda g: g, 3


@gc.custom_gradient
def _cg_not_callable(x):
    return x * 2.0, 5


@gc.custom_gradient
def _cg_no_params(x):
    return x * 2.0, lambda: 1.0


@gc.custom_gradient
def _cg_one_for_two(x, y):
    return x * y, lambda g: (g,)


@gc.custom_gradient
def _cg_wrong_shape(x):
    return x * 2.0, lambda g: gnp.sum(g)


@gc.custom_gradient
def _cg_bool_grad(x):
    return x * 2.0, lambda g: g > 0


@gc.custom_gradient
def _cg_str_grad(x):
    return x * 2.0, lambda g: "abc"


def _vjp(fwd, bwd):
    f = gc.custom_vjp(lambda x: x * 2.0)
    return f.defvjp(fwd, bwd)


_cv_fwd_bare = _vjp(lambda x: x * 2.0, lambda res, g: (g,))
_cv_fwd_triple = _vjp(lambda x: (x * 2.0, x, 1), lambda res, g: (g,))
_cv_bwd_bare = _vjp(lambda x: (x * 2.0, x), lambda res, g: g)
_cv_bwd_two = _vjp(lambda x: (x * 2.0, x), lambda res, g: (g, g))
_cv_bwd_one_param = _vjp(lambda x: (x * 2.0, x), lambda g: (g,))
_cv_bwd_shape = _vjp(lambda x: (x * 2.0, x), lambda res, g: (gnp.ones(2),))
_cv_nondiff_far = gc.custom_vjp(lambda x, s: x * s, nondiff_argnums=(5,))
_cv_nondiff_far.defvjp(lambda x, s: (x * s, None), lambda s, res, g: (g * s,))


def _g(f, x=X):
    """The gradient of sum(f(x)); errors name the line of ``f``, which calls the custom rule."""
    return gc.grad(lambda x: gnp.sum(f(x)))(x)


CUSTOM = [
    ("cg-bare", lambda: _g(lambda x: _cg_bare(x)), D, ["_cg_bare", "(y, grad_fn)", "f64[2,3]"]),
    ("cg-bare-eager", lambda: _cg_bare(X), D, ["_cg_bare", "(y, grad_fn)", "array"]),
    ("cg-triple", lambda: _g(lambda x: _cg_triple(x)), D, ["_cg_triple", "tuple of length 3"]),
    ("cg-uncallable", lambda: _g(lambda x: _cg_not_callable(x)), D, ["_cg_not_callable", "int 5"]),
    ("cg-no-params", lambda: _g(lambda x: _cg_no_params(x)), D, ["_cg_no_params", "grad_fn(dy)"]),
    ("cg-arity", lambda: _g(lambda x: _cg_one_for_two(x, x)), D, ["_cg_one_for_two", "(2)"]),
    ("cg-shape", lambda: _g(lambda x: _cg_wrong_shape(x)), D, ["_cg_wrong_shape", "()", "(2, 3)"]),
    ("cg-dtype", lambda: _g(lambda x: _cg_bool_grad(x)), D, ["_cg_bool_grad", "dtype bool"]),
    ("cg-str", lambda: _g(lambda x: _cg_str_grad(x)), G, ["_cg_str_grad", "not an array", "str"]),
    ("cv-fwd-bare", lambda: _g(lambda x: _cv_fwd_bare(x)), D, ["fwd", "(output, residuals)"]),
    ("cv-fwd-triple", lambda: _g(lambda x: _cv_fwd_triple(x)), D, ["fwd", "tuple of length 3"]),
    ("cv-bwd-bare", lambda: _g(lambda x: _cv_bwd_bare(x)), D, ["bwd", "as a tuple", "not a tuple"]),
    ("cv-bwd-two", lambda: _g(lambda x: _cv_bwd_two(x)), D, ["bwd", "per input (1)"]),
    ("cv-bwd-params", lambda: _g(lambda x: _cv_bwd_one_param(x)), D, ["bwd(residuals, g)", "(g)"]),
    ("cv-bwd-shape", lambda: _g(lambda x: _cv_bwd_shape(x)), D, ["custom_vjp", "(2,)", "(2, 3)"]),
    ("cv-defvjp", lambda: gc.custom_vjp(_sq).defvjp(_sq, None), D, ["_sq.defvjp", "bwd"]),
    ("cv-nondiff-type", lambda: gc.custom_vjp(_sq, nondiff_argnums="s"), D, ["_sq", "'s'"]),
    ("cv-nondiff-range", lambda: _g(lambda x: _cv_nondiff_far(x, 2.0)), D, ["(5,)", "2 positional"]),
    ("cg-in-jvp", lambda: gc.jvp(_cg_bare, (X,), (X,)), D, ["_cg_bare", "(y, grad_fn)"]),
]


@error_rows(CUSTOM)
def test_malformed_custom_rule_is_a_clear_error(thunk, cls, words):
    LINES.raises_clear_error(thunk, cls, words)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nums", [1, (1,), (-1,)])
def test_nondiff_argnums_count_from_the_end_too(nums, dtype):
    """``nondiff_argnums=(-1,)`` is the last argument, as (1,) is here (a negative one was
    passed to bwd and differentiated as well); d/dx (x * s) = s, for every element."""
    f = gc.custom_vjp(lambda x, s: x * s, nondiff_argnums=nums)
    f.defvjp(lambda x, s: (x * s, None), lambda s, res, g: (g * s,))
    x = np.linspace(0.5, 1.5, 3).astype(dtype)
    g = gc.grad(lambda x: gnp.sum(f(x, 3.0)))(x)
    assert g.dtype == dtype
    np.testing.assert_array_equal(g, np.full(3, 3.0, dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_gradient_of_another_precision_is_still_converted(dtype):
    """Only bool and integer-array gradients are refused: a float64 gradient for a float32 input
    (a captured float64 constant) or a Python number is cast to the input's dtype, as before."""
    scale = np.float64(3.0)

    @gc.custom_gradient
    def f(x):
        return x * 2.0, lambda g: g * scale

    g = gc.grad(lambda x: gnp.sum(f(x)))(np.ones(3, dtype))
    assert g.dtype == dtype
    np.testing.assert_array_equal(g, [3.0, 3.0, 3.0])

    @gc.custom_gradient
    def h(x):
        return x * 2.0, lambda g: 0  # a Python number (weak) for a 0-d input: converted too

    g = gc.grad(h)(dtype(1.5))
    assert g.dtype == dtype and g.shape == () and float(g) == 0.0


# --- what a differentiated function returns, and how it is called --------------------------------
RETURNS = [
    ("grad-returns-str", lambda: gc.grad(lambda x: "abc")(X), G, ["returned str 'abc' as output"]),
    ("grad-returns-str-leaf", lambda: gc.grad(lambda x: {"a": "s"})(X), G, ["output['a']"]),
    ("jvp-returns-str", lambda: gc.jvp(lambda x: (x, "s"), (X,), (X,)), G, ["jvp", "output[1]"]),
    ("jacobian-returns-str", lambda: gc.jacobian(lambda x: "abc")(X), G, ["jacobian", "output"]),
    ("grad-returns-object", lambda: gc.grad(lambda x: object())(X), T, ["an object", "output"]),
    ("has-aux-bare", lambda: gc.grad(_sq, has_aux=True)(X), D, ["pair", "value f64[] alone"]),
    ("has-aux-bare-vjp", lambda: gc.vjp(lambda x: x, X, has_aux=True), D, ["array", "alone"]),
    ("grad-by-keyword", lambda: gc.grad(_sq)(x=X), D, ["'x'", "never", "positionally"]),
    ("vg-by-keyword", lambda: gc.value_and_grad(_sq)(x=X), D, ["keyword argument 'x'"]),
    ("jacobian-by-keyword", lambda: gc.jacobian(lambda x: x)(x=X), D, ["jacobian", "keyword"]),
    ("jacfwd-by-keyword", lambda: gc.jacfwd(lambda x, y: x * y, argnums=1)(X, y=X), D, ["'y'"]),
]


@error_rows(RETURNS)
def test_differentiated_function_misuse_is_a_clear_error(thunk, cls, words):
    LINES.raises_clear_error(thunk, cls, words)


def test_keyword_arguments_are_passed_through_not_differentiated():
    """The way out the message names works: x positional, y by keyword (a constant)."""
    g = gc.grad(lambda x, y: gnp.sum(x * y))(X, y=X * 2.0)
    np.testing.assert_array_equal(g, X * 2.0)


# --- lines of the nodes graphc makes for Jacobians and tangents -----------------------------------
def _two_outputs(x):
    y = gnp.sin(x)  # @jac-sin
    c = gnp.ones(3, x.dtype)  # @jac-const
    return y * 2.0, gnp.sum(y * x), c  # @jac-out


def _scalar(x):
    return gnp.sum(gnp.sin(x) * x)  # @hess-body


_NODE = re.compile(r"\s+%\d+: \S+ = (\w+).*# (?:(bwd|jvp) )?(\S+)$")


def _nodes(text):
    """``(primitive, phase or None, file:line)`` of each node of a graph's text."""
    return [m.groups() for m in map(_NODE.match, text.splitlines()) if m]


def _check_lines(text, allowed, seed_phase):
    nodes = _nodes(text)
    assert nodes, text
    assert {loc for _, _, loc in nodes} <= allowed, text
    seeds = [phase for prim, phase, _ in nodes if prim == "iota"]
    assert all(p == seed_phase for p in seeds), text  # one-hot seeds are derivative nodes


_INPUTS = [np.linspace(0.25, 1.0, 3).astype(np.float32), np.linspace(-1.0, 0.5, 3)]


@pytest.mark.parametrize("x", _INPUTS, ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["jacobian", "jacfwd"])
def test_jacobian_nodes_carry_the_users_lines(kind, x):
    """Seeds, zeros for the output that does not depend on x, and the stacking of the rows point
    at the op that made the output (or at the def line for an input's seed), never at the line
    that asked for the Jacobian; the numbers are the hand-derived ones."""
    transform = getattr(gc, kind)
    body = {at(m) for m in ("jac-sin", "jac-const", "jac-out")}
    graph = gc.make_graph(transform(_two_outputs))(x)  # @jac-call
    allowed = body | ({at(_two_outputs)} if kind == "jacfwd" else set())
    _check_lines(str(graph), allowed, "bwd" if kind == "jacobian" else "jvp")
    j_y, j_s, j_c = transform(_two_outputs)(x)
    x64 = x.astype(np.float64)  # oracle: d(2 sin x) = diag(2 cos x); d sum(x sin x) = sin + x cos
    tol = dict(rtol=1e-6) if x.dtype == np.float32 else dict(rtol=1e-14)
    np.testing.assert_allclose(j_y, np.diag(2 * np.cos(x64)), **tol, atol=1e-7)
    np.testing.assert_allclose(j_s, np.sin(x64) + x64 * np.cos(x64), **tol)
    np.testing.assert_array_equal(j_c, np.zeros((3, 3)))
    assert j_y.dtype == j_s.dtype == j_c.dtype == x.dtype


@pytest.mark.parametrize("x", [np.float64(0.5), np.ones(1, np.float32), np.linspace(0, 1, 4)])
def test_hessian_and_jvp_nodes_carry_the_users_lines(x):
    """0-d, size-1 and longer inputs: hessian (jacfwd over jacobian) and a jvp of a function with
    an output that does not depend on its input (a zero tangent)."""
    hess = gc.make_graph(gc.hessian(_scalar))(x)  # @hess-call
    _check_lines(str(hess), {at("hess-body"), at(_scalar)}, "jvp")
    tangent = gc.make_graph(_jvp_of_two_outputs)(x, x)
    allowed = {at(m) for m in ("jac-sin", "jac-const", "jac-out")}
    _check_lines(str(tangent), allowed, "jvp")
    zero = [n for n in _nodes(str(tangent)) if n[1] == "jvp" and n[2] == at("jac-const")]
    assert zero, str(tangent)  # the zero tangent of c is a jvp node at c's line


def _jvp_of_two_outputs(x, t):
    return gc.jvp(_two_outputs, (x,), (t,))  # @jvp-call
