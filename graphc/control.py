"""Traced control flow (``jax.lax`` semantics): ``gc.cond``, ``gc.while_loop``, ``gc.fori_loop``
and ``gc.scan``, each one node (``ops/control.py``) holding its branches or body as closed graphs,
so the graph's size does not depend on the trip count.

``cond``:
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

Loops (where JAX is silent or differs, what a JAX user would expect):
  - The carry is a pytree; the body must return the same structure with the same shape and dtype
    per leaf (an error names the leaf, both types and the user's line). A Python scalar the body
    returns for a leaf is converted to that leaf's dtype (``lambda i: 0`` for an int carry).
  - Outer traced values the condition or body close over become operands of the node (captures).
  - Called outside any trace with no traced value, each runs as the plain Python loop.
  - ``fori_loop`` with Python ``lower``/``upper`` is a ``scan`` of ``upper - lower`` steps (a
    static trip count: its reverse mode stacks the carries in one array); with a traced bound it
    is a ``while_loop`` over ``(i, val)``.
  - Reverse mode: ``while_loop`` is differentiable with any trip count, no bound asked for (see
    ``autodiff/loops.py``); ``checkpoints=K`` trades recomputation for memory.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from . import dtypes
from .autodiff.nested import leaf_type
from .autodiff.reverse import inline_graph
from .core import Tracer, current_trace, located, user_location
from .errors import GraphcError, ShapeError
from .ir import TensorType
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


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any],
         *operands: Any) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``, as one ``cond`` node
    under a trace (see the module docstring for the rules). Memory: each branch's values live
    only while it runs; in reverse mode the chosen branch's forward is recomputed (see
    ``autodiff/control.py``).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> @gc.function
        ... def f(x):
        ...     return gc.cond(x.sum() > 0, lambda v: v * 2.0, lambda v: -v, x)
        >>> print(f(np.array([1.0, 2.0])), f(np.array([-1.0, -2.0])))
        [2. 4.] [1. 2.]
        >>> print(gc.grad(lambda x: gc.cond(x > 0, lambda: x ** 2, lambda: -x))(3.0))
        6.0
    """
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
    names = (graph_name(true_fun, "true"), graph_name(false_fun, "false"))
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


def graph_name(fun, which: str) -> str:
    return f"{which}_{getattr(fun, '__name__', type(fun).__name__)}".replace("<lambda>", "lambda")


def _traced(*trees) -> bool:
    return current_trace() is not None or any(
        isinstance(x, Tracer) for x in pytree.flatten(trees)[0]
    )


def _callable(what: str, fun, fname: str) -> None:
    if not callable(fun):
        raise located(GraphcError, f"gc.{what}: {fname} must be callable, got "
                      f"{type(fun).__name__} {fun!r}")


def _check_carry(what, tree_in, tree_out, types_in, types_out, loc, name):
    """The body kept the carry's structure and leaf types, or an error naming the leaf."""
    if tree_in != tree_out:
        raise located(GraphcError, f"gc.{what}: the body returns {pytree.describe(tree_out)} but "
                      f"the carry is {pytree.describe(tree_in)}; it must keep the structure",
                      at=loc)
    for path, a, b in zip(leaf_paths(tree_in, name), types_in, types_out, strict=True):
        if a != b:
            raise located(GraphcError, f"gc.{what}: {path} enters the body as {a} and leaves it as "
                          f"{b}; a carried value must keep its shape and dtype (convert it with "
                          ".astype, or make the initial value match)", at=loc)


def _as_leaves(outs, types) -> list:
    """The body's output leaves, Python scalars converted to the carry leaf's dtype."""
    return [np.asarray(o, t.dtype) if isinstance(o, (bool, int, float)) and t is not None else o
            for o, t in zip(outs, types)]


