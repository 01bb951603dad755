"""gc.vmap against the per-example loop it stands for (``np.stack([f(x) for x in xs])``), for every
primitive family and batching case (batched and shared operands, batched indices, predicates and
loop counts), in_axes/out_axes forms, composition with grad, jvp, jit and vmap itself, random
programs, and the errors; every primitive that takes operands has a batching rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.core import REGISTRY
from graphc.scipy import special
from graphc.testing import check_grads

rng = np.random.default_rng(11)
B = 4


def _loop(f, args, in_axes):
    """The reference: ``f`` traced per example (the reference backend), results stacked."""
    outs = []
    for i in range(B):
        ex = [a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, in_axes)]
        outs.append(gc.function(f, backend="reference")(*ex))
    return np.stack([np.asarray(o) for o in outs])


def _spd(*batch, n=3):
    x = rng.standard_normal((*batch, n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


X, Y = rng.standard_normal((B, 3, 5)), rng.standard_normal((B, 5))
W, V = rng.standard_normal((5, 2)), rng.standard_normal(5)
IDX = np.array([[0, 2], [4, 4], [1, 3], [2, 0]])
CASES = {  # name: (function, args, in_axes)
    "elementwise ranks": (lambda x, y: np.sin(x) * y + 1.0, (X, Y), (0, 0)),
    "shared operand": (lambda x, v: np.maximum(x, v) - v, (X, V), (0, None)),
    "select": (lambda x, y: np.where(x > 0, x, y), (X, Y), (0, 0)),
    "broadcast_to": (lambda y: np.broadcast_to(y, (3, 5)) * 2, (Y,), (0,)),
    "reshape transpose": (lambda x: x.reshape(5, 3).T, (X,), (0,)),
    "rev slice pad": (lambda x: np.pad(x[::-1, 1:4:2], ((1, 0), (0, 2))), (X,), (0,)),
    "concatenate": (lambda x, v: np.concatenate([x, v[None]], axis=0), (X, V), (0, None)),
    "reductions": (lambda x: np.stack([x.sum(1), x.max(1), x.min(1), x.prod(1)]), (X,), (0,)),
    "cumsum": (lambda x: np.cumsum(x, axis=1), (X,), (0,)),
    "matmul shared weight": (lambda x, w: x @ w, (X, W), (0, None)),
    "matmul shared lhs": (lambda x, y: x @ y, (X[0], Y), (None, 0)),
    "matmul both": (lambda x, y: x @ y, (X, Y), (0, 0)),
    "batched matmul": (lambda a, b: np.einsum("bij,bjk->bik", a, b),
                       (rng.standard_normal((B, 2, 3, 4)), rng.standard_normal((B, 2, 4, 3))),
                       (0, 0)),
    "gather shared index": (lambda x: x[:, np.array([4, 0, 0])], (X,), (0,)),
    "gather batched index": (lambda v, i: v[i], (V, IDX), (None, 0)),
    "gather both": (lambda y, i: y[i] * 2, (Y, IDX), (0, 0)),
    "scatter": (lambda y, u: y.at[np.array([1, 1, 3])].add(u), (Y, Y[:, :3]), (0, 0)),
    "scatter batched index": (lambda v, i: v.at[i].add(1.0), (V, IDX), (None, 0)),
    "sort": (lambda y: np.sort(y), (Y,), (0,)),
    "cholesky solve slogdet": (lambda a, y: np.linalg.solve(np.linalg.cholesky(a), y[:3])
                               + np.linalg.slogdet(a)[1], (_spd(B), Y), (0, 0)),
    "eigh svd qr": (lambda a: np.linalg.eigh(a)[0] + np.linalg.svd(a, compute_uv=False)
                    + np.abs(np.diagonal(np.linalg.qr(a)[1])), (_spd(B),), (0,)),
    "shared matrix solve": (lambda a, y: np.linalg.solve(a, y[:3]), (_spd(), Y), (None, 0)),
    "special": (lambda y: special.erf(y) + special.gammaln(np.abs(y) + 1), (Y,), (0,)),
    "cond batched pred": (lambda y: gc.cond(y.sum() > 0, lambda u: u * 2, lambda u: -u, y),
                          (Y,), (0,)),
    "cond shared pred": (lambda y, s: gc.cond(s > 0, lambda u: np.sin(u), lambda u: u, y),
                         (Y, np.float64(1.0)), (0, None)),
    "while per-example count": (lambda y: gc.while_loop(
        lambda c: c[1].sum() < 10, lambda c: (c[0] + 1, c[1] * 1.5 + 1), (0, y))[1], (Y,), (0,)),
    "while shared pred": (lambda y: gc.while_loop(
        lambda c: c[0] < 4, lambda c: (c[0] + 1, np.sin(c[1]) + c[1]), (0, y))[1], (Y,), (0,)),
    "while carry batched by the body": (lambda y: gc.while_loop(
        lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] + c[2].sum(), c[2]), (0, 0.0, y))[1],
        (Y,), (0,)),
    "fori scan checkpoint": (lambda y: gc.checkpoint(lambda u: gc.scan(
        lambda c, x: (c + x, c * x), 0.0, u)[1])(gc.fori_loop(0, 3, lambda i, c: c * 1.1, y)),
        (Y,), (0,)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_the_per_example_loop(name):
    f, args, in_axes = CASES[name]
    want = _loop(f, args, in_axes)
    for fn in (gc.vmap(f, in_axes=in_axes), gc.function(gc.vmap(f, in_axes=in_axes),
                                                        backend="reference")):
        got = np.asarray(fn(*args))
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_shared_weight_product_stays_one_matmul():
    g = gc.make_graph(gc.vmap(lambda x, w: x @ w, in_axes=(0, None)))(X, W)
    dots = [n for n in g.nodes if n.prim.name == "dot_general"]
    assert len(dots) == 1 and not any(n.prim.name == "scan" for n in g.nodes)
    assert dots[0].outputs[0].shape == (B, 3, 2)


def test_in_axes_out_axes_and_pytrees():
    x = rng.standard_normal((3, B))
    got = gc.vmap(lambda v: v * 2, in_axes=1, out_axes=1)(x)
    np.testing.assert_array_equal(got, x * 2)
    got = gc.vmap(lambda v: v.sum(), in_axes=-1)(x)
    np.testing.assert_allclose(got, x.sum(0))
    params = {"w": W, "b": np.float64(0.5)}
    f = lambda p, x: np.tanh(x @ p["w"] + p["b"])  # noqa: E731
    got = gc.vmap(f, in_axes=(None, 0))(params, X[:, 0])
    np.testing.assert_allclose(got, np.tanh(X[:, 0] @ W + 0.5), rtol=1e-14)
    stacked = {"w": np.stack([W] * B), "b": np.arange(B, dtype=float)}
    got = gc.vmap(f)(stacked, X[:, 0])
    np.testing.assert_allclose(got, [f({"w": W, "b": float(i)}, X[i, 0]) for i in range(B)],
                               rtol=1e-14)
    pair = gc.vmap(lambda v: (v.sum(), 3.0), out_axes=(0, None))(Y)
    assert pair[0].shape == (B,) and float(pair[1]) == 3.0
    const = gc.vmap(lambda v: np.float64(2.0) + 0.0)(Y)  # an output the batch does not reach
    np.testing.assert_array_equal(const, np.full(B, 2.0))


def test_composes_with_grad_jvp_jit_and_itself():
    f = lambda x, w: np.tanh(x @ w).sum()  # noqa: E731
    per_example = gc.vmap(gc.grad(f, argnums=1), in_axes=(0, None))(X[:, 0], W)
    np.testing.assert_allclose(per_example, [gc.grad(f, argnums=1)(x, W) for x in X[:, 0]],
                               rtol=1e-13)
    total = gc.grad(lambda x: gc.vmap(f, in_axes=(0, None))(x, W).sum())(X[:, 0])
    np.testing.assert_allclose(total, gc.grad(lambda x: f(x, W))(X[:, 0]), rtol=1e-13)
    check_grads(lambda x: gc.vmap(lambda u: np.sin(u) @ W)(x), (X[:, 0],), order=2)
    _, t = gc.jvp(gc.vmap(np.sin), (Y,), (np.ones_like(Y),))
    np.testing.assert_allclose(t, np.cos(Y), rtol=1e-15)
    nested = gc.jit(gc.vmap(gc.vmap(lambda a, b: a * b, in_axes=(0, None)), in_axes=(None, 0)))
    np.testing.assert_allclose(nested(V, Y), np.stack([[v * y for v in V] for y in Y]),
                               rtol=1e-15)


def test_prints_once_with_the_batch(capsys):
    gc.vmap(lambda v: (gc.print("v {}", v), v * 2)[1])(np.arange(3.0))
    assert capsys.readouterr().out.splitlines() == ["v [0. 1. 2.]"]


def test_errors():
    with pytest.raises(gc.ArgumentError, match="different sizes"):
        gc.vmap(lambda a, b: a + b)(np.ones(3), np.ones(4))
    with pytest.raises(gc.ArgumentError, match="no argument is mapped"):
        gc.vmap(lambda a: a, in_axes=None)(np.ones(3))
    with pytest.raises(gc.ArgumentError, match="in_axes"):
        gc.vmap(lambda a: a, in_axes=(0, 1))(np.ones(3))
    with pytest.raises(gc.ArgumentError, match="out of range"):
        gc.vmap(lambda a: a, in_axes=2)(np.ones(3))
    with pytest.raises(gc.ArgumentError, match="out_axes None"):
        gc.vmap(lambda a: a, out_axes=None)(np.ones(3))


def test_every_primitive_with_operands_has_a_batching_rule():
    missing = sorted(n for n, p in REGISTRY.items() if p.batch is None and not p.elementwise
                     and p.family != "leaf" and not p.after_differentiation)
    assert missing == []


@settings(max_examples=25, deadline=None)
@given(st_seed=st.integers(0, 10_000))
def test_random_programs_match_the_loop(st_seed):
    """A random program (tests/fuzz) mapped over a batch of its inputs equals the program run on
    each, on the reference and the compiled backend."""
    from fuzz.generate import random_program

    prog = random_program(st_seed, max_ops=8)[0]
    f = prog.build("float64")
    batch = [prog.inputs("float64", seed_offset=k) for k in range(3)]
    stacked = [np.stack(leaves) for leaves in zip(*batch)]
    want = np.stack([np.asarray(f(*xs)) for xs in batch])
    for backend in ("reference", "llvm"):
        got = gc.function(gc.vmap(f), backend=backend)(*stacked)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_large_jacobians_go_over_the_basis_in_blocks():
    """n = 2500 basis vectors: n x n seeds would exceed BASIS_BLOCK, so a scan runs the vmapped
    pass over blocks of the identity; the result is the same Jacobian."""
    from graphc.autodiff import jacobians

    x = rng.uniform(-1, 1, 2500)
    assert 2500 * 2500 > jacobians.BASIS_BLOCK
    want = np.diag(np.cos(x))
    for jac in (gc.jacobian, gc.jacfwd):
        fn = gc.function(jac(np.sin))
        np.testing.assert_allclose(fn(x), want, rtol=1e-15, atol=0)
        assert any(n.prim.name == "scan" for n in fn.concrete(x).traced.nodes)


def test_out_axes_out_of_range_is_refused():
    with pytest.raises(gc.ArgumentError, match="out_axes 3 is out of range"):
        gc.vmap(lambda a: a * 2, out_axes=3)(np.ones((4, 2)))


def test_a_shared_predicate_keeps_one_cond_of_batched_branches():
    f = lambda y, s: gc.cond(s > 0, lambda u: np.sin(u) * 2, lambda u: u, y)  # noqa: E731
    g = gc.make_graph(gc.vmap(f, in_axes=(0, None)))(Y, np.float64(1.0))
    names = [n.prim.name for n in g.nodes]
    assert "cond" in names and "scan" not in names
    for s in (1.0, -1.0):
        np.testing.assert_allclose(gc.vmap(f, in_axes=(0, None))(Y, np.float64(s)),
                                   [f(y, np.float64(s)) for y in Y], rtol=1e-15)


def _doubling(y):
    """Doubles 1 until it reaches ``y``: each example takes its own number of steps."""
    return gc.while_loop(lambda c: c[0] < c[1], lambda c: (c[0] * 2.0, c[1]),
                         (np.ones_like(y), y))[0]


def test_a_per_example_predicate_runs_while_any_example_is_active():
    """One while loop over the whole batch (no per-example scan), stepping only the examples
    whose predicate still holds, so each stops where its own loop would; it differentiates."""
    ys = np.array([1.0, 3.0, 10.0, 100.0, 0.5])
    g = gc.make_graph(gc.vmap(_doubling))(ys)
    names = [n.prim.name for n in g.nodes]
    assert "while_loop" in names and "scan" not in names
    np.testing.assert_array_equal(gc.vmap(_doubling)(ys), [_doubling(y) for y in ys])
    power = lambda v: gc.while_loop(lambda c: c[0] < 10.0, lambda c: (c[0] * c[1], c[1]),  # noqa: E731
                                    (v, v))[0]
    v = np.array([2.0, 3.0, 1.5])
    np.testing.assert_allclose(gc.grad(lambda v: gc.vmap(power)(v).sum())(v),
                               [4 * 2.0 ** 3, 3 * 3.0 ** 2, 6 * 1.5 ** 5], rtol=1e-14)


def test_a_shared_predicate_keeps_one_while_loop_of_batched_carries():
    f = CASES["while shared pred"][0]
    g = gc.make_graph(gc.vmap(f))(Y)
    (loop,) = [n for n in g.nodes if n.prim.name == "while_loop"]
    assert "scan" not in [n.prim.name for n in g.nodes]
    assert [tuple(v.shape) for v in loop.outputs] == [(), Y.shape]  # the counter stays shared
