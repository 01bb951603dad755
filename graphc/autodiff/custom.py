"""User-defined derivative rules: ``custom_gradient`` (TensorFlow-style) and ``custom_vjp``
(JAX-style, ``.defvjp(fwd, bwd)``).

Design: a call of a custom function becomes one ``custom_vjp_call`` node whose attributes hold two
closed graphs: ``fwd`` (the primal computation; outputs: the results, then the *residuals* the
backward function uses) and ``bwd`` (cotangents of the results and the residuals -> the inputs'
gradients). The user's backward function is traced once, when the call is traced, in a trace
nested inside the forward one, so values it closes over (TensorFlow's usual style) become
residual outputs of ``fwd``.

The user's rule holds in every mode. Reverse mode inlines ``bwd`` (``v -> J^T v``). Forward mode
transposes it (``t -> J t``, ``forward.transpose_linear``, JAX's ``linear_transpose``), which is
exact because ``bwd`` is linear in the cotangent and the residuals are constants to it; so
``jvp``, ``jacfwd``, ``hessian`` and Hessian-vector products of either composition use the rule.
JAX's ``custom_vjp`` refuses forward mode instead; graphc chose transposition so that a rule means
one Jacobian everywhere. A ``bwd`` that is not linear in the cotangent (``clip(g)``, ``g * g``)
has no transpose: forward mode then raises an error naming its line (reverse mode still works).

Second derivatives: a residual's derivative is the ordinary one of ``fwd``, so differentiating a
gradient (reverse over reverse) differentiates the user's ``bwd`` through its residuals, as in
JAX; forward over reverse pushes the same residual tangents through ``bwd``, so both compositions
use one matrix ``H`` (the derivative of the gradient): ``H v`` and ``H^T v``, equal when the rule
is a true gradient's (``H`` symmetric).

Why a primitive rather than inlining the forward nodes and remembering the rule on the side: the
rule must survive being inlined into other graphs (``grad(grad(f))`` inlines a traced graph into
the caller), and a node that owns its rule is copied with it; side tables keyed by node are not.
The forward graph stays hidden in the node until differentiation is over; then the pipeline's
first step, for every backend, replaces it by its nodes (``passes.manager.AFTER_DIFFERENTIATION``:
``ops.call.inline_calls``, exported as ``inline_custom_calls``), so the optimizer sees them.

Values a custom function closes over (tracers of an enclosing trace) are not covered by the user's
rule: they get the ordinary derivative of the forward computation in both modes (TensorFlow would
return None for them; a silent zero would be a wrong number).
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable

from ..core import Tracer, current_trace, located, new_trace
from ..errors import ArgumentError, GraphcError
from ..ops import elementwise as ew
from ..ops.batching import loop_rule
from ..ops.call import define_call, inline_calls
from ..ops.shape import zeros
from ..trace import pickling, pytree
from ..trace.function import int_tuple
from .forward import LinearizedForward, transpose_linear
from .nested import describe, fun_name, leaf_type
from .reverse import DifferentiationError, Linearized, as_tracer, inline_graph


def _vjp(cts, primals, outs, needed, fwd, bwd, n_out, bwd_mask):
    """The user's rule for the explicit inputs; the ordinary derivative of ``fwd`` for values the
    function closed over and for residuals that an outer derivative uses (grad of grad), as in
    JAX."""
    n_explicit = len(bwd_mask)
    per_input = [None] * len(primals)
    if any(c is not None for c in cts[:n_out]):
        cts_y = [
            zeros(o.shape, o.dtype) if c is None else c
            for c, o in zip(cts[:n_out], outs[:n_out], strict=True)
        ]
        _, grads = inline_graph(bwd, cts_y + list(outs[n_out:]))
        it = iter(grads)
        per_input[:n_explicit] = [next(it) if present else None for present in bwd_mask]
        if len(primals) > n_explicit:
            closed = [False] * n_explicit + list(needed[n_explicit:])
            _add(
                per_input,
                Linearized(fwd, primals, closed).backward(
                    list(cts[:n_out]) + [None] * (len(outs) - n_out)
                ),
                closed,
            )
    res_cts = list(cts[n_out:])
    if any(c is not None for c in res_cts):
        _add(per_input, Linearized(fwd, primals, needed).backward([None] * n_out + res_cts), needed)
    return per_input


def _add(acc, cts, mask):
    """Add ``cts`` (one per True in ``mask``) into ``acc`` (one per input; None is zero)."""
    it = iter(cts)
    for i, m in enumerate(mask):
        c = next(it) if m else None
        if c is not None:
            acc[i] = c if acc[i] is None else ew.add(acc[i], c)


def _jvp(primals, tans, outs, fwd, bwd, n_out, bwd_mask):
    """The transpose of the user's rule for the explicit inputs; the ordinary derivative of
    ``fwd`` for closed-over values and for the residuals (the mirror image of ``_vjp``)."""
    n_explicit, n_all = len(bwd_mask), len(outs)
    out_t = [None] * n_all
    rule_t = [t for t, present in zip(tans[:n_explicit], bwd_mask, strict=True) if present]
    if any(t is not None for t in rule_t):
        who = f"the custom rule of {fwd.name}"
        out_t[:n_out] = transpose_linear(bwd, n_out, outs[n_out:], rule_t, who)
    closed = [None] * n_explicit + list(tans[n_explicit:])
    from_closed = any(t is not None for t in closed)
    if from_closed or n_all > n_out:
        lin = LinearizedForward(fwd, primals)
        every = [True] * n_all
        if from_closed:
            _add(out_t, lin.push(closed, [k < n_out for k in range(n_all)]), every)
        if n_all > n_out:
            _add(out_t, lin.push(tans, [k >= n_out for k in range(n_all)]), every)
    return out_t


#: The node computes ``fwd`` (shape rule and evaluation from ``ops/call.py``); ``inline_calls``
#: replaces it by ``fwd``'s nodes once differentiation is over.
custom_vjp_call = define_call("custom_vjp_call", "fwd", jvp=_jvp, vjp=_vjp,
                              batch=loop_rule)  # gc.vmap: the user's rule holds per example

#: The name ``graphc.autodiff`` exports (the inliner itself lives with the call primitives).
inline_custom_calls = inline_calls


# --- tracing a custom call ------------------------------------------------------------------------
def _per_arg_grads(dx, args, tuple_per_arg: bool, who: str):
    """The backward function's result as one entry per argument (TensorFlow allows a bare value
    for a single input; JAX always returns a tuple)."""
    if (
        not tuple_per_arg
        and len(args) == 1
        and not (
            isinstance(dx, (tuple, list))
            and len(dx) == 1
            and not isinstance(args[0], (tuple, list))
        )
    ):
        dx = (dx,)
    if not isinstance(dx, (tuple, list)) or len(dx) != len(args):
        got = f"{len(dx)}" if isinstance(dx, (tuple, list)) else f"{describe(dx)}, not a tuple"
        raise located(
            DifferentiationError,
            f"{who}: {'bwd' if tuple_per_arg else 'grad_fn'} must return one gradient per input "
            f"({len(args)}), as a tuple; it returned {got}",
        )
    return list(dx)


def _flat_grads(per_arg, args, inputs, who):
    """Flat list of gradient tracers (or None), one per input leaf, checked against the inputs."""
    flat = []
    for i, (g, a) in enumerate(zip(per_arg, args, strict=True)):
        leaves, tree = pytree.flatten(a)
        if g is None:
            flat.extend([None] * len(leaves))
        else:
            g_leaves, g_tree = pytree.flatten(g)
            if g_tree != tree:
                raise located(
                    DifferentiationError,
                    f"{who}: gradient {i} has structure {pytree.describe(g_tree)}, but "
                    f"input {i} has {pytree.describe(tree)}",
                )
            flat.extend(g_leaves)
    out = []
    trace = current_trace()
    for k, g in enumerate(flat):
        x = inputs[k]
        if g is None or x.dtype.kind != "f":
            out.append(None)
            continue
        g = _gradient_value(g, k, who, trace)
        if tuple(g.shape) != tuple(x.shape):
            raise located(
                DifferentiationError,
                f"{who}: the gradient for input leaf {k} has shape {tuple(g.shape)}, "
                f"expected {tuple(x.shape)}",
            )
        # a float gradient of another precision, or a Python number, is converted
        if g.dtype.kind == "b" or (g.dtype.kind != "f" and not g.weak):
            raise located(
                DifferentiationError,
                f"{who}: the gradient for input leaf {k} has dtype {g.dtype}, but gradients are "
                f"floating point (the input is {x.dtype})",
            )
        out.append(g if g.dtype == x.dtype else ew.convert(g, dtype=x.dtype))
    return out


def _gradient_value(g, k, who, trace):
    """A gradient the user's backward function returned, as a tracer of ``trace``."""
    try:
        return as_tracer(g, trace)
    except GraphcError as e:
        detail = getattr(e, "detail", str(e))
        raise located(
            type(e), f"{who}: the gradient for input leaf {k} is not an array: {detail}"
        ) from None


