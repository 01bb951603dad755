"""graphc.numpy contractions, shape functions and linalg.norm against NumPy itself,
eagerly and traced."""

from __future__ import annotations

import numpy as np
import pytest
from gnp_check import assert_same, check_both, rand, traced

import graphc as gc
import graphc.numpy as gnp

# --- contractions --------------------------------------------------------------------------------
CONTRACTIONS = [
    ("dot", [(3,), (3,)], {}),
    ("dot", [(2, 3), (3, 4)], {}),
    ("dot", [(2, 3), (3,)], {}),
    ("dot", [(3,), (3, 4)], {}),
    ("dot", [(), (2, 3)], {}),
    ("dot", [(2, 5, 3), (4, 3, 2)], {}),
    ("matmul", [(2, 3), (3, 4)], {}),
    ("matmul", [(3,), (3, 4)], {}),
    ("matmul", [(2, 3), (3,)], {}),
    ("matmul", [(3,), (3,)], {}),
    ("matmul", [(5, 2, 3), (3, 4)], {}),
    ("matmul", [(5, 2, 3), (5, 3, 4)], {}),
    ("matmul", [(2, 1, 2, 3), (4, 3, 1)], {}),
    ("matmul", [(3,), (5, 3, 4)], {}),
    ("tensordot", [(2, 3, 4), (3, 4, 5)], {}),
    ("tensordot", [(2, 3), (3, 4)], {"axes": 1}),
    ("tensordot", [(2, 3), (4, 5)], {"axes": 0}),
    ("tensordot", [(2, 3, 4), (4, 2)], {"axes": ([0, 2], [1, 0])}),
    ("tensordot", [(3, 4), (4, 2)], {"axes": (1, 0)}),
    ("outer", [(3,), (4,)], {}),
    ("outer", [(2, 2), (3,)], {}),
]


