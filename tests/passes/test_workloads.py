"""The pipeline on the gradient graphs of the benchmark workloads (../shared/BENCHMARKS.md):
W2 (elementwise chain), W3 (MLP train step), W6 (unrolled chain, n=100).

For each: the node counts before and after (printed with ``-s``), a minimum reduction, no two nodes
left that compute the same thing, and the optimized graph evaluating bit for bit like the traced
one.
"""

import numpy as np
import pytest
from passes_util import bits_equal, duplicate_nodes

import graphc as gc
import graphc.numpy as gnp
from graphc.backend.reference import evaluate
from graphc.ir import verify
from graphc.passes import optimize

if not hasattr(gc, "grad") or not hasattr(gc, "value_and_grad"):
    pytest.skip("gc.grad / gc.value_and_grad are not built yet", allow_module_level=True)

RNG = np.random.default_rng(0)


def w2(x):
    return gnp.sum(gnp.sin(x) * gnp.exp(-x * x) + 0.5 * gnp.tanh(x) + gnp.log1p(x * x))


def w2_grad_by_hand(x):
    e = np.exp(-x * x)
    return (np.cos(x) * e - 2 * x * np.sin(x) * e + 0.5 * (1 - np.tanh(x) ** 2)
            + 2 * x / (1 + x * x))


def w3_loss(params, x, y):
    h = gnp.maximum(x @ params["W1"] + params["b1"], 0.0)
    logits = h @ params["W2"] + params["b2"]
    m = gnp.max(logits, axis=1, keepdims=True)
    lse = gnp.log(gnp.sum(gnp.exp(logits - m), axis=1, keepdims=True)) + m
    return gnp.mean(gnp.sum(y * (lse - logits), axis=1))


def w3_step(params, x, y):
    loss, grads = gc.value_and_grad(w3_loss)(params, x, y)
    return {k: params[k] - 0.01 * grads[k] for k in params}, loss


def w6(x, n=100):
    for _ in range(n):
        x = x + 0.01 * gnp.sin(x) * x
    return gnp.sum(x)


def _w3_args():
    params = {"W1": RNG.standard_normal((784, 512)).astype(np.float32) * 0.05,
              "b1": np.zeros(512, np.float32),
              "W2": RNG.standard_normal((512, 10)).astype(np.float32) * 0.05,
              "b2": np.zeros(10, np.float32)}
    x = RNG.standard_normal((256, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 256)]
    return params, x, y


WORKLOADS = {
    # name: (function to trace, arguments, minimum fraction of nodes removed)
    "W2": (gc.grad(w2), (RNG.standard_normal(1000).astype(np.float32),), 0.4),
    "W3": (w3_step, _w3_args(), 0.12),
    # (the trace makes the constant 0.01 once and reverse mode emits no cotangent for it, so what
    # is left to remove is the gradient's seed: a broadcast 1 multiplied in, 6 of 1104 nodes)
    "W6": (gc.grad(w6), (RNG.standard_normal(1024).astype(np.float32),), 0.004),
}


def _ordered_dot(lhs, rhs, contracting, batch):
    """dot_general summing its products in one order whatever the operands' order and layout (the
    contracted elements in turn): ``simplify.transposed_dot`` exchanges a product's operands, and
    NumPy's einsum would add the same products in another order (BLAS blocking), so only this
    evaluation can check that rewrite bit for bit."""
    (lc, rc), (lb, rb) = contracting, batch
    lfree = [a for a in range(lhs.ndim) if a not in (*lc, *lb)]
    rfree = [a for a in range(rhs.ndim) if a not in (*rc, *rb)]
    nb, k = len(lb), int(np.prod([lhs.shape[a] for a in lc], dtype=np.int64))
    left = np.transpose(lhs, (*lb, *lfree, *lc))
    right = np.transpose(rhs, (*rb, *rfree, *rc))
    out_shape = left.shape[: nb + len(lfree)] + right.shape[nb : nb + len(rfree)]
    left = left.reshape(*left.shape[:nb], -1, 1, k)
    right = right.reshape(*right.shape[:nb], 1, -1, k)
    acc = np.zeros(np.broadcast_shapes(left.shape[:-1], right.shape[:-1]), lhs.dtype)
    for i in range(k):
        acc += left[..., i] * right[..., i]
    return acc.reshape(out_shape)


def _flat_args(args):
    from graphc.trace import pytree

    return pytree.flatten((args, {}))[0]


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_gradient_graph_shrinks_and_evaluates_the_same(name, monkeypatch):
    from graphc.ops.linalg import dot_general

    monkeypatch.setattr(dot_general, "impl", _ordered_dot)
    fun, args, min_removed = WORKLOADS[name]
    traced = gc.make_graph(fun)(*args)
    optimized, stats = optimize(traced)
    verify(optimized)
    before, after = traced.count_nodes(), optimized.count_nodes()
    print(f"\n{name}: {before} nodes traced -> {after} optimized "
          f"({sum(s['ms'] for s in stats):.1f} ms, {len(stats)} pass runs)")
    assert after <= (1 - min_removed) * before
    assert duplicate_nodes(optimized) == []
    flat = _flat_args(args)
    with np.errstate(all="ignore"):
        for a, b in zip(evaluate(traced, flat), evaluate(optimized, flat), strict=True):
            assert bits_equal(a, b)


def test_w2_gradient_is_right_and_has_no_redundant_node():
    fun, (x,), _ = WORKLOADS["W2"]
    optimized, _ = optimize(gc.make_graph(fun)(x))
    assert duplicate_nodes(optimized) == []
    names = [n.prim.name for n in optimized.nodes]
    # the forward sin, exp(-x*x) and tanh are reused by the backward part, not recomputed
    assert names.count("sin") == names.count("exp") == names.count("tanh") == 1
    assert "broadcast_in_dim" not in names  # the seed 1.0 of the reverse pass is folded away
    (g,) = evaluate(optimized, [x])
    np.testing.assert_allclose(g, w2_grad_by_hand(x.astype(np.float64)), rtol=2e-5, atol=2e-6)


def test_stats_of_a_compiled_gradient():
    fun, args, _ = WORKLOADS["W2"]
    stats = gc.function(fun, backend="reference").concrete(*args).stats()
    assert stats["passes"][0]["nodes_before"] == stats["nodes"]["traced"]
    assert stats["passes"][-1]["nodes_after"] == stats["nodes"]["optimized"]
    assert stats["nodes"]["optimized"] < stats["nodes"]["traced"]


def test_w3_matmul_gradients_need_no_transpose():
    """Reverse mode gives the weight gradients as a product then a transpose; the optimizer swaps
    the product's operands instead (``simplify.transposed_dot``), so no copy kernel is left."""
    from graphc.ops import shape as sh
    from graphc.ops.linalg import dot_general

    fun, args, _ = WORKLOADS["W3"]
    traced = gc.make_graph(fun)(*args)
    optimized, _ = optimize(traced)
    assert any(n.prim is sh.transpose for n in traced.nodes)
    assert not any(n.prim is sh.transpose for n in optimized.nodes)
    assert sum(n.prim is dot_general for n in optimized.nodes) == 5  # 2 forward, 3 backward
