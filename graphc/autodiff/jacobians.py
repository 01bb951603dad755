"""Full Jacobians and Hessians: ``jacobian`` (reverse mode: the backward pass ``vmap``-ed over
the output's basis), ``jacfwd`` (forward mode: the tangent pass ``vmap``-ed over the input's
basis) and ``hessian`` (``jacfwd`` of ``jacobian``, as in JAX). The forward part is emitted once
and shared; the batched pass is one graph whatever the Jacobian's size (a product with a weight
matrix becomes one matrix product for all basis vectors), not one copy per element.

The result for output leaf ``o`` (shape ``S``) and input leaf ``x`` (shape ``T``) has shape
``S + T``; the nesting is the output's pytree outside, the arguments' pytree(s) inside (JAX's).
"""

from __future__ import annotations

import math

import numpy as np
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
from ..vmap import vmap
from ..control import scan as control_scan
from .reverse import DifferentiationError


#: The most basis vectors one Jacobian batches (output elements for ``jacobian``, input
#: elements for ``jacfwd``): beyond, even a block at a time (``_over_basis``) the passes take
#: minutes, and a Jacobian of a function with 1e12 output elements fails here at once.
MAX_PASSES = 2**16
#: Basis vectors are batched this many elements at a time (a block of the identity), so a
#: Jacobian of n outputs holds n x min(n, BASIS_BLOCK // n) seeds at once, not n x n.
BASIS_BLOCK = 1 << 22


def _check_size(who, what, passes, per, advice, blocks):
    """``what`` (``"the Jacobian of f"``), if it needs more than ``MAX_PASSES`` passes (one per
    element of the ``per`` side, "output" or "input") or has a block (``TensorType`` arguments)
    that could not exist, is a ShapeError saying it is too large and, ``advice``, what to use."""
    if passes > MAX_PASSES:
        raise located(
            ShapeError,
            f"{who}: {what} is too large to build: its {per}s have {passes} elements and {who} "
            f"runs one pass per {per} element (batched by vmap), at most {MAX_PASSES}; {advice}",
        )
    for shape, dtype in blocks:
        try:
            TensorType(shape, dtype)
        except ShapeError as e:
            raise located(ShapeError, f"{who}: {what} is too large: {e}") from None


def _over_basis(pass_fn, shape, dtype, out_axis_last: bool):
    """``pass_fn`` vmapped over the one-hot basis of ``shape`` (n vectors): one stacked result per
    output, the basis axis first (or last). When n x n would exceed ``BASIS_BLOCK``, the basis
    goes in blocks, a ``scan`` over them (bounded memory, one graph)."""
    n = max(1, math.prod(shape))
    block = max(1, min(n, BASIS_BLOCK // n))
    axis = -1 if out_axis_last else 0
    if block >= n:
        return vmap(pass_fn, out_axes=axis)(_basis(shape, dtype))
    n_blocks = -(-n // block)
    i64 = dtypes.int64

    def step(carry, k):
        rows = gnp.reshape(k * block + sh.iota(shape=(block,), dtype=i64, dimension=0), (block, 1))
        hot = ew.convert(ew.equal(rows, sh.iota(shape=(1, n), dtype=i64, dimension=1)), dtype=dtype)
        return carry, vmap(pass_fn)(gnp.reshape(hot, (block, *shape)))

    _, ys = control_scan(step, np.zeros((), dtype), np.arange(n_blocks, dtype=np.int64))
    outs = []
    for y in ys:  # (n_blocks, block, *out) -> (n, *out), basis axis where asked
        y = gnp.reshape(y, (n_blocks * block, *y.shape[2:]))[:n]
        outs.append(gnp.moveaxis(y, 0, -1) if out_axis_last else y)
    return outs


def _elements(n: int) -> str:
    return f"{n} element{'' if n == 1 else 's'}"


def _basis(shape, dtype):
    """The one-hot arrays of ``shape``, stacked: ``(size, *shape)`` (built from iota)."""
    if not shape:  # a scalar's: one 1
        return gnp.reshape(sh.scalar(1, dtype), (1,))
    n = math.prod(shape)
    i64 = dtypes.int64
    hot = ew.equal(sh.iota(shape=(n, n), dtype=i64, dimension=0),
                   sh.iota(shape=(n, n), dtype=i64, dimension=1))
    return gnp.reshape(ew.convert(hot, dtype=dtype), (n, *shape))


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
            with derivative_nodes("bwd", lin.output_loc(k), fun):
                if out_t.size == 0:
                    table.append([sh.zeros(out_t.shape + v.shape, v.dtype) for v in ins])
                    continue

                def backward(ct, k=k):
                    seeds = [None] * len(lin.outs)
                    seeds[k] = ct
                    cts = lin.backward(seeds)
                    return [c if c is not None else sh.zeros(v.shape, v.dtype)
                            for c, v in zip(cts, ins, strict=True)]

                rows = _over_basis(backward, out_t.shape, out_t.dtype, False)
                table.append([gnp.reshape(r, out_t.shape + v.shape)
                              for r, v in zip(rows, ins, strict=True)])
        jac = _result(traced, table, argnums)
        if has_aux:
            return jac, traced.restore_outputs(lin.outs)[1]
        return jac

    return Transformed(fun, impl, "jacobian", (jacobian, (fun, argnums, has_aux)))


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
    return _jacfwd(fun, argnums, has_aux, "jacfwd", f"the Jacobian of {fun_name(fun)}",
                   (jacfwd, (fun, argnums, has_aux)))


def _jacfwd(fun, argnums, has_aux, who, what, recipe, advice=None):
    """``jacfwd``, with ``who`` (the function the user called), ``what`` it makes and ``advice``
    (None: jacfwd's own) in its errors; ``recipe`` makes it again (``Transformed``)."""

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
        for j, v in enumerate(ins):
            with derivative_nodes("jvp", None, fun):  # an input's seeds: no op made them
                if v.type.size == 0:
                    for k, o in enumerate(outs):
                        table[k][j] = sh.zeros(o.shape + v.shape, o.dtype)
                    continue

                def push(seed, j=j):
                    seeds = [None] * len(traced.graph.inputs)
                    seeds[j] = seed
                    tans = fwd.push(seeds)[: traced.n_main]
                    return [t if t is not None else sh.zeros(o.shape, o.dtype)
                            for t, o in zip(tans, outs, strict=True)]

                cols = _over_basis(push, v.shape, v.dtype, True)
            for k, (c, o) in enumerate(zip(cols, outs, strict=True)):
                with derivative_nodes("jvp", fwd.output_loc(k), fun):  # at the output's op
                    table[k][j] = gnp.reshape(c, o.shape + v.shape)
        jac = _result(traced, table, argnums)
        if has_aux:
            return jac, traced.restore_outputs(fwd.outs)[1]
        return jac

    return Transformed(fun, impl, "jacfwd", recipe)


def hessian(fun: Callable[..., Any], argnums: int | tuple[int, ...] = 0) -> Callable[..., Any]:
    """``jacfwd(jacobian(fun))``: the matrix of second derivatives of a scalar function.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(gc.hessian(lambda x: x[0] ** 2 * x[1])(np.array([1.0, 2.0])))
        [[4. 2.]
         [2. 0.]]
    """
    return _jacfwd(jacobian(fun, argnums), argnums, False, "hessian",
                   f"the Hessian of {fun_name(fun)}", (hessian, (fun, argnums)),
                   "compute Hessian-vector products instead, gc.jvp(gc.grad(f), (x,), (v,))")
