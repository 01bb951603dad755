"""``gc.cond``: a traced two-way branch (``jax.lax.cond`` semantics) that makes one ``cond``
node (``ops/control.py``) holding both branches as closed graphs.

Design choices:
  - Both branches are traced on the operands' types (``trace/branches.py``); outer traced values
    either closes over become extra operands that both branch graphs take.
  - The branches must return the same pytree structure and the same leaf types (shape and
    dtype); float32 in one branch and float64 in the other is an error, as in JAX, not a silent
    promotion. A result is weakly typed only when both branches' leaves are.
  - ``pred`` must be 0-d; a non-bool ``pred`` is converted with ``pred != 0`` (as JAX does).
  - Called outside any trace (eager), the chosen function is simply run, as Python would.
  - Inside a trace with a concrete ``pred`` (a Python or NumPy value), both branches are still
    traced and checked (so a branch that would fail under a traced predicate fails now too), and
    the chosen branch's nodes are inlined: no ``cond`` node is made for a known predicate.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .autodiff.nested import leaf_type
from .autodiff.reverse import inline_graph
from .core import Tracer, current_trace, located, user_location
from .errors import GraphcError, ShapeError
from .ops import control
from .trace import pytree
from .trace.branches import branch_graphs
from .trace.signature import leaf_paths


def _predicate(pred, loc):
    """``pred`` as a 0-d bool tracer (``pred != 0`` for a number), or an error naming its shape."""
    shape = tuple(np.shape(pred)) if not isinstance(pred, Tracer) else tuple(pred.shape)
    if shape != ():
        raise located(ShapeError, f"gc.cond: the predicate must be 0-d (a scalar), got shape "
                      f"{shape}", at=loc)
    if isinstance(pred, Tracer) and pred.dtype != dtypes.bool_:
        return pred != 0  # the operator promotes the weak 0 to pred's dtype (NEP 50)
    return pred


def _check_same(tree_t, tree_f, graphs, loc):
    """Both branches return one structure and one type per leaf, or an error naming the leaf."""
    if tree_t != tree_f:
        raise located(GraphcError, f"gc.cond: the branches return different structures: true_fun "
                      f"{pytree.describe(tree_t)}, false_fun {pytree.describe(tree_f)}", at=loc)
    paths = leaf_paths(tree_t, "output")
    for path, a, b in zip(paths, graphs[0].out_types, graphs[1].out_types, strict=True):
        if a != b:
            raise located(GraphcError, f"gc.cond: {path} has type {a} in true_fun but {b} in "
                          "false_fun; the branches must return the same shapes and dtypes "
                          "(convert one with .astype)", at=loc)


def cond(pred, true_fun, false_fun, *operands):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one ``cond`` node
    under a trace (see the module docstring for the rules). Memory: each branch's values live
    only while it runs; in reverse mode the chosen branch's forward is recomputed (see
    ``autodiff/control.py``)."""
    for which, fun in (("true_fun", true_fun), ("false_fun", false_fun)):
        if not callable(fun):
            raise located(GraphcError, f"gc.cond: {which} must be callable, got "
                          f"{type(fun).__name__} {fun!r}")
    if current_trace() is None and not any(
        isinstance(x, Tracer) for x in pytree.flatten((pred, operands))[0]
    ):
        _predicate(pred, user_location())
        return (true_fun if np.asarray(pred) != 0 else false_fun)(*operands)
    loc = user_location()
    pred = _predicate(pred, loc)
    leaves, tree = pytree.flatten(tuple(operands))
    out_trees = {}

    def flat(fun, key):
        def run(*ins):
            out_leaves, out_trees[key] = pytree.flatten(fun(*pytree.unflatten(tree, ins)))
            return out_leaves
        return run

    in_types = [leaf_type(x) for x in leaves]
    names = (_name(true_fun, "true"), _name(false_fun, "false"))
    graphs, caps, weak = branch_graphs(
        (flat(true_fun, 0), flat(false_fun, 1)), in_types, names
    )
    _check_same(out_trees[0], out_trees[1], graphs, loc)
    if not isinstance(pred, Tracer):
        outs = inline_graph(graphs[0 if np.asarray(pred) != 0 else 1], leaves + caps)[1]
    else:
        outs = control.cond(pred, *leaves, *caps, true_graph=graphs[0], false_graph=graphs[1])
    for o, wt, wf in zip(outs, *weak, strict=True):
        o.weak = wt and wf
    return pytree.unflatten(out_trees[0], outs)


def _name(fun, which: str) -> str:
    return f"{which}_{getattr(fun, '__name__', type(fun).__name__)}".replace("<lambda>", "lambda")