def _predicate_fun(what, cond_fun, tree, loc):
    def run(*ins):
        p = cond_fun(pytree.unflatten(tree, ins))
        if tuple(np.shape(p) if not isinstance(p, Tracer) else p.shape) != ():
            raise located(ShapeError, f"gc.{what}: cond_fun must return a scalar (0-d) bool, got "
                          f"shape {tuple(np.shape(p))}", at=loc)
        if isinstance(p, Tracer) and p.dtype.kind != "b":
            p = p != 0
        return [p if isinstance(p, Tracer) else np.asarray(bool(p))]
    return run


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any, *,
               checkpoints: int | None = None) -> Any:
    """Run ``val = body_fun(val)`` while ``cond_fun(val)``; returns the final ``val``.

    One ``while_loop`` node under a trace (native loop: no Python per iteration). Reverse mode
    works with a data-dependent trip count (JAX's does not). Memory in reverse mode: by default
    the carry of every iteration is saved (storage grows by doubling as the loop runs), the
    leaves the backward step never reads excepted (a carried sum saves nothing); with
    ``checkpoints=K`` at most K carries are kept and the forward steps are recomputed by binomial
    checkpointing (about ``(t + 1) * n`` steps for ``n`` iterations, ``C(K - 1 + t, t) >= n``:
    see ``ops.control.reverse_loop``). Forward mode carries the tangents along (no storage).

    Example::

        >>> import graphc as gc
        >>> def doublings(x):  # double x until it reaches 100, counting the steps
        ...     return gc.while_loop(lambda c: c[0] < 100.0, lambda c: (c[0] * 2.0, c[1] + 1),
        ...                          (x, 0))
        >>> x, steps = gc.function(doublings)(3.0)
        >>> print(x, steps)
        192.0 6
        >>> print(gc.grad(lambda x: doublings(x)[0])(3.0))  # 2 ** 6, a data-dependent trip count
        64.0
    """
    _callable("while_loop", cond_fun, "cond_fun")
    _callable("while_loop", body_fun, "body_fun")
    if checkpoints is not None and (not isinstance(checkpoints, int) or checkpoints < 1):
        raise located(GraphcError, f"gc.while_loop: checkpoints must be a positive int or None, "
                      f"got {checkpoints!r}")
    if not _traced(init_val):
        val = init_val
        while bool(np.asarray(cond_fun(val))):
            val = body_fun(val)
        return val
    loc = user_location()
    leaves, tree = pytree.flatten(init_val)
    in_types = [leaf_type(x) for x in leaves]
    carry_types = [t for t, _ in in_types]
    trees = {}

    def body(*ins):
        out, trees["out"] = pytree.flatten(body_fun(pytree.unflatten(tree, ins)))
        return _as_leaves(out, carry_types + [None] * len(out))

    graphs, caps, weak = branch_graphs(
        (_predicate_fun("while_loop", cond_fun, tree, loc), body), in_types,
        (graph_name(cond_fun, "cond"), graph_name(body_fun, "body")),
    )
    _check_carry("while_loop", tree, trees["out"], carry_types, graphs[1].out_types, loc, "init_val")
    attrs = {"cond_graph": graphs[0], "body_graph": graphs[1]}
    if checkpoints is not None:
        attrs["checkpoints"] = checkpoints
    outs = control.while_loop(*leaves, *caps, **attrs)
    for o, (_, w_in), w_body in zip(outs, in_types, weak[1], strict=True):
        o.weak = w_in and w_body
    return pytree.unflatten(tree, outs)


