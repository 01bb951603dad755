"""Control-flow primitives: nodes whose work is nested graphs held in their attributes.

``cond``: operands ``(pred, *operands)`` with ``pred`` a 0-d bool; attributes ``true_graph`` and
``false_graph``, two graphs that take the operands' types and return the same list of types; the
results are the outputs of the branch ``pred`` picks. Each branch takes everything it uses as
an input (a branch closing over an outer value gets it as an operand), so a branch is a graph
on its own that passes and backends can plan, optimize and compile like any other.

The shape rule and the NumPy evaluation are here; the derivative rules differentiate the branch
graphs, which needs the autodiff package above this one, so they are attached there.
"""

from __future__ import annotations

from ..core import define, evaluate
from ..dtypes import bool_
from ..errors import DTypeError, ShapeError


def _cond_infer(types, *, true_graph, false_graph):
    pred, *operands = types
    if pred.shape != () or pred.dtype != bool_:
        raise DTypeError(f"cond: the predicate must be a 0-d bool, got {pred}")
    for which, graph in (("true", true_graph), ("false", false_graph)):
        if graph.in_types != operands:
            raise ShapeError(
                f"cond: the {which} branch takes {graph.in_types}, the operands are {operands}"
            )
    if true_graph.out_types != false_graph.out_types:
        raise ShapeError(
            f"cond: the branches return different types: true {true_graph.out_types}, "
            f"false {false_graph.out_types}"
        )
    return true_graph.out_types


def _cond_impl(pred, *operands, true_graph, false_graph):
    return tuple(evaluate(true_graph if bool(pred) else false_graph, list(operands)))


cond = define(
    "cond", infer=_cond_infer, impl=_cond_impl, multiple_results=True, family="control"
)
