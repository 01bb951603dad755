"""Matrix factorizations and solvers: ``cholesky``, ``solve``, ``slogdet``, ``eigh``, ``svd`` and
``qr`` over the last two axes (leading axes are a batch), with their matrix-calculus rules.

Their reference evaluation is NumPy's ``linalg`` (LAPACK), and the LLVM backend calls the same
functions (``backend/llvm/hostcall.py``): one call per node, batched, so compiled and reference
results are identical and whatever LAPACK NumPy links (OpenBLAS, MKL, Accelerate) does the work.
Where NumPy raises ``LinAlgError`` (``cholesky`` of a matrix that is not positive definite,
``solve`` with a singular matrix) the failing matrices' results are NaN instead, as in JAX: a
compiled program cannot raise on data.

``cholesky`` and ``eigh`` read the lower triangle only, as NumPy does, and their gradients are
those of that function: the upper triangle gets zero and each strictly lower element the sum of
the symmetric pair's terms (JAX symmetrizes instead; both agree on any path through a symmetric
matrix). At repeated eigenvalues or singular values the rotations within the degenerate space are
undefined: their terms are dropped (right for functions of the eigen- or singular values alone;
JAX gives inf/NaN there).
"""

from __future__ import annotations

import functools

import numpy as np

from ..core import define
from ..errors import DTypeError, GraphcError, ShapeError
from ..ir import TensorType
from . import elementwise as ew
from .matrices import (along_cols, along_rows, const, diagonal, eye_like, mm, mT, pair_inverse,
                       safe_inverse, tril)
from .reduce import reduce_sum
from .batching import leading_batch_rule
from .shape import broadcast_in_dim, zeros


def _square(t, what):
    if t.dtype.kind != "f":
        raise DTypeError(f"{what}: needs a float matrix, got {t}")
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ShapeError(f"{what}: needs square matrices in the last two axes, got {t}")
    return t


#: Every factorization: its own family, computed by a call to its NumPy evaluation in compiled
#: code (``backend/llvm/hostcall.py``), batched by gc.vmap as the batch it already takes.
_FACTOR = {"family": "factor", "extra": {"host_call": True}, "batch": leading_batch_rule}


def _typed(res, outs):
    res = res if isinstance(res, tuple) else (res,)
    return tuple(np.asarray(r, t.dtype).reshape(t.shape) for r, t in zip(res, outs, strict=True))


def _nan_where_failing(fn, arrays, outs):
    """``fn(*arrays)`` as a tuple of arrays typed ``outs``; when LAPACK refuses some matrix of the
    batch, each matrix alone, NaN for the ones that fail."""
    try:
        with np.errstate(all="ignore"):
            return _typed(fn(*arrays), outs)
    except np.linalg.LinAlgError:
        pass
    results = tuple(np.full(t.shape, np.nan, t.dtype) for t in outs)
    batch = arrays[0].shape[:-2]
    one = [TensorType(t.shape[len(batch):], t.dtype) for t in outs]
    for i in np.ndindex(*batch):
        try:
            with np.errstate(all="ignore"):
                parts = _typed(fn(*[a[i] for a in arrays]), one)
        except np.linalg.LinAlgError:
            continue
        for r, part in zip(results, parts, strict=True):
            r[i] = part
    return results


def _linalg_impl(fn, infer, multiple=False):
    @functools.lru_cache(maxsize=256)  # the compiled kernels call it per run (hostcall.py)
    def out_types(key, attrs):
        return infer([TensorType(s, d) for s, d in key], **dict(attrs))

    def impl(*arrays, **attrs):
        outs = out_types(tuple((a.shape, a.dtype) for a in arrays), tuple(sorted(attrs.items())))
        res = _nan_where_failing(lambda *a: fn(*a, **attrs), arrays, outs)
        return res if multiple else res[0]

    return impl


def _lower_fold(g):
    """The gradient of a function of ``tril(a) + tril(a, -1).T`` from the one ``g`` of its
    symmetric argument: symmetric pairs summed onto the lower triangle, zeros above."""
    return ew.add(tril(ew.add(g, mT(g)), -1), ew.mul(g, eye_like(g)))


