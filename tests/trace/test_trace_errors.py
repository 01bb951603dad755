"""Bad input while tracing: every error is a GraphcError subclass whose message names what was wrong
and, for errors raised by user code in a traced function, this file and the offending line."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.core import current_trace


def here(offset=0) -> str:
    """``test_trace_errors.py:N`` for the caller's line plus ``offset``."""
    return f"test_trace_errors.py:{inspect.currentframe().f_back.f_lineno + offset}"


def ref(fn):
    return gc.function(fn, backend="reference")


def test_shape_error_names_op_shapes_and_line():
    def f(x, y):
        return x * 2.0 + y  # the bad line

    line = here(-2)
    with pytest.raises(gc.ShapeError) as info:
        ref(f)(np.ones((2, 3)), np.ones(4))
    msg = str(info.value)
    assert line in msg and "add" in msg and "(2, 3)" in msg and "(4,)" in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "body,words",
    [
        (lambda x: x @ x, ["matmul", "(2, 3)"]),
        (lambda x: x.reshape(7), ["reshape", "(2, 3)", "(7,)"]),
        (lambda x: gnp.concatenate([x, x.T]), ["concatenate", "(2, 3)", "(3, 2)"]),
        (lambda x: x.sum(axis=2), ["sum", "axis 2"]),
        (lambda x: gnp.broadcast_to(x, (4, 3)), ["broadcast", "(2, 3)", "(4, 3)"]),
        (lambda x: x[5], ["index 5", "size 2"]),
        (lambda x: gnp.einsum("ij,ij->", x, x.T), ["einsum", "sizes"]),
    ],
    ids=["matmul", "reshape", "concatenate", "sum", "broadcast_to", "index", "einsum"],
)
def test_shape_errors_of_composites_name_the_line(body, words):
    with pytest.raises(gc.ShapeError) as info:
        ref(body)(np.ones((2, 3)))
    msg = str(info.value)
    assert f"test_trace_errors.py:{body.__code__.co_firstlineno}" in msg, msg
    for w in words:
        assert w in msg, msg


def test_dtype_errors():
    cases = [
        (lambda x, b: b @ b, "matmul"),
        (lambda x, b: b - b, "bool"),
        (lambda x, b: -b, "bool"),
        (lambda x, b: x.astype("float16"), "float16"),
        (lambda x, b: gnp.zeros(3, dtype="uint8"), "uint8"),
        (lambda x, b: x ** b.astype("int32"), "power"),
    ]
    for fn, word in cases:
        with pytest.raises(gc.DTypeError) as info:
            ref(fn)(np.ones((3, 3), np.int32), np.ones((3, 3), bool))
        assert word in str(info.value) and "test_trace_errors.py:" in str(info.value)
        assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    "arg,kind",
    [
        ("text", "str"),
        (object(), "object"),
        ({1, 2}, "set"),
        (np.array(["a"]), "<U1"),
        (np.ones(2, np.float16), "float16"),
        (np.ones(2, np.complex64), "complex64"),
        (2**80, "int64"),
    ],
)
def test_unsupported_arguments_name_the_argument(arg, kind):
    def f(x, weights):
        return x

    with pytest.raises(gc.GraphcError) as info:
        ref(f)(np.ones(2), {"w": [np.ones(1), arg]})
    msg = str(info.value)
    assert "weights['w'][1]" in msg and kind in msg, msg


def test_unsupported_operands_and_outputs():
    with pytest.raises(gc.GraphcError, match=r"str.*test_trace_errors|test_trace_errors.*str"):
        ref(lambda x: x + "a")(np.ones(2))
    with pytest.raises(gc.GraphcError, match=r"output\['k'\]"):
        ref(lambda x: {"k": object()})(np.ones(2))


