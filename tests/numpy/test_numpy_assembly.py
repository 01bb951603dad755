"""graphc.numpy's shape and assembly functions (graphc/numpy/assembly.py) against NumPy bit for
bit (signed zeros and NaN included; a NaN's sign is not compared, IEEE leaves it open), called
as ``gnp.f`` eagerly and as ``np.f`` and ``gnp.f`` traced on both backends, over several dtypes
and shapes; their derivatives against central differences; and their errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import check_grads

rng = np.random.default_rng(0)
A, B = rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 4))
V, S = rng.normal(size=5), np.float64(2.5)
A[0, 0], A[1, 2] = -0.0, np.nan

CASES = {  # name -> (f(module, *args), args)
    "flip": (lambda m, x: m.flip(x), (B,)),
    "flip_axis": (lambda m, x: m.flip(x, 1), (B,)),
    "flip_axes": (lambda m, x: m.flip(x, (0, 2)), (B,)),
    "fliplr": (lambda m, x: m.fliplr(x), (A,)),
    "flipud": (lambda m, x: m.flipud(x), (A,)),
    "rot90": (lambda m, x: m.rot90(x), (A,)),
    "rot90_2": (lambda m, x: m.rot90(x, 2), (A,)),
    "rot90_3_axes": (lambda m, x: m.rot90(x, 3, (1, 2)), (B,)),
    "rot90_neg": (lambda m, x: m.rot90(x, -1), (A,)),
    "roll_flat": (lambda m, x: m.roll(x, 2), (A,)),
    "roll_axis": (lambda m, x: m.roll(x, -1, 1), (A,)),
    "roll_axes": (lambda m, x: m.roll(x, (1, 5), (0, 2)), (B,)),
    "atleast_1d": (lambda m, x: m.atleast_1d(x), (S,)),
    "atleast_2d": (lambda m, x: m.atleast_2d(x), (V,)),
    "atleast_3d": (lambda m, x: m.atleast_3d(x), (A,)),
    "atleast_3d_1d": (lambda m, x: m.atleast_3d(x), (V,)),
    "atleast_3d_0d": (lambda m, x: m.atleast_3d(x), (S,)),
    "atleast_many": (lambda m, x, y: m.atleast_2d(x, y), (S, A)),
    "vstack": (lambda m, x, y: m.vstack([x, y]), (V, V)),
    "vstack_2d": (lambda m, x, y: m.vstack([x, y]), (A, A)),
    "hstack": (lambda m, x, y: m.hstack([x, y]), (V, V)),
    "hstack_2d": (lambda m, x, y: m.hstack((x, y)), (A, A)),
    "dstack": (lambda m, x, y: m.dstack([x, y]), (A, A)),
    "dstack_1d": (lambda m, x, y: m.dstack([x, y]), (V, V)),
    "column_stack": (lambda m, x, y: m.column_stack([x, y]), (V, V)),
    "column_stack_2d": (lambda m, x, y: m.column_stack([x, y]), (A.T, A.T)),
    "append": (lambda m, x, y: m.append(x, y), (A, V)),
    "append_axis": (lambda m, x, y: m.append(x, y, axis=0), (A, A)),
    "diff": (lambda m, x: m.diff(x), (A,)),
    "diff_2": (lambda m, x: m.diff(x, 2, axis=0), (B,)),
    "diff_edges": (lambda m, x: m.diff(x, prepend=0.5, append=1.5), (V,)),
    "diff_bool": (lambda m, x: m.diff(x > 0), (V,)),
    "repeat": (lambda m, x: m.repeat(x, 2), (A,)),
    "repeat_axis": (lambda m, x: m.repeat(x, 3, axis=1), (A,)),
    "repeat_counts": (lambda m, x: m.repeat(x, [1, 0, 2], axis=0), (A,)),
    "tile": (lambda m, x: m.tile(x, 2), (A,)),
    "tile_3d": (lambda m, x: m.tile(x, (2, 1, 3)), (A,)),
    "tile_1d": (lambda m, x: m.tile(x, (2, 2)), (V,)),
    "tril": (lambda m, x: m.tril(x), (A,)),
    "tril_batch": (lambda m, x: m.tril(x, -1), (B,)),
    "triu": (lambda m, x: m.triu(x, 1), (A,)),
    "triu_1d": (lambda m, x: m.triu(x), (V,)),
    "diag": (lambda m, x: m.diag(x), (V,)),
    "diag_above": (lambda m, x: m.diag(x, 2), (V,)),
    "diag_below": (lambda m, x: m.diag(x, -1), (V,)),
    "diag_of_2d": (lambda m, x: m.diag(x, 1), (A,)),
    "diag_of_2d_below": (lambda m, x: m.diag(x, -2), (A,)),
    "diagonal": (lambda m, x: m.diagonal(x), (B,)),
    "diagonal_axes": (lambda m, x: m.diagonal(x, 1, 1, 2), (B,)),
    "diagonal_empty": (lambda m, x: m.diagonal(x, 9), (A,)),
    "trace": (lambda m, x: m.trace(x), (A,)),
    "trace_axes": (lambda m, x: m.trace(x, -1, 1, 2), (B,)),
    "trace_int": (lambda m, x: m.trace(x), (np.arange(12, dtype=np.int32).reshape(3, 4),)),
    "kron": (lambda m, x, y: m.kron(x, y), (A[:2, :2], A)),
    "kron_1d_2d": (lambda m, x, y: m.kron(x, y), (V, A)),
    "cross": (lambda m, x, y: m.cross(x, y), (B[..., :3], A[:, :3])),
    "cross_axis": (lambda m, x, y: m.cross(x, y, axis=0), (A[:3], A[:3, ::-1])),
    "pad": (lambda m, x: m.pad(x, 2), (A,)),
    "pad_constant": (lambda m, x: m.pad(x, ((1, 0), (2, 3)), constant_values=7.5), (A,)),
    "pad_edge": (lambda m, x: m.pad(x, (1, 2), mode="edge"), (A,)),
    "pad_reflect": (lambda m, x: m.pad(x, ((2, 1), (3, 2)), mode="reflect"), (A,)),
    "pad_symmetric": (lambda m, x: m.pad(x, 2, mode="symmetric"), (A,)),
    "pad_wrap": (lambda m, x: m.pad(x, ((1, 2), (4, 3)), mode="wrap"), (A,)),
    "array_split": (lambda m, x: m.array_split(x, 3, axis=1), (A,)),
    "vsplit": (lambda m, x: m.vsplit(x, 3), (A,)),
    "hsplit": (lambda m, x: m.hsplit(x, [1, 3]), (A,)),
    "dsplit": (lambda m, x: m.dsplit(x, 2), (B,)),
    "meshgrid": (lambda m, x, y: m.meshgrid(x, y), (V, A[0])),
    "meshgrid_ij": (lambda m, x, y: m.meshgrid(x, y, indexing="ij"), (V, A[0])),
    "meshgrid_sparse": (lambda m, x, y, z: m.meshgrid(x, y, z, sparse=True), (V, A[0], A[1])),
}
def _cross_2d(a, b):
    """NumPy 2.4's arithmetic for 2-vectors (2.0 deprecated them, 2.5 refuses them)."""
    a, b = [a[..., i] for i in range(a.shape[-1])], [b[..., i] for i in range(b.shape[-1])]
    z = a[0] * b[1] - a[1] * b[0]
    if len(a) == len(b) == 2:
        return z
    if len(a) == 2:
        return np.stack([a[1] * b[2], -(a[0] * b[2]), z], axis=-1)
    return np.stack([-(a[2] * b[1]), a[2] * b[0], z], axis=-1)


