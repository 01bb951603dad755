"""Algebraic simplification: each rewrite on a small graph, with and without fast_math.

Every case lists the primitives left after ``simplify`` + ``dce`` by default and under fast_math
(``SAME`` = the graph is unchanged). Graphs are evaluated before and after on inputs full of signed
zeros, infinities and NaNs: the default results must agree bit for bit (NaNs compared as NaNs).
"""

import numpy as np
import pytest
from passes_util import F32, F64, I32, G, bits_equal, evaluations_equal, prims

from graphc.ir import verify
from graphc.passes.dce import dce
from graphc.passes.manager import Options
from graphc.passes.simplify import simplify

SAME = object()
X = np.array([[-0.0, 0.0, np.inf], [-np.inf, np.nan, 1.5]], np.float32)
Y = np.array([-0.0, 2.0, np.nan], np.float32)
XI = np.array([[-3, 0, 7], [2, 1, -1]], np.int32)


def _xy(dtype=F32):
    g = G(((2, 3), dtype), ((3,), dtype))
    return g, *g.inputs


# Each builder returns (graph, args).
def mul_one_right():
    g, x, _ = _xy()
    return g.build(g.mul(x, g.c(1.0))), [X, Y]


def mul_one_splat_left():
    g, x, _ = _xy()
    return g.build(g.mul(g.splat(1.0, (2, 3)), x)), [X, Y]


def mul_one_broadcasts_the_other_operand():
    g, _, y = _xy()
    return g.build(g.mul(y, g.splat(1.0, (2, 3)))), [X, Y]


def add_neg_zero():
    g, x, _ = _xy()
    return g.build(g.add(g.c(-0.0), x)), [X, Y]


def add_pos_zero():
    g, x, _ = _xy()
    return g.build(g.add(x, g.c(0.0))), [X, Y]


def add_int_zero():
    g, x, _ = _xy(I32)
    return g.build(g.add(x, g.c(0, I32))), [XI, XI[0]]


def sub_pos_zero():
    g, x, _ = _xy()
    return g.build(g.sub(x, g.splat(0.0, (3,)))), [X, Y]


def sub_neg_zero():
    g, x, _ = _xy()
    return g.build(g.sub(x, g.c(-0.0))), [X, Y]


def neg_zero_minus_x():
    g, x, _ = _xy()
    return g.build(g.sub(g.c(-0.0), x)), [X, Y]


def pos_zero_minus_x():
    g, x, _ = _xy()
    return g.build(g.sub(g.c(0.0), x)), [X, Y]


def sub_of_neg():
    g, x, y = _xy()
    return g.build(g.sub(x, g.neg(y))), [X, Y]


def add_of_neg():
    g, x, y = _xy()
    return g.build(g.add(g.neg(y), x)), [X, Y]


def sub_self():
    g, x, _ = _xy()
    return g.build(g.sub(x, x)), [X, Y]


def sub_self_int():
    g, x, _ = _xy(I32)
    return g.build(g.sub(x, x)), [XI, XI[0]]


def mul_zero():
    g, x, _ = _xy()
    return g.build(g.mul(x, g.c(0.0))), [X, Y]


def mul_zero_int():
    g, x, _ = _xy(I32)
    return g.build(g.mul(g.c(0, I32), x)), [XI, XI[0]]


def mul_neg_neg():
    g, x, y = _xy()
    return g.build(g.mul(g.neg(x), g.neg(y))), [X, Y]


def mul_neg_hoisted():
    g, x, y = _xy()
    return g.build(g.mul(g.neg(x), y)), [X, Y]


def div_by_neg_hoisted():
    g, x, y = _xy()
    return g.build(g.div(x, g.neg(y))), [X, Y]


def div_one():
    g, x, _ = _xy()
    return g.build(g.div(x, g.c(1.0))), [X, Y]


def pow_one():
    g, x, _ = _xy()
    return g.build(g.pow(x, g.c(1.0))), [X, Y]


def pow_two():
    g, x, _ = _xy()
    return g.build(g.pow(x, g.c(2.0))), [X, Y]


def neg_neg():
    g, x, _ = _xy()
    return g.build(g.neg(g.neg(x))), [X, Y]