@pytest.mark.parametrize(
    "words,fn",
    [
        (["truth value", "gc.cond(", "where("], lambda x: bool(x > 0)),
        (["truth value", "gc.cond(", "where("], lambda x: x if x.sum() > 0 else -x),
        (["truth value", "gc.cond(", "where("], lambda x: (x > 0) and (x < 1)),
        (["Python float", "Keep it an array", "static_argnums"], lambda x: float(x.sum())),
        (["Python number (.item())", "static_argnums"], lambda x: x.sum().item()),
        (["Python list (.tolist())"], lambda x: x.tolist()),
        (["used as a Python int", "range()", "static_argnums"], lambda x: int(x.sum())),
        (["used as a Python int", "range()", "static_argnums"],
         lambda x: range(x.sum().astype("int64"))),
        (["used as a Python int", "static_argnums"], lambda x: [0, 1][x.astype("int64")]),
    ],
    ids=["bool", "if", "and", "float", "item", "tolist", "int", "range", "list-index"],
)
def test_tracer_bool_error_names_the_line(words, fn):
    with pytest.raises(gc.TracerBoolError) as info:
        gc.function(fn, autograph=False, backend="reference")(np.ones(()))
    msg = str(info.value)
    for w in words:
        assert w in msg, msg
    if "truth value" not in msg:  # where() cannot stand in for a Python number
        assert "where" not in msg, msg
    assert f"test_trace_errors.py:{fn.__code__.co_firstlineno}" in msg, msg
    assert isinstance(info.value, TypeError) and isinstance(info.value, gc.GraphcError)


def test_tracer_bool_error_points_at_the_if():
    def f(x):
        if x > 0:  # this line
            return x
        return -x

    line = here(-4)
    with pytest.raises(gc.TracerBoolError, match=line):
        gc.function(f, autograph=False, backend="reference")(np.ones(()))


def test_leaked_tracer():
    kept = []

    def f(x):
        kept.append(x * 2)
        return x

    ref(f)(np.ones(3))
    with pytest.raises(gc.LeakedTracerError, match="test_trace_errors.py"):
        kept[0] + 1  # outside any trace
    with pytest.raises(gc.LeakedTracerError):
        np.sin(kept[0])
    with pytest.raises(gc.LeakedTracerError, match="finished trace"):
        ref(lambda y: y + kept[0])(np.ones(3))  # inside a later trace
    assert issubclass(gc.LeakedTracerError, gc.GraphcError)


def test_a_failed_trace_leaves_no_active_trace():
    with pytest.raises(gc.ShapeError):
        ref(lambda x: x + np.ones(4))(np.ones(3))
    assert current_trace() is None
    np.testing.assert_array_equal(ref(lambda x: x + 1)(np.ones(3)), np.full(3, 2.0))


def test_failed_trace_is_not_cached():
    calls = []

    def f(x, fail):
        calls.append(1)
        return x + np.ones(4) if fail else x

    g = gc.function(f, static_argnums=1, backend="reference")
    for _ in range(2):
        with pytest.raises(gc.ShapeError):
            g(np.ones(3), True)
    assert len(calls) == 2
    g(np.ones(3), False)


def test_non_callable_is_refused():
    with pytest.raises(gc.GraphcError, match="callable"):
        gc.function(3)


def test_assignment_into_a_traced_value_is_refused():
    def f(x):
        x[0] = 1.0
        return x

    with pytest.raises(gc.GraphcError, match="immutable"):
        ref(f)(np.ones(3))


def test_constants_of_other_dtypes():
    """Integer constants of other widths widen exactly to int64; values that would wrap are refused."""
    out = ref(lambda x: x + np.array([1, 2], np.uint8))(np.zeros(2, np.int64))
    np.testing.assert_array_equal(out, [1, 2])
    with pytest.raises(gc.DTypeError, match="uint64"):
        ref(lambda x: x + np.array([2**63], np.uint64))(np.zeros(1, np.int64))
    with pytest.raises(gc.DTypeError, match="complex"):
        ref(lambda x: x + np.array([1j]))(np.zeros(1))
