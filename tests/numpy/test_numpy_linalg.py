"""graphc.numpy.linalg and the factorization primitives (ops/factor.py) against oracles that are
not NumPy's linalg (which *is* the implementation): reconstructions and defining properties,
mpmath at 50 digits, norms from their definitions; eager == reference == llvm; derivatives up to
order 2 (batches, 1x1, tall and wide, float32, captured constants, the lower-triangle convention);
the documented NaN / error behaviour; random programs (hypothesis); concurrent calls."""

from __future__ import annotations

import concurrent.futures

import mpmath
import numpy as np
import pytest
from gnp_check import assert_same
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

BACKENDS = ("reference", "llvm")
INF = np.inf
L = np.linalg  # inside traced functions: dispatched to graphc.numpy.linalg
#: ``cholesky(upper=)`` is NumPy 2's: on NumPy 1 graphc.numpy.linalg's is called directly.
UPPER = L if np.lib.NumpyVersion(np.__version__) >= "2.0.0" else gnp.linalg
_rng = np.random.default_rng
mT = lambda x: np.swapaxes(x, -1, -2)  # noqa: E731
tol = lambda dtype: 2e-4 if np.dtype(dtype) == np.float32 else 1e-10  # noqa: E731
mp_mat = lambda a: mpmath.matrix(np.asarray(a, np.float64).tolist())  # noqa: E731
mp_det = mpmath.workdps(50)(lambda a: float(mpmath.det(mp_mat(a))))
mp_inv = mpmath.workdps(50)(lambda a: np.array((mp_mat(a) ** -1).tolist(), float))
mp_svals = mpmath.workdps(30)(lambda m: sorted(  # descending
    (float(v) for v in mpmath.svd_r(mp_mat(m), compute_uv=False)), reverse=True))


def spd(n, batch=(), seed=0, dtype=np.float64):
    x = _rng(seed).normal(size=(*batch, n, n))
    return (x @ mT(x) + n * np.eye(n)).astype(dtype)


def general(shape, seed=0, dtype=np.float64):
    """Well conditioned: random plus n on the diagonal of the leading square block."""
    a, k = _rng(seed).normal(size=shape), min(shape[-2:])
    a[..., range(k), range(k)] += k + 1
    return a.astype(dtype)


def sym_separated(n, seed=0, lower_noise=False):
    """A symmetric matrix with eigenvalues 1, 3, 5, ... (garbage above the diagonal on request)."""
    q, _ = L.qr(_rng(seed).normal(size=(n, n)))
    a = (q * (2.0 * np.arange(n) + 1)) @ q.T
    return a + np.triu(_rng(seed + 1).normal(size=(n, n)) * 9, 1) if lower_noise else a


def close(got, want, dtype=np.float64, scale=1.0):
    """got == want (broadcast) to the dtype's tolerance, absolute part times scale."""
    got = np.asarray(got, np.float64)
    np.testing.assert_allclose(got, np.broadcast_to(np.asarray(want, np.float64), got.shape),
                               rtol=tol(dtype), atol=tol(dtype) * scale)


def run3(f, *args, **kw):
    """f(graphc.numpy.linalg, *args) == f(np.linalg, *traced args) on both backends; returns it."""
    eager = f(gnp.linalg, *args, **kw)
    for backend in BACKENDS:
        got = gc.function(lambda *a: f(L, *a, **kw), backend=backend)(*args)
        assert_same(got, eager, rtol=tol(np.result_type(*args)) / 10)
    return eager


# - factorizations: defining properties -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1), (5, 5)])
def test_cholesky_factors(shape, dtype):
    a = spd(shape[-1], shape[:-2], dtype=dtype)
    noisy = a + np.triu(np.full(shape, 7.0, dtype), 1)  # read: the lower triangle only
    l = run3(lambda la, x: la.cholesky(x), np.asfortranarray(noisy))
    assert l.dtype == dtype and np.all(np.triu(l, 1) == 0) and np.all(np.diagonal(l, 0, -2, -1) > 0)
    close(l @ mT(l), a, dtype, 10)
    u = run3(lambda la, x: (UPPER if la is L else la).cholesky(x, upper=True), mT(noisy).copy())
    assert np.all(np.tril(u, -1) == 0) and np.array_equal(u, mT(l))