def _lower_sym(t):
    """The symmetric matrix a lower-triangle-reading function sees for the tangent ``t``."""
    return ew.add(tril(t), mT(tril(t, -1)))


# - cholesky ---------------------------------------------------------------------------------------
def _chol_infer(types):
    (a,) = types
    return [_square(a, "cholesky")]


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    return ew.sub(tril(x), ew.mul(const(0.5, x), ew.mul(x, eye_like(x))))


def _chol_jvp(p, t, o):
    (l,) = o
    # dL = L phi(L^-1 dS L^-T) for the symmetric dS this lower-reading function sees
    z = solve(l, _lower_sym(t[0]))
    return mm(l, _phi(mT(solve(l, mT(z)))))


def _chol_vjp(ct, p, o, needed):
    (l,) = o
    w = solve(mT(l), _phi(mm(mT(l), ct)))  # L^-T phi(L^T Lbar) L^-1
    m = mT(solve(mT(l), mT(w)))
    return [_lower_fold(m)]  # (folding reads m + m.T: symmetrizing m first changes nothing)


cholesky = define(
    "cholesky", **_FACTOR, infer=_chol_infer, jvp=_chol_jvp, vjp=_chol_vjp,
    impl=_linalg_impl(lambda a: np.linalg.cholesky(a), _chol_infer),
)
"""The lower Cholesky factor ``L`` (``L @ L.T == a``) of the lower triangle of ``a``."""


# - solve ------------------------------------------------------------------------------------------
def _solve_infer(types):
    a, b = types
    _square(a, "solve")
    if b.dtype != a.dtype or b.ndim != a.ndim or b.shape[:-1] != a.shape[:-1]:
        raise ShapeError(f"solve: the right-hand sides {b} do not match the matrices {a}")
    return [b]


def _solve_jvp(p, t, o):
    a, _ = p
    (x,) = o
    if t[0] is None:
        return solve(a, t[1])
    rhs = ew.neg(mm(t[0], x)) if t[1] is None else ew.sub(t[1], mm(t[0], x))
    return solve(a, rhs)


def _solve_vjp(ct, p, o, needed):
    a, _ = p
    (x,) = o
    db = solve(mT(a), ct)
    return [ew.neg(mm(db, mT(x))) if needed[0] else None, db if needed[1] else None]


solve = define(
    "solve", **_FACTOR, infer=_solve_infer, jvp=_solve_jvp, vjp=_solve_vjp,
    impl=_linalg_impl(lambda a, b: np.linalg.solve(a, b), _solve_infer),
)
"""``x`` with ``a @ x == b`` for ``a`` (..., n, n) and ``b`` (..., n, k) (LU with pivoting)."""


# - slogdet ----------------------------------------------------------------------------------------
def _slogdet_infer(types):
    (a,) = types
    _square(a, "slogdet")
    t = TensorType(a.shape[:-2], a.dtype)
    return [t, t]


def _slogdet_jvp(p, t, o):
    return [None, reduce_sum(diagonal(solve(p[0], t[0])), axes=(p[0].ndim - 2,))]


def _slogdet_vjp(ct, p, o, needed):
    (a,) = p
    g = ct[1]
    if g is None:
        return [None]
    spread = broadcast_in_dim(g, shape=tuple(a.shape), dims=tuple(range(g.ndim)))
    return [ew.mul(spread, mT(solve(a, eye_like(a))))]


slogdet = define(
    "slogdet", **_FACTOR,
    infer=_slogdet_infer, jvp=_slogdet_jvp, vjp=_slogdet_vjp, multiple_results=True,
    impl=_linalg_impl(lambda a: tuple(np.linalg.slogdet(a)), _slogdet_infer, multiple=True),
)
"""``(sign, log|det a|)``; the sign's derivative is zero, ``log|det|``'s is ``inv(a).T``."""


# - eigh -------------------------------------------------------------------------------------------
def _eigh_infer(types):
    (a,) = types
    _square(a, "eigh")
    return [TensorType(a.shape[:-1], a.dtype), a]


