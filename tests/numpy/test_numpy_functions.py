"""Every graphc.numpy function of API.md against NumPy itself, eagerly and traced; math functions
against the correctly rounded result instead (tests/oracles.py), within the bounds stated there."""

from __future__ import annotations

import numpy as np
import pytest
from gnp_check import assert_same, check_both, check_math, rand, traced
from oracles import COMPOSITE_ULP, NUMPY_ULP

import graphc as gc
import graphc.numpy as gnp

FLOAT_TYPES = ["float32", "float64", "int32"]  # NumPy turns integers into float64 here

UNARY = {  # name -> domain (graphc.numpy and oracle names agree)
    "exp": "real",
    "expm1": "real",
    "log": "pos",
    "log1p": "pos",
    "log2": "pos",
    "log10": "pos",
    "sqrt": "pos",
    "sin": "real",
    "cos": "real",
    "tan": "unit",
    "tanh": "real",
    "sinh": "real",
    "cosh": "real",
    "arcsin": "unit",
    "arccos": "unit",
    "arctan": "real",
    "reciprocal": "pos",
}
SAME_TYPE_UNARY = ["negative", "abs", "sign", "square"]
BINARY = [
    "add",
    "subtract",
    "multiply",
    "maximum",
    "minimum",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "equal",
    "not_equal",
]
FLOAT_BINARY = {  # name -> domains, oracle name
    "divide": (("real", "pos"), "div"),
    "true_divide": (("real", "pos"), "div"),
    "power": (("pos", "real"), "pow"),
    "arctan2": (("real", "real"), "atan2"),
}
SHAPE_PAIRS = [((), ()), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 3), (3,)), ((4, 3), ())]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", FLOAT_TYPES)
@pytest.mark.parametrize("shape", [(), (1,), (3, 4)])
def test_float_unary(name, dtype, shape):
    x = rand(shape, dtype, UNARY[name])
    if dtype == "int32" and name in ("reciprocal",):
        pytest.skip("NumPy's integer reciprocal is integer division; graphc's is true division")
    check_math(getattr(gnp, name), [x], name, NUMPY_ULP if name in NUMPY_ULP else COMPOSITE_ULP)


