"""NumPy 2 (NEP 50) type promotion: Python scalars are weak, arrays and NumPy scalars are strong.
Each case is checked against NumPy's own result, eagerly through graphc.numpy, with the scalar as a
constant inside a traced function (operator form), and with the scalar passed as a weak argument."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from gnp_check import assert_same, rand, traced

import graphc as gc
import graphc.numpy as gnp

ARRAY_DTYPES = ["float32", "float64", "int32", "int64"]
SCALARS = [2, 1.5, True, -3]
OPS = {
    "add": operator.add,
    "subtract": operator.sub,
    "multiply": operator.mul,
    "divide": operator.truediv,
    "less": operator.lt,
    "equal": operator.eq,
    "maximum": np.maximum,
}


@pytest.mark.parametrize("dtype", ARRAY_DTYPES)
@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("scalar_first", [False, True])
def test_weak_python_scalars(dtype, scalar, name, scalar_first):
    x = rand((2, 3), dtype, "pos")
    op = OPS[name]

    def order(a, s):
        return (s, a) if scalar_first else (a, s)

    expected = op(*order(x, scalar))
    assert_same(getattr(gnp, name)(*order(x, scalar)), expected)
    assert_same(traced(lambda a: op(*order(a, scalar)))(x), expected)
    assert_same(traced(lambda a, s: op(*order(a, s)))(x, scalar), expected)


@pytest.mark.parametrize("a_dtype", ARRAY_DTYPES + ["bool"])
@pytest.mark.parametrize("b_dtype", ARRAY_DTYPES + ["bool"])
def test_strong_operands_promote_like_numpy(a_dtype, b_dtype):
    a, b = rand((3,), a_dtype, "pos"), rand((3,), b_dtype, "pos", seed=1)
    for name in ["maximum", "less", "equal", "where"]:
        if name == "where":
            c = rand((3,), "bool", seed=2)
            assert_same(traced(lambda a, b: gnp.where(c, a, b))(a, b), np.where(c, a, b))
            continue
        fn = getattr(gnp, name)
        assert_same(fn(a, b), getattr(np, name)(a, b))
        assert_same(traced(fn)(a, b), getattr(np, name)(a, b))
    if "bool" not in (a_dtype, b_dtype):
        assert_same(traced(lambda a, b: a * b)(a, b), a * b)
        assert_same(traced(lambda a, b: a / b)(a, b), a / b)


def test_numpy_scalars_are_strong(nep50):
    x = rand((3,), "float32")
    assert_same(traced(lambda x: x * np.float64(2.0))(x), x * np.float64(2.0))
    assert_same(traced(lambda x, s: x * s)(x, np.float64(2.0)), x * np.float64(2.0))
    i = rand((3,), "int32")
    assert_same(traced(lambda i: i + np.float32(1.5))(i), i + np.float32(1.5))


def test_nep50_examples_from_the_contract():
    f32 = rand((2, 2), "float32")
    i32 = rand((2, 2), "int32")
    assert traced(lambda x: x * 2.0)(f32).dtype == np.float32
    assert traced(lambda x: x + 1.5)(i32).dtype == np.float64
    assert traced(lambda x: x + 1)(i32).dtype == np.int32
    assert traced(lambda x, s: x * s)(f32, 2.0).dtype == np.float32
    assert traced(lambda x: gnp.exp(x) * 2)(f32).dtype == np.float32


def test_weak_results_stay_weak():
    """A computation on Python scalars alone stays weak, as in JAX: (2.0 * s) * f32 is float32."""
    f32 = rand((3,), "float32")
    assert traced(lambda x, s: (s * 2.0) * x)(f32, 3.0).dtype == np.float32
    assert traced(lambda x, s: gnp.exp(s) * x)(f32, 1.0).dtype == np.float32
    assert traced(lambda s: s * 2.0)(3.0).dtype == np.float64  # a weak result comes back as default


def test_python_scalar_results_are_0d_arrays():
    out = traced(lambda x: 3.0)(np.ones(2))
    assert isinstance(out, np.ndarray) and out.shape == () and out == 3.0


def test_bool_arithmetic_follows_numpy():
    """bool + bool is logical or, bool * bool logical and (NumPy's); bool - bool and -bool raise."""
    a, b = rand((3,), "bool"), rand((3,), "bool", seed=1)
    for op in [operator.add, operator.mul, np.maximum, np.minimum]:
        assert_same(traced(op)(a, b), op(a, b))
    assert_same(traced(lambda a, x: a + x)(a, rand((3,), "int32")), a + rand((3,), "int32"))
    assert_same(traced(lambda a: a * 2.5)(a), a * 2.5)
    for bad in [lambda a, b: a - b, lambda a, b: -a]:
        with pytest.raises(gc.DTypeError, match="bool"):
            traced(bad)(a, b)
    with pytest.raises(gc.DTypeError):
        gnp.negative(a)


def test_out_of_range_scalar_for_integer_array():
    i32 = rand((3,), "int32")
    with pytest.raises(gc.DTypeError, match="out of bounds"):
        traced(lambda x: x + 2**40)(i32)
    with pytest.raises(gc.DTypeError, match="out of bounds"):
        gnp.add(i32, -(2**31) - 1)
    assert_same(
        traced(lambda x: x + (2**31 - 1))(np.zeros(2, np.int32)),
        np.zeros(2, np.int32) + (2**31 - 1),
    )


def test_explicit_dtype_makes_a_value_strong(nep50):
    """``s.astype(float64)`` of a weak scalar is a strong float64 (NumPy: np.float64(s)), while a
    Python scalar inside ``array([...])`` with traced values stays weak (JAX's rule)."""
    x = rand((2,), "float32")
    out = traced(lambda x, s: x + s.astype("float64"))(x, 2.0)
    assert_same(out, x + np.float64(2.0))
    assert traced(lambda x, s: x + gnp.asarray(s, dtype="float64"))(x, 2.0).dtype == np.float64
    assert traced(lambda x, s: x + s)(x, 2.0).dtype == np.float32
    assert_same(traced(lambda x: gnp.array([x[0], 1.0]))(x), np.array([x[0], 1.0], np.float32))
    stacked = traced(lambda x: gnp.stack([x, x.astype("int32")]))(x)
    assert_same(stacked, np.stack([x, x.astype("int32")]))