def _eigh_jvp(p, t, o):
    w, v = o
    c = mm(mT(v), mm(_lower_sym(t[0]), v))
    return [diagonal(c), mm(v, ew.mul(pair_inverse(w), c))]


def _eigh_vjp(ct, p, o, needed):
    w, v = o
    dw, dv = ct
    inner = zeros(tuple(v.shape), v.dtype) if dv is None else ew.mul(pair_inverse(w),
                                                                    mm(mT(v), dv))
    if dw is not None:
        inner = ew.add(inner, ew.mul(along_cols(dw), eye_like(v)))
    return [_lower_fold(mm(v, mm(inner, mT(v))))]


eigh = define(
    "eigh", **_FACTOR, infer=_eigh_infer, jvp=_eigh_jvp, vjp=_eigh_vjp, multiple_results=True,
    impl=_linalg_impl(lambda a: tuple(np.linalg.eigh(a)), _eigh_infer, multiple=True),
)
"""Ascending eigenvalues ``w`` and orthonormal eigenvectors (columns of ``v``) of the symmetric
matrix whose lower triangle is ``a``'s."""


# - svd --------------------------------------------------------------------------------------------
def _svd_infer(types, full_matrices, compute_uv):
    (a,) = types
    if a.dtype.kind != "f" or a.ndim < 2:
        raise DTypeError(f"svd: needs float matrices, got {a}")
    *batch, m, n = a.shape
    k = min(m, n)
    s = TensorType((*batch, k), a.dtype)
    if not compute_uv:
        return [s]
    mu, nv = (m, n) if full_matrices else (k, k)
    return [TensorType((*batch, m, mu), a.dtype), s, TensorType((*batch, nv, n), a.dtype)]


def _svd_np(a, full_matrices, compute_uv):
    if not compute_uv:
        return np.linalg.svd(a, compute_uv=False)
    return tuple(np.linalg.svd(a, full_matrices=full_matrices))


def _svd_parts(p, o, full_matrices, compute_uv, what):
    """``(u, s, v)`` of the thin SVD (computed again when the node has only ``s``)."""
    (a,) = p
    m, n = a.shape[-2:]
    if full_matrices and compute_uv and m != n:
        raise GraphcError(
            f"the {what} of svd with full_matrices=True and a non-square {a.aval} is not defined "
            "(the extra singular vectors are arbitrary): pass full_matrices=False"
        )
    u, s, vh = o if compute_uv else svd(a, full_matrices=False, compute_uv=True)
    return u, s, mT(vh)


def _svd_jvp(p, t, o, full_matrices, compute_uv):
    (da,) = t
    u, s, v = _svd_parts(p, o, full_matrices, compute_uv, "derivative")
    ds_mat = mm(mT(u), mm(da, v))
    ds = diagonal(ds_mat)
    if not compute_uv:
        return [ds]
    f = pair_inverse(ew.mul(s, s))
    ss = ew.mul(ds_mat, along_rows(s))
    sds = ew.mul(along_cols(s), ds_mat)
    du = mm(u, ew.mul(f, ew.add(ss, mT(ss))))
    dv = mm(v, ew.mul(f, ew.add(sds, mT(sds))))
    m, n = p[0].shape[-2:]
    s_inv = safe_inverse(s)
    if m > n:
        dav = mm(da, v)
        du = ew.add(du, _scale_cols(ew.sub(dav, mm(u, mm(mT(u), dav))), s_inv))
    if n > m:
        dau = mm(mT(da), u)
        dv = ew.add(dv, _scale_cols(ew.sub(dau, mm(v, mm(mT(v), dau))), s_inv))
    return [du, ds, mT(dv)]


def _scale_cols(x, s):
    """``x * s[..., None, :]`` for a (..., m, k) ``x`` and (..., k) ``s``."""
    nb = s.ndim - 1
    return ew.mul(x, broadcast_in_dim(s, shape=tuple(x.shape), dims=(*range(nb), nb + 1)))


