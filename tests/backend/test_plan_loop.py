"""Hand-built plans holding ``Loop`` and ``Cond`` steps (the shape control flow lowers to): each
body is itself a ``Program`` with its own workspace region; they render, compile and run with the
right numbers."""

from __future__ import annotations

import numpy as np
import pytest

from graphc.backend.llvm import compile_lowered
from graphc.backend.llvm.lower import render
from graphc.backend.llvm.plan import Buffer, Cond, Kernel, Loop, Program
from graphc.ir import Builder, TensorType
from graphc.ops import elementwise as ew

N = 1003  # a scalar tail after the vector blocks
T = TensorType((N,), np.dtype("float32"))
BYTES = N * 4
WS = -(-BYTES // 64) * 64


def _add_node():
    """An ``add`` node of two f32[N] values (its records say which buffers they live in)."""
    b = Builder("add")
    a, c = b.add_input(T), b.add_input(T)
    b.emit(ew.add, [a, c], {})
    return b.build([]).nodes[0]


def _signature(*extra):
    """A graph with the compiled program's signature: f32[N] (and ``extra`` inputs) -> f32[N]."""
    b = Builder("hand")
    x = b.add_input(T)
    for t in extra:
        b.add_input(t)
    (y,) = b.emit(ew.add, [x, x], {})
    return b.build([y])


def _add(name, node, a, c, out) -> Kernel:
    reads = ((node.inputs[0], a), (node.inputs[1], c))
    return Kernel(name, "region", node, node, (N,), reads, ((node.outputs[0], out),), lanes=16)


def _copy(name, v, src, dst) -> Kernel:
    return Kernel(name, "copy", None, None, (N,), ((v, src),), ((v, dst),), lanes=16)


@pytest.mark.parametrize("calls", ["direct", "table"])
@pytest.mark.parametrize("count", [1, 4, 17])
def test_counted_loop_sums_a_vector(calls, count):
    """out = x; then ``count`` times: t = out + x (t in the loop body's workspace); out = t."""
    node = _add_node()
    x, out = Buffer("arg", BYTES, slot=0), Buffer("arg", BYTES, slot=1)
    t = Buffer("ws", BYTES, offset=0)
    body = Program(
        (_add("k1_add", node, out, x, t), _copy("k2_copy", node.outputs[0], t, out)),
        n_args=2, workspace=WS, calls=calls,
    )
    program = Program(
        (_copy("k0_copy", node.inputs[0], x, out), Loop(count, body, offset=64)),
        n_args=2, workspace=64 + WS,
    )
    text = str(program)
    assert f"loop {count} times, workspace at 64:" in text and "k1_add  region" in text
    lowered = render(program)
    assert lowered.workspace_bytes == 64 + WS
    xv = np.random.default_rng(count).standard_normal(N).astype(np.float32)
    (got,) = compile_lowered(_signature(), lowered)(xv)
    want = xv.copy()
    for _ in range(count):
        want = want + xv
    np.testing.assert_array_equal(got, want)


def test_nested_loops():
    """A loop in a loop: 3 * 5 additions."""
    node = _add_node()
    x, out = Buffer("arg", BYTES, slot=0), Buffer("arg", BYTES, slot=1)
    inner = Program((_add("k1_add", node, out, x, out),), n_args=2, workspace=0)
    outer = Program((Loop(5, inner),), n_args=2, workspace=0)
    program = Program((_copy("k0_copy", node.inputs[0], x, out), Loop(3, outer)), 2, 0)
    xv = np.linspace(-1, 1, N, dtype=np.float32)
    (got,) = compile_lowered(_signature(), render(program))(xv)
    want = xv.copy()
    for _ in range(15):
        want = want + xv
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("flag", [True, False])
def test_cond_runs_one_branch(flag):
    """out = x + x when the bool argument is true, else out = x."""
    node = _add_node()
    x, f, out = (Buffer("arg", BYTES, slot=0), Buffer("arg", 1, slot=1),
                 Buffer("arg", BYTES, slot=2))
    then = Program((_add("k0_add", node, x, x, out),), n_args=3, workspace=0)
    orelse = Program((_copy("k1_copy", node.inputs[0], x, out),), n_args=3, workspace=0)
    program = Program((Cond(f, then, orelse),), n_args=3, workspace=0)
    assert "if arg1, workspace at 0:" in str(program) and "else:" in str(program)
    xv = np.random.default_rng(5).standard_normal(N).astype(np.float32)
    sig = _signature(TensorType((), np.dtype("bool")))
    (got,) = compile_lowered(sig, render(program))(xv, np.bool_(flag))
    np.testing.assert_array_equal(got, xv + xv if flag else xv)
