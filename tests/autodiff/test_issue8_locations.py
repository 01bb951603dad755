"""Issue 8, items 8-11 (tracing half): pytree ``stop_gradient``, the user's file:line in warnings,
errors and IR comments, messages that say what to do, and hostile inputs that must each be a
clear GraphcError naming the user's line. Expected lines come from this file's own text (markers
``# @NAME`` and lambdas' first lines), never hard-coded numbers."""

from __future__ import annotations

import collections
import os
import re
import warnings

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc import config
from graphc.autodiff import DifferentiationError

from _lines import SourceLines, error_rows

LINES = SourceLines(__file__)
FILE, line_of, at = LINES.file, LINES.line_of, LINES.at


Pair = collections.namedtuple("Pair", "w b")


# --- item 8: stop_gradient on pytrees ------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stop_gradient_pytree_outside_tracing(dtype):
    tree = {
        "a": np.arange(3, dtype=dtype),
        "b": [dtype(2.5), None, 1.5],
        "c": Pair(np.ones((1, 1), dtype), np.zeros((), dtype)),
        "d": (7,),
    }
    out = gc.stop_gradient(tree)
    assert set(out) == {"a", "b", "c", "d"} and out["b"][1] is None
    assert isinstance(out["c"], Pair) and isinstance(out["d"], tuple)
    np.testing.assert_array_equal(out["a"], [0, 1, 2])
    assert out["a"].dtype == dtype and out["c"].w.shape == (1, 1) and out["c"].b.shape == ()
    assert float(out["b"][0]) == 2.5 and float(out["b"][2]) == 1.5 and int(out["d"][0]) == 7
    assert gc.stop_gradient(None) is None
    assert gc.stop_gradient([]) == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stop_gradient_pytree_blocks_every_leaf(dtype, ref):
    """d/dp sum(sg(p) * p) = sg(p): the stopped copy is a constant for every leaf, and the leaf
    values pass unchanged (0-d, size-1 and broadcast leaves, a captured constant too)."""
    const = {"k": np.full((1, 3), 2.0, dtype)}

    def f(p):
        s = gc.stop_gradient({"p": p, "k": const, "none": None})
        assert s["none"] is None
        w, b = s["p"]["w"], s["p"]["b"]
        return gnp.sum(w * p["w"]) + gnp.sum(b * p["b"] * s["k"]["k"])

    p = {"w": np.array([1.5, -2.0, 0.25], dtype), "b": np.array(3.0, dtype)}
    g = ref(gc.grad(f))(p)
    # oracle by hand: d/dw sum(c*w) = c = w; d/db sum(c*b*k) = c * sum(k) = 3 * 6
    np.testing.assert_array_equal(g["w"], p["w"])
    assert g["w"].dtype == dtype and g["b"].dtype == dtype and g["b"].shape == ()
    assert float(g["b"]) == 18.0


def test_stop_gradient_namedtuple_and_scalars_under_grad(ref):
    def f(x):
        s = gc.stop_gradient(Pair(x, 2.0))
        return gnp.sum(s.w * x * s.b)

    x = np.array([1.0, 4.0])
    np.testing.assert_array_equal(ref(gc.grad(f))(x), 2.0 * x)


# --- item 9: locations ---------------------------------------------------------------------------
def _retrace_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if "has been traced" in str(w.message)]


@pytest.mark.parametrize("backend", ["llvm", "reference"])
@pytest.mark.parametrize("kind", ["python-scalar", "array", "pytree"])
def test_retrace_warning_names_the_users_call(kind, backend, monkeypatch):
    """With native code each miss falls back from a generated fast-path wrapper first."""
    monkeypatch.setattr(config, "retrace_warn_limit", 2)
    f = gc.function(lambda x, s: x * (s["k"] if isinstance(s, dict) else s), backend=backend)
    scalar = {"python-scalar": 2.0, "array": np.float64(2.0), "pytree": {"k": 2.0}}[kind]

    def calls():
        for n in range(1, 5):
            f(np.ones(n), scalar)  # @retrace

    (w,) = _retrace_warnings(calls)
    assert (os.path.basename(w.filename), w.lineno) == (FILE, line_of("retrace"))


