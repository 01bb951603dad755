"""The typed IR: text form (golden), the verifier catching broken graphs, builder, inline, literals
and tensor types."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import graphc as gc
from graphc.backend.reference import evaluate
from graphc.ir import Builder, Graph, Literal, Node, TensorType, Value, VerifyError, inline, verify
from graphc.ops import REGISTRY

F32 = np.dtype(np.float32)


def loss(w, x):
    y = np.tanh(x @ w)
    return (y * y).mean()


LINE = inspect.getsourcelines(loss)[1]
GOLDEN = f"""\
graph loss(%0: f32[3,2], %1: f32[4,3]) {{
  %2: f32[4,2] = dot_general[batch=((), ()), contracting=((1,), (0,))] %1, %0  # test_ir_graph.py:{LINE + 1}
  %3: f32[4,2] = tanh %2                                  # test_ir_graph.py:{LINE + 1}
  %4: f32[4,2] = mul %3, %3                               # test_ir_graph.py:{LINE + 2}
  %5: f32[] = reduce_sum[axes=(0, 1)] %4                  # test_ir_graph.py:{LINE + 2}
  %6: f32[] = constant[value=8.]                          # test_ir_graph.py:{LINE + 2}
  %7: f32[] = div %5, %6                                  # test_ir_graph.py:{LINE + 2}
  return %7
}}"""


def _graph():
    return gc.make_graph(loss)(np.ones((3, 2), np.float32), np.ones((4, 3), np.float32))


def test_text_form_golden():
    assert str(_graph()) == GOLDEN


def test_text_form_is_stable_across_traces():
    """Names are numbered per graph, so tracing again (with other values made in between) gives
    the same text."""
    first = str(_graph())
    gc.make_graph(lambda a: a + 1)(np.ones(5))
    assert str(_graph()) == first


def test_text_form_types_every_line_and_all_dtypes():
    def f(a, b, c, d, e):
        return a.sum(), b + 1, c * 2, d & e, (a > 0)

    g = gc.make_graph(f)(
        np.ones((2, 1), np.float32),
        np.ones(3),
        np.ones(4, np.int32),
        np.ones((), bool),
        np.ones((), bool),
    )
    text = str(g)
    assert "f32[2,1]" in text and "f64[3]" in text and "i32[4]" in text and "bool[]" in text
    for line in text.splitlines()[1:-2]:
        assert " = " in line and ":" in line.split(" = ")[0]


def test_verifier_accepts_traced_graphs():
    verify(_graph())


def _tiny():
    """inputs a, b: f32[3]; c = add a b; d = mul c a; return d"""
    b = Builder("tiny")
    x, y = b.add_input(TensorType((3,), F32)), b.add_input(TensorType((3,), F32))
    (c,) = b.emit(REGISTRY["add"], [x, y], {})
    (d,) = b.emit(REGISTRY["mul"], [c, x], {})
    return b.build([d])


def test_builder_graph_evaluates():
    g = _tiny()
    verify(g)
    (out,) = evaluate(g, [np.full(3, 2.0, np.float32), np.ones(3, np.float32)])
    np.testing.assert_array_equal(out, np.full(3, 6.0, np.float32))


def test_verifier_catches_use_before_def():
    g = _tiny()
    g.nodes.reverse()
    with pytest.raises(VerifyError, match="before it is defined"):
        verify(g)


def test_verifier_catches_wrong_output_type():
    g = _tiny()
    node = g.nodes[0]
    node.outputs = (Value(TensorType((3,), np.dtype(np.float64))),)
    with pytest.raises(VerifyError, match="shape rule says"):
        verify(g)


def test_verifier_catches_rejected_inputs_undefined_outputs_and_redefinition():
    g = _tiny()
    bad = Value(TensorType((4,), F32))
    g.inputs.append(bad)
    g.nodes[1] = Node(REGISTRY["mul"], (g.nodes[0].outputs[0], bad), {}, g.nodes[1].outputs)
    with pytest.raises(VerifyError, match="rejects"):
        verify(g)
    g = _tiny()
    g.outputs = [Value(TensorType((3,), F32))]
    with pytest.raises(VerifyError, match="not defined"):
        verify(g)
    g = _tiny()
    g.nodes.append(g.nodes[0])
    with pytest.raises(VerifyError, match="redefines"):
        verify(g)
    g = _tiny()
    g.inputs.append(g.inputs[0])
    with pytest.raises(VerifyError, match="twice"):
        verify(g)


def test_verifier_recurses_into_nested_graphs():
    """A call-like primitive (not registered) whose body graph is an attribute."""
    from graphc.core import Primitive

    call = Primitive(
        "call",
        infer=lambda types, body: body.out_types,
        impl=lambda *xs, body: evaluate(body, xs)[0],
    )
    inner = _tiny()
    b = Builder("outer")
    x = b.add_input(TensorType((3,), F32))
    (y,) = b.emit(call, [x, x], {"body": inner})
    outer = b.build([y])
    verify(outer)
    assert list(outer.subgraphs()) == [inner] and outer.count_nodes() == 3
    text = str(outer)
    assert "graph tiny(" in text and "    body:" in text
    inner.nodes.reverse()
    with pytest.raises(VerifyError, match="tiny"):
        verify(outer)


def test_builder_emit_locates_shape_errors():
    b = Builder("g")
    x, y = b.add_input(TensorType((3,), F32)), b.add_input(TensorType((4,), F32))
    from graphc.ir import SourceLoc

    with pytest.raises(gc.ShapeError, match=r"user.py:7: in add: .*\(3,\).*\(4,\)"):
        b.emit(REGISTRY["add"], [x, y], {}, SourceLoc("user.py", 7))


def test_inline_copies_a_graph_into_a_builder():
    g = _tiny()
    b = Builder("caller")
    p = b.add_input(TensorType((3,), F32))
    (out,) = inline(b, g, [p, p])
    caller = b.build([out])
    verify(caller)
    assert len(caller.nodes) == 2
    (res,) = evaluate(caller, [np.full(3, 3.0, np.float32)])
    np.testing.assert_array_equal(res, np.full(3, 18.0, np.float32))


def test_phase_marks_bwd_nodes_in_the_text():
    b = Builder("g")
    x = b.add_input(TensorType((2,), F32))
    with b.in_phase("bwd"):
        (y,) = b.emit(REGISTRY["neg"], [x], {})
    assert b.phase == "fwd"
    assert "# bwd" in str(b.build([y]))


def test_literal_hash_and_equality():
    a = Literal(np.array([1.0, 2.0], np.float32))
    assert a == Literal(np.array([1.0, 2.0], np.float32)) and hash(a) == hash(
        Literal([1.0, 2.0]).__class__(np.array([1.0, 2.0], np.float32))
    )
    assert a != Literal(np.array([1.0, 2.0], np.float64))  # dtype is part of the identity
    assert a != Literal(np.array([[1.0, 2.0]], np.float32))  # and shape
    src = np.zeros(2)
    lit = Literal(src)
    src[0] = 5  # a literal owns a read-only copy
    assert lit.array[0] == 0 and not lit.array.flags.writeable
    assert "elements" in repr(Literal(np.zeros(100)))


def test_tensor_type():
    t = TensorType((2, 0, 3), np.dtype(np.int64))
    assert str(t) == "i64[2,0,3]" and t.ndim == 3 and t.size == 0
    assert str(TensorType((), np.dtype(bool))) == "bool[]"
    assert TensorType.of(np.ones((1, 2), np.float32)) == TensorType((1, 2), F32)
    assert hash(t) == hash(TensorType((2, 0, 3), np.dtype(np.int64)))
    loose = TensorType([np.int64(2), 0, 3], np.int64)  # normalized to the canonical spelling
    assert loose == t and hash(loose) == hash(t) and str(loose) == "i64[2,0,3]"
    with pytest.raises(gc.DTypeError):
        TensorType((2,), np.float16)


def test_graph_counts_and_repr():
    g = _graph()
    assert g.count_nodes() == 6 and "6 nodes" in repr(g)
    assert g.in_types == [TensorType((3, 2), F32), TensorType((4, 3), F32)]
    assert g.out_types == [TensorType((), F32)]
    assert isinstance(g, Graph)
