"""Shared checks for graphc.numpy tests: run a function eagerly and traced, compare with NumPy
(shapes, dtypes, exact operations) or, for math functions, with the correctly rounded result."""

from __future__ import annotations

import numpy as np
import oracles

import graphc as gc


def rand(shape, dtype="float32", domain="real", seed=0):
    """Deterministic test data; domain: real, pos (> 0), unit (|x| < 1)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "i":
        lo, hi = {"real": (-5, 6), "pos": (1, 6), "unit": (-1, 2)}[domain]
        return rng.integers(lo, hi, size=shape).astype(dtype)
    lo, hi = {"real": (-3.0, 3.0), "pos": (0.1, 3.0), "unit": (-0.9, 0.9)}[domain]
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def assert_same(got, expected, rtol=None):
    """Same pytree of arrays: shapes, dtypes and values (floats to a dtype-dependent tolerance)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_same(g, e, rtol)
        return
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    assert got.dtype == expected.dtype, f"dtype {got.dtype} != {expected.dtype}"
    if expected.dtype.kind == "f":
        tol = rtol or (2e-5 if expected.dtype == np.float32 else 1e-11)
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, expected)


def traced(fn):
    """``fn`` compiled with gc.function on the reference backend."""
    return gc.function(fn, backend="reference")


def check_both(gfn, nfn, arrays, kwargs=None, rtol=None):
    """``gfn`` eagerly and inside gc.function (arrays as traced arguments) equals ``nfn``."""
    kwargs = kwargs or {}
    expected = nfn(*arrays, **kwargs)
    assert_same(gfn(*arrays, **kwargs), expected, rtol)
    assert_same(traced(lambda *a: gfn(*a, **kwargs))(*arrays), expected, rtol)


def check_math(gfn, arrays, fname, table, fargs=None, key=None):
    """``gfn(*arrays)`` eagerly and traced is ``fname(*fargs)`` (default: the arrays) within
    ``table[key or fname]`` ulps of the exact result (tests/oracles.py), never NumPy's function at
    the same precision (its last bits depend on the CPU). Integer inputs give float64, as in
    NumPy."""
    dtype = np.result_type(*arrays)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)
    fargs = arrays if fargs is None else fargs
    tol = oracles.bound(table, key or fname, dtype)
    oracles.assert_ulp(gfn(*arrays), fname, fargs, dtype, tol, "eager")
    oracles.assert_ulp(traced(gfn)(*arrays), fname, fargs, dtype, tol, "traced")
