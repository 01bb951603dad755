"""The pass shortcuts give what the plain way gives: the pass manager not re-running a pass that
another pass's change cannot give work (``manager._ENABLES``), simplify trying only the rules that
can apply to operands made by nothing telling, and the shape-rule fast paths."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from passes_util import F32, G
from test_properties import random_graphs

from graphc.errors import DTypeError, ShapeError
from graphc.ir import TensorType
from graphc.ops import elementwise as ew
from graphc.ops.broadcasting import broadcast_shapes
from graphc.passes import manager, optimize
from graphc.passes import simplify as simplify_module
from graphc.passes.cse import cse

SETTINGS = {"max_examples": 80, "deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@settings(**SETTINGS)
@given(random_graphs())
def test_cse_is_idempotent(case):
    graph, _ = case
    once = cse(graph)
    assert cse(once) is once


@settings(**SETTINGS)
@given(random_graphs())
def test_skipping_passes_that_have_no_new_work_changes_nothing(case):
    graph, _ = case
    skipping, _ = optimize(graph)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(manager, "_ENABLES", {})  # every change makes every pass run again
        plain, _ = optimize(graph)
    assert str(skipping) == str(plain)


@settings(**SETTINGS)
@given(random_graphs())
def test_simplify_trying_every_rule_gives_the_same_graph(case):
    graph, _ = case
    short = simplify_module.simplify(graph)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(simplify_module, "_any_made_by", lambda rw, values, prims: True)
        full = simplify_module.simplify(graph)
    assert str(short) == str(full)


def test_a_chain_needs_no_second_cse():
    g = G(((4,), F32))
    x = g.inputs[0]
    for _ in range(3):
        x = g.add(x, g.mul(g.c(0.5), g.sin(x)))
    _, stats = optimize(g.build(x))
    assert [s["pass"] for s in stats].count("cse") == 1


def test_broadcast_shapes_fast_paths_agree_with_numpy():
    pairs = [((3,), (3,)), ((), (2, 3)), ((2, 3), ()), ((), ()), ((1, 3), (2, 1)), ((3,), (2, 3))]
    for a, b in pairs:
        assert broadcast_shapes(a, b) == np.broadcast_shapes(a, b)
    with pytest.raises(ShapeError, match=r"\(2,\) and \(3,\)"):
        broadcast_shapes((2,), (3,))


def test_elementwise_shape_rule_of_equal_operands_still_checks_kinds():
    i32 = TensorType((3,), np.int32)
    with pytest.raises(DTypeError, match="sin needs floating"):
        ew.sin.infer([i32])
    f32 = TensorType((3,), F32)
    assert ew.less.infer([f32, f32]) == [TensorType((3,), np.bool_)]
    assert ew.add.infer([f32, TensorType((3,), F32)]) == [f32]