@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (3, 5), (2, 4, 3), (2, 3, 4), (1, 1), (4, 1)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_factors(shape, mode):
    a = general(shape, seed=1)
    m, n = shape[-2:]
    res = run3(lambda la, x: la.qr(x, mode=mode), a)
    r = res if mode == "r" else res[1]
    assert np.all(np.triu(r) == r)
    if mode == "r":  # R is unique up to row signs
        close(np.abs(r), np.abs(L.qr(a, mode="r")), scale=10)
        return
    q, k = res[0], (m if mode == "complete" else min(m, n))
    assert q.shape == (*shape[:-2], m, k) and r.shape == (*shape[:-2], k, n)
    close(q @ r, a, scale=10)
    close(mT(q) @ q, np.eye(k))
    if mode == "complete":  # the extra columns are arbitrary: this is NumPy's choice
        for got, want in zip(res, L.qr(a, mode="complete"), strict=True):
            close(got, want, scale=10)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (3, 3), (2, 3, 3), (2, 4, 2), (1, 1), (1, 4)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_factors(shape, full):
    a = general(shape, seed=2)
    (u, s, vh), k = run3(lambda la, x: la.svd(x, full_matrices=full), a), min(shape[-2:])
    assert np.all(s >= 0) and np.all(np.diff(s, axis=-1) <= 0)
    close(u[..., :, :k] * s[..., None, :] @ vh[..., :k, :], a, scale=10)
    close(mT(u) @ u, np.eye(u.shape[-1]))
    close(vh @ mT(vh), np.eye(vh.shape[-2]))
    close(run3(lambda la, x: la.svd(x, compute_uv=False), a), s, scale=10)
    for i in np.ndindex(*shape[:-2]):
        close(s[i], mp_svals(a[i]), scale=10)


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("n", [1, 2, 4])
def test_eigh(uplo, n):
    a = np.stack([sym_separated(n, seed) for seed in (3, 4)])
    noisy = a + (np.triu if uplo == "L" else np.tril)(5.0 + 0 * a, 1 if uplo == "L" else -1)
    w, v = run3(lambda la, x: la.eigh(x, UPLO=uplo), noisy)
    close(w, np.broadcast_to(2.0 * np.arange(n) + 1, w.shape), scale=10)
    close(a @ v, v * w[..., None, :], scale=10)
    close(mT(v) @ v, np.eye(n))
    close(run3(lambda la, x: la.eigvalsh(x, UPLO=uplo), noisy), w, scale=10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_solve_and_inv(dtype):
    a, a3 = general((4, 4), 5, dtype), general((2, 4, 4), 6, dtype)
    b, bm = (_rng(7).normal(size=s).astype(dtype) for s in ((4,), (3, 4, 2)))  # bm: a batch
    close(a @ run3(lambda la, x, y: la.solve(x, y), a, b), b, dtype, 10)
    close(a @ run3(lambda la, x, y: la.solve(x, y), a, bm), bm, dtype, 10)  # shape (3, 4, 2)
    x = run3(lambda la, x, y: la.solve(x, y), a3, b)  # 1-d b is one vector for the whole batch
    close(np.einsum("bij,bj->bi", a3, x), np.broadcast_to(b, (2, 4)), dtype, 10)
    for m in (a, a3, general((1, 1), 9, dtype)):
        close(run3(lambda la, x: la.inv(x), m) @ m, np.eye(m.shape[-1]), dtype, 10)
    ints = run3(lambda la, x, y: la.solve(x, y), np.array([[2, 1], [1, 3]]), np.array([3, 5]))
    assert ints.dtype == np.float64 and np.allclose(ints, [0.8, 1.4], rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_det_and_slogdet_vs_mpmath(n, dtype):
    a = np.stack([_rng(s).normal(size=(n, n)) * 2 for s in (10, 11, 12)]).astype(dtype)
    a[1, 0] *= -1 if n > 1 else 1  # some negative determinants
    want = np.array([mp_det(m) for m in a])
    d, (sign, logdet) = run3(lambda la, x: (la.det(x), la.slogdet(x)), a)
    rt = 1e-3 if dtype == np.float32 else 1e-11
    np.testing.assert_array_equal(sign, np.sign(want))
    np.testing.assert_allclose([d, logdet], [want, np.log(np.abs(want))], rtol=rt, atol=rt)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 3, 4)])