def neg_neg_neg():
    g, x, _ = _xy()
    return g.build(g.neg(g.neg(g.neg(x)))), [X, Y]


def exp_log():
    g, x, _ = _xy()
    return g.build(g.exp(g.log(x))), [X, Y]


def log_exp():
    g, x, _ = _xy()
    return g.build(g.log(g.exp(x))), [X, Y]


def convert_same():
    g, x, _ = _xy()
    return g.build(g.convert(x, dtype=F32)), [X, Y]


def convert_other():
    g, x, _ = _xy()
    return g.build(g.convert(x, dtype=F64)), [X, Y]


def select_true():
    g, x, y = _xy()
    return g.build(g.select(g.splat(True, (2, 3), np.bool_), y, x)), [X, Y]


def select_false():
    g, x, y = _xy()
    return g.build(g.select(g.c(False, np.bool_), y, x)), [X, Y]


def select_same_branches():
    g, x, y = _xy()
    return g.build(g.select(g.lt(x, y), y, y)), [X, Y]


def transpose_twice_identity():
    g, x, _ = _xy()
    return g.build(g.transpose(g.transpose(x, perm=(1, 0)), perm=(1, 0))), [X, Y]


def transpose_twice_composes():
    g = G(((2, 3, 4), F32))
    (x,) = g.inputs
    t = g.transpose(g.transpose(x, perm=(1, 2, 0)), perm=(1, 2, 0))
    args = [np.arange(24, dtype=np.float32).reshape(2, 3, 4)]
    return g.build(t), args


def transpose_identity():
    g, x, _ = _xy()
    return g.build(g.transpose(x, perm=(0, 1))), [X, Y]


def _product(lead=(), free_a=(4,), free_b=(5,)):
    """g, a, b and dot_general(a, b) over one contracting axis of 3 (batch axes ``lead``)."""
    nb = len(lead)
    g = G(((*lead, *free_a, 3), F32), ((*lead, 3, *free_b), F32))
    a, b = g.inputs
    contracting = ((nb + len(free_a),), (nb,))
    d = g.dot_general(a, b, contracting=contracting, batch=(tuple(range(nb)),) * 2)
    rng = np.random.default_rng(1)
    args = [rng.standard_normal(v.shape).astype(np.float32) for v in g.inputs]
    return g, a, b, d, args


def transposed_product():
    g, _, _, d, args = _product()
    return g.build(g.transpose(d, perm=(1, 0))), args


def transposed_batched_product():
    g, _, _, d, args = _product(lead=(2,))
    return g.build(g.transpose(d, perm=(0, 2, 1))), args


def transposed_product_of_matrices_in_groups():
    """Free groups of two axes each: the transpose moves b's group before a's."""
    g, _, _, d, args = _product(free_a=(2, 3), free_b=(4, 2))
    return g.build(g.transpose(d, perm=(2, 3, 0, 1))), args


def transposed_product_in_one_group_stays():
    """A permutation within a's free axes is no exchange of the groups."""
    g, _, _, d, args = _product(free_a=(2, 4))
    return g.build(g.transpose(d, perm=(1, 0, 2))), args


def transposed_product_also_read_stays():
    """The product is read elsewhere too: the swap would compute it twice."""
    g, _, _, d, args = _product()
    return g.build(g.transpose(d, perm=(1, 0)), d), args


def transposed_product_read_by_dead_code():
    """A read by a node nothing uses does not count (dce removes it)."""
    g, _, _, d, args = _product()
    g.neg(d)
    return g.build(g.transpose(d, perm=(1, 0))), args


def reshape_chain():
    g, x, _ = _xy()
    return g.build(g.reshape(g.reshape(x, shape=(6,)), shape=(3, 2))), [X, Y]


def reshape_round_trip():
    g, x, _ = _xy()
    return g.build(g.reshape(g.reshape(x, shape=(6,)), shape=(2, 3))), [X, Y]


def broadcast_same_shape():
    g, x, _ = _xy()
    return g.build(g.broadcast_in_dim(x, shape=(2, 3), dims=(0, 1))), [X, Y]


def broadcast_twice():
    g, _, y = _xy()
    b = g.broadcast_in_dim(y, shape=(2, 3), dims=(1,))
    return g.build(g.broadcast_in_dim(b, shape=(4, 2, 3), dims=(1, 2))), [X, Y]


