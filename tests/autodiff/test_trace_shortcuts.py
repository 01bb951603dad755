"""The shortcuts that make tracing big gradient graphs cheap give the graphs the slow way gives:
locations found without climbing to the user's frame, copied nodes that skip their shape rule,
vjp rules that emit no cotangent for inputs reverse mode ignores, and equal constants made once."""

import sys

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc import core
from graphc.backend.reference import evaluate
from graphc.ir import Builder
from graphc.ops import REGISTRY
from graphc.ops import elementwise as ew
from graphc.passes import optimize

X = np.linspace(-1.0, 1.0, 6).astype(np.float32).reshape(2, 3)
B = np.float32([0.5, -2.0, 3.0])


def chain(x):
    for _ in range(3):
        x = x + 0.01 * gnp.sin(x) * x
    return gnp.sum(x)


def mixed(x, b):
    y = gnp.maximum(x * b, 0.5) / (1 + b)
    z = gnp.where(y > 0.7, y, 2.0) - gnp.exp(-y) ** 2
    return gnp.sum(z * 3.0) + gnp.sum(gnp.tanh(x) @ gnp.ones((3, 2), np.float32))


def hessian_vector(x):
    return gnp.sum(gc.grad(lambda y: gnp.sum(gnp.tanh(y) * y * 0.5))(x) ** 2)


CASES = {
    "chain": (gc.grad(chain), (X,)),
    "mixed": (gc.grad(mixed, argnums=(0, 1)), (X, B)),
    "second order": (gc.grad(hessian_vector), (X,)),
    "jvp": (lambda x: gc.jvp(lambda y: gnp.exp(y) * 2.0 - y.sum(0), (x,), (x,)), (X,)),
}


def _graph(fun, args):
    return gc.make_graph(fun)(*args)  # one calling line, the location of the outermost nodes


def _every_node_at(self, frame, loc):
    """No search for a user frame at all: what stopping it at the rule's frame must give when no
    custom rule's code runs below that frame."""
    return self.nodes_at(loc)


def _copy_by_shape_rule(self, node, inputs, phase=None):
    with self.in_phase(self.phase if phase is None else phase):
        return self.emit(node.prim, inputs, dict(node.attrs), node.loc)


@pytest.mark.parametrize("name", list(CASES))
def test_locations_and_copies_are_those_of_the_slow_way(name, monkeypatch):
    fun, args = CASES[name]
    fast = str(_graph(fun, args))
    monkeypatch.setattr(core.Trace, "location_above", _every_node_at)
    monkeypatch.setattr(Builder, "copy", _copy_by_shape_rule)
    assert str(_graph(fun, args)) == fast


@pytest.mark.parametrize("name", list(CASES))
def test_skipped_cotangents_change_only_dead_nodes(name, monkeypatch):
    fun, args = CASES[name]
    lean = _graph(fun, args)
    for prim in REGISTRY.values():
        if prim.vjp is not None:
            monkeypatch.setattr(prim, "vjp", _every_cotangent(prim.vjp))
    full = _graph(fun, args)
    assert lean.count_nodes() <= full.count_nodes()
    assert str(optimize(lean)[0]) == str(optimize(full)[0])
    with np.errstate(all="ignore"):
        for a, b in zip(evaluate(lean, list(args)), evaluate(full, list(args)), strict=True):
            np.testing.assert_array_equal(a, b)


def test_no_cotangent_is_emitted_for_a_constant_factor():
    graph = gc.make_graph(gc.grad(lambda x: gnp.sum(0.5 * x * x)))(X)
    bwd = [n.prim.name for n in graph.nodes if n.phase == "bwd"]
    assert "reduce_sum" not in bwd  # the constant's cotangent would be summed to a scalar
    g = gc.function(gc.grad(lambda x: gnp.sum(0.5 * x * x)), backend="reference")(X)
    np.testing.assert_array_equal(g, X)


def _constant_every_time(self, literal, loc):
    return self.builder.emit(REGISTRY["constant"], (), {"value": literal}, loc)


def _literals(graph):
    return [n.attrs["value"].array for n in graph.nodes if n.prim is REGISTRY["constant"]]


@pytest.mark.parametrize("name", list(CASES))
def test_equal_constants_made_once_optimize_as_when_made_every_time(name, monkeypatch):
    fun, args = CASES[name]
    once = _graph(fun, args)
    monkeypatch.setattr(core.Trace, "constant_node", _constant_every_time)
    every_time = _graph(fun, args)
    assert once.count_nodes() <= every_time.count_nodes()
    assert str(optimize(once)[0]) == str(optimize(every_time)[0])


def test_a_loop_makes_its_constant_once():
    assert [float(a) for a in _literals(_graph(*CASES["chain"]))].count(np.float32(0.01)) == 1


def test_constants_of_other_bits_or_dtypes_stay_apart():
    graph = gc.make_graph(lambda x: x * 0.0 + x * -0.0 + x.astype(np.float64) * 0.0)(X)
    assert sorted((a.dtype.str, float(a), bool(np.signbit(a))) for a in _literals(graph)) == [
        ("<f4", 0.0, False), ("<f4", 0.0, True), ("<f8", 0.0, False)]


def _every_cotangent(rule):
    """``rule`` told that every input needs a cotangent, whatever reverse mode says; its nodes
    keep the line reverse mode gives them (this wrapper is user code, which bind would find)."""

    def every(ct, p, o, needed, **attrs):
        trace = core.current_trace()
        with trace.location_above(sys._getframe(), trace._location_stop[1]):
            return rule(ct, p, o, (True,) * len(needed), **attrs)

    return every


@pytest.mark.parametrize("needed", [(True, True), (True, False), (False, True)])
def test_a_rule_gives_the_cotangents_its_needed_argument_asks_for(needed):
    with core.new_trace("t") as trace:
        x = trace.new_input(gc.ir.TensorType((3,), np.dtype(np.float32)))
        c = trace.new_input(gc.ir.TensorType((), np.dtype(np.float32)))
        out = ew.mul(x, c)
        cts = ew.mul.vjp(x, [x, c], [out], needed)
    assert [None if ct is None else tuple(ct.shape) for ct in cts] == [
        shape if need else None for shape, need in zip([(3,), ()], needed)
    ]


def test_collector_is_paused_only_for_the_block():
    import gc as collector

    assert collector.isenabled()
    with pytest.raises(ZeroDivisionError), core.collector_paused():
        assert not collector.isenabled()
        1 / 0  # noqa: B018
    assert collector.isenabled()
    collector.disable()
    try:
        with core.collector_paused():
            pass
        assert not collector.isenabled()  # a user's choice to keep it off is kept
    finally:
        collector.enable()