@pytest.mark.parametrize("backend", ["llvm", "reference"])
def test_vjp_cotangent_error_names_the_vjp_fn_call(backend, monkeypatch):
    monkeypatch.setattr(config, "default_backend", backend)
    _, fn = gc.vjp(lambda x: x * 2.0, np.ones(3))
    fn(np.ones(3))
    fn(np.ones(3))  # the compiled fast path is installed now; a mismatch falls back from it
    with pytest.raises(gc.ShapeError) as info:
        fn(np.ones(4))  # @vjp-top
    assert str(info.value).startswith(f"{at('vjp-top')}: vjp: cotangent has shape (4,)")

    @gc.function
    def inside(x):
        _, fn = gc.vjp(gnp.sin, x)
        return fn(np.ones(2))  # @vjp-in

    with pytest.raises(gc.ShapeError, match=re.escape(at("vjp-in"))):
        inside(np.ones(3))


def test_standard_library_frames_are_not_the_users():
    """colorsys is pure-Python arithmetic: its nodes point at the line that called it."""
    import colorsys

    graph = gc.make_graph(lambda x: colorsys.rgb_to_yiq(x, x * 2.0, x))(np.ones(2))  # @stdlib
    locs = {ln.rsplit("# ", 1)[-1] for ln in str(graph).splitlines() if "#" in ln}
    assert locs == {at("stdlib")}, str(graph)


def test_code_the_user_execs_is_the_users():
    """Only graphc's own generated code is skipped, not ``<string>`` code in general."""
    space = {"gnp": gnp}
    exec(compile("def f(x):\n    return gnp.sin(x)\n", "<string>", "exec"), space)
    assert "# <string>:2" in str(gc.make_graph(space["f"])(np.ones(2)))


def _bwd_lines(text):
    """``(primitive, file:line)`` of each bwd node in a graph's text."""
    out = []
    for line in text.splitlines():
        m = re.match(r"\s+%\d+: \S+ = (\w+).*# bwd ?(.*)$", line)
        if m:
            out.append((m.group(1), m.group(2).strip()))
    return out


def _uses_twice(x):
    y = gnp.sin(x)  # @acc-def
    a = y * 2.0  # @acc-use1
    b = y * 3.0  # @acc-use2
    return gnp.sum(a + b)  # @acc-out


def test_bwd_nodes_carry_the_forward_ops_line():
    """Seeds, cotangent sums and zero gradients too, not the ``value_and_grad`` call line."""
    forward = {at(m) for m in ("acc-def", "acc-use1", "acc-use2", "acc-out")}
    for x in (np.ones(3, np.float32), np.float64(0.5), np.ones((1, 4))):
        graph = gc.make_graph(gc.value_and_grad(_uses_twice))(x)  # @acc-call
        bwd = _bwd_lines(str(graph))
        assert bwd and all(loc in forward for _, loc in bwd), (bwd, str(graph))
        adds = [loc for prim, loc in bwd if prim == "add"]  # y's two cotangents summed
        assert adds and set(adds) <= {at("acc-use1"), at("acc-use2")}, str(graph)
        assert bwd[0] == ("constant", at("acc-out"))  # the seed: d out / d out


def test_bwd_nodes_inside_a_traced_function(ref):
    @ref
    def step(w, unused):
        value, (gw, gu) = gc.value_and_grad(_uses_twice_two, argnums=(0, 1))(w, unused)  # @in-call
        return value, gw, gu

    text = step.concrete(np.ones(2), np.ones(2)).ir("traced")
    bwd = _bwd_lines(text)
    allowed = {at("two-body"), at(_uses_twice_two)}  # zeros for `unused`: the def line
    assert bwd and {loc for _, loc in bwd} <= allowed, text
    assert at("in-call") not in {loc for _, loc in bwd}


def _uses_twice_two(w, unused):
    return gnp.sum(w * w)  # @two-body


def _returns_its_input(x):
    return x