def broadcast_only_size_one_axes():
    g, _, y = _xy()
    return g.build(g.broadcast_in_dim(y, shape=(1, 3, 1), dims=(1,))), [X, Y]


def slice_of_slice():
    g = G(((7, 9), F32))
    (x,) = g.inputs
    a = g.slice_(x, start=(1, 2), limit=(7, 9), strides=(2, 1))
    b = g.slice_(a, start=(1, 1), limit=(3, 7), strides=(1, 3))
    return g.build(b), [np.arange(63, dtype=np.float32).reshape(7, 9)]


def slice_everything():
    g, x, _ = _xy()
    return g.build(g.slice_(x, start=(0, 0), limit=(2, 3), strides=(1, 1))), [X, Y]


def sum_no_axes():
    g, x, _ = _xy()
    return g.build(g.reduce_sum(x, axes=())), [X, Y]


def sum_size_one_axes():
    g = G(((2, 1, 3), F32))
    return g.build(g.reduce_sum(g.inputs[0], axes=(1,))), [X.reshape(2, 1, 3)]


def sum_size_one_axes_int():
    g = G(((2, 1, 3), I32))
    return g.build(g.reduce_sum(g.inputs[0], axes=(1,))), [XI.reshape(2, 1, 3)]


def max_size_one_axes():
    g = G(((2, 1, 3), F32))
    return g.build(g.reduce_max(g.inputs[0], axes=(1,))), [X.reshape(2, 1, 3)]


def scalar_broadcast_operand_shrinks():
    g = G(((2, 3), F32), ((), F32))
    x, s = g.inputs
    return g.build(g.mul(x, g.broadcast_in_dim(s, shape=(2, 3), dims=()))), [X, np.float32(-0.0)]


def leading_axis_broadcast_stays():
    g = G(((2, 3), F32), ((2,), F32))
    x, s = g.inputs
    b = g.broadcast_in_dim(s, shape=(2, 3), dims=(0,))
    return g.build(g.mul(x, b)), [X, np.float32([2.0, -0.0])]


def uniform_constant_becomes_splat():
    g = G()
    return g.build(g.c(np.full((2, 3), 3.0, np.float32))), []


def stop_gradient_stays():
    g, x, _ = _xy()
    return g.build(g.stop_gradient(x)), [X, Y]


CASES = [
    # (builder, default result, fast_math result)
    (mul_one_right, [], SAME),
    (mul_one_splat_left, [], SAME),
    (mul_one_broadcasts_the_other_operand, ["broadcast_in_dim"], SAME),
    (add_neg_zero, [], SAME),
    (add_pos_zero, SAME, []),
    (add_int_zero, [], SAME),
    (sub_pos_zero, [], SAME),
    (sub_neg_zero, SAME, []),
    (neg_zero_minus_x, ["neg"], SAME),
    (pos_zero_minus_x, SAME, ["neg"]),
    (sub_of_neg, ["add"], SAME),
    (add_of_neg, ["sub"], SAME),
    (sub_self, SAME, ["constant", "broadcast_in_dim"]),
    (sub_self_int, ["constant", "broadcast_in_dim"], SAME),
    (mul_zero, SAME, ["constant", "broadcast_in_dim"]),
    (mul_zero_int, ["constant", "broadcast_in_dim"], SAME),
    (mul_neg_neg, ["mul"], SAME),
    (mul_neg_hoisted, ["mul", "neg"], SAME),
    (div_by_neg_hoisted, ["div", "neg"], SAME),
    (div_one, [], SAME),
    (pow_one, [], SAME),
    (pow_two, SAME, ["mul"]),
    (neg_neg, [], SAME),
    (neg_neg_neg, ["neg"], SAME),
    (exp_log, SAME, []),
    (log_exp, SAME, []),
    (convert_same, [], SAME),
    (convert_other, SAME, SAME),
    (select_true, ["broadcast_in_dim"], SAME),
    (select_false, [], SAME),
    (select_same_branches, ["broadcast_in_dim"], SAME),
    (transpose_twice_identity, [], SAME),
    (transpose_twice_composes, ["transpose"], SAME),
    (transpose_identity, [], SAME),
    (transposed_product, ["dot_general"], SAME),
    (transposed_batched_product, ["dot_general"], SAME),
    (transposed_product_of_matrices_in_groups, ["dot_general"], SAME),
    (transposed_product_in_one_group_stays, SAME, SAME),
    (transposed_product_also_read_stays, SAME, SAME),
    (transposed_product_read_by_dead_code, ["dot_general"], SAME),
    (reshape_chain, ["reshape"], SAME),
    (reshape_round_trip, [], SAME),
    (broadcast_same_shape, [], SAME),
    (broadcast_twice, ["broadcast_in_dim"], SAME),
    (broadcast_only_size_one_axes, ["reshape"], SAME),
    (slice_of_slice, ["slice"], SAME),
    (slice_everything, [], SAME),
    (sum_no_axes, ["constant", "add"], []),
    (sum_size_one_axes, ["reshape", "constant", "add"], ["reshape"]),
    (sum_size_one_axes_int, ["reshape"], SAME),
    (max_size_one_axes, ["reshape"], SAME),
    (scalar_broadcast_operand_shrinks, ["mul"], SAME),
    (leading_axis_broadcast_stays, SAME, SAME),
    (uniform_constant_becomes_splat, ["constant", "broadcast_in_dim"], SAME),
    (stop_gradient_stays, SAME, SAME),
]


