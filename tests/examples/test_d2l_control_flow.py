"""The D2L control-flow example (examples/d2l_control_flow.py) runs as written and its gradient
equals ``f(a) / a`` for positive, negative and tiny ``a`` in float32 and float64."""

import importlib.util
import pathlib

import numpy as np
import pytest

import graphc as gc

_PATH = pathlib.Path(__file__).parents[2] / "examples" / "d2l_control_flow.py"
_spec = importlib.util.spec_from_file_location("d2l_control_flow", _PATH)
d2l = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(d2l)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_is_c_over_a(dtype):
    rows = d2l.main(dtype=dtype)
    for a, c, g, ratio in rows:
        assert np.asarray(c).dtype == dtype and np.asarray(g).dtype == dtype
        np.testing.assert_allclose(c, d2l.f(a), rtol=1e-6)  # the same numbers as plain Python
        np.testing.assert_allclose(g, ratio, rtol=1e-6)
    assert [np.sign(a) for a, *_ in rows] == [1, -1, 1]


def test_the_loop_and_branch_are_single_nodes():
    graph = gc.make_graph(d2l.f)(np.float64(0.7))
    prims = [n.prim.name for n in graph.nodes]
    assert prims.count("while_loop") == 1 and prims.count("cond") == 1
    tiny, large = gc.grad(d2l.f)(np.float64(1e-6)), gc.grad(d2l.f)(np.float64(400.0))
    assert tiny == 2.0 ** 30 and large == 2.0 ** 2  # 29 doublings after a*2, and one