@pytest.mark.parametrize("x", [np.float32(0.5), np.float64(0.5)], ids=["f32", "f64"])
def test_seed_of_an_output_no_op_made_is_at_the_def_line(x):
    """No op made the output (it is the input): the seed points at the function's definition,
    as ``jacobian``'s does, not at the line that asked for the gradient."""
    for transform in (gc.value_and_grad, gc.jacobian):
        graph = str(gc.make_graph(transform(_returns_its_input))(x))
        bwd = _bwd_lines(graph)
        assert bwd and {loc for _, loc in bwd} == {at(_returns_its_input)}, graph


# --- item 10: messages ---------------------------------------------------------------------------
def test_range_of_a_traced_value():
    def f(n):
        total = 0.0
        for i in range(n):  # @range
            total = total + i
        return total

    with pytest.raises(gc.TracerBoolError) as info:
        gc.function(f, backend="reference", autograph=False)(3)
    msg = str(info.value)
    assert msg.startswith(f"{at('range')}: a traced value i64[] was used as a Python int"), msg
    assert "range()" in msg and "static_argnums" in msg and "where" not in msg
    assert gc.function(f, static_argnums=0, backend="reference")(3) == 3.0  # the way out works
    assert gc.function(f, backend="reference")(3) == 3.0  # AutoGraph makes it a while_loop


def test_float_of_a_traced_value():
    with pytest.raises(gc.TracerBoolError) as info:
        gc.function(lambda x: float(x) * 2, backend="reference")(np.float32(1))  # @float
    msg = str(info.value)
    assert msg.startswith(f"{at('float')}: cannot convert a traced value f32[] to a Python float")
    assert "array" in msg and "static_argnums" in msg and "where" not in msg


