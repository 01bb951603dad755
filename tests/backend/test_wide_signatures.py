"""Signatures with many leaves (issue 9, item 7): the gradient of a 1,000-leaf pytree once spent
minutes in LLVM, on an entry whose code grew quadratically with the outputs and on fused kernels
with thousands of pointer parameters. Code size must not grow with the argument count, and the
results must stay right on every path of the entry (exact match, fallback, tuple of outputs)."""

import re

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.backend.llvm import entry, fusion
from graphc.ir import TensorType
from graphc.ops.call import fused
from graphc.trace.function import make_graph


def _entry_code(n_in: int, n_out: int) -> list[str]:
    """The instructions of ``graphc_entry`` for ``n_in`` inputs and ``n_out`` outputs of mixed
    shapes (its tables are data, not code)."""
    shapes = [(3,), (), (2, 5), (1,)]
    t = [TensorType(shapes[i % 4], np.dtype("float64")) for i in range(max(n_in, n_out))]
    text = entry.entry_ir(t[:n_in], t[:n_out], 256, False)
    body = text[text.index("define ptr @graphc_entry"):]
    return [line for line in body.splitlines() if line.startswith("  ")]


@pytest.mark.parametrize("n_out", [0, 1, 2])
def test_entry_code_does_not_grow_with_the_number_of_arguments(n_out):
    small = _entry_code(2, n_out if n_out < 2 else 2)
    large = _entry_code(1000, n_out if n_out < 2 else 1000)
    # the same instructions up to the constants in them (counts of inputs and outputs)
    norm = [re.sub(r"\b\d+\b", "N", line) for line in small]
    assert norm == [re.sub(r"\b\d+\b", "N", line) for line in large]
    assert len(small) < 200


def _wide_params(n, dtype=np.float64):
    rng = np.random.default_rng(n)
    shapes = [(3,), (4, 2), (), (5,)]
    return {f"p{i}": rng.standard_normal(shapes[i % 4]).astype(dtype) for i in range(n)}


def _wide_loss(p):
    return sum(gnp.sum(gnp.sin(w) * w) for w in p.values())


def test_gradient_of_a_thousand_leaf_pytree_is_right_on_every_entry_path():
    p = _wide_params(1000)
    g = gc.grad(_wide_loss)
    got = g(p)
    assert sorted(got) == sorted(p)  # (dicts flatten in key order, as in JAX)
    for k, w in p.items():
        np.testing.assert_allclose(got[k], np.cos(w) * w + np.sin(w), rtol=1e-13, atol=1e-15)
    # leaves the entry declines (strided, Fortran-ordered) go through the generic path
    odd = dict(p, p1=np.repeat(p["p1"], 2, axis=1)[:, ::2], p5=np.asfortranarray(p["p5"]))
    again = g(odd)
    for k in ("p1", "p5", "p999"):
        np.testing.assert_allclose(again[k], got[k], rtol=1e-13, atol=1e-15)


def test_a_thousand_outputs_come_back_in_order():
    p = _wide_params(1000, np.float32)
    out = gc.function(lambda p: {k: w * 2 + 1 for k, w in p.items()})(p)
    assert sorted(out) == sorted(p)
    for k, w in p.items():
        assert out[k].dtype == np.float32 and out[k].shape == w.shape
        np.testing.assert_array_equal(out[k], w * np.float32(2) + np.float32(1))


def test_fused_regions_read_a_bounded_number_of_operands():
    p = _wide_params(500)
    graph = make_graph(gc.grad(_wide_loss))(p)
    from graphc.passes import optimize

    out = fusion.fuse(optimize(graph)[0])
    sizes = [len(n.inputs) for n in out.nodes if n.prim is fused]
    assert sizes and max(sizes) <= fusion.FusionPolicy().max_operands
    # the limit splits wide regions, it does not stop fusion: regions still hold many ops
    assert max(len(n.attrs["body"].nodes) for n in out.nodes if n.prim is fused) >= 32
