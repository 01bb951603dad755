"""A gemm call whose product only feeds ``W + c * product`` does the update itself (plan.py's
``_fold_updates``: W copied into the result, gemm with alpha c and beta 1): the SGD step of a
training loop never stores its gradient. Every case is checked against NumPy in float64; the
plan says which products were folded."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm import blas
from graphc.backend.llvm.plan import backend_plan

pytestmark = pytest.mark.skipif(blas.find() is None, reason="needs NumPy's bundled OpenBLAS")

RNG = np.random.default_rng(11)
X = RNG.standard_normal((96, 70))
D = RNG.standard_normal((96, 50))
W = RNG.standard_normal((70, 50))

FOLDED = {
    "w - c * xT d": lambda w, x, d: w - 0.01 * (x.T @ d),
    "w + xT d * c": lambda w, x, d: w + (x.T @ d) * 0.5,
    "c * xT d + w": lambda w, x, d: 0.25 * (x.T @ d) + w,
    "w - xT d": lambda w, x, d: w - x.T @ d,
}
NOT_FOLDED = {
    "xT d - w": lambda w, x, d: 0.01 * (x.T @ d) - w,  # W subtracted: not an update of W
    "product also returned": lambda w, x, d: (w - 0.01 * (x.T @ d), x.T @ d),
    "product used twice": lambda w, x, d: w - 0.01 * (x.T @ d) * (x.T @ d),
    "w broadcast": lambda w, x, d: w[:1] - 0.01 * (x.T @ d),
    "the product as W": lambda w, x, d: (x.T @ d) - 0.01 * (x.T @ d),
}


def _check(fun, dtype):
    args = [a.astype(dtype) for a in (W, X, D)]
    f = gc.function(fun)
    got = f(*args)
    want = fun(W, X, D)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for g, w in zip(*(v if isinstance(v, tuple) else (v,) for v in (got, want)), strict=True):
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)
    return str(backend_plan(f.concrete(*args).graph))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(FOLDED))
def test_updates_of_a_product_are_done_by_the_gemm_call(name, dtype):
    plan = _check(FOLDED[name], dtype)
    assert "*product" in plan and "fused" not in plan, plan


@pytest.mark.parametrize("name", list(NOT_FOLDED))
def test_other_uses_of_a_product_are_not_folded(name):
    plan = _check(NOT_FOLDED[name], np.float64)
    assert "*product" not in plan, plan


def test_a_threaded_update_copies_and_updates_each_row_range(monkeypatch):
    """Split over threads by rows (the plan's chunks), each chunk copies and updates its own rows
    of W: the same values as NumPy's."""
    from graphc import config

    if blas.find().get("threads") is None:
        pytest.skip("needs openblas_set_num_threads_local")
    monkeypatch.setattr(config, "threads", 2)
    x, d, w = RNG.standard_normal((256, 301)), RNG.standard_normal((256, 64)), \
        RNG.standard_normal((301, 64))  # M N K above Tuning.gemm_thread_min
    f = gc.function(lambda w, x, d: w - 0.01 * (x.T @ d))
    np.testing.assert_allclose(f(w, x, d), w - 0.01 * (x.T @ d), rtol=1e-12, atol=1e-12)
    plan = str(backend_plan(f.concrete(w, x, d).graph))
    assert "*product" in plan and "threads 2" in plan, plan