@pytest.mark.parametrize("name,shapes,kwargs", CONTRACTIONS, ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_contractions(name, shapes, kwargs, dtype):
    arrays = [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]
    check_both(getattr(gnp, name), getattr(np, name), arrays, kwargs, rtol=1e-5)


def test_matmul_operator_and_mixed_dtypes():
    a, b = rand((2, 3), "float32"), rand((3, 4), "float64")
    check_both(lambda a, b: a @ b, lambda a, b: a @ b, [a, b])
    check_both(gnp.matmul, np.matmul, [rand((2, 3), "int32"), b])


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij,j->i", [(2, 3), (3,)]),
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]),
    ("bi,bi->b", [(4, 3), (4, 3)]),
    ("ij,kj->ik", [(2, 3), (4, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i j , j k -> k i", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUMS, ids=str)
def test_einsum(spec, shapes):
    arrays = [rand(s, "float64", seed=i) for i, s in enumerate(shapes)]
    check_both(lambda *a: gnp.einsum(spec, *a), lambda *a: np.einsum(spec, *a), arrays)


def test_einsum_errors():
    with pytest.raises(gc.ShapeError):
        gnp.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(gc.ShapeError, match="repeated letter 'i' has sizes 2 and 3"):
        gnp.einsum("ii->i", np.ones((2, 3)))


# --- shapes --------------------------------------------------------------------------------------
SHAPE_FNS = [
    ("reshape", (2, 3, 4), {"newshape": (4, 6)}),
    ("reshape", (2, 3, 4), {"newshape": (-1, 4)}),
    ("reshape", (2, 3, 4), {"newshape": -1}),
    ("reshape", (1,), {"newshape": ()}),
    ("transpose", (2, 3, 4), {}),
    ("transpose", (2, 3, 4), {"axes": (1, 0, 2)}),
    ("transpose", (2, 3, 4), {"axes": (-1, 0, 1)}),
    ("transpose", (), {}),
    ("swapaxes", (2, 3, 4), {"axis1": 0, "axis2": 2}),
    ("swapaxes", (2, 3), {"axis1": -1, "axis2": 0}),
    ("expand_dims", (2, 3), {"axis": 0}),
    ("expand_dims", (2, 3), {"axis": -1}),
    ("expand_dims", (2, 3), {"axis": (0, 3)}),
    ("expand_dims", (), {"axis": 0}),
    ("squeeze", (1, 3, 1), {}),
    ("squeeze", (1, 3, 1), {"axis": 0}),
    ("squeeze", (1, 3, 1), {"axis": (0, -1)}),
    ("broadcast_to", (3,), {"shape": (2, 3)}),
    ("broadcast_to", (3, 1), {"shape": (2, 3, 4)}),
    ("broadcast_to", (), {"shape": (2,)}),
]


def _np_reshape(x, newshape):
    return np.reshape(x, newshape)


@pytest.mark.parametrize("name,shape,kwargs", SHAPE_FNS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_shape_functions(name, shape, kwargs, dtype):
    nfn = _np_reshape if name == "reshape" else getattr(np, name)
    check_both(getattr(gnp, name), nfn, [rand(shape, dtype)], kwargs)


@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_concatenate(axis):
    xs = [rand((2, 3), "float32"), rand((2, 3), "float32", seed=1), rand((2, 3), "float32", seed=2)]
    check_both(
        lambda *a: gnp.concatenate(a, axis=axis), lambda *a: np.concatenate(a, axis=axis), xs
    )
    # a list argument is a pytree: the traced function receives a list of tracers
    expected = np.concatenate(xs, axis=axis)
    assert_same(traced(lambda xs: gnp.concatenate(xs, axis=axis))(xs), expected)
    mixed = [rand((2, 3), "int32"), rand((2, 3), "float32")]
    check_both(
        lambda *a: gnp.concatenate(a, axis=axis), lambda *a: np.concatenate(a, axis=axis), mixed
    )


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    xs = [rand((2, 3), "float64", seed=i) for i in range(3)]
    check_both(lambda *a: gnp.stack(a, axis=axis), lambda *a: np.stack(a, axis=axis), xs)
    check_both(
        lambda *a: gnp.stack(a, axis=0), lambda *a: np.stack(a, axis=0), [rand((), "int32")] * 2
    )


@pytest.mark.parametrize("spec", [2, 3, [1, 3], [0, 2, 2], [4, 1]], ids=str)
@pytest.mark.parametrize("axis", [0, 1])
def test_split(spec, axis):
    x = rand((6, 6), "float32")
    check_both(lambda x: gnp.split(x, spec, axis=axis), lambda x: np.split(x, spec, axis=axis), [x])


def test_shape_errors_are_shape_errors():
    x = np.ones((2, 3), np.float32)
    for bad in [
        lambda: gnp.reshape(x, (4,)),
        lambda: gnp.squeeze(x, 0),
        lambda: gnp.split(x, 4),
        lambda: gnp.broadcast_to(x, (3, 3)),
        lambda: gnp.concatenate([x, np.ones((3, 2))]),
        lambda: gnp.stack([x, np.ones((3, 2))]),
        lambda: gnp.transpose(x, (0, 0)),
        lambda: gnp.sum(x, axis=2),
        lambda: gnp.matmul(x, x),
        lambda: gnp.dot(x, x),
        lambda: gnp.expand_dims(x, 3),
    ]:
        with pytest.raises(gc.ShapeError):
            bad()


# --- linalg.norm ---------------------------------------------------------------------------------
NORMS = [
    ((5,), {}),
    ((5,), {"ord": 1}),
    ((5,), {"ord": 2}),
    ((5,), {"ord": np.inf}),
    ((5,), {"ord": -np.inf}),
    ((5,), {"ord": 0}),
    ((5,), {"ord": 3}),
    ((5,), {"ord": 0.5}),
    ((3, 4), {}),
    ((3, 4), {"ord": "fro"}),
    ((3, 4), {"axis": 1}),
    ((3, 4), {"axis": 0, "keepdims": True}),
    ((3, 4), {"axis": (0, 1)}),
    ((3, 4), {"keepdims": True}),
    ((2, 3, 4), {}),
    ((2, 3, 4), {"axis": -1, "ord": 1}),
    ((), {}),
]


@pytest.mark.parametrize("shape,kwargs", NORMS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_norm(shape, kwargs, dtype):
    check_both(gnp.linalg.norm, np.linalg.norm, [rand(shape, dtype)], kwargs)


def test_norm_of_integers_and_zeros():
    check_both(gnp.linalg.norm, np.linalg.norm, [rand((4,), "int32")])
    check_both(gnp.linalg.norm, np.linalg.norm, [np.zeros((3,), np.float32)])