@pytest.mark.parametrize("name", SAME_TYPE_UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_same_type_unary(name, dtype):
    check_both(getattr(gnp, name), getattr(np, name), [rand((2, 3), dtype)])
    check_both(getattr(gnp, name), getattr(np, name), [rand((), dtype)])


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary(name, dtype, shapes):
    a, b = rand(shapes[0], dtype), rand(shapes[1], dtype, seed=1)
    check_both(getattr(gnp, name), getattr(np, name), [a, b])


@pytest.mark.parametrize("name", sorted(FLOAT_BINARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_float_binary(name, dtype, shapes):
    (da, db), fname = FLOAT_BINARY[name]
    a, b = rand(shapes[0], dtype, da), rand(shapes[1], dtype, db, seed=1)
    check_math(getattr(gnp, name), [a, b], fname, NUMPY_ULP)


def test_int_division_and_power():
    a, b = rand((3, 4), "int32"), rand((4,), "int32", "pos", seed=1)
    check_math(gnp.divide, [a, b], "div", NUMPY_ULP)  # float64, as in NumPy
    check_both(lambda x: gnp.power(x, 3), lambda x: np.power(x, 3), [a])  # exact integers
    check_both(lambda x: x**2, lambda x: x**2, [a])
    x = rand((3,), "float32", "pos")
    check_math(lambda x: x**-2, [x], "pow", COMPOSITE_ULP, fargs=[x, np.float32(-2)], key="int_pow")
    check_both(lambda x: x**0, np.ones_like, [rand((3,), "float32")])


@pytest.mark.parametrize("name", ["logical_and", "logical_or"])
def test_logical_binary(name):
    a, b = rand((3, 4), "bool"), rand((4,), "bool", seed=1)
    check_both(getattr(gnp, name), getattr(np, name), [a, b])
    check_both(getattr(gnp, name), getattr(np, name), [rand((3,), "float32"), rand((3,), "int32")])


def test_logical_not():
    check_both(gnp.logical_not, np.logical_not, [rand((3, 4), "bool")])
    check_both(gnp.logical_not, np.logical_not, [rand((), "bool")])
    check_both(gnp.logical_not, np.logical_not, [np.array([0.0, 1.5, -2.0], np.float32)])


def test_where_and_clip():
    c, a, b = rand((3, 1), "bool"), rand((3, 4), "float32"), rand((4,), "float32", seed=2)
    check_both(gnp.where, np.where, [c, a, b])
    check_both(
        lambda c, a: gnp.where(c, a, 0.0), lambda c, a: np.where(c, a, np.float32(0)), [c, a]
    )
    check_both(
        gnp.where, np.where, [rand((2,), "bool"), rand((2,), "int32"), rand((2,), "float64")]
    )
    x = rand((3, 4), "float32")
    for lo, hi in [(-1.0, 1.0), (None, 0.5), (-0.5, None)]:
        check_both(lambda x: gnp.clip(x, lo, hi), lambda x: np.clip(x, lo, hi), [x])
    check_both(
        gnp.clip, np.clip, [x, rand((4,), "float32", seed=3) - 1, rand((3, 1), "float32") + 1]
    )
    check_both(lambda x: gnp.clip(x, -2, 2), lambda x: np.clip(x, -2, 2), [rand((5,), "int32")])


def test_where_needs_three_arguments():
    with pytest.raises(gc.ShapeError, match="where"):
        gnp.where(np.array([True]))
    with pytest.raises(gc.ShapeError, match="at least one"):
        gnp.concatenate([])
    with pytest.raises(gc.GraphcError, match="initial"):
        gnp.max(np.ones(3), initial=0.0)
    with pytest.raises(gc.DTypeError, match="negative"):
        gnp.power(np.arange(3), -1)


# --- creation ------------------------------------------------------------------------------------
CREATION = [
    (lambda m: m.zeros((2, 3)), None),
    (lambda m: m.zeros(4, dtype="int32"), None),
    (lambda m: m.ones((2, 1, 3), dtype="float32"), None),
    (lambda m: m.ones(()), None),
    (lambda m: m.full((2, 3), 1.5), None),
    (lambda m: m.full((2,), 7, dtype="int64"), None),
    (lambda m: m.full(3, True), None),
    (lambda m: m.arange(5), None),
    (lambda m: m.arange(1, 7, 2), None),
    (lambda m: m.arange(0.5, 3.0), None),
    (lambda m: m.arange(5, dtype="float32"), None),
    (lambda m: m.arange(6, 0, -2), None),
    (lambda m: m.linspace(0, 1, 5), None),
    (lambda m: m.linspace(-1, 2, 7, endpoint=False), None),
    (lambda m: m.linspace(0, 1, 4, dtype="float32"), None),
    (lambda m: m.linspace(2, 3, 1), None),
    (lambda m: m.linspace(-3.5, 2, 6, dtype="int64"), None),
    (lambda m: m.linspace(np.float32(0), 1, 3), None),
    (lambda m: m.linspace(0, 1, 0), None),
    (lambda m: m.eye(3, 3, 5), None),
    (lambda m: m.arange(0), None),
    (lambda m: m.full((2, 3), np.array([1, 2, 3])), None),
    (lambda m: m.full(3, 1.7, dtype="int32"), None),
    (lambda m: m.eye(3), None),
    (lambda m: m.eye(2, 4, 1, dtype="float32"), None),
    (lambda m: m.eye(3, k=-1, dtype="int32"), None),
    (lambda m: m.array([[1.0, 2.0], [3.0, 4.0]]), None),
    (lambda m: m.array([1, 2], dtype="float32"), None),
    (lambda m: m.asarray(3.5), None),
    (lambda m: m.asarray([True, False]), None),
]


@pytest.mark.parametrize("i", range(len(CREATION)))
def test_creation(i):
    make, _ = CREATION[i]
    expected = make(np)
    assert_same(make(gnp), expected)
    assert_same(traced(lambda: make(gnp))(), expected)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like"])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_like(name, dtype):
    x = rand((2, 3), dtype)
    check_both(getattr(gnp, name), getattr(np, name), [x])
    check_both(
        lambda x: getattr(gnp, name)(x, dtype="float64"),
        lambda x: getattr(np, name)(x, dtype="float64"),
        [x],
    )


def test_array_of_traced_values_stacks_them():
    x = rand((3,), "float32")
    assert_same(traced(lambda x: gnp.array([x, x * 2]))(x), np.array([x, x * 2]))
    assert_same(traced(lambda x: gnp.asarray(x, dtype="float64"))(x), x.astype(np.float64))


def test_api_list_is_complete():
    """Every name API.md lists exists in graphc.numpy."""
    names = [
        "array",
        "asarray",
        "zeros",
        "ones",
        "zeros_like",
        "ones_like",
        "full",
        "arange",
        "linspace",
        "eye",
        "add",
        "subtract",
        "multiply",
        "divide",
        "true_divide",
        "power",
        "negative",
        "abs",
        "sign",
        "exp",
        "expm1",
        "log",
        "log1p",
        "log2",
        "sqrt",
        "square",
        "reciprocal",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sinh",
        "cosh",
        "arcsin",
        "arccos",
        "arctan",
        "arctan2",
        "maximum",
        "minimum",
        "clip",
        "where",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "equal",
        "not_equal",
        "logical_and",
        "logical_or",
        "logical_not",
        "sum",
        "mean",
        "max",
        "min",
        "prod",
        "argmax",
        "argmin",
        "var",
        "std",
        "dot",
        "matmul",
        "tensordot",
        "outer",
        "einsum",
        "reshape",
        "transpose",
        "swapaxes",
        "expand_dims",
        "squeeze",
        "broadcast_to",
        "concatenate",
        "stack",
        "split",
        "cumsum",
        "logsumexp",
    ]
    missing = [n for n in names if not callable(getattr(gnp, n, None))]
    assert not missing and callable(gnp.linalg.norm)


def test_bool_operators_any_all():
    """``& | ^ ~`` on bool values and any/all (graphc.numpy additions beyond API.md's list)."""
    a, b = rand((3, 4), "bool"), rand((4,), "bool", seed=1)
    check_both(
        lambda a, b: (a & b, a | b, a ^ b, ~a), lambda a, b: (a & b, a | b, a ^ b, ~a), [a, b]
    )
    check_both(gnp.logical_xor, np.logical_xor, [rand((3,), "float32"), rand((3,), "int32")])
    for name in ["any", "all"]:
        for axis in [None, 0, 1, (0, 1)]:
            check_both(getattr(gnp, name), getattr(np, name), [a], {"axis": axis})
            check_both(
                getattr(gnp, name),
                getattr(np, name),
                [rand((3, 4), "int32")],
                {"axis": axis, "keepdims": True},
            )
        check_both(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [a])


def test_integer_bitwise_operators_are_refused():
    """NumPy's ``&`` on integers is bitwise; graphc has no such primitive and must not silently
    compute a logical and instead."""
    i = rand((3,), "int32")
    for fn in [
        lambda i: i & i,
        lambda i: i | 1,
        lambda i: ~i,
        lambda i: np.invert(i),
        lambda i: i ^ i,
    ]:
        with pytest.raises(gc.DTypeError, match="bitwise|invert"):
            traced(fn)(i)
