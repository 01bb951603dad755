"""Full Jacobians and Hessians: ``jacobian`` (reverse mode, one backward pass per output element),
``jacfwd`` (forward mode, one tangent pass per input element) and ``hessian`` (``jacfwd`` of
``jacobian``, as in JAX). graphc has no ``vmap``, so the passes are unrolled in the graph: fine for
the small Jacobians these are meant for; the forward part is emitted once and shared.

The result for output leaf ``o`` (shape ``S``) and input leaf ``x`` (shape ``T``) has shape
``S + T``; the nesting is the output's pytree outside, the arguments' pytree(s) inside (JAX's).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

from .. import dtypes
from .. import numpy as gnp
from ..core import located
from ..errors import ShapeError
from ..ir import TensorType
from ..ops import elementwise as ew
from ..ops import shape as sh
from ..trace import pytree
from .api import Transformed, trace_differentiable
from .forward import LinearizedForward, derivative_nodes
from .nested import check_argnums, fun_name
from .reverse import DifferentiationError


#: The most passes one Jacobian may unroll (one per output element for ``jacobian``, per input
#: element for ``jacfwd``). Each pass is a copy of the derivative graph, about 6 ms of tracing
#: and compiling for even a one-op function, so this many take minutes; a Jacobian of a function
#: with 1e12 output elements fails here at once instead of tracing for ever.
MAX_PASSES = 2**16


def _check_size(who, what, passes, per, advice, blocks):
    """``what`` (``"the Jacobian of f"``), if it needs more than ``MAX_PASSES`` passes (one per
    element of the ``per`` side, "output" or "input") or has a block (``TensorType`` arguments)
    that could not exist, is a ShapeError saying it is too large and, ``advice``, what to use."""
    if passes > MAX_PASSES:
        raise located(
            ShapeError,
            f"{who}: {what} is too large to build: its {per}s have {passes} elements and {who} "
            f"unrolls one pass per {per} element (graphc has no vmap), at most {MAX_PASSES}; "
            f"{advice}",
        )
    for shape, dtype in blocks:
        try:
            TensorType(shape, dtype)
        except ShapeError as e:
            raise located(ShapeError, f"{who}: {what} is too large: {e}") from None


def _elements(n: int) -> str:
    return f"{n} element{'' if n == 1 else 's'}"


def _basis(i: int, shape, dtype):
    """The ``i``-th one-hot array of ``shape`` (built from iota: no large constant)."""
    if not shape:
        return sh.scalar(1, dtype)
    n = math.prod(shape)
    hot = ew.equal(sh.iota(shape=(n,), dtype=dtypes.int64, dimension=0), sh.scalar(i, dtypes.int64))
    return gnp.reshape(ew.convert(hot, dtype=dtype), tuple(shape))


def _assemble(blocks, lead_shape, tail_shape, dtype, axis_first: bool):
    """Stack per-element results into an array of shape ``lead + tail``."""
    if not blocks:  # an empty output or input: the Jacobian has no elements
        return sh.zeros(tuple(lead_shape) + tuple(tail_shape), dtype)
    stacked = gnp.stack(blocks, axis=0 if axis_first else -1)
    return gnp.reshape(stacked, tuple(lead_shape) + tuple(tail_shape))


def _trace(fun, args, kwargs, argnums, has_aux, who):
    """``fun`` traced for a Jacobian: floating-point arguments in, floating-point outputs out."""
    nums = check_argnums(argnums, len(args), who, kwargs)
    traced = trace_differentiable(fun, args, kwargs, nums, has_aux, who)
    for t in traced.main_types():
        if t.dtype.kind != "f":
            raise located(
                DifferentiationError,
                f"{who}: {fun_name(fun)} returned a {t} value; Jacobians need "
                "floating-point outputs",
            )
    return traced


def _result(traced, table, argnums):
    """``table[k][j]``: block for output leaf k and input leaf j -> the nested result."""
    per_out = []
    for row in table:
        per_arg = traced.split_inputs(row)
        per_out.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
    return pytree.unflatten(traced.out_tree, per_out)


def jacobian(
    fun: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """Reverse-mode Jacobian (``jax.jacrev``).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> f = lambda x: np.stack([x[0] * x[1], x[0] + 2.0 * x[1]])
        >>> print(gc.jacobian(f)(np.array([3.0, 4.0])))
        [[4. 3.]
         [1. 2.]]
        >>> print(gc.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0])).shape)  # S + T
        (2, 2)
    """

    def impl(*args, **kwargs):
        traced = _trace(fun, args, kwargs, argnums, has_aux, "jacobian")
        ins = traced.graph.inputs[: traced.n_in]
        outs = traced.main_types()
        n_in = sum(v.type.size for v in ins)
        _check_size(
            "jacobian", f"the Jacobian of {fun_name(fun)}", sum(o.size for o in outs), "output",
            f"use gc.jacfwd when the inputs are fewer (here {_elements(n_in)}), or gc.vjp for "
            "products with a vector", [(o.shape + v.shape, v.dtype) for o in outs for v in ins])
        lin = traced.linearize()
        table = []
        for k, out_t in enumerate(outs):
            at_output = functools.partial(derivative_nodes, "bwd", lin.output_loc(k), fun)
            rows = [[] for _ in ins]
            for i in range(out_t.size):
                seeds = [None] * len(lin.outs)
                with at_output():
                    seeds[k] = _basis(i, out_t.shape, out_t.dtype)
                cts = lin.backward(seeds)
                with at_output():
                    for r, c, v in zip(rows, cts, ins, strict=True):
                        r.append(c if c is not None else sh.zeros(v.shape, v.dtype))
            with at_output():
                table.append(
                    [
                        _assemble(r, out_t.shape, v.shape, v.dtype, True)
                        for r, v in zip(rows, ins, strict=True)
                    ]
                )
        jac = _result(traced, table, argnums)
        if has_aux:
            return jac, traced.restore_outputs(lin.outs)[1]
        return jac

    return Transformed(fun, impl, "jacobian")


jacrev = jacobian


def jacfwd(
    fun: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """Forward-mode Jacobian (``jax.jacfwd``): cheaper than ``jacobian`` for few inputs.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> f = lambda x: np.stack([x[0] * x[1], x[0] + 2.0 * x[1], x[1] ** 2])
        >>> print(gc.jacfwd(f)(np.array([3.0, 4.0])))
        [[4. 3.]
         [1. 2.]
         [0. 8.]]
    """
    return _jacfwd(fun, argnums, has_aux, "jacfwd", f"the Jacobian of {fun_name(fun)}", None)


def _jacfwd(fun, argnums, has_aux, who, what, advice):
    """``jacfwd``, with ``who`` (the function the user called), ``what`` it makes and ``advice``
    (None: jacfwd's own) in its errors."""

    def impl(*args, **kwargs):
        traced = _trace(fun, args, kwargs, argnums, has_aux, who)
        ins = traced.graph.inputs[: traced.n_in]
        outs = traced.main_types()
        n_out = sum(o.size for o in outs)
        _check_size(
            who, what, sum(v.type.size for v in ins), "input",
            advice or f"use gc.jacobian when the outputs are fewer (here {_elements(n_out)}), or "
            "gc.jvp for products with a vector",
            [(o.shape + v.shape, o.dtype) for o in outs for v in ins])
        fwd = LinearizedForward(traced.graph, traced.graph_args())
        table = [[None] * len(ins) for _ in outs]
        locs = [fwd.output_loc(k) for k in range(len(outs))]
        for j, v in enumerate(ins):
            cols = [[] for _ in outs]
            for i in range(v.type.size):
                seeds = [None] * len(traced.graph.inputs)
                with derivative_nodes("jvp", None, fun):  # an input's seed: no op made it
                    seeds[j] = _basis(i, v.shape, v.dtype)
                tans = fwd.push(seeds)[: traced.n_main]
                for k, (col, t, o) in enumerate(zip(cols, tans, outs, strict=True)):
                    with derivative_nodes("jvp", locs[k], fun):
                        col.append(t if t is not None else sh.zeros(o.shape, o.dtype))
            for k, o in enumerate(outs):
                with derivative_nodes("jvp", locs[k], fun):
                    table[k][j] = _assemble(cols[k], o.shape, v.shape, o.dtype, False)
        jac = _result(traced, table, argnums)
        if has_aux:
            return jac, traced.restore_outputs(fwd.outs)[1]
        return jac

    return Transformed(fun, impl, "jacfwd")


def hessian(fun: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """``jacfwd(jacobian(fun))``: the matrix of second derivatives of a scalar function.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(gc.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0])))
        [[4. 2.]
         [2. 0.]]
    """
    return _jacfwd(
        jacobian(fun, argnums), argnums, False, "hessian", f"the Hessian of {fun_name(fun)}",
        "compute Hessian-vector products instead, gc.jvp(gc.grad(f), (x,), (v,))")
