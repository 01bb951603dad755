"""The fusion pass: structure of the regions it forms, and that fused graphs compute the same thing
(reference evaluator through ``fused``'s impl, and compiled code on random chains)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc.numpy as gnp
from graphc.backend.llvm.fusion import FusionPolicy, check_acyclic, fuse
from graphc.backend.reference import evaluate
from graphc.ir import Builder, TensorType, verify
from graphc.ops import elementwise as ew
from graphc.ops import reduce as red
from graphc.ops import shape as sh
from graphc.ops.call import fused
from graphc.ops.linalg import dot_general
from graphc.trace.function import make_graph

F32 = np.dtype("float32")
MAX_WEIGHT = FusionPolicy().max_weight


def _fused_nodes(g):
    return [n for n in g.nodes if n.prim is fused]


def _same_results(g, args, rtol=0.0):
    f = fuse(g)
    verify(f)
    assert check_acyclic(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a, b in zip(evaluate(f, args), evaluate(g, args), strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol)
    return f


def test_value_and_grad_shape_becomes_one_region():
    """sum((x-y)**2) and 2*(x-y): the reduction and the elementwise outputs share one loop."""

    def f(x, y):
        d = x - y
        return gnp.sum(d * d), 2 * d, -2 * d

    x = np.arange(3, dtype=np.float32)
    g = make_graph(f)(x, x + 1)
    out = _same_results(g, [x, x + 1])
    assert len(out.nodes) == 1 and out.nodes[0].prim is fused
    assert len(out.nodes[0].outputs) == 3


def test_shared_expensive_value_is_not_duplicated():
    """exp(x) used by two regions of different domains is computed once and materialized."""

    def f(x):
        e = gnp.exp(x)
        return gnp.sum(e), e[:, None] * x[None, :]

    x = np.linspace(0, 1, 5, dtype=np.float32)
    g = make_graph(f)(x)
    out = _same_results(g, [x], rtol=1e-6)
    exps = [n for fn in _fused_nodes(out) for n in fn.attrs["body"].nodes if n.prim is ew.exp]
    exps += [n for n in out.nodes if n.prim is ew.exp]
    assert len(exps) == 1


def test_reduction_result_is_not_used_inside_its_region():
    """softmax: max, then exp(x - max) and its sum, then the division: three loops."""

    def f(x):
        m = gnp.max(x, axis=1, keepdims=True)
        e = gnp.exp(x - m)
        return e / gnp.sum(e, axis=1, keepdims=True)

    x = np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
    g = make_graph(f)(x)
    out = _same_results(g, [x], rtol=1e-6)
    for fn in _fused_nodes(out):
        body = fn.attrs["body"]
        reduces = [n for n in body.nodes if n.prim in (red.reduce_sum, red.reduce_max)]
        assert len(reduces) <= 1
        if reduces:
            used = {v for n in body.nodes for v in n.inputs}
            assert reduces[0].outputs[0] not in used


def test_opaque_nodes_split_regions_without_cycles():
    """a = exp(x); c = a*2 + broadcast(dot(a, W)): the dot must run between two loops."""
    b = Builder("g")
    x = b.add_input(TensorType((4, 3), F32))
    w = b.add_input(TensorType((3, 3), F32))
    (a,) = b.emit(ew.exp, [x], {})
    (d,) = b.emit(dot_general, [a, w], {"contracting": ((1,), (0,)), "batch": ((), ())})
    (two,) = b.emit(ew.mul, [a, a], {})
    (c,) = b.emit(ew.add, [two, d], {})
    g = b.build([c])
    args = [np.ones((4, 3), np.float32), np.eye(3, dtype=np.float32)]
    out = _same_results(g, args, rtol=1e-6)
    order = [n.prim.name for n in out.nodes]
    assert order.index("dot_general") < len(order) - 1  # something runs after the dot


def test_region_weight_is_bounded():
    def f(x):
        for _ in range(100):
            x = x + 0.01 * gnp.sin(x) * x
        return x

    x = np.linspace(-1, 1, 8, dtype=np.float32)
    g = make_graph(f)(x)
    out = _same_results(g, [x], rtol=1e-5)
    assert len(_fused_nodes(out)) > 1
    for fn in _fused_nodes(out):
        body = fn.attrs["body"].nodes
        w = sum(8 if n.prim is ew.sin else 1 for n in body if n.prim is not sh.constant)
        assert w <= MAX_WEIGHT


def test_fused_impl_and_infer():
    b = Builder("g")
    x = b.add_input(TensorType((2, 3), F32))
    (y,) = b.emit(ew.neg, [x], {})
    (z,) = b.emit(ew.exp, [y], {})
    out = fuse(b.build([z]))
    (node,) = out.nodes
    assert node.prim.infer([x.type], **node.attrs) == [z.type]
    with pytest.raises(Exception, match="do not match"):
        node.prim.infer([TensorType((3,), F32)], **node.attrs)
    assert "fused" in str(out) and "body" in str(out)


#  random fused chains, compiled vs reference ------------------------------------------------------
_UNARY = [ew.neg, ew.abs_, ew.exp, ew.sin, ew.tanh, ew.sign]
_BINARY = [ew.add, ew.sub, ew.mul, ew.maximum, ew.minimum]


@st.composite
def chains(draw):
    shape = draw(st.sampled_from([(), (1,), (5,), (3, 4), (2, 1, 7)]))
    n_in = draw(st.integers(1, 3))
    ops = draw(
        st.lists(
            st.tuples(st.integers(0, 10), st.integers(0, 99), st.integers(0, 99)),
            min_size=1,
            max_size=12,
        )
    )
    reduce_tail = draw(st.booleans()) and len(shape) > 0
    return shape, n_in, ops, reduce_tail


def _build_chain(shape, n_in, ops, reduce_tail):
    """Random elementwise ops over ``n_in`` inputs of ``shape``, plus (for arrays) a row vector
    broadcast along the leading axes, optionally ending in a reduction."""
    b = Builder("chain")
    vals = [b.add_input(TensorType(shape, F32)) for _ in range(n_in)]
    if shape:
        row = b.add_input(TensorType(shape[-1:], F32))
        (wide,) = b.emit(sh.broadcast_in_dim, [row], {"shape": shape, "dims": (len(shape) - 1,)})
        vals.append(wide)
    for kind, i, j in ops:
        x, y = vals[i % len(vals)], vals[j % len(vals)]
        if kind < len(_UNARY):
            prim = _UNARY[kind % len(_UNARY)]
            if prim is ew.exp:  # keep values bounded
                (x,) = b.emit(ew.tanh, [x], {})
            (v,) = b.emit(prim, [x], {})
        else:
            (v,) = b.emit(_BINARY[(i + j) % len(_BINARY)], [x, y], {})
        vals.append(v)
    outs = vals[-2:] if len(vals) > n_in + 1 else vals[-1:]
    if reduce_tail:
        (s,) = b.emit(red.reduce_sum, [vals[-1]], {"axes": (len(shape) - 1,)})
        outs = [*outs, s]
    return b.build(outs)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chains(), st.integers(0, 2**31))
def test_random_chains_compiled_vs_reference(chain, seed):
    from tests.backend.llvm_helper import run_graph

    g = _build_chain(*chain)
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(v.shape).astype(np.float32) for v in g.inputs]
    want = evaluate(g, args)
    got, _ = run_graph(g, args)
    for a, w in zip(got, want, strict=True):
        np.testing.assert_allclose(a, w, rtol=2e-6, atol=2e-6)


def test_sin_and_cos_of_one_value_share_a_region():
    """cos(u) needed long after sin(u) (a gradient) joins sin(u)'s region, so the backend computes
    both with one sincos call; a large graph keeps them apart (the extra stored array costs
    more)."""
    def build(n):
        b = Builder("g")
        x = b.add_input(TensorType((n,), F32))
        (s,) = b.emit(ew.sin, [x], {})
        v = s
        for _ in range(MAX_WEIGHT):  # fills sin's region, so cos would start another
            (v,) = b.emit(ew.mul, [v, x], {})
        (c,) = b.emit(ew.cos, [x], {})
        (o,) = b.emit(ew.add, [v, c], {})
        return b.build([o])

    def region_of_cos(f):
        for n in _fused_nodes(f):
            names = [m.prim for m in n.attrs["body"].nodes]
            if ew.cos in names:
                return ew.sin in names
        raise AssertionError("no region computes cos")

    x = np.linspace(-1, 1, 64, dtype=F32)
    assert region_of_cos(_same_results(build(64), [x]))
    policy = FusionPolicy()
    small = policy.pair_bytes // (4 * (MAX_WEIGHT + 3)) + 1  # just over the limit
    assert region_of_cos(fuse(build(small)))  # but one flat domain: the backend blocks it
    big = policy.blocked_pair_bytes // (4 * (MAX_WEIGHT + 3)) + 1
    assert not region_of_cos(fuse(build(big)))