@pytest.mark.parametrize(
    "shapes,user_shapes",
    [
        (((3,), (4,)), "(3,) and (4,)"),
        (((2, 3), (4,)), "(2, 3) and (4,)"),
        (((3,), (4, 2)), "(3,) and (4, 2)"),
        (((5, 2, 3), (4,)), "(5, 2, 3) and (4,)"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_shape_error_shows_the_users_shapes(shapes, user_shapes, dtype):
    a, b = (np.ones(s, dtype) for s in shapes)
    for fn in (lambda x, y: x @ y, lambda x, y: np.matmul(x, y), lambda x, y: gnp.matmul(x, y)):
        with pytest.raises(gc.ShapeError) as info:
            gc.function(fn, backend="reference")(a, b)
        msg = str(info.value)
        assert msg.startswith(f"{at(fn)}: matmul: shapes {user_shapes} not aligned"), msg
        assert "(1," not in msg and ", 1)" not in msg.replace(user_shapes, "")


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x + [[1.0, 2.0], [3.0]],
        lambda x: x + [[x, 1.0], [2.0]],
        lambda x: gnp.stack([[x, 1.0], [2.0]]),
        lambda x: gnp.sum([[1.0], [2.0, 3.0]]) + x,
    ],
    ids=["ragged-constant", "ragged-with-tracer", "stack-ragged", "sum-ragged"],
)
def test_nested_list_prefix_appears_once(fn):
    with pytest.raises(gc.GraphcError) as info:
        gc.function(fn, backend="reference")(1.0)
    msg = str(info.value)
    assert msg.startswith(f"{at(fn)}: ") and msg.count(f"{FILE}:") == 1, msg
    assert "list" in msg


# --- item 11: hostile inputs ---------------------------------------------------------------------
X3 = np.ones(3)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.matrix is discouraged
    MATRIX = np.asmatrix(np.ones((1, 1)))


def _sq(x):
    return gnp.sum(x * x)


def _vjp_fn(f=lambda x: x * 2.0, x=X3):
    return gc.vjp(f, x)[1]


def _tape_source(x, source):
    with gc.GradientTape() as tape:
        tape.watch(x)
        y = gnp.sum(x * x)
    return tape.gradient(y, source)  # @tape-source


D, S, T, G = DifferentiationError, gc.ShapeError, gc.DTypeError, gc.GraphcError
A = gc.ArgumentError
# (id, thunk, error class, words its message must hold); each thunk on one line, which the
# message must name (the user's line)
HOSTILE = [
    ("vjp-ct-dict-for-array", lambda: _vjp_fn()({"a": X3}), D, ["structure", "{'a': *}"]),
    ("vjp-ct-one-for-pair", lambda: _vjp_fn(lambda x: (x, x))(X3), D, ["(*, *)"]),
    ("vjp-ct-list-for-tuple", lambda: _vjp_fn(lambda x: (x, x))([X3, X3]), D, ["[*, *]"]),
    ("vjp-ct-none", lambda: _vjp_fn()(None), D, ["structure", "None"]),
    ("vjp-ct-str", lambda: _vjp_fn()("abc"), G, ["cotangent", "str"]),
    ("vjp-ct-shape", lambda: _vjp_fn()(np.ones(4)), S, ["(4,)", "(3,)"]),
    ("vjp-ct-object", lambda: _vjp_fn()(np.array([None, 1, 2])), T, ["cotangent", "object"]),
    ("vjp-not-callable", lambda: gc.vjp(3, X3), D, ["callable", "int"]),
    ("vjp-too-many-primals", lambda: gc.vjp(_sq, X3, X3), A, ["_sq(x)", "too many"]),
    ("jvp-not-callable", lambda: gc.jvp(None, (X3,), (X3,)), D, ["callable"]),
    ("jvp-tangent-shape", lambda: gc.jvp(_sq, (X3,), (np.ones(4),)), S, ["tangents[0]", "(4,)"]),
    ("jvp-tangent-tree", lambda: gc.jvp(_sq, (X3,), ([X3],)), D, ["structure", "([*],)"]),
    ("jvp-tangent-str", lambda: gc.jvp(_sq, (X3,), ("s",)), G, ["tangents[0]", "str"]),
    ("argnums-out-of-range", lambda: gc.grad(_sq, argnums=2)(X3), D, ["argnums 2", "range"]),
    ("argnums-negative", lambda: gc.grad(_sq, argnums=-3)(X3), D, ["argnums -3", "range"]),
    ("argnums-str", lambda: gc.grad(_sq, argnums="0")(X3), D, ["argnums", "'0'"]),
    ("has-aux-not-a-pair", lambda: gc.grad(_sq, has_aux=True)(X3), D, ["pair", "has_aux"]),
    ("has-aux-triple", lambda: gc.grad(lambda x: (_sq(x), 1, 2), has_aux=True)(X3), D, ["length 3"]),
    ("grad-non-scalar", lambda: gc.grad(lambda x: x * 2)(X3), D, ["scalar", "f64[3]"]),
    ("grad-scalar-in-dict", lambda: gc.grad(lambda x: {"l": _sq(x)})(X3), D, ["{'l': *}"]),
    ("grad-scalar-in-list", lambda: gc.grad(lambda x: [_sq(x)])(X3), D, ["[*]", "scalar"]),
    ("vjp-has-aux-not-a-pair", lambda: gc.vjp(lambda x: x, X3, has_aux=True), D, ["pair"]),
    ("grad-int-output", lambda: gc.grad(lambda x: _sq(x).astype("int32"))(X3), D, ["i32[]"]),
    ("grad-of-int-array", lambda: gc.grad(_sq)(np.ones(3, np.int32)), D, ["int32", "argument x"]),
    ("grad-of-python-int", lambda: gc.grad(lambda x: x * 1.0)(3), D, ["int64", "argument x"]),
    ("grad-of-bool", lambda: gc.grad(lambda x: gnp.sum(x * 1.0))(np.ones(2, bool)), D, ["bool"]),
    ("grad-of-int-leaf", lambda: gc.grad(lambda p: p["s"] * 1.0)({"s": 1}), D, ["['s']", "int64"]),
    ("grad-kwargs-only", lambda: gc.grad(_sq)(x=X3), D, ["0 positional"]),
    ("grad-too-many-args", lambda: gc.grad(_sq)(X3, X3), A, ["_sq(x)", "too many"]),
    ("grad-unknown-kwarg", lambda: gc.grad(_sq)(X3, y=1), A, ["_sq(x)", "'y'"]),
    ("grad-object-array", lambda: gc.grad(_sq)(np.array([1.0, None])), T, ["argument x", "object"]),
    ("grad-string", lambda: gc.grad(_sq)("abc"), G, ["argument x", "str"]),
    ("grad-complex", lambda: gc.grad(_sq)(X3 * 1j), T, ["complex128"]),
    ("grad-not-callable", lambda: gc.grad("f"), D, ["callable", "str"]),
    ("static-argnums-range", lambda: gc.function(lambda x: x, static_argnums=3), G, ["3", "range"]),
    ("static-argnums-neg", lambda: gc.function(lambda x: x, static_argnums=-2), G, ["-2", "range"]),
    ("static-argnums-str", lambda: gc.function(lambda x: x, static_argnums="x"), G, ["'x'"]),
    ("static-argnums-bool", lambda: gc.function(lambda x: x, static_argnums=True), G, ["True"]),
    ("static-argnames-int", lambda: gc.function(lambda x: x, static_argnames=0), G, ["str"]),
    ("static-argnames-typo", lambda: gc.function(lambda x: x, static_argnames="y"), G, ["['y']"]),
    ("unhashable-static", lambda: gc.function(lambda x, n: x, static_argnums=1)(X3, [1]), G, ["n", "hashable"]),
    ("unhashable-static-kw", lambda: gc.function(lambda x, n: x, static_argnames="n")(X3, n={}), G, ["n", "dict"]),
    ("missing-argument", lambda: gc.function(lambda x, y: x + y)(X3), A, ["'y'", "missing"]),
    ("unexpected-kwarg", lambda: gc.function(lambda x: x)(X3, z=X3), A, ["'z'"]),
    ("object-array", lambda: gc.function(lambda x: x)(np.array([1.0, None])), T, ["argument x", "object"]),
    ("ragged-object-array", lambda: gc.function(lambda x: x)(np.array([[1.0], [2.0, 3.0]], dtype=object)), T, ["object"]),
    ("string-argument", lambda: gc.function(lambda x: x)("abc"), G, ["argument x", "str"]),
    ("string-in-pytree", lambda: gc.function(lambda p: p)({"a": [X3, "s"]}), G, ["p['a'][1]", "str"]),
    ("set-argument", lambda: gc.function(lambda x: x)({1}), G, ["set"]),
    ("uint64-argument", lambda: gc.function(lambda x: x)(np.ones(2, np.uint64)), T, ["uint64"]),
    ("int-too-big", lambda: gc.function(lambda x: x)(2**70), G, ["int64"]),
    ("matrix-subclass", lambda: gc.function(lambda x: x)(MATRIX), G, ["matrix"]),
    ("none-operand", lambda: gc.function(lambda x: x + None)(X3), G, ["None"]),
    ("string-operand", lambda: gc.function(lambda x: x * "a")(X3), G, ["str"]),
    ("ragged-list-operand", lambda: gc.function(lambda x: x + [[1.0], [2.0, 3.0]])(X3), G, ["ragged"]),
    ("object-operand", lambda: gc.function(lambda x: x + np.array([object()]))(X3), T, ["object"]),
    ("returns-object", lambda: gc.function(lambda x: (x, object()))(X3), T, ["output[1]", "object"]),
    ("stop-gradient-str-leaf", lambda: gc.stop_gradient({"a": X3, "b": "s"}), G, ["str"]),
    ("concrete-other-signature", lambda: gc.function(_sq).concrete(X3)(np.ones(2)), G, ["does not fit", "x"]),
]


def test_tape_source_that_is_not_a_value(ref):
    with pytest.raises(gc.GraphcError) as info:
        ref(lambda x: _tape_source(x, "abc"))(X3)
    assert str(info.value).startswith(f"{at('tape-source')}: tape.gradient sources must be")
    assert ref(lambda x: _tape_source(x, np.ones(2)))(X3) is None  # a constant: no gradient


@error_rows(HOSTILE)
def test_hostile_input_is_a_clear_error_at_the_users_line(thunk, cls, words):
    LINES.raises_clear_error(thunk, cls, words)
