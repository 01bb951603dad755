"""Every graphc.numpy function of API.md against NumPy itself, eagerly and traced."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp

from gnp_check import assert_same, check_both, rand, traced

FLOAT_TYPES = ["float32", "float64", "int32"]  # NumPy turns integers into float64 here

UNARY = {  # name -> domain
    "exp": "real", "expm1": "real", "log": "pos", "log1p": "pos", "log2": "pos", "sqrt": "pos",
    "sin": "real", "cos": "real", "tan": "unit", "tanh": "real", "sinh": "real", "cosh": "real",
    "arcsin": "unit", "arccos": "unit", "arctan": "real", "reciprocal": "pos",
}
SAME_TYPE_UNARY = ["negative", "abs", "sign", "square"]
BINARY = ["add", "subtract", "multiply", "maximum", "minimum", "greater", "greater_equal", "less",
          "less_equal", "equal", "not_equal"]
FLOAT_BINARY = {"divide": ("real", "pos"), "true_divide": ("real", "pos"), "power": ("pos", "real"),
                "arctan2": ("real", "real")}
SHAPE_PAIRS = [((), ()), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 3), (3,)), ((4, 3), ())]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("dtype", FLOAT_TYPES)
@pytest.mark.parametrize("shape", [(), (1,), (3, 4)])
def test_float_unary(name, dtype, shape):
    x = rand(shape, dtype, UNARY[name])
    if dtype == "int32" and name in ("reciprocal",):
        pytest.skip("NumPy's integer reciprocal is integer division; graphc's is true division")
    check_both(getattr(gnp, name), getattr(np, name), [x])


@pytest.mark.parametrize("name", SAME_TYPE_UNARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_same_type_unary(name, dtype):
    check_both(getattr(gnp, name), getattr(np, name), [rand((2, 3), dtype)])
    check_both(getattr(gnp, name), getattr(np, name), [rand((), dtype)])


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary(name, dtype, shapes):
    a, b = rand(shapes[0], dtype), rand(shapes[1], dtype, seed=1)
    check_both(getattr(gnp, name), getattr(np, name), [a, b])


@pytest.mark.parametrize("name", sorted(FLOAT_BINARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_float_binary(name, dtype, shapes):
    da, db = FLOAT_BINARY[name]
    a, b = rand(shapes[0], dtype, da), rand(shapes[1], dtype, db, seed=1)
    check_both(getattr(gnp, name), getattr(np, name), [a, b])


def test_int_division_and_power():
    a, b = rand((3, 4), "int32"), rand((4,), "int32", "pos", seed=1)
    check_both(gnp.divide, np.divide, [a, b])  # float64, as in NumPy
    check_both(lambda x: gnp.power(x, 3), lambda x: np.power(x, 3), [a])
    check_both(lambda x: x ** 2, lambda x: x ** 2, [a])
    check_both(lambda x: x ** -2, lambda x: x ** -2, [rand((3,), "float32", "pos")])
    check_both(lambda x: x ** 0, lambda x: x ** 0, [rand((3,), "float32")])


@pytest.mark.parametrize("name", ["logical_and", "logical_or"])
def test_logical_binary(name):
    a, b = rand((3, 4), "bool"), rand((4,), "bool", seed=1)
    check_both(getattr(gnp, name), getattr(np, name), [a, b])
    check_both(getattr(gnp, name), getattr(np, name), [rand((3,), "float32"), rand((3,), "int32")])


def test_logical_not():
    check_both(gnp.logical_not, np.logical_not, [rand((3, 4), "bool")])
    check_both(gnp.logical_not, np.logical_not, [rand((), "bool")])
    check_both(gnp.logical_not, np.logical_not, [np.array([0.0, 1.5, -2.0], np.float32)])


def test_where_and_clip():
    c, a, b = rand((3, 1), "bool"), rand((3, 4), "float32"), rand((4,), "float32", seed=2)
    check_both(gnp.where, np.where, [c, a, b])
    check_both(lambda c, a: gnp.where(c, a, 0.0), lambda c, a: np.where(c, a, np.float32(0)), [c, a])
    check_both(gnp.where, np.where, [rand((2,), "bool"), rand((2,), "int32"), rand((2,), "float64")])
    x = rand((3, 4), "float32")
    for lo, hi in [(-1.0, 1.0), (None, 0.5), (-0.5, None)]:
        check_both(lambda x: gnp.clip(x, lo, hi), lambda x: np.clip(x, lo, hi), [x])
    check_both(gnp.clip, np.clip, [x, rand((4,), "float32", seed=3) - 1, rand((3, 1), "float32") + 1])
    check_both(lambda x: gnp.clip(x, -2, 2), lambda x: np.clip(x, -2, 2), [rand((5,), "int32")])


def test_where_needs_three_arguments():
    with pytest.raises(gc.ShapeError, match="where"):
        gnp.where(np.array([True]))
    with pytest.raises(gc.ShapeError, match="at least one"):
        gnp.concatenate([])
    with pytest.raises(gc.GraphcError, match="initial"):
        gnp.max(np.ones(3), initial=0.0)
    with pytest.raises(gc.DTypeError, match="negative"):
        gnp.power(np.arange(3), -1)


# --- creation ---------------------------------------------------------------------------------------
CREATION = [
    (lambda m: m.zeros((2, 3)), None), (lambda m: m.zeros(4, dtype="int32"), None),
    (lambda m: m.ones((2, 1, 3), dtype="float32"), None), (lambda m: m.ones(()), None),
    (lambda m: m.full((2, 3), 1.5), None), (lambda m: m.full((2,), 7, dtype="int64"), None),
    (lambda m: m.full(3, True), None),
    (lambda m: m.arange(5), None), (lambda m: m.arange(1, 7, 2), None),
    (lambda m: m.arange(0.5, 3.0), None), (lambda m: m.arange(5, dtype="float32"), None),
    (lambda m: m.arange(6, 0, -2), None),
    (lambda m: m.linspace(0, 1, 5), None), (lambda m: m.linspace(-1, 2, 7, endpoint=False), None),
    (lambda m: m.linspace(0, 1, 4, dtype="float32"), None), (lambda m: m.linspace(2, 3, 1), None),
    (lambda m: m.linspace(-3.5, 2, 6, dtype="int64"), None), (lambda m: m.linspace(np.float32(0), 1, 3), None),
    (lambda m: m.linspace(0, 1, 0), None), (lambda m: m.eye(3, 3, 5), None), (lambda m: m.arange(0), None),
    (lambda m: m.full((2, 3), np.array([1, 2, 3])), None), (lambda m: m.full(3, 1.7, dtype="int32"), None),
    (lambda m: m.eye(3), None), (lambda m: m.eye(2, 4, 1, dtype="float32"), None),
    (lambda m: m.eye(3, k=-1, dtype="int32"), None),
    (lambda m: m.array([[1.0, 2.0], [3.0, 4.0]]), None), (lambda m: m.array([1, 2], dtype="float32"), None),
    (lambda m: m.asarray(3.5), None), (lambda m: m.asarray([True, False]), None),
]


@pytest.mark.parametrize("i", range(len(CREATION)))
def test_creation(i):
    make, _ = CREATION[i]
    expected = make(np)
    assert_same(make(gnp), expected)
    assert_same(traced(lambda: make(gnp))(), expected)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like"])
@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_like(name, dtype):
    x = rand((2, 3), dtype)
    check_both(getattr(gnp, name), getattr(np, name), [x])
    check_both(lambda x: getattr(gnp, name)(x, dtype="float64"),
               lambda x: getattr(np, name)(x, dtype="float64"), [x])


def test_array_of_traced_values_stacks_them():
    x = rand((3,), "float32")
    assert_same(traced(lambda x: gnp.array([x, x * 2]))(x), np.array([x, x * 2]))
    assert_same(traced(lambda x: gnp.asarray(x, dtype="float64"))(x), x.astype(np.float64))


# --- reductions -------------------------------------------------------------------------------------
AXES = [None, 0, 1, -1, (0, 2), ()]


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "std"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, axis, keepdims):
    x = rand((2, 3, 4), "float32", "pos")
    check_both(getattr(gnp, name), getattr(np, name), [x], {"axis": axis, "keepdims": keepdims})


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "std"])
@pytest.mark.parametrize("dtype", ["float64", "int32", "int64", "bool"])
def test_reduction_dtypes(name, dtype):
    if dtype == "bool" and name in ("var", "std", "mean"):
        pytest.skip("NumPy's bool mean/var go through float64 too; covered by int")
    x = rand((3, 4), dtype)
    check_both(getattr(gnp, name), getattr(np, name), [x], {"axis": 1})
    check_both(getattr(gnp, name), getattr(np, name), [x])


def test_reductions_of_0d_and_size_1():
    for name in ["sum", "mean", "max", "min", "prod", "var", "std", "argmax", "argmin"]:
        check_both(getattr(gnp, name), getattr(np, name), [np.float32(2.5) * np.ones((), np.float32)])
        check_both(getattr(gnp, name), getattr(np, name), [rand((1, 3), "float64")], {"axis": 0})


def test_var_std_ddof_and_dtype():
    x = rand((4, 3), "float64")
    check_both(lambda x: gnp.var(x, axis=0, ddof=1), lambda x: np.var(x, axis=0, ddof=1), [x])
    check_both(lambda x: gnp.std(x, ddof=1, keepdims=True), lambda x: np.std(x, ddof=1, keepdims=True), [x])
    check_both(lambda x: gnp.mean(x, dtype="float32"), lambda x: np.mean(x, dtype="float32"), [x])
    check_both(lambda x: gnp.sum(x, dtype="float32"), lambda x: np.sum(x, dtype="float32"), [x])


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_arg_extrema(name, axis, keepdims):
    x = rand((3, 4), "float32")
    x[1, 2] = x[0, 2] = 9.0 if name == "argmax" else -9.0  # a tie: the first index wins
    check_both(getattr(gnp, name), getattr(np, name), [x], {"axis": axis, "keepdims": keepdims})
    check_both(getattr(gnp, name), getattr(np, name), [rand((5,), "int32")], {"axis": axis and 0})


def test_arg_extrema_nan_is_first():
    x = np.array([1.0, np.nan, 3.0, np.nan], np.float64)
    check_both(gnp.argmax, np.argmax, [x])
    check_both(gnp.argmin, np.argmin, [x])


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_cumsum(axis, dtype):
    check_both(gnp.cumsum, np.cumsum, [rand((3, 4), dtype)], {"axis": axis})


def _np_logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp(axis, keepdims, dtype):
    x = rand((3, 4), dtype) * 100  # large logits: the naive formula would overflow in float32
    check_both(gnp.logsumexp, _np_logsumexp, [x], {"axis": axis, "keepdims": keepdims})
    import graphc.nn  # noqa: F401  (API.md: also graphc.nn.logsumexp)

    check_both(graphc.nn.logsumexp, _np_logsumexp, [x], {"axis": axis, "keepdims": keepdims})


def test_logsumexp_of_all_minus_inf_is_minus_inf():
    x = np.array([[-np.inf, -np.inf], [0.0, 1.0]])
    out = gnp.logsumexp(x, axis=1)
    assert out[0] == -np.inf and np.isclose(out[1], np.log(1 + np.e))
    assert_same(traced(lambda x: gnp.logsumexp(x, axis=1))(x), out)


# --- contractions -----------------------------------------------------------------------------------
CONTRACTIONS = [
    ("dot", [(3,), (3,)], {}), ("dot", [(2, 3), (3, 4)], {}), ("dot", [(2, 3), (3,)], {}),
    ("dot", [(3,), (3, 4)], {}), ("dot", [(), (2, 3)], {}), ("dot", [(2, 5, 3), (4, 3, 2)], {}),
    ("matmul", [(2, 3), (3, 4)], {}), ("matmul", [(3,), (3, 4)], {}), ("matmul", [(2, 3), (3,)], {}),
    ("matmul", [(3,), (3,)], {}), ("matmul", [(5, 2, 3), (3, 4)], {}),
    ("matmul", [(5, 2, 3), (5, 3, 4)], {}), ("matmul", [(2, 1, 2, 3), (4, 3, 1)], {}),
    ("matmul", [(3,), (5, 3, 4)], {}),
    ("tensordot", [(2, 3, 4), (3, 4, 5)], {}), ("tensordot", [(2, 3), (3, 4)], {"axes": 1}),
    ("tensordot", [(2, 3), (4, 5)], {"axes": 0}),
    ("tensordot", [(2, 3, 4), (4, 2)], {"axes": ([0, 2], [1, 0])}),
    ("tensordot", [(3, 4), (4, 2)], {"axes": (1, 0)}),
    ("outer", [(3,), (4,)], {}), ("outer", [(2, 2), (3,)], {}),
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
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("i,i->", [(3,), (3,)]), ("i,j->ij", [(3,), (4,)]), ("ij,j->i", [(2, 3), (3,)]),
    ("ij->ji", [(2, 3)]), ("ij->", [(2, 3)]), ("ij->j", [(2, 3)]), ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]),
    ("bi,bi->b", [(4, 3), (4, 3)]), ("ij,kj->ik", [(2, 3), (4, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i j , j k -> k i", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUMS, ids=str)
def test_einsum(spec, shapes):
    arrays = [rand(s, "float64", seed=i) for i, s in enumerate(shapes)]
    check_both(lambda *a: gnp.einsum(spec, *a), lambda *a: np.einsum(spec, *a), arrays)


def test_einsum_errors():
    with pytest.raises(gc.ShapeError):
        gnp.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(gc.GraphcError):
        gnp.einsum("...i,i->...", np.ones((2, 3)), np.ones(3))


# --- shapes -----------------------------------------------------------------------------------------
SHAPE_FNS = [
    ("reshape", (2, 3, 4), {"newshape": (4, 6)}), ("reshape", (2, 3, 4), {"newshape": (-1, 4)}),
    ("reshape", (2, 3, 4), {"newshape": -1}), ("reshape", (1,), {"newshape": ()}),
    ("transpose", (2, 3, 4), {}), ("transpose", (2, 3, 4), {"axes": (1, 0, 2)}),
    ("transpose", (2, 3, 4), {"axes": (-1, 0, 1)}), ("transpose", (), {}),
    ("swapaxes", (2, 3, 4), {"axis1": 0, "axis2": 2}), ("swapaxes", (2, 3), {"axis1": -1, "axis2": 0}),
    ("expand_dims", (2, 3), {"axis": 0}), ("expand_dims", (2, 3), {"axis": -1}),
    ("expand_dims", (2, 3), {"axis": (0, 3)}), ("expand_dims", (), {"axis": 0}),
    ("squeeze", (1, 3, 1), {}), ("squeeze", (1, 3, 1), {"axis": 0}), ("squeeze", (1, 3, 1), {"axis": (0, -1)}),
    ("broadcast_to", (3,), {"shape": (2, 3)}), ("broadcast_to", (3, 1), {"shape": (2, 3, 4)}),
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
    check_both(lambda *a: gnp.concatenate(a, axis=axis), lambda *a: np.concatenate(a, axis=axis), xs)
    # a list argument is a pytree: the traced function receives a list of tracers
    expected = np.concatenate(xs, axis=axis)
    assert_same(traced(lambda xs: gnp.concatenate(xs, axis=axis))(xs), expected)
    mixed = [rand((2, 3), "int32"), rand((2, 3), "float32")]
    check_both(lambda *a: gnp.concatenate(a, axis=axis), lambda *a: np.concatenate(a, axis=axis), mixed)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack(axis):
    xs = [rand((2, 3), "float64", seed=i) for i in range(3)]
    check_both(lambda *a: gnp.stack(a, axis=axis), lambda *a: np.stack(a, axis=axis), xs)
    check_both(lambda *a: gnp.stack(a, axis=0), lambda *a: np.stack(a, axis=0), [rand((), "int32")] * 2)


@pytest.mark.parametrize("spec", [2, 3, [1, 3], [0, 2, 2], [4, 1]], ids=str)
@pytest.mark.parametrize("axis", [0, 1])
def test_split(spec, axis):
    x = rand((6, 6), "float32")
    check_both(lambda x: gnp.split(x, spec, axis=axis), lambda x: np.split(x, spec, axis=axis), [x])


def test_shape_errors_are_shape_errors():
    x = np.ones((2, 3), np.float32)
    for bad in [lambda: gnp.reshape(x, (4,)), lambda: gnp.squeeze(x, 0), lambda: gnp.split(x, 4),
                lambda: gnp.broadcast_to(x, (3, 3)), lambda: gnp.concatenate([x, np.ones((3, 2))]),
                lambda: gnp.stack([x, np.ones((3, 2))]), lambda: gnp.transpose(x, (0, 0)),
                lambda: gnp.sum(x, axis=2), lambda: gnp.matmul(x, x), lambda: gnp.dot(x, x),
                lambda: gnp.expand_dims(x, 3)]:
        with pytest.raises(gc.ShapeError):
            bad()


# --- linalg.norm ------------------------------------------------------------------------------------
NORMS = [
    ((5,), {}), ((5,), {"ord": 1}), ((5,), {"ord": 2}), ((5,), {"ord": np.inf}), ((5,), {"ord": -np.inf}),
    ((5,), {"ord": 0}), ((5,), {"ord": 3}), ((5,), {"ord": 0.5}), ((3, 4), {}), ((3, 4), {"ord": "fro"}),
    ((3, 4), {"axis": 1}), ((3, 4), {"axis": 0, "keepdims": True}), ((3, 4), {"axis": (0, 1)}),
    ((3, 4), {"keepdims": True}), ((2, 3, 4), {}), ((2, 3, 4), {"axis": -1, "ord": 1}), ((), {}),
]


@pytest.mark.parametrize("shape,kwargs", NORMS, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_norm(shape, kwargs, dtype):
    check_both(gnp.linalg.norm, np.linalg.norm, [rand(shape, dtype)], kwargs)


def test_norm_of_integers_and_zeros():
    check_both(gnp.linalg.norm, np.linalg.norm, [rand((4,), "int32")])
    check_both(gnp.linalg.norm, np.linalg.norm, [np.zeros((3,), np.float32)])


def test_api_list_is_complete():
    """Every name API.md lists exists in graphc.numpy."""
    names = """array asarray zeros ones zeros_like ones_like full arange linspace eye add subtract
    multiply divide true_divide power negative abs sign exp expm1 log log1p log2 sqrt square
    reciprocal sin cos tan tanh sinh cosh arcsin arccos arctan arctan2 maximum minimum clip where
    greater greater_equal less less_equal equal not_equal logical_and logical_or logical_not sum mean
    max min prod argmax argmin var std dot matmul tensordot outer einsum reshape transpose swapaxes
    expand_dims squeeze broadcast_to concatenate stack split cumsum logsumexp""".split()
    missing = [n for n in names if not callable(getattr(gnp, n, None))]
    assert not missing and callable(gnp.linalg.norm)


def test_bool_operators_any_all():
    """``& | ^ ~`` on bool values and any/all (graphc.numpy additions beyond API.md's list)."""
    a, b = rand((3, 4), "bool"), rand((4,), "bool", seed=1)
    check_both(lambda a, b: (a & b, a | b, a ^ b, ~a), lambda a, b: (a & b, a | b, a ^ b, ~a), [a, b])
    check_both(gnp.logical_xor, np.logical_xor, [rand((3,), "float32"), rand((3,), "int32")])
    for name in ["any", "all"]:
        for axis in [None, 0, 1, (0, 1)]:
            check_both(getattr(gnp, name), getattr(np, name), [a], {"axis": axis})
            check_both(getattr(gnp, name), getattr(np, name), [rand((3, 4), "int32")],
                       {"axis": axis, "keepdims": True})
        check_both(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), [a])


def test_integer_bitwise_operators_are_refused():
    """NumPy's ``&`` on integers is bitwise; graphc has no such primitive and must not silently
    compute a logical and instead."""
    i = rand((3,), "int32")
    for fn in [lambda i: i & i, lambda i: i | 1, lambda i: ~i, lambda i: np.invert(i), lambda i: i ^ i]:
        with pytest.raises(gc.DTypeError, match="bitwise|invert"):
            traced(fn)(i)
