"""Tracing a user function into a nested graph for a transformation, and the bookkeeping around it:
which argument leaves became graph inputs, which outputs are graph outputs, and turning cotangents
or tangents back into the arguments' pytree structure.

Arguments that are not differentiated are passed to the function unchanged (tracers of the caller
are captured, arrays and Python values stay as they are), as ``jax.grad`` does with ``argnums``;
so a Python int that the function uses for control flow keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..core import Tracer, as_array, located, new_trace
from ..errors import GraphcError
from ..ir import Graph, TensorType
from ..ops.shape import zeros
from ..trace import pytree
from ..trace.function import (
    autograph_convert, check_output_leaves, int_tuple, positional_names, signature_of,
)
from ..trace.signature import leaf_paths
from .reverse import DifferentiationError, Linearized


def leaf_type(x) -> tuple[TensorType, bool]:
    """The type and weakness a graph input for the argument leaf ``x`` gets."""
    if isinstance(x, Tracer):
        return x.aval, x.weak
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return TensorType((), dtypes.python_scalar_dtype(x)), True
    return TensorType.of(as_array(x)), False


def fun_name(fun) -> str:
    """A name for ``fun`` in graph names and messages (partials and callables have none)."""
    return getattr(fun, "__name__", type(fun).__name__)


def describe(x) -> str:
    """What a user's function returned (or passed), for messages: ``a traced value f64[3]``,
    ``a tuple of length 3``, ``str 'abc'``."""
    if isinstance(x, Tracer):
        return f"a traced value {x.aval}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of length {len(x)}"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    if x is None:
        return "None"
    if isinstance(x, (bool, int, float, str)):
        return f"{type(x).__name__} {x!r}"
    name = type(x).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def check_argnums(argnums, n_args: int, who: str, kwargs=None) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions, or an error naming what is wrong
    (``kwargs``, the call's keyword arguments, explain a call that passed the argument by name)."""
    nums = int_tuple(argnums)
    if not nums:  # None (not ints) or empty
        raise located(
            DifferentiationError,
            f"{who}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}",
        )
    out = []
    for a in nums:
        if not -n_args <= a < n_args:
            by_name = (
                f" and the keyword argument{'s' if len(kwargs) > 1 else ''} "
                f"{', '.join(repr(k) for k in sorted(kwargs))}, but keyword arguments are never "
                "differentiated (argnums counts positional arguments only, as in JAX): pass the "
                "argument positionally"
                if kwargs
                else ""
            )
            raise located(
                DifferentiationError,
                f"{who}: argnums {a} is out of range: the function was called with "
                f"{n_args} positional argument{'s' if n_args != 1 else ''}{by_name}",
            )
        out.append(a % n_args)
    if len(set(out)) != len(out):
        raise located(DifferentiationError, f"{who}: argnums {argnums!r} repeats an argument")
    return tuple(out)


@dataclass
class Traced:
    """A user function traced into ``graph``. Graph inputs: the leaves of the chosen arguments
    (``in_leaves``, in order), then ``captured`` outer tracers. Graph outputs: the ``n_main``
    leaves of the main result, then the aux leaves that were traced values."""

    graph: Graph
    captured: list
    in_leaves: list
    in_trees: list
    out_tree: tuple
    n_main: int
    aux_leaves: list
    aux_tree: tuple | None
    aux_slots: list
    out_weak: list

    @property
    def n_in(self) -> int:
        return len(self.in_leaves)

    def graph_args(self) -> list:
        return list(self.in_leaves) + list(self.captured)

    def linearize(self) -> Linearized:
        """The graph inlined into the caller's trace, ready for backward passes with respect to
        the chosen argument leaves (captured values are constants to the derivative)."""
        wrt = [True] * self.n_in + [False] * len(self.captured)
        return Linearized(self.graph, self.graph_args(), wrt)

    def main_types(self) -> list[TensorType]:
        return [v.type for v in self.graph.outputs[: self.n_main]]

    def restore_outputs(self, outs):
        """(main result, aux) in the caller's trace from the inlined graph's output tracers."""
        for t, weak in zip(outs, self.out_weak, strict=True):
            t.weak = weak
        main = pytree.unflatten(self.out_tree, outs[: self.n_main])
        if self.aux_tree is None:
            return main, None
        aux = list(self.aux_leaves)
        for k, slot in enumerate(self.aux_slots):
            aux[slot] = outs[self.n_main + k]
        return main, pytree.unflatten(self.aux_tree, aux)

    def split_inputs(self, flat) -> list:
        """One pytree per chosen argument from a flat list (one entry per input leaf)."""
        return _split_by_trees(self.in_trees, flat)

    def zeros_for_none(self, flat) -> list:
        """``flat`` (one entry per input leaf) with None replaced by zeros of the input's type."""
        return [
            zeros(v.shape, v.dtype) if c is None else c
            for v, c in zip(self.graph.inputs[: self.n_in], flat, strict=True)
        ]