def _pair(result, who: str, what: str):
    """``result``, the pair a user's forward function returns (``(y, grad_fn)`` or ``(out,
    residuals)``), or an error naming the function and what it returned instead."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise located(
            DifferentiationError, f"{who} must return a pair {what}, but it returned "
            f"{describe(result)}",
        )
    return result


def _call_user(fn, args, who: str, what: str, params: str):
    """``fn(*args)`` for a user's backward function (``what``, called with ``params``), refused
    with an error saying how it is called when its signature cannot take ``args`` (instead of
    Python's raw TypeError from inside graphc)."""
    if not callable(fn):
        raise located(DifferentiationError, f"{who}: {what} must be callable, got {describe(fn)}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # no signature to check (a builtin): the call will tell
        return fn(*args)
    try:
        sig.bind(*args)
    except TypeError as e:
        raise located(
            DifferentiationError,
            f"{who}: {what} {fun_name(fn)}{sig} is called as {what}({params}), which it cannot "
            f"take: {e}",
        ) from None
    return fn(*args)


def call_with_rule(name, fwd_fun, args, tuple_per_arg, who):
    """Trace ``fwd_fun(*args) -> (y, grad_fn)`` and ``grad_fn`` and emit one ``custom_vjp_call``
    node in the caller's trace; returns ``y`` (tracers of the caller's trace)."""
    leaves, tree = pytree.flatten(tuple(args))
    with new_trace(name) as tf:
        inputs = [tf.new_input(*leaf_type(x)) for x in leaves]
        y, grad_fn = _pair(fwd_fun(*pytree.unflatten(tree, inputs)), who, "(y, grad_fn)")
        y_leaves, y_tree = pytree.flatten(y)
        y_tracers = [Tracer(tf.to_value(o), tf) for o in y_leaves]
        with new_trace(name + "_bwd") as tb:
            cts = [tb.new_input(t.aval) for t in y_tracers]
            ct = pytree.unflatten(y_tree, cts)
            if tuple_per_arg:  # custom_vjp: the wrapper below calls the user's bwd
                dx = grad_fn(ct)
            else:
                each = list(ct) if isinstance(y, (tuple, list)) else [ct]
                params = ", ".join(f"dy{i}" for i in range(len(each))) if len(each) > 1 else "dy"
                dx = _call_user(grad_fn, each, who, "grad_fn", params)
            grads = _flat_grads(_per_arg_grads(dx, args, tuple_per_arg, who), args, inputs, who)
            bwd, residuals = tb.graph([g for g in grads if g is not None])
        res = [Tracer(tf.to_value(r), tf) for r in residuals]
        fwd, captured = tf.graph(y_tracers + res)
    outs = custom_vjp_call(
        *leaves,
        *captured,
        fwd=fwd,
        bwd=bwd,
        n_out=len(y_tracers),
        bwd_mask=tuple(g is not None for g in grads),
    )
    y_outs = outs[: len(y_tracers)]  # the residuals follow
    for o, t in zip(y_outs, y_tracers, strict=True):
        o.weak = t.weak
    return pytree.unflatten(y_tree, y_outs)


def _positional(fun, args, kwargs, who) -> tuple:
    """Keyword arguments resolved to positions by ``fun``'s signature (defaults filled in), as
    JAX does, so a rule (``grad_fn``, ``fwd``, ``bwd``) sees one positional list."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):  # no signature to read (a builtin): positions as given
        return args
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise located(ArgumentError, f"{who}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise located(
            ArgumentError,
            f"{who}: keyword-only arguments {sorted(bound.kwargs)} cannot reach a custom rule; "
            "make them positional",
        )
    return bound.args


def custom_gradient(f: Callable[..., Any]) -> Callable[..., Any]:
    """TensorFlow-style: ``f(*xs)`` returns ``(y, grad_fn)``; ``grad_fn(dy)`` (or
    ``grad_fn(*dys)`` when ``y`` is a tuple) returns the gradient of each input (a bare value for a
    single input; ``None`` for zero). Called outside any trace, ``f`` runs eagerly and returns
    ``y``.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> @gc.custom_gradient
        ... def clip_gradient(x):
        ...     return x, lambda dy: np.clip(dy, -1.0, 1.0)
        >>> print(clip_gradient(3.0))  # eager: y
        3.0
        >>> print(gc.grad(lambda x: 5.0 * clip_gradient(x))(3.0))  # the rule's 1.0, not 5.0
        1.0
    """

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        who = f"custom_gradient {fun_name(f)}"
        args = _positional(f, args, kwargs, who)
        if current_trace() is None:
            return _pair(f(*args), who, "(y, grad_fn)")[0]
        return call_with_rule(fun_name(f), f, args, False, who)

    return wrapper


class custom_vjp:
    """JAX-style: decorate ``f``, then ``f.defvjp(fwd, bwd)`` with ``fwd(*args) -> (y, res)`` and
    ``bwd(*nondiff_args, res, g) -> tuple`` of one gradient per differentiable argument (``None``
    for zero). ``nondiff_argnums`` are passed through unchanged (not traced). Keyword arguments
    are resolved to positions by ``fun``'s signature, defaults filled in (as JAX does).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> @gc.custom_vjp
        ... def f(x):
        ...     return np.sin(x)
        >>> def f_fwd(x):
        ...     return f(x), np.cos(x)  # (output, residuals)
        >>> def f_bwd(cos_x, g):
        ...     return (2.0 * g * cos_x,)  # twice the true derivative, to show the rule is used
        >>> _ = f.defvjp(f_fwd, f_bwd)
        >>> print(gc.grad(f)(0.0))
        2.0
        >>> print(gc.grad(lambda x: np.sum(f(x)))(np.zeros(2)))
        [2. 2.]
    """

    def __init__(
        self, fun: Callable[..., Any], nondiff_argnums: int | tuple[int, ...] = ()
    ) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = int_tuple(nondiff_argnums)
        if self.nondiff_argnums is None:
            raise located(
                DifferentiationError,
                f"custom_vjp {fun_name(fun)}: nondiff_argnums must be an int or a tuple of ints, "
                f"got {nondiff_argnums!r}",
            )
        self.fwd = self.bwd = None
        self._tracing_fwd = threading.local()  # per thread: traces may run concurrently

    def __reduce__(self):
        """By name when it is found by name (a module-level ``@gc.custom_vjp``), else as its
        function and rules, which must pickle themselves (its thread-local state cannot)."""
        found = pickling.location(self)
        if found is not None:
            return pickling.find, found
        return _custom_vjp, (self.fun, self.nondiff_argnums, self.fwd, self.bwd)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> custom_vjp:
        for what, fn in (("fwd", fwd), ("bwd", bwd)):
            if not callable(fn):
                raise located(
                    DifferentiationError,
                    f"custom_vjp {fun_name(self.fun)}.defvjp: {what} must be callable, got "
                    f"{describe(fn)}",
                )
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_trace() is None or getattr(self._tracing_fwd, "on", False):
            # eager, or ``fwd`` calling ``f`` for its primal value (the usual JAX idiom)
            return self.fun(*args, **kwargs)
        args = _positional(self.fun, args, kwargs, f"custom_vjp {fun_name(self.fun)}")
        if self.fwd is None:
            raise located(
                DifferentiationError,
                f"custom_vjp {fun_name(self.fun)}: call .defvjp(fwd, bwd) before using it",
            )
        who = f"custom_vjp {fun_name(self.fun)}"
        n = len(args)
        if not all(-n <= i < n for i in self.nondiff_argnums):
            raise located(
                DifferentiationError,
                f"{who}: nondiff_argnums {self.nondiff_argnums} is out of range: it was called "
                f"with {n} positional argument{'s' if n != 1 else ''}",
            )
        nondiff_pos = [i % n for i in self.nondiff_argnums]  # negative ones count from the end
        nondiff = [args[i] for i in nondiff_pos]
        diff_pos = [i for i in range(n) if i not in nondiff_pos]

        def fwd_fun(*diff_args):
            full = list(args)
            for i, a in zip(diff_pos, diff_args, strict=True):
                full[i] = a
            self._tracing_fwd.on = True
            try:
                result = self.fwd(*full)
            finally:
                self._tracing_fwd.on = False
            y, res = _pair(result, f"{who}: its fwd {fun_name(self.fwd)}", "(output, residuals)")
            params = f"{'*nondiff_args, ' if nondiff else ''}residuals, g"
            return y, lambda g: _call_user(self.bwd, [*nondiff, res, g], who, "bwd", params)

        return call_with_rule(fun_name(self.fun), fwd_fun, [args[i] for i in diff_pos], True, who)


def _custom_vjp(fun, nondiff_argnums, fwd, bwd) -> custom_vjp:
    """``custom_vjp.__reduce__``'s reconstructor."""
    made = custom_vjp(fun, nondiff_argnums)
    if fwd is not None:
        made.defvjp(fwd, bwd)
    return made