def test_pinv_moore_penrose(shape):
    a_def = (_rng(14).normal(size=(*shape[:-1], 2)) @ _rng(15).normal(size=(2, shape[-1])))
    for m, kw in ((general(shape, 13), {}), (a_def, {"rcond": 1e-10})):  # full rank; rank 2
        p = run3(lambda la, x: la.pinv(x, **kw), m)
        assert p.shape == (*shape[:-2], shape[-1], shape[-2])
        for got, want in ((m @ p @ m, m), (p @ m @ p, p), (mT(m @ p), m @ p), (mT(p @ m), p @ m)):
            close(got, want, scale=100)


@pytest.mark.parametrize("bshape", [(), (2,)])
def test_lstsq(bshape):
    deficient = _rng(18).normal(size=(6, 2)) @ _rng(19).normal(size=(2, 3))
    for a in (general((6, 3), 16), general((3, 5), 17), deficient):
        b = _rng(20).normal(size=(a.shape[0], *bshape))
        x, res, rank, s = run3(lambda la, x, y: la.lstsq(x, y), a, b)
        assert x.shape == (a.shape[1], *bshape)
        close(a.T @ (a @ x - b), 0 * x, scale=100)  # the normal equations
        close(s, mp_svals(a), scale=10)
        assert int(rank) == L.matrix_rank(a) and res.dtype == np.float64
        if a.shape[0] > a.shape[1]:  # residuals for every tall a, rank deficient too
            close(res, np.sum((a @ x - b) ** 2, axis=0).reshape(bshape or (1,)), scale=10)
        else:  # the minimum-norm solution: exact, in the row space
            assert res.shape == (0,) and np.allclose(a @ x, b, rtol=0, atol=1e-9)
            close(a.T @ L.solve(a @ a.T, a @ x), x, scale=10)


@pytest.mark.parametrize("n", [-3, -1, 0, 1, 2, 5, 8])
def test_matrix_power(n):
    a = general((2, 3, 3), 21) / 4
    base, want = (np.stack([mp_inv(m) for m in a]) if n < 0 else a), np.eye(3)
    for _ in range(abs(n)):  # repeated multiplication
        want = want @ base
    close(run3(lambda la, x: la.matrix_power(x, n), a), want, scale=10)


def test_matrix_rank():
    a = np.stack([_rng(s).normal(size=(5, r)) @ _rng(s + 1).normal(size=(r, 4)) for s, r in
                  ((22, 1), (23, 2), (24, 4))])
    for dtype in (np.float64, np.float32):
        r = run3(lambda la, x: la.matrix_rank(x), a.astype(dtype))
        assert r.dtype == np.int64 and list(r) == [1, 2, 4]
    assert int(run3(lambda la, x: la.matrix_rank(x, tol=1e9), a[2])) == 0
    assert int(run3(lambda la, x: la.matrix_rank(x), np.zeros((3, 3)))) == 0


# - norms against their definitions ---------------------------------------------------------------
def vnorm(v, o):
    v = np.abs(np.asarray(v, np.float64))
    if o is None or o == 2:
        return float(mpmath.sqrt(mpmath.fsum(x * x for x in v)))
    if o in (INF, -INF, 0):
        return v.max() if o == INF else (v.min() if o == -INF else float(np.count_nonzero(v)))
    if o < 0 and not v.all():
        return 0.0
    with mpmath.workdps(30):
        return float(mpmath.fsum(mpmath.mpf(x) ** o for x in v) ** (mpmath.mpf(1) / o))