CROSS_2D = {  # graphc keeps 2-vectors: against NumPy 2.4's formulas
    "cross_2": (A[:, :2], A[:, 1:3]),
    "cross_2_3": (A[:, :2], A[:, :3]),
    "cross_3_2": (A[:, :3], A[:, :2]),
}


def _same(got, want, exact=True):
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _same(g, w, exact)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.shape)
    if not exact:  # a sum: NumPy's pairwise order is not graphc's
        np.testing.assert_allclose(got, want, rtol=1e-5 if want.dtype == np.float32 else 1e-13)
        return
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "f":
        sign = lambda v: np.signbit(v) & ~np.isnan(v)  # noqa: E731
        np.testing.assert_array_equal(sign(got), sign(want))


def _check(f, args, dtype=None, exact=True):
    if dtype is not None:
        with np.errstate(invalid="ignore"):  # the NaN, cast to an integer or bool
            args = tuple(np.asarray(a).astype(dtype) for a in args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        want = f(np, *args)
        _same(f(gnp, *args), want, exact)
        for module in (np, gnp):
            for backend in ("reference", "llvm"):
                got = gc.function(lambda *a: f(module, *a), backend=backend)(*args)
                _same(got, want, exact)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_numpy_bit_for_bit(name):
    f, args = CASES[name]
    _check(f, args)


@pytest.mark.parametrize("name", sorted(CROSS_2D))
def test_cross_of_2_vectors(name):
    a, b = CROSS_2D[name]
    want = _cross_2d(a, b)
    _same(gnp.cross(a, b), want)
    for backend in ("reference", "llvm"):
        _same(gc.function(gnp.cross, backend=backend)(a, b), want)


@pytest.mark.parametrize("name", ["flip", "roll_axes", "repeat_counts", "tile_3d", "tril",
                                  "diag_above", "diagonal_axes", "trace", "kron", "pad_reflect",
                                  "pad_constant", "hstack_2d", "diff"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.bool_])
def test_other_dtypes(name, dtype):
    if dtype == np.bool_ and name in ("diff", "pad_constant"):
        pytest.skip("NumPy computes these in another type for bools")
    f, args = CASES[name]
    _check(f, args, dtype)


@pytest.mark.parametrize("name", ["flip", "roll_flat", "tile", "repeat", "tril", "diag",
                                  "diagonal", "trace", "pad", "pad_edge", "diff"])
def test_zero_d_size_one_and_odd_shapes(name):
    f, _ = CASES[name]
    for x in (rng.normal(size=(1, 1)), rng.normal(size=(1003,)).reshape(17, 59)):
        if name in ("diag",):
            x = x[0]
        _check(f, (x,), exact=name != "trace")


GRADS = ["flip_axes", "rot90_3_axes", "roll_axes", "atleast_3d_1d", "vstack", "dstack",
         "column_stack", "append", "diff_2", "diff_edges", "repeat_counts", "tile_3d",
         "tril_batch", "triu", "diag_above", "diag_of_2d", "diagonal_axes", "trace_axes", "kron",
         "cross", "cross_axis", "pad_constant", "pad_edge", "pad_reflect", "pad_symmetric",
         "pad_wrap", "array_split", "meshgrid"]


@pytest.mark.parametrize("name", GRADS)
def test_derivatives(name):
    f, args = CASES[name]
    args = tuple(np.nan_to_num(np.asarray(a, np.float64)) for a in args)

    def scalar(*xs):
        out = f(gnp, *xs)
        parts = out if isinstance(out, (list, tuple)) else [out]
        return sum(gnp.sum(gnp.sin(p) * (i + 1)) for i, p in enumerate(parts))

    check_grads(scalar, args, order=2)


def test_errors_name_the_problem():
    with pytest.raises(gc.ShapeError, match="reflect.*widths up to 2 on an axis of size 3"):
        gnp.pad(A, 4, mode="reflect")
    with pytest.raises(gc.ShapeError, match="mode 'median'"):
        gnp.pad(A, 1, mode="median")
    with pytest.raises(gc.TracerBoolError, match="roll: shift"):
        gc.function(lambda x, s: gnp.roll(x, s))(A, 2)
    with pytest.raises(gc.ShapeError, match="2-D"):
        gnp.fliplr(V)
    with pytest.raises(gc.ShapeError, match="negative"):
        gnp.repeat(A, -1)
    with pytest.raises(gc.ShapeError, match="2 or 3 components"):
        gnp.cross(A, A)
