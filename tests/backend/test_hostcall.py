"""The factorizations' compiled kernels (backend/llvm/hostcall.py: LAPACK through a call back
into NumPy) against the reference evaluation, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from graphc.ops import factor

from .cases import one_node
from .test_compiled_vs_reference import F, _compare


@pytest.mark.parametrize("dtype", F)
@pytest.mark.parametrize("name,shapes,attrs", [
    ("cholesky", [(3, 3)], {}), ("cholesky", [(2, 4, 4)], {}), ("solve", [(3, 3), (3, 2)], {}),
    ("solve", [(2, 2, 2), (2, 2, 3)], {}), ("slogdet", [(3, 3)], {}), ("eigh", [(2, 3, 3)], {}),
    ("svd", [(4, 3)], {"full_matrices": False, "compute_uv": True}),
    ("svd", [(2, 3, 5)], {"full_matrices": True, "compute_uv": False}),
    ("qr", [(5, 3)], {"full": True}), ("cholesky", [(0, 0)], {}), ("solve", [(1, 1), (1, 0)], {})])
def test_factorizations(dtype, name, shapes, attrs):
    """The host-called LAPACK kernels (backend/llvm/hostcall.py) give the reference evaluation's
    bits, batches and empty matrices included; a matrix LAPACK refuses gives NaN in both."""
    rng = np.random.default_rng(5)
    prim = getattr(factor, name)
    args = [rng.standard_normal(s).astype(dtype) for s in shapes]
    if name in ("cholesky", "solve", "eigh") and args[0].size:
        a = args[0]
        args[0] = (a @ np.swapaxes(a, -1, -2) + a.shape[-1] * np.eye(a.shape[-1])).astype(dtype)
        if name == "cholesky" and a.ndim == 3:
            args[0][1] = -args[0][1]  # not positive definite: NaN there, the other one computed
    lowered = _compare(one_node(prim, [(s, dtype) for s in shapes], attrs), args)
    assert "host call" in " ".join(lowered.kernels)
