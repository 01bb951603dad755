"""Every primitive in ``graphc.ops.REGISTRY``: its shape/dtype rule and its NumPy evaluation.

One ``Row`` per primitive (in ``prim_rows.py``) lists cases (operands, attributes and a reference
independent of the function the primitive wraps: see prim_table.py) and bad inputs its shape rule
must reject. Each case is checked three ways: the
shape rule's output type against the reference's shape and dtype, the eager evaluation (no trace),
and a traced graph run by the reference evaluator. ``test_every_primitive_has_a_row`` fails when a
new primitive has no row.
"""

from __future__ import annotations

import numpy as np
import oracles
import pytest
from prim_rows import ROWS
from prim_table import F32, T

import graphc  # noqa: F401  (importing graphc registers every primitive)
from graphc.backend.reference import evaluate
from graphc.errors import GraphcError, ShapeError
from graphc.ir import TensorType, verify
from graphc.ops import REGISTRY
from graphc.core import new_trace


def _all_cases():
    for name, row in ROWS.items():
        for i, case in enumerate(row.cases):
            yield pytest.param(name, case, row, id=f"{name}-{i}-{case!r}")


def _all_rejects():
    for name, row in ROWS.items():
        for i, (types, attrs, err) in enumerate(row.rejects):
            yield pytest.param(name, types, attrs, err, id=f"{name}-{i}")


def test_every_primitive_has_a_row():
    """``import graphc`` registers every primitive: ``graphc.ops`` imports each primitive module
    (``fused`` included), ``graphc.autodiff`` defines ``custom_vjp_call``."""
    missing = sorted(set(REGISTRY) - set(ROWS))
    assert not missing, (
        f"primitives without a test row: {missing}. Add a Row to ROWS in "
        "tests/ops/prim_rows.py "
        "with Cases (operands from gen(shape, dtype, domain), attributes, and a NumPy reference) "
        "covering 0-d, size-1 and broadcast shapes, plus the inputs its shape rule must reject"
    )
    unknown = sorted(set(ROWS) - set(REGISTRY))
    assert not unknown, f"test rows for primitives that do not exist: {unknown}"


def test_every_row_has_cases_and_dtypes_of_its_family():
    for name, row in ROWS.items():
        assert row.cases, name
        if REGISTRY[name].elementwise and name not in ("constant", "convert", "not", "and", "or"):
            assert any(a.ndim == 0 for c in row.cases for a in c.args), f"{name}: no 0-d case"


def _assert_matches(got, expected, row, case, what):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    if row.math:
        tol = oracles.bound(oracles.NUMPY_ULP, row.math, got.dtype)
        oracles.assert_ulp(got, row.math, case.args, got.dtype, tol, what)
    elif expected.dtype.kind == "f" and row.rtol:
        np.testing.assert_allclose(got, expected, rtol=row.rtol, atol=row.rtol, err_msg=what)
    else:  # bit for bit: NaN matches NaN, and the sign of zero counts
        np.testing.assert_array_equal(got, expected, err_msg=what)
        if expected.dtype.kind == "f":
            np.testing.assert_array_equal(np.signbit(got), np.signbit(expected), err_msg=what)


@pytest.mark.parametrize("name,case,row", list(_all_cases()))
def test_primitive_matches_reference(name, case, row):
    """Shape rule, eager evaluation and traced evaluation agree with the reference; a primitive
    with ``multiple_results`` has a reference returning a tuple."""
    prim = REGISTRY[name]
    expected = case.ref(*case.args)
    expected = (
        [np.asarray(e) for e in expected] if prim.multiple_results else [np.asarray(expected)]
    )
    out_types = prim.infer([TensorType.of(a) for a in case.args], **case.attrs)
    assert list(out_types) == [TensorType.of(e) for e in expected], f"shape rule says {out_types}"
    eager = prim(*case.args, **case.attrs)
    for got, want in zip(eager if prim.multiple_results else [eager], expected, strict=True):
        _assert_matches(got, want, row, case, "eager")
    with new_trace(name) as trace:
        ins = [trace.new_input(TensorType.of(a)) for a in case.args]
        outs = prim(*ins, **case.attrs)
        graph, _ = trace.graph(outs if prim.multiple_results else [outs])
    verify(graph)
    for got, want in zip(evaluate(graph, case.args), expected, strict=True):
        _assert_matches(got, want, row, case, "traced")


@pytest.mark.parametrize("name,types,attrs,err", list(_all_rejects()))
def test_shape_rule_rejects(name, types, attrs, err):
    with pytest.raises(err):
        REGISTRY[name].infer(types, **attrs)


def test_rejection_in_a_trace_names_op_shapes_and_line():
    prim = REGISTRY["add"]
    with new_trace("t") as trace:
        a = trace.new_input(T((3,), F32))
        b = trace.new_input(T((4,), F32))
        with pytest.raises(ShapeError) as info:
            prim(a, b)  # the reported line
    msg = str(info.value)
    assert "add" in msg and "(3,)" in msg and "(4,)" in msg
    assert "test_primitives.py:" in msg


def test_eager_rejection_is_a_graphc_error():
    with pytest.raises(GraphcError):
        REGISTRY["mul"](np.ones(3, np.float32), np.ones(2, np.float32))
