"""The plan (graphc/backend/llvm/plan.py): golden plans of small graphs and of the examples, each
decision (vector width, math mode, threads, blocking, call style, shared code) read from the plan
rather than grepped from LLVM text, and the text the renderer prints from it."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc.backend.llvm.fusion import fuse
from graphc.backend.llvm.lower import lower_graph, render
from graphc.backend.llvm.plan import Kernel, backend_plan, plan_graph
from graphc.backend.llvm.tuning import Tuning
from graphc.cli import load_target, parse_spec
from graphc.errors import GraphcError
from graphc.ir import Builder, TensorType
from graphc.ops import elementwise as ew
from graphc.ops import reduce as red
from graphc.ops import shape as sh
from graphc.ops.linalg import dot_general

F32 = np.dtype("float32")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _chain(n, prims):
    """A graph applying ``prims`` in turn to one f32[n] input; returns (builder, input, result)."""
    b = Builder("chain")
    x = v = b.add_input(TensorType((n,), F32))
    for p in prims:
        (v,) = b.emit(p, [v], {})
    return b, x, v


def _plan(graph, **tuning) -> str:
    return str(plan_graph(fuse(graph), Tuning(**tuning)))


def _grad_chain(n):
    def f(x):
        for _ in range(n):
            x = x + 0.01 * gnp.sin(x) * x
        return gnp.sum(x)

    return gc.grad(f)


def _example_plan(target, specs, grad=None) -> str:
    fun = load_target(os.path.join(ROOT, target))
    if grad is not None:
        fun = gc.value_and_grad(fun, argnums=grad)
    graph = gc.function(fun).concrete(*[parse_spec(s) for s in specs]).graph
    return str(backend_plan(graph, Tuning()))


def _cases():
    b, x, v = _chain(1000, (ew.exp, ew.sin))
    yield "inline_and_copy", _plan(b.build([v, x]))
    b, x, v = _chain(1000, (ew.exp, ew.sin, ew.cos, ew.tanh, ew.exp, ew.sin, ew.cos))
    yield "wrapped_math", _plan(b.build([v]))
    b, x, v = _chain((1 << 16) + 5, (ew.exp, ew.sin))
    yield "threads", _plan(b.build([v]), threads=2)
    b = Builder("g")
    x = b.add_input(TensorType((100,), F32))
    v, outs = x, []
    for _ in range(5):
        (v,) = b.emit(ew.sin, [v], {})
        (v,) = b.emit(ew.add, [v, x], {})
        (w,) = b.emit(red.reduce_sum, [v], {"axes": (0,)})
        outs.append(w)
    yield "table_calls_shared_code", _plan(b.build(outs), direct_calls_max=2)
    b = Builder("m")
    a = b.add_input(TensorType((96, 96), F32))
    w = b.add_input(TensorType((96, 96), F32))
    (y,) = b.emit(dot_general, [a, w], {"contracting": ((1,), (1,)), "batch": ((), ())})
    yield "dot_panels", _plan(b.build([y]))
    yield "example_loss", _example_plan("examples/loss.py:loss", ["f32[2,3]", "f32[2,3]"])
    mlp = ["f32[4,8]", "f32[8]", "f32[8,1]", "f32[1]", "f32[16,4]", "f32[16,1]"]
    yield "example_mlp_grad", _example_plan("examples/mlp.py:mlp_loss", mlp, grad=(0, 1, 2, 3))


#: Regenerate with ``python -m tests.backend.test_plan`` (and check each change by eye).
GOLDEN = {
    "inline_and_copy": """\
program: 2 kernels, workspace 0 bytes, calls direct
  k0_fused  region (1000,)  in arg0 -> arg1  lanes 16  math inline
  k1_copy  copy (1000,)  in arg0 -> arg2  lanes 16
""",
    "wrapped_math": """\
program: 1 kernel, workspace 0 bytes, calls direct
  k0_fused  region (1000,)  in arg0 -> arg1  scalar  math wrapped
""",
    "threads": """\
program: 1 kernel, workspace 0 bytes, calls direct
  k0_fused  region (65541,)  in arg0 -> arg1  lanes 16  math inline  threads 2 chunks 0-512,512-1024,1024-1536,1536-2048,2048-2560,2560-3072,3072-3584,3584-4096
""",
    "table_calls_shared_code": """\
