"""Every differentiable primitive's JVP and VJP rules, checked numerically (first and second order)
over several shapes, including 0-d, broadcasting and size-1 axes. The table has one row per
primitive; a test fails when a primitive of the registry has no rule or no row."""

import numpy as np
import pytest

import graphc as gc
from graphc.ops import REGISTRY, factor, linalg
from graphc.ops import elementwise as ew
from graphc.ops import indexing as ix
from graphc.ops import reduce as rd
from graphc.ops import shape as sh
from graphc.scipy import special
from graphc.testing import check_grads

rng = np.random.default_rng(0)


def normal(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """Values whose pairwise gaps are far larger than the finite-difference step (no ties)."""
    n = int(np.prod(shape, dtype=np.int64))
    return (rng.permutation(n) * 0.37 - 1.0).reshape(shape)


def spd(n, *batch):
    """A well-conditioned symmetric positive definite matrix (or stack of them)."""
    x = rng.standard_normal((*batch, n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def _sign_free(prim, **attrs):
    """The outputs of ``prim`` with each singular/eigen-vector squared (their signs are arbitrary,
    so only sign-invariant functions of them are derivatives to check)."""
    def fn(a):
        outs = prim(a, **attrs)
        return [o * o if o.ndim == a.ndim else o for o in outs]
    return fn


def unary(prim, domain):
    return [(prim, (domain(*s),)) for s in [(), (3,), (2, 1, 4)]]


def binary(prim, dom_x, dom_y=None):
    """Rows over broadcasting shapes, and with one operand a constant (so one tangent is a
    symbolic zero and the other must be broadcast to the output on its own)."""
    dom_y = dom_y or dom_x
    shapes = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), (2, 3)), ((2, 1, 3), (3,))]
    rows = [(prim, (dom_x(*a), dom_y(*b))) for a, b in shapes]
    cy, cx = dom_y(1, 4), dom_x(2, 3)
    rows.append((lambda x: prim(x, sh.constant(value=gc.ir.Literal(cy))), (dom_x(3, 1),)))
    rows.append((lambda y: prim(sh.constant(value=gc.ir.Literal(cx)), y), (dom_y(),)))
    return rows


def quotient_2_to_3(*shape):
    """Dividends for ``rem`` with divisors from ``near_one``: |x / y| in (2.09, 2.8), away from the
    integers where the remainder jumps, and with a nonzero d/dy = -trunc(x / y)."""
    return rng.uniform(2.3, 2.8, shape) * rng.choice([-1.0, 1.0], shape)


def near_one(*shape):
    return rng.uniform(1.0, 1.1, shape) * rng.choice([-1.0, 1.0], shape)


def _dot(contracting, batch):
    return lambda a, b: linalg.dot_general(a, b, contracting=contracting, batch=batch)


def _custom_sin():
    @gc.custom_vjp
    def f(x):
        return gc.numpy.sin(x)

    f.defvjp(lambda x: (gc.numpy.sin(x), x), lambda x, g: (g * gc.numpy.cos(x),))
    return f


def _cond_by_sign(x, y):
    """A cond whose predicate depends on the input; the branches use both operands nonlinearly
    and one closes over ``y`` (a captured operand)."""
    return gc.cond(
        x.sum() > 0,
        lambda a: (gc.numpy.sin(a) * y, a * a),
        lambda a: (a * y * y, gc.numpy.exp(a)),
        x,
    )


def _while_by_sign(x, y):
    """A while loop whose trip count depends on the input's sign (3 or 1 steps), closing over
    ``y``; the counter is an int carry with no derivative."""
    steps = gc.numpy.where(x.sum() > 0, 3, 1)

    def body(c):
        v, i = c
        return gc.numpy.sin(v) * y + v * 0.5, i + 1

    return gc.while_loop(lambda c: c[1] < steps, body, (x, 0))[0]


def _while_grad_of(x, y):
    """The gradient of a while loop (a ``while_grad`` node): checking its derivatives to second
    order takes the loop to third."""
    return gc.grad(lambda a, b: (_while_by_sign(a, b) ** 2).sum(), argnums=(0, 1))(x, y)


def _scan_tanh(xs, c):
    """A scan with a carry and a stacked result, both depending on the rows and the carry."""
    return gc.scan(lambda c, x: (gc.numpy.tanh(c * x + c), c * x), c, xs)


def _scan_reverse(xs, c):
    return gc.scan(lambda c, x: (c * gc.numpy.cos(x), (c * x).sum()), c, xs, reverse=True)


_IDX = np.array([[2, 0], [2, -1]])


def _gathered(x, y):
    """A gather with repeated and negative indices (its VJP is a scatter_add into zeros), and a
    scatter_add of ``y`` into ``x`` (both operands differentiable)."""
    g = gc.numpy.take(x, _IDX, axis=0)
    s = ix.scatter_add(x, _IDX[0], y[:2] * g[0], axis=0)
    return gc.numpy.sin(g) * 2.0, s * s