def _svd_vjp(ct, p, o, needed, full_matrices, compute_uv):
    u, s, v = _svd_parts(p, o, full_matrices, compute_uv, "gradient")
    du, ds, dvh = ct if compute_uv else (None, ct[0], None)
    k = zeros((*s.shape, s.shape[-1]), s.dtype)
    if ds is not None:
        k = ew.add(k, ew.mul(along_cols(ds), eye_like(k)))
    f = pair_inverse(ew.mul(s, s))
    if du is not None:
        j = ew.mul(f, mm(mT(u), du))
        k = ew.add(k, ew.mul(ew.add(j, mT(j)), along_rows(s)))
    if dvh is not None:
        h = ew.mul(f, mm(mT(v), mT(dvh)))
        k = ew.add(k, ew.mul(along_cols(s), ew.add(h, mT(h))))
    grad = mm(u, mm(k, mT(v)))
    m, n = p[0].shape[-2:]
    s_inv = safe_inverse(s)
    if m > n and du is not None:
        proj = ew.sub(du, mm(u, mm(mT(u), du)))
        grad = ew.add(grad, mm(_scale_cols(proj, s_inv), mT(v)))
    if n > m and dvh is not None:
        dv = mT(dvh)
        proj = ew.sub(dv, mm(v, mm(mT(v), dv)))
        grad = ew.add(grad, mm(_scale_cols(u, s_inv), mT(proj)))
    return [grad]


svd = define(
    "svd", **_FACTOR, infer=_svd_infer, jvp=_svd_jvp, vjp=_svd_vjp, multiple_results=True,
    impl=_linalg_impl(_svd_np, _svd_infer, multiple=True),
)
"""``(u, s, vh)`` (or ``(s,)`` without ``compute_uv``), singular values descending."""


# - qr ---------------------------------------------------------------------------------------------
def _qr_infer(types, full):
    (a,) = types
    if a.dtype.kind != "f" or a.ndim < 2:
        raise DTypeError(f"qr: needs float matrices, got {a}")
    *batch, m, n = a.shape
    if m < n:
        raise ShapeError(f"qr: the primitive takes tall or square matrices, got {a}")
    k = m if full else n
    return [TensorType((*batch, m, k), a.dtype), TensorType((*batch, k, n), a.dtype)]


def _qr_check(p, full, what):
    m, n = p[0].shape[-2:]
    if full and m > n:
        raise GraphcError(
            f"the {what} of qr(mode='complete') of a tall {p[0].aval} is not defined (the extra "
            "columns of q are arbitrary): use mode='reduced'"
        )


def _qr_jvp(p, t, o, full):
    _qr_check(p, full, "derivative")
    q, r = o
    b = mT(solve(mT(r), mT(t[0])))  # dA R^-1
    c = mm(mT(q), b)
    low = tril(c, -1)
    omega = ew.sub(low, mT(low))
    return [ew.add(mm(q, ew.sub(omega, c)), b), mm(ew.sub(c, omega), r)]


def _qr_vjp(ct, p, o, needed, full):
    _qr_check(p, full, "gradient")
    q, r = o
    dq, dr = ct
    m = zeros(tuple(r.shape), r.dtype)
    if dq is not None:
        m = ew.add(m, mm(mT(q), dq))
    if dr is not None:
        m = ew.sub(m, mm(dr, mT(r)))
    g = mm(q, ew.sub(tril(ew.sub(m, mT(m)), -1), m))
    if dq is not None:
        g = ew.add(g, dq)
    return [mT(solve(r, mT(g)))]  # G R^-T


qr = define(
    "qr", **_FACTOR, infer=_qr_infer, jvp=_qr_jvp, vjp=_qr_vjp, multiple_results=True,
    impl=_linalg_impl(
        lambda a, full: tuple(np.linalg.qr(a, mode="complete" if full else "reduced")), _qr_infer,
        multiple=True,
    ),
)
"""``(q, r)`` of a tall or square ``a`` (Householder): reduced, or with ``full`` the square
``q``; wide matrices are composed in ``graphc.numpy.linalg.qr``."""
