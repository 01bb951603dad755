"""graphc.numpy reductions, contractions, shape functions and linalg.norm against NumPy itself,
eagerly and traced (with axis / keepdims variants)."""

from __future__ import annotations

import numpy as np
import pytest
from gnp_check import assert_same, check_both, rand, traced

import graphc.numpy as gnp

# --- reductions ----------------------------------------------------------------------------------
AXES = [None, 0, 1, -1, (0, 2), ()]


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "std"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, axis, keepdims):
    x = rand((2, 3, 4), "float32", "pos")
    check_both(getattr(gnp, name), getattr(np, name), [x], {"axis": axis, "keepdims": keepdims})


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "std"])
@pytest.mark.parametrize("dtype", ["float64", "int32", "int64", "bool"])
def test_reduction_dtypes(name, dtype):
    if dtype == "bool" and name in ("var", "std", "mean"):
        pytest.skip("NumPy's bool mean/var go through float64 too; covered by int")
    x = rand((3, 4), dtype)
    check_both(getattr(gnp, name), getattr(np, name), [x], {"axis": 1})
    check_both(getattr(gnp, name), getattr(np, name), [x])


def test_reductions_of_0d_and_size_1():
    for name in ["sum", "mean", "max", "min", "prod", "var", "std", "argmax", "argmin"]:
        check_both(
            getattr(gnp, name), getattr(np, name), [np.float32(2.5) * np.ones((), np.float32)]
        )
        check_both(getattr(gnp, name), getattr(np, name), [rand((1, 3), "float64")], {"axis": 0})


def test_var_std_ddof_and_dtype():
    x = rand((4, 3), "float64")
    check_both(lambda x: gnp.var(x, axis=0, ddof=1), lambda x: np.var(x, axis=0, ddof=1), [x])
    check_both(
        lambda x: gnp.std(x, ddof=1, keepdims=True), lambda x: np.std(x, ddof=1, keepdims=True), [x]
    )
    check_both(lambda x: gnp.mean(x, dtype="float32"), lambda x: np.mean(x, dtype="float32"), [x])
    check_both(lambda x: gnp.sum(x, dtype="float32"), lambda x: np.sum(x, dtype="float32"), [x])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_arg_extrema(name, axis, keepdims):
    x = rand((3, 4), "float32")
    x[1, 2] = x[0, 2] = 9.0 if name == "argmax" else -9.0  # a tie: the first index wins
    check_both(getattr(gnp, name), getattr(np, name), [x], {"axis": axis, "keepdims": keepdims})
    check_both(getattr(gnp, name), getattr(np, name), [rand((5,), "int32")], {"axis": axis and 0})


def test_arg_extrema_nan_is_first():
    x = np.array([1.0, np.nan, 3.0, np.nan], np.float64)
    check_both(gnp.argmax, np.argmax, [x])
    check_both(gnp.argmin, np.argmin, [x])


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_cumsum(axis, dtype):
    check_both(gnp.cumsum, np.cumsum, [rand((3, 4), dtype)], {"axis": axis})


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp(axis, keepdims, dtype):
    x = rand((3, 4), dtype) * 100  # large logits: the naive formula would overflow in float32
    check_both(gnp.logsumexp, _np_logsumexp, [x], {"axis": axis, "keepdims": keepdims})
    import graphc.nn

    check_both(graphc.nn.logsumexp, _np_logsumexp, [x], {"axis": axis, "keepdims": keepdims})


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    out = gnp.logsumexp(x, axis=1)
    assert out[0] == -np.inf and np.isclose(out[1], np.log(1 + np.e))
    assert_same(traced(lambda x: gnp.logsumexp(x, axis=1))(x), out)