def mnorm(m, o):
    if o in (None, "fro"):
        return vnorm(m.ravel(), 2)
    if o in ("nuc", 2, -2):
        s = mp_svals(m)
        return sum(s) if o == "nuc" else (s[0] if o == 2 else s[-1])
    sums = np.abs(m).sum(axis=0 if o in (1, -1) else 1)
    return sums.max() if o in (1, INF) else sums.min()


def norm_oracle(x, o, axis, keepdims):
    vec = np.ndim(axis) == 0
    axes = (axis,) if vec else axis
    out = np.empty((moved := np.moveaxis(x, axes, tuple(range(-len(axes), 0)))).shape[:-len(axes)])
    for i in np.ndindex(*out.shape):
        out[i] = vnorm(moved[i], o) if vec else mnorm(moved[i], o)
    return np.expand_dims(out, tuple(sorted(a % x.ndim for a in axes))) if keepdims else out


VEC_ORDS = [None, 2, 1, INF, -INF, 0, 3, 0.5, -1, -2.5]
MAT_ORDS = [None, "fro", "nuc", 2, -2, 1, -1, INF, -INF]
SYM_ORDS = (None, "fro", "nuc", 2, -2)  # the same for a matrix and its transpose


@pytest.mark.parametrize("keepdims", [False, True])
def test_norms_match_definitions(keepdims):
    x = _rng(25).normal(size=(3, 2, 4))
    x[0, 0, 0] = 0.0  # a zero element: ord 0 and negative ords see it
    for o in VEC_ORDS:
        for axis in (0, -1):
            close(run3(lambda la, v: la.norm(v, o, axis, keepdims), x),
                  norm_oracle(x, o, axis, keepdims), scale=10)
    for o in MAT_ORDS:
        for axis in ((0, 1), (0, 2), (-3, -1)) + (((1, 0), (2, 0)) if o in SYM_ORDS else ()):
            close(run3(lambda la, v: la.norm(v, o, axis, keepdims), x),
                  norm_oracle(x, o, axis, keepdims), scale=10)
        m = x[:, 1]  # a plain matrix: axis=None means the matrix norm
        close(run3(lambda la, v: la.norm(v, o), m), mnorm(m, o), scale=10)
    close(run3(lambda la, v: la.norm(v), x), vnorm(x.ravel(), 2))
    for o in (None, 1, 3, INF):  # the subgradient 0 at 0, not NaN
        np.testing.assert_array_equal(gc.grad(lambda v: L.norm(v, o))(np.zeros(3)), 0)
    np.testing.assert_array_equal(gc.grad(lambda m: L.norm(m, "fro"))(np.zeros((2, 2))), 0)


@pytest.mark.parametrize("o", [1, -1, INF, -INF])
def test_matrix_norm_axes_in_descending_order(o):
    x = np.array([[1.0, 2.0], [3.0, 4.0]])  # column sums 4, 6; row sums 3, 7
    close(gnp.linalg.norm(x, o, axis=(1, 0)), mnorm(x.T, o))


# - derivatives -----------------------------------------------------------------------------------
C = general((3, 3), 26)  # captured by the closures below
X3, X23, X11 = (_rng(27).normal(size=s) for s in ((3, 3), (2, 3, 3), (1, 1)))
_gram = lambda x: x @ mT(x) + x.shape[-1] * np.eye(x.shape[-1])  # noqa: E731
_pair = lambda u, vh, k=0: u[..., :, k:k + 1] * vh[..., k:k + 1, :]  # noqa: E731  (sign-free)


