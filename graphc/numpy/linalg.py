"""graphc.numpy.linalg: NumPy's ``linalg`` on traced values, with gradients.

The factorizations are the primitives of ``ops/factor.py`` (computed by NumPy's LAPACK; see
there for the conventions at singular and degenerate points); everything else here is composed
from them. Differences from NumPy, each forced by static shapes or compiled code:
``cholesky``, ``solve`` and ``inv`` give NaN where NumPy raises ``LinAlgError``; ``lstsq``
always returns the residuals of a tall ``a`` (NumPy returns none when ``a`` is rank deficient)
and none otherwise; ``svd``'s default ``full_matrices=True`` has no gradient for a non-square
matrix (pass ``full_matrices=False``, as in JAX); ``eigh(UPLO='U')`` may give eigenvectors of the
opposite sign to NumPy's (signs are arbitrary in both).
"""

from __future__ import annotations

import builtins

import numpy as np

from ..core import located
from ..errors import GraphcError, ShapeError
from ..ops import factor
from ._core import (as_float, cast, normalize_axes, normalize_axis, promote, static_int,
                    static_real)
from .contract import matmul
from .creation import eye
from .elementwise import abs, equal, exp, power, sqrt, where
from .reductions import max, min, sum
from .shapes import broadcast_to, concatenate, expand_dims, squeeze, swapaxes, transpose


def _zero_safe(root, s):
    """root(s) (a root that is 0 at 0) whose derivatives at s == 0 are 0 instead of inf*0 = NaN
    (the subgradient convention for norms and standard deviations); elsewhere they are root's."""
    zero = equal(s, cast(0, s.dtype))
    return where(zero, cast(0, s.dtype), root(where(zero, cast(1, s.dtype), s)))


def safe_sqrt(s):
    """sqrt(s) with derivative 0 at s == 0 (see ``_zero_safe``)."""
    return _zero_safe(sqrt, s)


def _matrices(a, what, square=False):
    a = as_float(a)
    if a.ndim < 2:
        raise located(ShapeError, f"{what}: needs an array of at least two dimensions, got "
                      f"shape {tuple(a.shape)}")
    if square and a.shape[-1] != a.shape[-2]:
        raise located(ShapeError, f"{what}: needs square matrices in the last two axes, got "
                      f"shape {tuple(a.shape)}")
    return a


def _mT(x):
    return swapaxes(x, -1, -2)


def _mm(a, b):
    return matmul(a, b)


def cholesky(a, upper=False):
    """The lower factor ``L`` with ``L @ L.T == a``, reading ``a``'s lower triangle (``upper``:
    ``L.T``, reading the upper one); NaN where ``a`` is not positive definite."""
    a = _matrices(a, "cholesky")
    return _mT(factor.cholesky(_mT(a))) if upper else factor.cholesky(a)


def solve(a, b):
    """``x`` with ``a @ x == b``: ``b`` is a vector when it is 1-d, else a stack of matrices
    (NumPy 2's rule); the batch axes broadcast. NaN where ``a`` is singular."""
    a = _matrices(a, "solve", square=True)
    b = as_float(b)
    (a, b), _ = promote(a, b, to_float=True)
    vector = b.ndim == 1
    if vector:
        b = expand_dims(b, -1)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise located(ShapeError, f"solve: the right-hand side's shape {tuple(b.shape)} does "
                      f"not match the matrices' {tuple(a.shape)}")
    batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    x = factor.solve(broadcast_to(a, batch + tuple(a.shape[-2:])),
                     broadcast_to(b, batch + tuple(b.shape[-2:])))
    return squeeze(x, -1) if vector else x


def _eye(a):
    n = a.shape[-1]
    return broadcast_to(eye(n, dtype=a.dtype), tuple(a.shape))


def inv(a):
    """``solve(a, I)``: NaN where ``a`` is singular."""
    a = _matrices(a, "inv", square=True)
    return factor.solve(a, _eye(a))


def slogdet(a):
    """``(sign, log|det a|)``: sign 0 and -inf for a singular ``a``."""
    return tuple(factor.slogdet(_matrices(a, "slogdet", square=True)))


def det(a):
    """``sign * exp(log|det a|)``: 0 for a singular ``a``, where its gradient (through
    ``inv(a)``) is NaN."""
    sign, logdet = slogdet(a)
    return sign * exp(logdet)


def eigh(a, UPLO="L"):  # noqa: N803  (NumPy's name)
    """``(w, v)``: ascending eigenvalues and eigenvectors of the symmetric matrix of ``a``'s lower
    (``UPLO='U'``: upper) triangle."""
    a = _matrices(a, "eigh")
    if UPLO not in ("L", "U"):
        raise located(GraphcError, f"eigh: UPLO must be 'L' or 'U', got {UPLO!r}")
    return tuple(factor.eigh(a if UPLO == "L" else _mT(a)))