@gc.checkpoint
def _remat_block(x, y):
    """A rematerialized block with two results, closing over nothing."""
    return gc.numpy.tanh(gc.numpy.sin(x * y) * x), (x * y).sum()


def _max_pair(x, y):
    """max/min on operands that differ everywhere (ties are tested in test_special_points)."""
    return ew.maximum(x, y), ew.minimum(x, y)


MASK = rng.random((3, 4)) > 0.5

ROWS = {
    "neg": unary(ew.neg, normal),
    "abs": unary(ew.abs_, away_from_zero),
    "exp": unary(ew.exp, normal),
    "expm1": unary(ew.expm1, normal),
    "log": unary(ew.log, positive),
    "log1p": unary(ew.log1p, positive),
    "sqrt": unary(ew.sqrt, positive),
    "sin": unary(ew.sin, normal),
    "cos": unary(ew.cos, normal),
    "tanh": unary(ew.tanh, normal),
    "add": binary(ew.add, normal),
    "sub": binary(ew.sub, normal),
    "mul": binary(ew.mul, normal),
    "div": binary(ew.div, normal, away_from_zero),
    "rem": binary(ew.rem, quotient_2_to_3, near_one),
    "max": binary(_max_pair, distinct, lambda *s: distinct(*s) + 0.1),
    "min": binary(_max_pair, distinct, lambda *s: distinct(*s) + 0.1),
    "pow": binary(ew.pow_, positive, normal),
    "atan2": binary(ew.atan2, away_from_zero),
    "copysign": binary(ew.copysign, away_from_zero),
    "select": [
        (
            lambda a, b: ew.select(sh.constant(value=gc.ir.Literal(MASK)), a, b),
            (normal(3, 4), normal(1, 4)),
        ),
        (
            lambda a, b: ew.select(sh.constant(value=gc.ir.Literal(np.array(True))), a, b),
            (normal(2, 3), normal()),
        ),
    ],
    "convert": [
        (
            lambda x: ew.convert(ew.convert(x, dtype=np.float32), dtype=np.float64),
            (normal(3),),
            {"eps": 1e-2, "atol": 1e-4, "rtol": 1e-4},
        ),
        (
            lambda x: ew.mul(x, ew.convert(ew.convert(x, dtype=np.int64), dtype=np.float64)),
            (positive(4) + 0.25,),
        ),
    ],
    "broadcast_in_dim": [
        (lambda x: sh.broadcast_in_dim(x, shape=(2, 3, 4), dims=(1, 2)), (normal(1, 4),)),
        (lambda x: sh.broadcast_in_dim(x, shape=(3, 2), dims=()), (normal(),)),
        (lambda x: sh.broadcast_in_dim(x, shape=(3, 2, 5), dims=(0, 1)), (normal(3, 1),)),
    ],
    "reshape": [
        (lambda x: sh.reshape(x, shape=(3, 2, 1)), (normal(2, 3),)),
        (lambda x: sh.reshape(x, shape=()), (normal(1, 1),)),
    ],
    "transpose": [(lambda x: sh.transpose(x, perm=(2, 0, 1)), (normal(2, 3, 4),))],
    "rev": [(lambda x: sh.rev(x, axes=(0, 2)), (normal(2, 3, 4),))],
    "slice": [
        (lambda x: sh.slice_(x, start=(1, 0), limit=(5, 3), strides=(2, 1)), (normal(6, 3),)),
        (lambda x: sh.slice_(x, start=(2,), limit=(3,), strides=(1,)), (normal(4),)),
    ],
    "pad": [(lambda x: sh.pad(x, lo=(1, 0), hi=(2, 1), interior=(1, 0), value=0), (normal(3, 2),))],
    "concatenate": [
        (
            lambda a, b, c: sh.concatenate(a, b, c, axis=1),
            (normal(2, 1), normal(2, 3), normal(2, 2)),
        )
    ],
    "reduce_sum": [
        (lambda x: rd.reduce_sum(x, axes=(0, 2)), (normal(2, 3, 4),)),
        (lambda x: rd.reduce_sum(x, axes=(0,)), (normal(1),)),
    ],
    "reduce_max": [
        (lambda x: rd.reduce_max(x, axes=(1,)), (distinct(3, 4),)),
        (lambda x: rd.reduce_max(x, axes=(0, 1)), (distinct(2, 3),)),
    ],
    "reduce_min": [(lambda x: rd.reduce_min(x, axes=(0,)), (distinct(3, 4),))],
    "reduce_prod": [
        (lambda x: rd.reduce_prod(x, axes=(1,)), (away_from_zero(3, 4),)),
        (lambda x: rd.reduce_prod(x, axes=(0, 2)), (away_from_zero(2, 3, 5),)),
        (lambda x: rd.reduce_prod(x, axes=(0,)), (np.array([0.0, 1.5, -2.0]),)),
        (lambda x: rd.reduce_prod(x, axes=(0,)), (np.array([0.0, 1.5, 0.0, 2.0]),)),
        (lambda x: rd.reduce_prod(x, axes=(1,)), (np.array([[0.0], [2.0]]),)),
    ],
    "cumsum": [
        (lambda x: rd.cumsum(x, axis=1, reverse=False), (normal(2, 4),)),
        (lambda x: rd.cumsum(x, axis=0, reverse=True), (normal(5),)),
    ],
    "dot_general": [
        (_dot(((1,), (0,)), ((), ())), (normal(3, 4), normal(4, 5))),
        (_dot(((0,), (0,)), ((), ())), (normal(4), normal(4))),
        (_dot(((2,), (1,)), ((0,), (0,))), (normal(2, 3, 4), normal(2, 4, 5))),
        (_dot(((0,), (1,)), ((2,), (0,))), (normal(4, 3, 2), normal(2, 4, 5))),
        (_dot(((), ()), ((), ())), (normal(3), normal(2, 1))),
    ],
    "custom_vjp_call": [(_custom_sin(), (normal(3),))],
    "cond": [
        (_cond_by_sign, (np.abs(normal(3)), normal(3))),
        (_cond_by_sign, (-np.abs(normal(2, 1)), normal(1))),
        (_cond_by_sign, (np.asarray(0.7), np.asarray(-1.3))),
    ],
    "while_loop": [
        (_while_by_sign, (np.abs(normal(3)) + 0.1, normal(3))),
        (_while_by_sign, (-np.abs(normal(2, 1)) - 0.1, normal(1))),
        (_while_by_sign, (np.asarray(0.7), np.asarray(-1.3))),
    ],
    "while_grad": [
        (_while_grad_of, (np.abs(normal(3)) + 0.1, normal(3))),
        (_while_grad_of, (np.asarray(-0.7), np.asarray(0.4))),
    ],
    "gather": [(_gathered, (normal(3), normal(3)))],
    "scatter_add": [(_gathered, (normal(3), normal(3)))],
    "remat": [(_remat_block, (normal(3), normal(3))), (_remat_block, (normal(1), normal(1)))],
    "cholesky": [(factor.cholesky, (spd(3),)), (factor.cholesky, (spd(2, 2),))],
    "solve": [(factor.solve, (spd(3), normal(3, 2))), (factor.solve, (spd(1, 2), normal(2, 1, 1)))],
    "slogdet": [(lambda a: factor.slogdet(a)[1], (normal(3, 3) + 4 * np.eye(3),)),
                (lambda a: factor.slogdet(a)[1], (spd(2, 3),))],
    "eigh": [(_sign_free(factor.eigh), (spd(3),)), (_sign_free(factor.eigh), (spd(2, 2),))],
    "svd": [(_sign_free(factor.svd, full_matrices=False, compute_uv=True), (normal(4, 3),)),
            (_sign_free(factor.svd, full_matrices=False, compute_uv=True), (normal(2, 3),)),
            (lambda a: factor.svd(a, full_matrices=True, compute_uv=False)[0], (normal(2, 3, 3),))],
    "qr": [(lambda a: factor.qr(a, full=False), (normal(4, 3),)),
           (lambda a: factor.qr(a, full=True), (normal(3, 3),))],
    "special_call": [(special.gammaln, (positive(3),)), (special.erfinv, (normal(4) * 0.3,))],
    "scan": [
        (_scan_tanh, (normal(4, 3), normal(3))),
        (_scan_tanh, (normal(1), np.asarray(0.3))),
        (_scan_reverse, (normal(3, 2), normal(2))),
    ],
}