def trace_function(fun, args, kwargs, argnums, has_aux=False, who="grad") -> Traced:
    """Trace ``fun(*args, **kwargs)`` in a nested trace, with the leaves of ``args[i]`` for ``i`` in
    ``argnums`` as graph inputs."""
    in_leaves, in_trees = [], []
    for i in argnums:
        leaves, tree = pytree.flatten(args[i])
        in_leaves.extend(leaves)
        in_trees.append(tree)
    with new_trace(fun_name(fun)) as trace:
        inputs = [trace.new_input(*leaf_type(x)) for x in in_leaves]
        call_args = list(args)
        for i, arg in zip(argnums, _split_by_trees(in_trees, inputs), strict=True):
            call_args[i] = arg
        result = autograph_convert(fun)(*call_args, **kwargs)
        main, aux = split_aux(result, has_aux, fun, who)
        main_leaves, out_tree = pytree.flatten(main)
        _check_outputs(main_leaves, out_tree, fun, who)
        aux_leaves, aux_tree = pytree.flatten(aux) if has_aux else ([], None)
        aux_slots = [
            k for k, a in enumerate(aux_leaves) if isinstance(a, Tracer) and a._trace is trace
        ]
        outputs = main_leaves + [aux_leaves[k] for k in aux_slots]
        out_weak = [o.weak if isinstance(o, Tracer) else leaf_type(o)[1] for o in outputs]
        graph, captured = trace.graph(outputs)
    return Traced(
        graph,
        captured,
        in_leaves,
        in_trees,
        out_tree,
        len(main_leaves),
        aux_leaves,
        aux_tree,
        aux_slots,
        out_weak,
    )


def _split_by_trees(trees, flat) -> list:
    """One pytree per treedef in ``trees`` from the consecutive leaves of ``flat``."""
    out, i = [], 0
    for tree in trees:
        n = pytree.num_leaves(tree)
        out.append(pytree.unflatten(tree, flat[i : i + n]))
        i += n
    return out


def _check_outputs(leaves, tree, fun, who) -> None:
    """Each leaf of the differentiated output is a traced value or becomes an array; anything
    else (a string, an object) is named by its place in the output, as ``gc.function`` does."""
    check_output_leaves(leaves, tree, lambda path, leaf, detail: (
        f"{who}: {fun_name(fun)} returned {describe(leaf)} as {path}, but the function "
        f"being differentiated must return arrays ({detail})"))


def split_aux(result, has_aux, fun, who):
    """``(main, aux)`` from what ``fun`` returned (aux None without ``has_aux``), or an error
    naming what it returned instead of a pair."""
    if not has_aux:
        return result, None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = describe(result)
        if not isinstance(result, (tuple, list)):
            got += " alone"
        raise located(
            DifferentiationError,
            f"{who}(..., has_aux=True): {fun_name(fun)} must return a pair "
            f"(output, aux), but it returned {got}",
        )
    return result[0], result[1]


def check_float_inputs(traced: Traced, argnums, who: str, fun) -> None:
    """Differentiated argument leaves must be floating point; a refused one is named by ``fun``'s
    parameter (``argument x['w']``), ``args[i]`` past the named ones."""
    params = positional_names(signature_of(fun))
    i = 0
    for num, tree in zip(argnums, traced.in_trees, strict=True):
        name = params[num] if num < len(params) else f"args[{num}]"
        for path in leaf_paths(tree, f"argument {name}"):
            t = traced.graph.inputs[i].type
            if t.dtype.kind != "f":
                raise located(
                    DifferentiationError,
                    f"{who}: cannot differentiate with respect to {path}, which has dtype "
                    f"{t.dtype}; only floating-point arguments have gradients (convert it with "
                    ".astype(float), or leave it out of argnums)",
                )
            i += 1
