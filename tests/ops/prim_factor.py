"""Rows (see prim_rows.py) of the factorizations (graphc/ops/factor.py) and ``special_call``.
The references are mpmath at 100 bits, or matrices whose factors are known exactly: NumPy's
linalg is what the primitives evaluate, so it cannot be their oracle."""

from __future__ import annotations

import mpmath
import numpy as np
from prim_table import F32, F64, I64, Case, Row, T, gen

from graphc.errors import DTypeError, ShapeError

mpmath.mp.prec = 100


def _mp(a):
    return mpmath.matrix(np.asarray(a, np.float64).tolist())


def _np(m, dtype, shape):
    return np.array([[float(m[i, j]) for j in range(m.cols)] for i in range(m.rows)],
                    dtype).reshape(shape)


def _spd(n, dtype, seed=0, batch=()):
    x = gen((*batch, n, n), F64, seed=seed)
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)


def _per_matrix(fn):
    """``fn`` (one float64 matrix -> array(s)) over a batch of matrices."""
    def ref(*args):
        batch = args[0].shape[:-2]
        outs = [fn(*(a[i] for a in args)) for i in np.ndindex(*batch)]
        outs = [o if isinstance(o, tuple) else (o,) for o in outs]
        res = tuple(np.stack([o[k] for o in outs]).reshape(batch + outs[0][k].shape)
                    for k in range(len(outs[0])))
        return res if len(res) > 1 else res[0]
    return ref


def _chol(a):
    low = mpmath.cholesky(_mp(a))
    return _np(low, a.dtype, a.shape)


def _solve(a, b):
    cols = [mpmath.lu_solve(_mp(a), _mp(b[:, [j]])) for j in range(b.shape[1])]
    return np.array([[float(c[i]) for c in cols] for i in range(b.shape[0])], a.dtype)


def _slogdet(a):
    d = mpmath.det(_mp(a))
    return np.array(float(mpmath.sign(d)), a.dtype), np.array(float(mpmath.log(abs(d))), a.dtype)


def factor_rows():
    perm = np.diag([3.0, 1.0, 2.0])  # eigh: w = (1, 2, 3), v the permutation (e2, e3, e1)
    upper = np.array([[2.0, 1.0, -1.0], [0.0, 3.0, 0.5], [0.0, 0.0, 1.5], [0.0, 0.0, 0.0]])
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    return {
        "cholesky": Row(
            [Case((_spd(3, F64),), {}, _per_matrix(_chol)),
             Case((_spd(2, F32, 1, (2,)),), {}, _per_matrix(_chol)),
             Case((np.full((1, 1), 4.0),), {}, lambda a: np.full((1, 1), 2.0)),
             Case((-np.eye(2),), {}, lambda a: np.full((2, 2), np.nan))],  # NaN, not an error
            [([T((3, 4), F64)], {}, ShapeError), ([T((3,), F64)], {}, ShapeError),
             ([T((2, 2), I64)], {}, DTypeError)], rtol=2e-5),
        "solve": Row(
            [Case((_spd(3, F64), gen((3, 2), F64)), {}, _per_matrix(_solve)),
             Case((_spd(2, F32, 2, (3,)), gen((3, 2, 1), F32)), {}, _per_matrix(_solve)),
             Case((singular, np.ones((2, 1))), {}, lambda a, b: np.full((2, 1), np.nan))],
            [([T((3, 3), F64), T((3,), F64)], {}, ShapeError),
             ([T((3, 3), F64), T((4, 1), F64)], {}, ShapeError),
             ([T((3, 3), F64), T((3, 1), F32)], {}, ShapeError)], rtol=2e-5),
        "slogdet": Row(
            [Case((gen((3, 3), F64) + 3 * np.eye(3),), {}, _per_matrix(_slogdet)),
             Case((gen((2, 2, 2), F32, seed=3),), {}, _per_matrix(_slogdet)),
             Case((singular,), {}, lambda a: (np.array(0.0), np.array(-np.inf)))],
            [([T((2, 3), F64)], {}, ShapeError)], rtol=2e-5),
        "eigh": Row(
            [Case((perm,), {}, lambda a: (np.array([1.0, 2.0, 3.0]), np.eye(3)[:, [1, 2, 0]])),
             Case((np.diag([2.0, 5.0]).astype(F32),), {},
                  lambda a: (np.array([2.0, 5.0], F32), np.eye(2, dtype=F32)))],
            [([T((2, 3), F64)], {}, ShapeError)], rtol=1e-12),
        "svd": Row(
            [Case((np.diag([3.0, 2.0, 0.5]),), {"full_matrices": False, "compute_uv": True},
                  lambda a: (np.eye(3), np.array([3.0, 2.0, 0.5]), np.eye(3))),
             Case((gen((4, 3), F64),), {"full_matrices": True, "compute_uv": False},
                  lambda a: (np.array(sorted((float(v) for v in mpmath.svd_r(_mp(a),
                                                                      compute_uv=False)),
                                             reverse=True)),))],
            [([T((3,), F64)], {"full_matrices": False, "compute_uv": True}, DTypeError)],
            rtol=1e-12),
        "qr": Row(
            [Case((upper[:3],), {"full": False}, lambda a: (np.eye(3), a)),
             Case((upper,), {"full": False}, lambda a: (np.eye(4)[:, :3], a[:3])),
             Case((upper,), {"full": True}, lambda a: (np.eye(4), a))],
            [([T((2, 3), F64)], {"full": False}, ShapeError),
             ([T((2, 2), I64)], {"full": False}, DTypeError)], rtol=1e-12),
    }


def special_call_row():
    """``special_call`` evaluates its ``body`` (here erf's float64 series) at the operand."""
    import graphc as gc
    from graphc.scipy import errorfns

    x = np.array([-2.5, -0.3, 0.0, 0.8, 4.0])
    body = gc.make_graph(errorfns._erf64)(x)
    exact = lambda v: (np.array([float(mpmath.erf(mpmath.mpf(float(t)))) for t in v]),)  # noqa: E731
    return Row([Case((x,), {"body": body, "fn": "erf", "n": 0}, exact)],
               [([T((5,), F32)], {"body": body, "fn": "erf", "n": 0}, Exception)], rtol=1e-15)


def debug_print_row():
    """``debug_print`` has no results: its evaluation prints (tests/trace/test_debug_print.py
    checks what); the shape rule refuses more keyword names than values."""
    x = np.array([1.5, 2.0])
    return Row([Case((x,), {"fmt": "{}", "names": ()}, lambda v: ())],
               [([T((2,), F64)], {"fmt": "{a}{b}", "names": ("a", "b")}, Exception)])