#: Primitives whose derivative is zero by definition: checked analytically in test_api.py,
#: since central differences see the value pass through.
ZERO_DERIVATIVE = {"stop_gradient"}

CASES = [(name, i, row) for name, rows in ROWS.items() for i, row in enumerate(rows)]


def _differentiable():
    """Primitives that need derivative rules: not those nondifferentiable by definition, nor
    those that passes create only once differentiation is over (``after_differentiation``)."""
    return [p for p in REGISTRY.values() if not (p.nondifferentiable or p.after_differentiation)]


def test_every_differentiable_primitive_has_both_rules():
    missing = [f"{p.name} (jvp)" for p in _differentiable() if p.jvp is None]
    missing += [f"{p.name} (vjp)" for p in _differentiable() if p.vjp is None]
    assert not missing, f"differentiable primitives without a derivative rule: {missing}"


def test_every_differentiable_primitive_has_a_row():
    missing = {p.name for p in _differentiable()} - set(ROWS) - ZERO_DERIVATIVE
    assert not missing, f"add rows for {sorted(missing)} to ROWS in {__file__}"


@pytest.mark.parametrize("name,i,row", CASES, ids=[f"{n}-{i}" for n, i, _ in CASES])
def test_rule_first_and_second_order(name, i, row):
    fn, args = row[0], row[1]
    opts = {"order": 2, **(row[2] if len(row) > 2 else {})}
    check_grads(fn, args, **opts)
