"""``graphc.ops.call``: primitives that compute a nested graph, and ``inline_calls``."""

import numpy as np
import pytest

from graphc.backend.reference import evaluate
from graphc.errors import GraphcError
from graphc.ir import Builder, TensorType, verify
from graphc.ops import elementwise as ew
from graphc.ops.call import call_primitive, inline_calls

F32 = np.dtype(np.float32)
T3, T2 = TensorType((3,), F32), TensorType((2,), F32)

# Not registered: the registry's completeness tests want a row for every registered primitive.
INLINED = call_primitive("test_inlined_call", "body")
KEPT = call_primitive("test_kept_call", "body", inline=False)


def _body():
    """(x, y) -> (x * y, x + y)."""
    b = Builder("body")
    x, y = b.add_input(T3), b.add_input(T3)
    (p,) = b.emit(ew.mul, [x, y], {})
    (s,) = b.emit(ew.add, [x, y], {})
    return b.build([p, s])


def _caller(prim):
    b = Builder("caller")
    x = b.add_input(T3)
    p, s = b.emit(prim, [x, x], {"body": _body()})
    (out,) = b.emit(ew.sub, [p, s], {})
    return b.build([out])


def test_shape_rule_is_the_nested_graphs():
    assert INLINED.infer([T3, T3], body=_body()) == [T3, T3]
    with pytest.raises(GraphcError, match=r"test_inlined_call: operand types .* body graph"):
        INLINED.infer([T3, T2], body=_body())


@pytest.mark.parametrize("prim", [INLINED, KEPT], ids=["inlined", "kept"])
def test_evaluation_runs_the_nested_graph(prim):
    x = np.array([1.0, 2.0, 3.0], F32)
    (got,) = evaluate(_caller(prim), [x])
    np.testing.assert_array_equal(got, x * x - (x + x))


def test_inline_calls_replaces_only_inlinable_calls():
    x = np.array([0.5, -2.0, 4.0], F32)
    inlined = inline_calls(_caller(INLINED))
    verify(inlined)
    assert [n.prim for n in inlined.nodes] == [ew.mul, ew.add, ew.sub]
    np.testing.assert_array_equal(evaluate(inlined, [x])[0], x * x - (x + x))
    kept = _caller(KEPT)
    assert inline_calls(kept) is kept
