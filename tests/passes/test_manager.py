"""The pass manager: order, fixed point, statistics, stages, fast_math and the verifier hook."""

import itertools

import numpy as np
import pytest
from passes_util import CALL, F32, G, bits_equal, evaluations_equal

import graphc as gc
import graphc.numpy as gnp
from graphc import config
from graphc.ir import Graph, Node, VerifyError
from graphc.passes import manager, optimize, optimize_stages, pipeline_stages, prepare

NAMES = [name for name, _ in manager.PIPELINE]


def messy(x):
    y = (x.T.T * 1.0 + -0.0).reshape(6).reshape(2, 3)
    return gnp.sum(gnp.sin(y) * gnp.sin(y) + gnp.exp(gnp.log(x)), axis=1) + x[0, 0] * 0.0


X = np.array([[0.5, 1.0, 2.0], [3.0, 0.25, 1.5]], np.float32)


def test_function_reports_node_counts_per_pass():
    concrete = gc.function(messy, backend="reference").concrete(X)
    stats = concrete.stats()
    passes = stats["passes"]
    assert [s["pass"] for s in passes[: len(NAMES) + 1]] == ["inline", *NAMES]
    assert passes[0]["nodes_before"] == stats["nodes"]["traced"]
    assert passes[-1]["nodes_after"] == stats["nodes"]["optimized"] == concrete.graph.count_nodes()
    for prev, cur in itertools.pairwise(passes):
        assert cur["nodes_before"] == prev["nodes_after"]
    assert all(s["ms"] >= 0 and s["round"] >= 1 for s in passes)
    assert stats["nodes"]["optimized"] < stats["nodes"]["traced"]
    assert bits_equal(gc.function(messy, backend="reference")(X), _unoptimized(messy, X))


def _unoptimized(fun, *args):
    from graphc.backend.reference import evaluate

    return evaluate(gc.make_graph(fun)(*args), list(args))[0]


def test_stages_follow_the_pipeline_and_end_at_the_optimized_graph():
    graph = gc.make_graph(messy)(X)
    stages = optimize_stages(graph)
    optimized, stats = optimize(graph)
    assert [name for name, _ in stages] == [s["pass"] for s in stats]
    assert str(stages[-1][1]) == str(optimized)
    assert [g.count_nodes() for _, g in stages] == [s["nodes_after"] for s in stats]
    assert set(NAMES) <= {name for name, _ in stages}


def test_fast_math_from_config_and_argument(monkeypatch):
    g = G(((3,), F32))
    (x,) = g.inputs
    graph = g.build(g.add(x, g.c(0.0)))
    assert optimize(graph)[0].count_nodes() == 2
    assert optimize(graph, fast_math=True)[0].count_nodes() == 0
    monkeypatch.setattr(config, "fast_math", True)
    assert optimize(graph)[0].count_nodes() == 0
    assert optimize(graph, fast_math=False)[0].count_nodes() == 2


def test_verifier_runs_after_every_pass(monkeypatch):
    def breaks_types(graph, options):
        node = graph.nodes[0]
        wrong = Node(node.prim, node.inputs, {"axes": ()}, node.outputs)
        return Graph(graph.inputs, [wrong, *graph.nodes[1:]], graph.outputs, graph.name)

    g = G(((2, 3), F32))
    graph = g.build(g.reduce_sum(g.inputs[0], axes=(0,)))
    monkeypatch.setattr(manager, "PIPELINE", (("breaks_types", breaks_types),))
    with pytest.raises(VerifyError, match="shape rule"):
        optimize(graph)


def test_fixed_point_loop_is_bounded(monkeypatch):
    calls = []

    def always_changes(graph, options):
        calls.append(1)
        return Graph(list(graph.inputs), list(graph.nodes), list(graph.outputs), graph.name)

    monkeypatch.setattr(manager, "PIPELINE", (("a", always_changes), ("b", always_changes)))
    g = G(((2,), F32))
    optimize(g.build(g.sin(g.inputs[0])))
    assert len(calls) == 2 * manager.MAX_ROUNDS


def test_unchanged_graph_stops_after_one_round():
    g = G(((2,), F32))
    graph = g.build(g.sin(g.inputs[0]))
    optimized, stats = optimize(graph)
    assert optimized is graph
    assert [s["pass"] for s in stats] == NAMES


def test_every_pass_reaches_into_nested_graphs():
    inner = G(((3,), F32), name="body")
    (p,) = inner.inputs
    twice = inner.add(inner.sin(p), inner.sin(p))
    inner.exp(p)  # dead
    body = inner.build(inner.mul(twice, inner.add(inner.c(0.5), inner.c(0.5))))
    g = G(((3,), F32))
    (y,) = g.emit(CALL, g.inputs[0], body=body)
    graph = g.build(y)
    optimized, _ = optimize(graph)
    new_body = optimized.nodes[0].attrs["body"]
    assert [n.prim.name for n in new_body.nodes] == ["sin", "add"]
    assert evaluations_equal(graph, optimized, [np.float32([0.5, -2.0, 3.0])])


@gc.custom_vjp
def custom_sin(x):
    return gnp.sin(x)


custom_sin.defvjp(lambda x: (gnp.sin(x), gnp.cos(x)), lambda cos, g: (g * cos,))


def plus_custom_sin(x):
    return x + gnp.sin(x) * custom_sin(x)


@pytest.mark.parametrize("backend", ["reference", "llvm"])
def test_custom_rule_calls_are_inlined_before_the_optimizer(backend):
    """The pipeline's first step inlines custom-rule calls for every backend, so the optimizer
    merges the sin inside ``custom_sin`` with the user's."""
    x = np.linspace(0.1, 1.0, 5)
    concrete = gc.function(plus_custom_sin, backend=backend).concrete(x)
    names = [n.prim.name for n in concrete.graph.nodes]
    assert names.count("sin") == 1 and "custom_vjp_call" not in names
    assert concrete.stats()["passes"][0]["pass"] == "inline"
    np.testing.assert_allclose(concrete(x), x + np.sin(x) ** 2, rtol=1e-12)
    g = gc.function(gc.grad(lambda v: gnp.sum(plus_custom_sin(v))), backend=backend)(x)
    np.testing.assert_allclose(g, 1 + 2 * np.sin(x) * np.cos(x), rtol=1e-12)


def test_backend_passes_run_last_and_only_for_their_backend():
    llvm = gc.function(messy, backend="llvm").concrete(X)
    ref = gc.function(messy, backend="reference").concrete(X)
    assert llvm.stats()["passes"][-1]["pass"] == "fuse"
    assert "fuse" not in {s["pass"] for s in ref.stats()["passes"]}
    assert not any(n.prim.name == "fused" for n in llvm.graph.nodes)  # the optimized graph
    assert str(llvm.graph) == str(ref.graph)


def test_prepare_and_pipeline_stages_agree():
    graph = gc.make_graph(messy)(X)
    calls = []

    def count(g):
        calls.append(g)
        return g

    optimized, compiled, stats = prepare(graph, (("mine", count),))
    stages = pipeline_stages(graph, (("mine", count),))
    assert [name for name, _ in stages] == [s["pass"] for s in stats]
    assert stages[0][0] == "inline" and stages[-1][0] == "mine"
    assert str(stages[-1][1]) == str(optimized) == str(optimize(graph)[0])
    assert compiled is optimized and calls[0] is optimized and len(calls) == 2
    unoptimized, _, stats = prepare(graph, optimizing=False)
    assert [s["pass"] for s in stats] == ["inline"] and unoptimized is graph