GRAD_CASES = {
    "chol_gram": (lambda x: L.cholesky(_gram(x)), (X3,)),
    "chol_gram_batch": (lambda x: L.cholesky(_gram(x)), (X23,)),
    "chol_1x1": (lambda a: L.cholesky(a * a + 1), (X11,)),
    "chol_direct_noisy": (lambda a: L.cholesky(a), (spd(3) + np.triu(X3, 1),)),
    "chol_upper": (lambda a: UPPER.cholesky(a, upper=True), (spd(3),)),
    "solve": (lambda a, b: L.solve(a, b), (general((3, 3), 28), X3[0])),
    "solve_bcast": (lambda a, b: L.solve(a, b), (general((3, 3), 29), X23[..., :2])),
    "solve_batch_vec": (lambda a, b: L.solve(a, b), (general((2, 3, 3), 30), X3[1])),
    "solve_const_a": (lambda b: L.solve(C, b * b), (X3,)),
    "inv": (lambda a: L.inv(a), (general((3, 3), 31),)),
    "inv_batch_1x1": (lambda a: L.inv(a + 2), (X11[None] * np.ones((2, 1, 1)),)),
    "trace_inv_const": (lambda x: np.trace(L.inv(_gram(x)) @ C), (X3,)),
    "slogdet": (lambda a: L.slogdet(a)[1], (general((2, 3, 3), 32) * [[[1]], [[-1]]],)),
    "det": (lambda a: L.det(a), (general((3, 3), 33),)),
    "det_1x1": (lambda a: L.det(a), (X11 + 3,)),
    "eigvalsh": (lambda a: L.eigvalsh(a), (sym_separated(4, 34, lower_noise=True),)),
    "eigh_batch": (lambda a: L.eigh(a)[0], (np.stack([sym_separated(3, 35)] * 2),)),
    "eigh_vecs_sq": (lambda a: L.eigh(a)[1] ** 2, (sym_separated(3, 36, True),)),
    "eigh_expm": (lambda a: (lambda w, v: (v * np.exp(w)) @ v.T)(*L.eigh(a / 4)), (C @ C.T,)),
    "eigh_upper": (lambda a: L.eigh(a, UPLO="U")[1] ** 2, (sym_separated(3, 38).T,)),
    "eigh_1x1": (lambda a: L.eigh(a)[1] ** 2 * L.eigh(a)[0], (X11,)),
    "svd_s_wide_batch": (lambda a: L.svd(a, compute_uv=False), (general((2, 3, 5), 40),)),
    "svd_s_1x1": (lambda a: L.svd(a + 2, compute_uv=False), (X11,)),
    "svd_s_full_tall": (lambda a: L.svd(a, compute_uv=False), (general((4, 2), 62),)),
    "svd_full_square": (lambda a: (lambda u, s, vh: u @ vh)(*L.svd(a)), (C,)),
    "svd_polar_tall": (lambda a: (lambda u, s, vh: u @ vh)(*L.svd(a, 0)), (general((5, 3), 41),)),
    "svd_pair_wide": (lambda a: _pair(*L.svd(a, False)[::2], 1), (general((3, 5), 42),)),
    "svd_usvh_sq": (lambda a: (lambda u, s, vh: (u * s[..., None, :]) @ vh + _pair(u, vh))(
        *L.svd(a)), (general((2, 3, 3), 43),)),
    "qr_tall": (lambda a: L.qr(a), (general((5, 3), 44),)),
    "qr_square_batch": (lambda a: L.qr(a), (general((2, 3, 3), 45),)),
    "qr_wide": (lambda a: L.qr(a), (general((3, 5), 46),)),
    "qr_wide_complete": (lambda a: L.qr(a, mode="complete"), (general((3, 4), 47),)),
    "qr_r_1x1": (lambda a: L.qr(a, mode="r"), (X11 + 1,)),
    "pinv_tall": (lambda a: L.pinv(a), (general((5, 3), 48),)),
    "pinv_wide_batch": (lambda a: L.pinv(a), (general((2, 3, 5), 49),)),
    "lstsq_tall": (lambda a, b: L.lstsq(a, b)[:2], (general((5, 3), 50), X23.ravel()[:5])),
    "lstsq_wide": (lambda a, b: L.lstsq(a, b)[0], (general((3, 5), 51), X3[:, :2])),
    "matrix_power": (lambda a: L.matrix_power(a, 3) + L.matrix_power(a, -2), (C / 3,)),
    "norm_vec": (lambda v: np.stack([L.norm(v + 2, o, axis=-1) for o in VEC_ORDS]), (X23[0],)),
    "norm_mat_tall": (lambda m: np.stack([L.norm(m, o) for o in MAT_ORDS]), (general((5, 3), 53),)),
    "norm_mat_wide_axes": (lambda m: L.norm(m, "nuc", axis=(2, 0), keepdims=True)
                           + L.norm(m, -2, axis=(0, 2)), (general((3, 2, 5), 54),)),
}
LLVM_TOO = {"chol_gram_batch", "solve_bcast", "slogdet", "eigh_vecs_sq", "svd_pair_wide", "qr_wide",
            "pinv_tall", "norm_mat_tall"}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_order_2(name):
    f, args = GRAD_CASES[name]
    check_grads(f, args, order=2, atol=1e-5, rtol=1e-4)
    if name in LLVM_TOO:
        check_grads(f, args, order=2, atol=1e-5, rtol=1e-4, backend="llvm", optimize=True)