def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``; returns the final ``val``.
    Python bounds make a ``scan`` (static trip count), traced ones a ``while_loop``.

    Example::

        >>> import graphc as gc
        >>> cube = lambda x: gc.fori_loop(0, 3, lambda i, acc: acc * x, 1.0)
        >>> print(gc.function(cube)(2.0), gc.grad(cube)(2.0))
        8.0 12.0
        >>> power = gc.function(lambda x, n: gc.fori_loop(0, n, lambda i, acc: acc * x, 1.0))
        >>> print(power(2.0, 10))  # a traced bound: a while_loop
        1024.0
    """
    _callable("fori_loop", body_fun, "body_fun")
    if not _traced(lower, upper, init_val):
        val = init_val
        for i in range(int(lower), int(upper)):
            val = body_fun(i, val)
        return val
    if not isinstance(lower, Tracer) and not isinstance(upper, Tracer):
        lo, hi = int(lower), int(upper)

        def step(carry, _):
            i, val = carry
            return (i + 1, body_fun(i, val)), None

        return scan(step, (lo, init_val), None, length=max(hi - lo, 0))[0][1]
    dtype = np.result_type(*(b.dtype for b in (lower, upper) if isinstance(b, Tracer)))
    i0 = lower.astype(dtype) if isinstance(lower, Tracer) else np.asarray(lower, dtype)
    return while_loop(lambda c: c[0] < upper, lambda c: (c[0] + 1, body_fun(*c)), (i0, init_val))[1]


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any, length: int | None = None,
         reverse: bool = False) -> tuple[Any, Any]:
    """``carry, y = f(carry, x)`` over ``xs``' leading axis; returns ``(carry, ys)``, the ``y``
    stacked (``jax.lax.scan``). ``xs`` may be None with ``length`` given. Memory in reverse mode:
    the carry before each step is stacked into one array (``length`` carries).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> def cumsum(xs):
        ...     return gc.scan(lambda c, x: (c + x, c + x), 0.0, xs)
        >>> total, partial = gc.function(cumsum)(np.array([1.0, 2.0, 3.0]))
        >>> print(total, partial)
        6.0 [1. 3. 6.]
        >>> print(gc.grad(lambda xs: np.sum(cumsum(xs)[1]))(np.array([1.0, 2.0, 3.0])))
        [3. 2. 1.]
    """
    _callable("scan", f, "f")
    x_leaves, x_tree = pytree.flatten(xs)
    length = _scan_length(x_leaves, length)
    if not _traced(init, xs):
        return _eager_scan(f, init, xs, x_leaves, x_tree, length, reverse)
    loc = user_location()
    leaves, tree = pytree.flatten(init)
    carry_in = [leaf_type(x) for x in leaves]
    carry_types = [t for t, _ in carry_in]
    x_in = [(TensorType(t.shape[1:], t.dtype), w) for t, w in (leaf_type(x) for x in x_leaves)]
    n, out = len(leaves), {}

    def body(*ins):
        carry, x = pytree.unflatten(tree, ins[:n]), pytree.unflatten(x_tree, ins[n:])
        res = f(carry, x)
        if not isinstance(res, tuple) or len(res) != 2:
            raise located(GraphcError, "gc.scan: f must return a pair (carry, y), got "
                          f"{type(res).__name__}", at=loc)
        c, out["carry"] = pytree.flatten(res[0])
        y, out["y"] = pytree.flatten(res[1])
        return _as_leaves(c, carry_types + [None] * len(c)) + y

    graphs, caps, weak = branch_graphs((body,), carry_in + x_in, (graph_name(f, "scan"),))
    _check_carry("scan", tree, out["carry"], carry_types, graphs[0].out_types[:n], loc, "init")
    outs = control.scan(*leaves, *x_leaves, *caps, body_graph=graphs[0], n_carry=n,
                        n_xs=len(x_leaves), length=length, reverse=bool(reverse))
    for o, (_, w_in), w_body in zip(outs, carry_in, weak[0], strict=False):
        o.weak = w_in and w_body
    return pytree.unflatten(tree, outs[:n]), pytree.unflatten(out["y"], outs[n:])


def _scan_length(x_leaves, length) -> int:
    lengths = {int(np.shape(x)[0]) if np.ndim(x) else None for x in x_leaves}
    if None in lengths:
        raise located(ShapeError, "gc.scan: every xs leaf needs a leading axis to scan over; a "
                      "0-d leaf has none")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) != 1:
        what = "xs is None and no length was given" if not lengths else (
            f"the lengths disagree: {sorted(lengths)} (xs' leading axes and length)")
        raise located(ShapeError, f"gc.scan: {what}")
    return lengths.pop()


def _eager_scan(f, init, xs, x_leaves, x_tree, length, reverse):
    carry, ys = init, []
    for i in range(length - 1, -1, -1) if reverse else range(length):
        carry, y = f(carry, pytree.unflatten(x_tree, [x[i] for x in x_leaves]) if xs is not None
                     else None)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys:
        return carry, None
    y_leaves = [pytree.flatten(y)[0] for y in ys]
    stacked = [np.stack(col) for col in zip(*y_leaves)]
    return carry, pytree.unflatten(pytree.flatten(ys[0])[1], stacked)



def checkpoint(fun: Callable[..., Any]) -> Callable[..., Any]:
    """``fun`` with its internals recomputed in the backward pass instead of stored
    (``jax.checkpoint``): under a trace each call is one ``remat`` node whose reverse-mode rule
    re-runs ``fun``'s forward from its inputs. Memory: only the inputs (and outputs) of ``fun``
    are kept for the backward pass, at the cost of one more forward evaluation of ``fun``; forward
    mode is unaffected. Called outside a trace, it is ``fun``.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> block = gc.checkpoint(lambda x: np.exp(x) * x)
        >>> print(np.round(gc.grad(lambda x: np.sum(block(x)))(np.array([0.0, 1.0])), 4))
        [1.     5.4366]
    """
    _callable("checkpoint", fun, "fun")

    @functools.wraps(fun)
    def wrapped(*args):
        if not _traced(args):
            return fun(*args)
        leaves, tree = pytree.flatten(args)
        out = {}

        def body(*ins):
            res, out["tree"] = pytree.flatten(fun(*pytree.unflatten(tree, ins)))
            return res

        graphs, caps, weak = branch_graphs((body,), [leaf_type(x) for x in leaves],
                                           (graph_name(fun, "checkpoint"),))
        outs = control.remat(*leaves, *caps, body_graph=graphs[0])
        for o, w in zip(outs, weak[0], strict=True):
            o.weak = w
        return pytree.unflatten(out["tree"], outs)

    return wrapped
