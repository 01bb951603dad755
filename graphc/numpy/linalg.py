"""graphc.numpy.linalg: ``norm``."""

from __future__ import annotations

import numpy as np

from ..core import located
from ..errors import GraphcError
from ._core import as_float, cast, normalize_axes, static_real
from .elementwise import abs, equal, power, sqrt, where
from .reductions import max, min, sum


def _zero_safe(root, s):
    """root(s) (a root that is 0 at 0) whose derivatives at s == 0 are 0 instead of inf*0 = NaN
    (the subgradient convention for norms and standard deviations); elsewhere they are root's."""
    zero = equal(s, cast(0, s.dtype))
    return where(zero, cast(0, s.dtype), root(where(zero, cast(1, s.dtype), s)))


def safe_sqrt(s):
    """sqrt(s) with derivative 0 at s == 0 (see ``_zero_safe``)."""
    return _zero_safe(sqrt, s)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, 0, any p) and the Frobenius matrix norm.
    The gradient of every p-norm with p > 0 at x == 0 is 0 (a subgradient), not NaN (JAX gives
    NaN there)."""
    x = as_float(x)
    if ord is not None and not isinstance(ord, str):
        ord = static_real(ord, "norm: ord")
    if axis is None and ord is not None and x.ndim == 2:
        axes = (0, 1)
    else:
        axes = normalize_axes(axis, x.ndim, "norm")
    if len(axes) == 2:
        if ord not in (None, "fro"):
            raise located(
                GraphcError, f"norm: matrix norm ord={ord!r} is not supported (only 'fro')"
            )
        return safe_sqrt(sum(x * x, axis=axes, keepdims=keepdims))
    if len(axes) > 2 and ord is not None:
        raise located(GraphcError, "norm: ord needs a vector (one axis) or a matrix (two axes)")
    if ord is None or ord == 2:
        return safe_sqrt(sum(x * x, axis=axes, keepdims=keepdims))
    if ord == np.inf:
        return max(abs(x), axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return min(abs(x), axis=axes, keepdims=keepdims)
    if ord == 0:
        return sum(cast(x != 0, x.dtype), axis=axes, keepdims=keepdims)
    if ord == 1:
        return sum(abs(x), axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise located(GraphcError, f"norm: unsupported ord {ord!r} for a vector")
    s = sum(power(abs(x), float(ord)), axis=axes, keepdims=keepdims)
    root = lambda t: power(t, 1.0 / ord)  # noqa: E731
    # NOTE: for p < 0 the sum is inf where some |x_i| is 0, and its root is the 0 NumPy gives.
    return _zero_safe(root, s) if ord > 0 else root(s)