def _weighted(out):  # a scalar that sees every element of every output
    if isinstance(out, (tuple, list)):
        return sum(_weighted(o) * (i + 1) for i, o in enumerate(out))
    return np.sum(out * np.cos(np.arange(out.size)).reshape(out.shape))


@pytest.mark.parametrize("name", ["chol_gram", "solve", "slogdet", "eigvalsh", "svd_polar_tall",
                                  "qr_wide", "pinv_tall", "norm_mat_tall"])
def test_float32_gradients_follow_float64(name):
    f, args = GRAD_CASES[name]
    grad = gc.grad(lambda *a: _weighted(f(*a)), argnums=tuple(range(len(args))))
    for backend in BACKENDS:
        got = gc.function(grad, backend=backend)(*[a.astype(np.float32) for a in args])
        for g, w in zip(got, grad(*args), strict=True):
            assert g.dtype == np.float32
            np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3 * np.abs(w).max())


def test_logdet_derivatives_vs_mpmath():
    a = general((3, 3), 55)
    ainv, det = mp_inv(a), mp_det(a)
    close(gc.grad(lambda x: L.slogdet(x)[1])(a), ainv.T)
    close(gc.function(gc.grad(lambda x: L.det(x)), backend="llvm")(a), det * ainv.T, scale=det)
    h = gc.hessian(lambda x: L.slogdet(x)[1])(a)  # -inv[j,k] inv[l,i]
    close(h, -np.einsum("jk,li->ijkl", ainv, ainv))


@pytest.mark.parametrize("f,a,upper", [
    (lambda a: L.cholesky(a), spd(4, seed=57), False),
    (lambda a: mT(UPPER.cholesky(a, upper=True)), spd(4, seed=57), True),
    (lambda a: L.eigh(a)[1] ** 2 + L.eigh(a)[0], sym_separated(4, 58), False),
    (lambda a: L.eigh(a, UPLO="U")[1] ** 2 + L.eigh(a, "U")[0], sym_separated(4, 58), True)],
    ids=["cholesky", "cholesky_upper", "eigh", "eigh_U"])
def test_lower_triangle_convention(f, a, upper):
    loss = lambda a: np.sum(f(a) * _rng(56).normal(size=(4, 4)))  # noqa: E731
    for backend in BACKENDS:
        g = gc.function(gc.grad(loss), backend=backend)(a)
        np.testing.assert_array_equal(np.tril(g, -1) if upper else np.triu(g, 1), 0)
        h = 1e-5  # each read element: the derivative along the symmetric pair (E_ij + E_ji)
        for i, j in zip(*np.tril_indices(4)):
            d = np.zeros((4, 4))
            d[i, j] = d[j, i] = 1
            num = (loss(a + h * d) - loss(a - h * d)) / (2 * h)
            np.testing.assert_allclose(g[(j, i) if upper else (i, j)], num, rtol=1e-6, atol=1e-6)


