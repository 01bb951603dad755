"""Elementwise primitives: unary and binary math, comparisons, logic, select, convert.

Binary primitives broadcast their operands NumPy-style but require one dtype (the numpy layer
promotes first); their reverse rules sum cotangents back through ``unbroadcast``. Derivative
conventions follow JAX: ``abs'(0) = 0``; ``max``/``min`` split the gradient evenly at ties.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..core import define
from ..errors import DTypeError
from ..ir import TensorType
from .broadcasting import broadcast_shapes, unbroadcast
from .shape import scalar


def _check_kinds(name, types, kinds):
    for t in types:
        if t.dtype.kind not in kinds:
            allowed = {"f": "floating", "i": "integer", "b": "bool"}
            want = " or ".join(allowed[k] for k in kinds)
            raise DTypeError(f"{name} needs {want} operands, got {t.dtype}")
    if len({t.dtype for t in types}) > 1:
        raise DTypeError(f"{name}: operand dtypes differ: {', '.join(str(t.dtype) for t in types)}")


def _infer(name, kinds, out_dtype=None):
    def infer(types):
        common = _operand_type(types)
        if common is not None and common.dtype.kind in kinds:
            return [common if out_dtype is None else TensorType(common.shape, out_dtype)]
        _check_kinds(name, types, kinds)
        shape = broadcast_shapes(*(t.shape for t in types))
        return [TensorType(shape, out_dtype or types[0].dtype)]

    return infer


def _operand_type(types):
    """The type the operands broadcast to when it is one of theirs and they share a dtype: one
    operand, two of one type, or one 0-d (a scalar constant's) and the other. These are most
    nodes of a big graph, and the general checks give an equal type for them. Else None."""
    first = types[0]
    if len(types) == 1:
        return first
    if len(types) != 2:
        return None
    second = types[1]
    if second is first:
        return first
    if first.dtype != second.dtype:
        return None
    if first.shape == second.shape or not second.shape:
        return first
    return second if not first.shape else None


def _impl(fn):
    return lambda *args: np.asarray(fn(*args))


def unary(name, fn, deriv=None, kinds="f", linear=None, nondifferentiable=False, cost=1,
          transcendental=False):
    """A unary primitive whose derivative is ``deriv(x, out)`` (or linear map ``linear(t)``);
    ``cost`` and ``transcendental`` are the ``Primitive`` fields (``_MATH`` for math-library
    functions)."""
    if linear is not None:
        jvp = lambda p, t, o: None if t[0] is None else linear(t[0])  # noqa: E731
        vjp = lambda ct, p, o, needed: [linear(ct)]  # noqa: E731
    elif deriv is not None:
        jvp = lambda p, t, o: None if t[0] is None else mul(t[0], deriv(p[0], o[0]))  # noqa: E731
        vjp = lambda ct, p, o, needed: [mul(ct, deriv(p[0], o[0]))]  # noqa: E731
    else:
        jvp = vjp = None
    return define(
        name,
        infer=_infer(name, kinds),
        impl=_impl(fn),
        jvp=jvp,
        vjp=vjp,
        elementwise=True,
        family="map",
        nondifferentiable=nondifferentiable,
        cost=cost,
        transcendental=transcendental,
    )


def binary(
    name, fn, partials=None, kinds="fi", commutative=False, out_dtype=None, nondifferentiable=False,
    cost=1, transcendental=False,
):
    """A broadcasting binary primitive; ``partials(x, y, out)`` gives (d/dx, d/dy) factors, or a
    pair of linear maps ``(ct -> ct_x, ct -> ct_y)`` when it is a dict with key ``linear``;
    ``cost`` and ``transcendental`` as for ``unary``."""

    def jvp(p, t, o):
        if t[0] is None and t[1] is None:
            return None
        maps = _partial_maps(partials, p, o[0])
        terms = [maps[i](ti) for i, ti in enumerate(t) if ti is not None]
        return _broadcast_to(_sum_terms(terms), o[0].shape)

    def vjp(ct, p, o, needed):
        maps = _partial_maps(partials, p, o[0])
        return [unbroadcast(maps[i](ct), p[i].shape) if needed[i] else None for i in range(2)]

    differentiable = partials is not None
    return define(
        name,
        infer=_infer(name, kinds, out_dtype),
        impl=_impl(fn),
        jvp=jvp if differentiable else None,
        vjp=vjp if differentiable else None,
        elementwise=True,
        family="map",
        commutative=commutative,
        nondifferentiable=nondifferentiable,
        cost=cost,
        transcendental=transcendental,
    )


def _partial_maps(partials, p, out):
    """The two linear maps ``g -> g * d out/d p[i]`` of a binary primitive (the factors are
    emitted once, for both operands)."""
    if isinstance(partials, dict):
        return partials["linear"]
    factors = partials(p[0], p[1], out)
    return (lambda g: mul(g, factors[0]), lambda g: mul(g, factors[1]))


def _broadcast_to(t, shape):
    """A tangent of a broadcast operand, spread to the output's shape."""
    from .shape import broadcast_in_dim

    if t is None or tuple(t.shape) == tuple(shape):
        return t
    lead = len(shape) - len(t.shape)
    return broadcast_in_dim(t, shape=tuple(shape), dims=tuple(range(lead, len(shape))))


def _sum_terms(terms):
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = add(total, t)
    return total


def _one(x):
    return scalar(1, x.dtype)


def _tie_split(x, y, out):
    """JAX's balanced-eq convention: the gradient goes to the operand that is the result, half each
    at ties."""
    half = scalar(0.5, out.dtype)
    zero = scalar(0, out.dtype)
    one = _one(out)
    x_is = select(equal(x, out), one, zero)
    y_is = select(equal(y, out), one, zero)
    both = mul(x_is, y_is)
    return (sub(x_is, mul(both, half)), sub(y_is, mul(both, half)))


#: The fields of a function a compiled backend calls from its math library: 8 times the work of an
#: add per element (fusion weighs loop bodies with ``cost``).
_MATH = {"cost": 8, "transcendental": True}
#: Division and square root: a few times an add's latency, no library call.
_MEDIUM = {"cost": 2}

# --- unary ----------------------------------------------------------------------------------------
neg = unary("neg", np.negative, kinds="fi", linear=lambda t: neg(t))
abs_ = unary("abs", np.abs, kinds="fi", deriv=lambda x, o: sign(x))
sign = unary("sign", np.sign, kinds="fi", nondifferentiable=True)
exp = unary("exp", np.exp, deriv=lambda x, o: o, **_MATH)
expm1 = unary("expm1", np.expm1, deriv=lambda x, o: add(o, _one(o)), **_MATH)
log = unary("log", np.log, deriv=lambda x, o: div(_one(x), x), **_MATH)
log1p = unary("log1p", np.log1p, deriv=lambda x, o: div(_one(x), add(x, _one(x))), **_MATH)
sqrt = unary("sqrt", np.sqrt, deriv=lambda x, o: div(scalar(0.5, o.dtype), o), **_MEDIUM)
sin = unary("sin", np.sin, deriv=lambda x, o: cos(x), **_MATH)
cos = unary("cos", np.cos, deriv=lambda x, o: neg(sin(x)), **_MATH)
tanh = unary("tanh", np.tanh, deriv=lambda x, o: sub(_one(o), mul(o, o)), **_MATH)
logical_not = unary("not", np.logical_not, kinds="b", nondifferentiable=True)
# NOTE: piecewise constant: JAX gives them a zero gradient, which ``nondifferentiable`` means here.
floor = unary("floor", np.floor, nondifferentiable=True)
ceil = unary("ceil", np.ceil, nondifferentiable=True)

# --- binary ---------------------------------------------------------------------------------------
add = binary("add", np.add, {"linear": (lambda g: g, lambda g: g)}, commutative=True)
sub = binary("sub", np.subtract, {"linear": (lambda g: g, lambda g: neg(g))})
mul = binary("mul", np.multiply, lambda x, y, o: (y, x), commutative=True)


def _divide(x, y):
    """lax.div: floats divide; integers truncate toward zero. Where C is undefined, integers give
    ``x / 0 == 0`` (NumPy's value for ``x // 0``) and ``INT_MIN / -1 == INT_MIN`` (wraps)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind != "i":
        return np.true_divide(x, y)
    with np.errstate(all="ignore"):
        exact = np.subtract(x, np.fmod(x, y))  # a multiple of y, so // below is exact
        return np.where(y == 0, x.dtype.type(0), exact // np.where(y == 0, y.dtype.type(1), y))


def _fmod(x, y):
    """C's fmod / integer ``%`` (lax.rem): the sign of ``x``; integers give ``x % 0 == 0``."""
    with np.errstate(all="ignore"):
        return np.fmod(x, y)


def _rem_partials(x, y, out):
    """d/dx = 1, d/dy = -trunc(x / y) (JAX's lax.rem rule)."""
    q = div(x, y)
    return _one(x), neg(mul(sign(q), floor(abs_(q))))


div = binary("div", _divide, lambda x, y, o: (div(_one(y), y), neg(div(o, y))), **_MEDIUM)
rem = binary("rem", _fmod, _rem_partials)
# NOTE: not ``commutative``: on equal operands NumPy returns one of them, so max(-0.0, 0.0) and
# max(0.0, -0.0) differ in the sign of the zero, and CSE must not swap them.
maximum = binary("max", np.maximum, _tie_split)
minimum = binary("min", np.minimum, _tie_split)


def _pow_partials(x, y, out):
    """d/dx = y*x**(y-1), taken as 0 where y == 0; d/dy = log(x)*out, taken as 0 where x == 0
    (JAX's convention: finite gradients at pow(0, 0) and pow(x, 0)). Where x == y == 0, d/dx is
    ``0 * x**0`` rather than a select over ``x**-1``: the unselected branch would send 0 * inf =
    NaN into the second derivative of ``x ** 0.0`` at 0, which is 0 like every other one. Only
    there: at y == 0 and x != 0 the exponent stays y - 1, so d/dy of d/dx is 1/x, as it must be."""
    zero = scalar(0, x.dtype)
    at_origin = logical_and(equal(y, zero), equal(x, zero))
    dx = mul(y, pow_(x, select(at_origin, zero, sub(y, _one(y)))))
    safe_x = select(equal(x, zero), _one(x), x)
    dy = select(equal(x, zero), zero, mul(log(safe_x), out))
    return dx, dy


def _atan2_partials(y, x, out):
    denom = add(mul(x, x), mul(y, y))
    return div(x, denom), neg(div(y, denom))


def _copysign_partials(x, y, out):
    """d/dx = +-1 (1 where x already has y's sign), d/dy = 0 (JAX's rule)."""
    one = _one(x)
    return mul(copysign(one, x), copysign(one, y)), scalar(0, y.dtype)


copysign = binary("copysign", np.copysign, _copysign_partials, kinds="f")
pow_ = binary("pow", np.power, _pow_partials, kinds="f", **_MATH)
atan2 = binary("atan2", np.arctan2, _atan2_partials, kinds="f", **_MATH)

_compare = dict(kinds="fib", out_dtype=dtypes.bool_, nondifferentiable=True)
equal = binary("eq", np.equal, commutative=True, **_compare)
not_equal = binary("ne", np.not_equal, commutative=True, **_compare)
less = binary("lt", np.less, **_compare)
less_equal = binary("le", np.less_equal, **_compare)
greater = binary("gt", np.greater, **_compare)
greater_equal = binary("ge", np.greater_equal, **_compare)
logical_and = binary("and", np.logical_and, kinds="b", commutative=True, nondifferentiable=True)
logical_or = binary("or", np.logical_or, kinds="b", commutative=True, nondifferentiable=True)


# --- select ---------------------------------------------------------------------------------------
def _select_infer(types):
    pred, a, b = types
    if pred.dtype != dtypes.bool_:
        raise DTypeError(f"select needs a bool predicate, got {pred.dtype}")
    _check_kinds("select", [a, b], "fib")
    return [TensorType(broadcast_shapes(pred.shape, a.shape, b.shape), a.dtype)]


def _select_jvp(p, t, o):
    if t[1] is None and t[2] is None:
        return None
    zero = scalar(0, o[0].dtype)
    out = select(p[0], zero if t[1] is None else t[1], zero if t[2] is None else t[2])
    return _broadcast_to(out, o[0].shape)


def _select_vjp(ct, p, o, needed):
    _, on_true, on_false = needed
    zero = scalar(0, ct.dtype)
    return [
        None,
        unbroadcast(select(p[0], ct, zero), p[1].shape) if on_true else None,
        unbroadcast(select(p[0], zero, ct), p[2].shape) if on_false else None,
    ]


select = define(
    "select",
    infer=_select_infer,
    impl=lambda c, a, b: np.asarray(np.where(c, a, b)),
    jvp=_select_jvp,
    vjp=_select_vjp,
    elementwise=True,
    family="map",
)


# --- convert --------------------------------------------------------------------------------------
def _convert_infer(types, dtype):
    return [TensorType(types[0].shape, dtypes.canonical(dtype))]


def _both_float(x_dtype, dtype):
    return dtypes.is_float(x_dtype) and dtypes.is_float(np.dtype(dtype))


convert = define(
    "convert",
    infer=_convert_infer,
    impl=lambda x, dtype: np.asarray(x).astype(dtype),
    jvp=lambda p, t, o, dtype: (
        convert(t[0], dtype=dtype) if t[0] is not None and _both_float(p[0].dtype, dtype) else None
    ),
    vjp=lambda ct, p, o, needed, dtype: [
        convert(ct, dtype=p[0].dtype) if _both_float(p[0].dtype, dtype) else None
    ],
    elementwise=True,
    family="map",
)