def eigvalsh(a, UPLO="L"):  # noqa: N803
    """The eigenvalues of ``eigh``."""
    return eigh(a, UPLO)[0]


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    """``(u, s, vh)`` with descending ``s`` (or ``s`` alone without ``compute_uv``);
    ``hermitian`` is accepted and ignored (the general SVD is as right, and no slower here)."""
    a = _matrices(a, "svd")
    res = factor.svd(a, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(res) if compute_uv else res[0]


def qr(a, mode="reduced"):
    """``(q, r)`` (``mode='r'``: ``r`` alone; ``'complete'``: square ``q``). A wide ``a = [x | y]``
    is ``q, r_x = qr(x)`` and ``r = [r_x | q.T @ y]``, the factors LAPACK gives, differentiable."""
    a = _matrices(a, "qr")
    if mode not in ("reduced", "complete", "r"):
        raise located(GraphcError, f"qr: mode {mode!r} is not supported (reduced, complete, r)")
    m, n = a.shape[-2:]
    if m < n:
        q, rx = factor.qr(a[..., :m], full=False)
        r = concatenate([rx, _mm(_mT(q), a[..., m:])], axis=-1)
    else:
        q, r = tuple(factor.qr(a, full=mode == "complete"))
    return r if mode == "r" else (q, r)


def _largest(s):
    """The largest singular value per matrix (0 for an empty one, which has none)."""
    if s.shape[-1] == 0:
        return broadcast_to(cast(0, s.dtype), (*s.shape[:-1], 1))
    return max(s, axis=-1, keepdims=True)


def _cutoff_inverse(s, rcond):
    """``1 / s`` where ``s`` exceeds ``rcond`` times the largest singular value, else 0."""
    keep = s > rcond * _largest(s)
    return where(keep, 1 / where(keep, s, cast(1, s.dtype)), cast(0, s.dtype)), keep


def pinv(a, rcond=None, hermitian=False):
    """The pseudo-inverse through the SVD; singular values up to ``rcond`` (NumPy's 1e-15 by
    default) times the largest count as zero."""
    a = _matrices(a, "pinv")
    rcond = 1e-15 if rcond is None else static_real(rcond, "pinv: rcond")
    u, s, vh = svd(a, full_matrices=False)
    s_inv, _ = _cutoff_inverse(s, rcond)
    return _mm(_mT(vh) * s_inv[..., None, :], _mT(u))


def lstsq(a, b, rcond=None):
    """``(x, residuals, rank, s)`` as NumPy computes them through the SVD, with one difference:
    a tall ``a`` always gets its residuals (NumPy gives none when ``a`` is rank deficient)."""
    a = _matrices(a, "lstsq")
    (a, b), _ = promote(a, b, to_float=True)
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise located(ShapeError, f"lstsq: needs a matrix and matching right-hand sides, got "
                      f"shapes {tuple(a.shape)} and {tuple(b.shape)}")
    m, n = a.shape
    eps = np.finfo(a.dtype).eps
    if rcond is None:  # NumPy 2's default
        rcond = eps * builtins.max(m, n)
    else:
        rcond = static_real(rcond, "lstsq: rcond")
        rcond = eps if rcond < 0 else rcond  # NumPy's legacy -1: machine precision
    u, s, vh = svd(a, full_matrices=False)
    s_inv, keep = _cutoff_inverse(s, rcond)
    bm = b if b.ndim == 2 else expand_dims(b, -1)
    x = _mm(_mT(vh), s_inv[:, None] * _mm(_mT(u), bm))
    if m > n:
        r = bm - _mm(a, x)
        residuals = sum(r * r, axis=0)
    else:
        residuals = broadcast_to(cast(0, a.dtype), (0,))
    rank = sum(cast(keep, np.dtype(np.int64)))
    return (x if b.ndim == 2 else squeeze(x, -1)), residuals, rank, s


def matrix_power(a, n):
    """``a`` to the static integer power ``n`` by repeated squaring (``inv`` first for n < 0)."""
    a = _matrices(a, "matrix_power", square=True)
    n = static_int(n, "matrix_power: n")
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else _mm(result, base)
        n >>= 1
        if n:
            base = _mm(base, base)
    return _eye(a) if result is None else result


def matrix_rank(A, tol=None):  # noqa: N803
    """The number of singular values above ``tol`` (default ``max(M, N) * eps`` times the largest):
    an int64, not differentiable."""
    a = _matrices(A, "matrix_rank")
    s = svd(a, compute_uv=False)
    if tol is None:
        tol = _largest(s) * (builtins.max(*a.shape[-2:]) * np.finfo(a.dtype).eps)
    return sum(cast(s > tol, np.dtype(np.int64)), axis=-1)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, 0, any p) and matrix norms (every ord NumPy takes).
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
        if axis is not None:  # (row, col) in the caller's order: normalize_axes sorts them
            axes = tuple(normalize_axis(a, x.ndim, "norm") for a in axis)
        return _matrix_norm(x, ord, axes, keepdims)
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


def _matrix_norm(x, ord, axes, keepdims):
    """Over the (row, column) ``axes``: 'fro', 'nuc' and +-2 (singular values), +-1 (column
    sums), +-inf (row sums)."""
    if ord in (None, "fro"):
        return safe_sqrt(sum(x * x, axis=axes, keepdims=keepdims))
    row, col = axes
    if ord in (1, -1, np.inf, -np.inf):
        pick = max if ord in (1, np.inf) else min
        along, across = (row, col) if ord in (1, -1) else (col, row)
        out = pick(sum(abs(x), axis=along, keepdims=True), axis=across, keepdims=True)
    elif ord in ("nuc", 2, -2):
        rest = [a for a in range(x.ndim) if a not in axes]
        s = svd(transpose(x, rest + [row, col]), compute_uv=False)
        out = sum(s, axis=-1) if ord == "nuc" else (max if ord == 2 else min)(s, axis=-1)
        out = expand_dims(out, tuple(sorted(axes)))
    else:
        raise located(GraphcError, f"norm: invalid ord {ord!r} for a matrix norm")
    return out if keepdims else squeeze(out, axis=axes)