# - documented special behaviour ------------------------------------------------------------------
@pytest.mark.parametrize("backend", ("eager",) + BACKENDS)
def test_nan_where_numpy_raises(backend):
    def call(f, *a):  # f(la, *a)
        return f(gnp.linalg, *a) if backend == "eager" else gc.function(
            lambda *t: f(L, *t), backend=backend)(*a)

    batch = np.stack([(good := spd(3, (2,), seed=59))[0], np.diag([1.0, -1.0, 1.0]), good[1]])
    assert np.isnan((l := call(lambda la, a: la.cholesky(a), batch))[1]).all()
    close(l[[0, 2]] @ mT(l[[0, 2]]), good, scale=10)
    close(call(lambda la, a: la.cholesky(a), np.array([[1.0, 100], [0, 1]])), np.eye(2))
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert np.isnan(call(lambda la, a: la.inv(a), sing)).all()
    x = call(lambda la, a, b: la.solve(a, b), np.stack([sing, np.eye(2)]), np.ones(2))
    assert np.isnan(x[0]).all() and np.array_equal(x[1], np.ones(2))
    d, (sign, logdet) = call(lambda la, a: (la.det(a), la.slogdet(a)), sing)
    assert d == 0 and sign == 0 and logdet == -np.inf
    assert np.isnan(call(lambda la, a: gc.grad(la.det)(a), sing)).all()  # as documented


@pytest.mark.parametrize("f,shape,match", [  # forward: test_svd_factors, test_qr_factors
    (lambda x: L.svd(x)[0], (5, 3), "full_matrices=False"),
    (lambda x: L.svd(x)[2], (3, 5), "full_matrices=False"),
    (lambda x: L.qr(x, mode="complete")[0], (5, 3), "mode='reduced'")], ids=["tall", "wide", "qr"])
def test_undefined_derivatives_raise(f, shape, match):
    with pytest.raises(gc.GraphcError, match=match):
        gc.grad(lambda x: f(x).sum())(a := general(shape, 64))
    with pytest.raises(gc.GraphcError, match=match):
        gc.jvp(f, (a,), (a,))