program: 5 kernels, workspace 896 bytes, calls table
  k0_fused  reduce (100,)  in arg0 -> arg1 ws@0  scalar  math inline
  k1_fused  reduce (100,)  in ws@0 arg0 -> arg2 ws@448  scalar  math inline
  k2_fused  reduce (100,)  in ws@448 arg0 -> arg3 ws@0  scalar  math inline  same code as k1_fused
  k3_fused  reduce (100,)  in ws@0 arg0 -> arg4 ws@448  scalar  math inline  same code as k1_fused
  k4_reduce_sum  reduce (100,)  in ws@448 -> arg5  scalar
""",
    "dot_panels": """\
program: 1 kernel, workspace 36864 bytes, calls direct
  k0_dot_general  dot (96, 96)  in arg0 arg1 -> arg2  temps ws@0+36864  scalar
""",
    "example_loss": """\
program: 1 kernel, workspace 0 bytes, calls direct
  k0_fused  reduce (2, 3)  in arg0 arg1 -> arg2  scalar
""",
    "example_mlp_grad": """\
program: 10 kernels, workspace 2048 bytes, calls table
  k0_dot_general  dot (16, 8)  in arg4 arg0 -> ws@0  scalar
  k1_fused  region (16, 8)  in ws@0 arg1 -> ws@512 ws@1024  scalar  math inline
  k2_dot_general  dot (16, 1)  in ws@512 arg2 -> ws@0  scalar
  k3_fused  reduce (16, 1)  in ws@0 arg3 arg5 -> ws@64 ws@128  scalar
  k4_fused  region ()  in ws@64 -> arg6  scalar
  k5_reduce_sum  reduce (16, 1)  in ws@128 -> arg10  scalar
  k6_dot_general  dot (16, 8)  in ws@128 arg2 -> ws@1536  scalar
  k7_dot_general  dot (8, 1)  in ws@512 ws@128 -> arg9  scalar
  k8_fused  reduce (16, 8)  in ws@1536 ws@1024 -> ws@0 arg8  scalar
  k9_dot_general  dot (4, 8)  in arg4 ws@0 -> arg7  scalar
""",
}


@pytest.fixture(scope="module")
def plans() -> dict:
    return dict(_cases())


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_plans(plans, name):
    assert plans[name] + "\n" == GOLDEN[name]


def test_blocked_program_plan():
    """A long elementwise gradient chain runs chunk by chunk: every kernel is ranged over the same
    64 vector blocks, the layout's chunks cover them, and the workspace is the layout's."""
    x = np.ones(1031, np.float32)
    graph = gc.function(_grad_chain(12)).concrete(x).graph
    program = backend_plan(graph, Tuning(block_min_workspace=0, block_vectors=8))
    assert program.calls == "chunks" and len(program.steps) >= 2
    lay = program.layout
    assert lay.chunks[0][0] == 0 and lay.chunks[-1][1] == 64 and len(lay.chunks) == 8
    assert program.workspace == lay.workspace
    for k in program.steps:
        assert k.split.ranged and k.split.blocks == 64 and k.split.threads == 1
    assert "calls chunks (8 chunks of 8 vectors)" in str(program).splitlines()[0]
    unblocked = backend_plan(graph, Tuning(block_min_workspace=0, block_vectors=0))
    assert unblocked.calls == "direct" and unblocked.layout is None
    assert not any(k.split.ranged for k in unblocked.steps)


def test_render_reads_only_the_plan():
    """``lower_graph`` is ``render(plan_graph(...))``; a plan rendered twice gives the same text."""
    b, x, v = _chain(1000, (ew.exp, ew.sin))
    graph = fuse(b.build([v, x]))
    program = plan_graph(graph, Tuning())
    assert render(program).ir == render(program).ir == lower_graph(graph).ir
    assert all(isinstance(k, Kernel) for k in program.steps)
    with pytest.raises(AttributeError):
        program.steps[0].lanes = 8  # frozen records


def test_a_plan_that_contradicts_its_graph_names_the_node():
    """A kernel planned with vector lanes for a region that is not flat fails as a GraphcError
    naming the node, not as broken IR."""
    b = Builder("t")
    x = b.add_input(TensorType((40, 30), F32))
    (y,) = b.emit(sh.transpose, [x], {"perm": (1, 0)})
    program = plan_graph(b.build([y]), Tuning())
    (k,) = program.steps
    assert k.lanes is None
    bad = dataclasses.replace(program, steps=(dataclasses.replace(k, lanes=16),))
    with pytest.raises(GraphcError, match="transpose"):
        render(bad)


if __name__ == "__main__":
    for name, text in _cases():
        print(f'    "{name}": """\\\n{text}\n""",')