def _run(graph, fast):
    out = dce(simplify(graph, Options(fast_math=fast)))
    verify(out)
    return out


@pytest.mark.parametrize("build, default, fast", CASES, ids=[c[0].__name__ for c in CASES])
def test_rewrite(build, default, fast):
    graph, args = build()
    for fast_math, expected in ((False, default), (True, default if fast is SAME else fast)):
        out = _run(graph, fast_math)
        if expected is SAME:
            assert prims(out) == prims(graph), f"fast_math={fast_math}"
        else:
            assert prims(out) == expected, f"fast_math={fast_math}"
    assert evaluations_equal(graph, _run(graph, False), args)


def test_identity_rewrites_return_the_operand_itself():
    graph, _ = neg_neg()
    out = _run(graph, False)
    assert out.outputs == [graph.inputs[0]] and out.nodes == []


def test_composed_transpose_has_the_right_permutation():
    graph, args = transpose_twice_composes()
    out = _run(graph, False)
    assert out.nodes[0].attrs["perm"] == (2, 0, 1)
    assert evaluations_equal(graph, out, args)


@pytest.mark.parametrize("build", [transposed_product, transposed_batched_product])
def test_transposed_product_swaps_the_operands(build):
    graph, args = build()
    (dot,) = _run(graph, False).nodes
    a, b = graph.inputs
    assert dot.inputs == (b, a)
    nb = len(a.shape) - 2
    assert dot.attrs["contracting"] == ((nb,), (nb + 1,))


def test_transposed_product_through_the_pipeline_leaves_no_transpose():
    """A transpose that reads the product only once a rewrite removed what stood between them
    (here a multiplication by one) is swapped in the next round of the optimizer."""
    from graphc.passes import optimize

    g, a, b, d, args = _product()
    graph = g.build(g.transpose(g.mul(d, g.c(1.0)), perm=(1, 0)))
    out, _ = optimize(graph)
    assert prims(out) == ["dot_general"] and out.nodes[0].inputs == (b, a)
    assert evaluations_equal(graph, out, args)


def test_fast_math_results_stay_close_on_finite_inputs():
    g, x, y = _xy()
    e = g.exp(g.log(g.add(g.mul(x, x), g.c(1.0))))
    z = g.add(g.mul(g.sub(e, e), y), g.add(e, g.c(0.0)))
    graph = g.build(z)
    args = [np.float32([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]]), np.float32([1.0, -2.0, 0.5])]
    out = _run(graph, True)
    assert len(out.nodes) < len(graph.nodes)
    from graphc.backend.reference import evaluate

    np.testing.assert_allclose(evaluate(out, args)[0], evaluate(graph, args)[0], rtol=1e-6)


def test_simplify_changes_nothing_returns_the_same_graph():
    graph, _ = leading_axis_broadcast_stays()
    assert simplify(graph, Options()) is graph
    assert bits_equal(np.float32(-0.0), np.float32(-0.0))