ONES = np.ones
ERRORS = [  # (name, call(la, *arrays), arrays, message): eagerly and on traced arrays
    ("cholesky_1d", lambda la, a: la.cholesky(a), (ONES(3),), "two dimensions"),
    ("solve_non_square", lambda la, a, b: la.solve(a, b), (ONES((3, 4)), ONES(4)), "square"),
    ("solve_rhs", lambda la, a, b: la.solve(a, b), (np.eye(3), ONES(4)), "right-hand side"),
    ("det_non_square", lambda la, a: la.det(a), (ONES((3, 4)),), "square"),
    ("eigh_uplo", lambda la, a: la.eigh(a, UPLO="X"), (np.eye(3),), "UPLO"),
    ("qr_mode", lambda la, a: la.qr(a, mode="raw"), (np.eye(3),), "mode"),
    ("norm_matrix_ord", lambda la, a: la.norm(a, ord=3), (np.eye(3),), "ord"),
    ("norm_vector_fro", lambda la, a: la.norm(a, ord="fro"), (ONES(3),), "ord"),
    ("norm_three_axes", lambda la, a: la.norm(a, ord=2), (ONES((2, 2, 2)),), "ord"),
    ("matrix_power_float", lambda la, a: la.matrix_power(a, 1.5), (np.eye(2),), "int"),
    ("lstsq_rhs", lambda la, a, b: la.lstsq(a, b), (ONES((3, 2)), ONES(4)), "shapes"),
    ("inv_non_square", lambda la, a: la.inv(a), (ONES((3, 4)),), "square"),
    ("solve_non_square_rows", lambda la, a, b: la.solve(a, b), (ONES((3, 4)), ONES(3)), "square"),
]
@pytest.mark.parametrize("call,arrays,match", [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_clear_errors(call, arrays, match):
    with pytest.raises(gc.GraphcError, match=match):
        call(gnp.linalg, *arrays)
    for backend in BACKENDS:
        with pytest.raises(gc.GraphcError, match=match):
            gc.function(lambda *a: call(L, *a), backend=backend)(*arrays)


@pytest.mark.parametrize("shape", [(0, 0), (3, 0)])
def test_pinv_and_rank_of_empty_matrices(shape):
    assert gnp.linalg.pinv(np.zeros(shape)).shape == shape[::-1]
    assert int(gnp.linalg.matrix_rank(np.zeros(shape))) == 0


# - random programs -------------------------------------------------------------------------------
_chol_solve = lambda a, b: (lambda l: L.solve(l.T, L.solve(l, b)))(L.cholesky(a))  # noqa: E731
STEPS = {  # SPD -> SPD
    "square": lambda a, b: a @ a / a.shape[-1], "inv": lambda a, b: L.inv(a) * a.shape[-1],
    "add_gram": lambda a, b: a + b @ b.T, "pinv": lambda a, b: L.pinv(a) * a.shape[-1],
    "chol_roundtrip": lambda a, b: (lambda l: l @ l.T)(L.cholesky(a)),
    "eig_roundtrip": lambda a, b: (lambda w, v: (v * w) @ v.T)(*L.eigh(a)),
    "power": lambda a, b: L.matrix_power(a, 2) / a.shape[-1],
}
READOUTS = [  # pairs of mathematically equal scalars of an SPD a (and b)
    (lambda a, b: 2 * np.sum(np.log(np.diagonal(L.cholesky(a)))), lambda a, b: L.slogdet(a)[1]),
    (lambda a, b: np.sum(np.log(L.eigvalsh(a))), lambda a, b: np.log(L.det(a))),
    (lambda a, b: np.trace(L.inv(a) @ b), lambda a, b: np.trace(L.solve(a, b))),
    (lambda a, b: np.sum(_chol_solve(a, b[:, 0])), lambda a, b: np.sum(L.solve(a, b[:, 0]))),
    (lambda a, b: L.norm(a, "nuc"), lambda a, b: np.trace(a)),
    (lambda a, b: L.norm(a, 2), lambda a, b: np.max(L.eigvalsh(a))),
    (lambda a, b: np.sum(L.qr(a, "r") ** 2), lambda a, b: np.sum(a * a)),
]


@settings(max_examples=12)
@given(n=st.integers(1, 5), seed=st.integers(0, 2**16), readout=st.integers(0, len(READOUTS) - 1),
       steps=st.lists(st.sampled_from(sorted(STEPS)), max_size=3))
def test_random_programs(n, seed, steps, readout):
    x, b = _rng(seed).normal(size=(2, n, n))

    def version(k):  # program k: the chain of steps, then readout k of the pair
        def program(x, b):
            a = x @ x.T + n * np.eye(n)
            for s in steps:
                a = STEPS[s](a, b)
            return READOUTS[readout][k](a, b)
        return program

    v0, v1 = (float(gc.function(version(k), backend="reference")(x, b)) for k in (0, 1))
    np.testing.assert_allclose(v0, v1, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(float(gc.jit(version(0))(x, b)), v0, rtol=1e-12, atol=1e-12)
    check_grads(version(0), (x, b), order=1, atol=1e-5, rtol=1e-4)
    for g, r in zip(gc.function(gc.grad(version(0), argnums=(0, 1)), backend="llvm")(x, b),
                    gc.grad(version(1), argnums=(0, 1))(x, b), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-7, atol=1e-7)


# - threads ---------------------------------------------------------------------------------------
def test_concurrent_calls():
    f = gc.jit(_chol_solve)
    inputs = [(spd(6, seed=100 + i), _rng(200 + i).normal(size=(6, 3))) for i in range(32)]
    f(*inputs[0])  # compiled before the threads start
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda ab: f(*ab), inputs))
    for (a, b), x in zip(inputs, results, strict=True):  # each thread got its own answer
        close(a @ x, b, scale=10)
