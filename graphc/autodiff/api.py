"""The user-facing differentiation API: grad, value_and_grad, vjp, jvp, jacobian, jacfwd, hessian.

Each transformation works by tracing the user's function into a nested graph and emitting its
forward nodes and its gradient (or tangent) nodes into the *caller's* trace, so inside a
``gc.function`` one graph holds the whole computation. Called with no trace active, a
transformation wraps itself in ``gc.function`` (once, cached on the object), so ``gc.grad(f)(x)``
traces, compiles and caches like ``gc.function`` does.

Choices where API.md is silent (JAX's, unless said otherwise):
  - keyword arguments are passed through and never differentiated;
  - ``vjp(..., has_aux=True)`` returns ``(out, vjp_fn, aux)``;
  - gradients and tangents of integer or bool values are zeros of that dtype (JAX's ``float0``
    has no equivalent here); asking ``grad`` for them is an error;
  - ``grad`` needs one bare 0-d float output: ``[loss]`` or ``{'loss': loss}`` is refused (JAX's
    rule), and a ``vjp`` cotangent / ``jvp`` tangent must have exactly the structure of the
    output / primals (a list for a tuple is refused too), since anything looser would guess;
  - ``stop_gradient`` takes any pytree (None leaves kept), and arrays and Python scalars outside
    tracing;
  - arguments that do not fit the function's signature are refused before tracing
    (``gc.ArgumentError``, a ``TypeError``), naming the user's line;
  - ``jacobian``/``jacfwd`` emit one backward (forward) pass per output (input) element, since
    graphc has no ``vmap``; they are meant for small Jacobians. The result for an output leaf of
    shape ``S`` and an input leaf of shape ``T`` has shape ``S + T``.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

from ..core import current_trace, located
from ..ops import elementwise as ew
from ..ops import shape as sh
from ..trace import pickling, pytree
from .. import numpy as gnp
from ..errors import GraphcError, ShapeError
from ..trace.function import (
    Arguments, Function, autograph_convert, check_call, route_calls, signature_of,
)
from ..trace.signature import leaf_paths
from .forward import LinearizedForward, derivative_nodes
from .nested import check_argnums, check_float_inputs, fun_name, split_aux, trace_function
from .reverse import DifferentiationError, as_tracer


class Transformed:
    """A transformed function: runs ``impl`` inside an active trace, or compiles itself with
    ``gc.function`` (cached) when called from plain Python."""

    def __init__(self, fun, impl, kind: str, recipe=None):
        _check_callable(fun, kind)
        self.fun = fun
        self._impl = impl
        self.kind = kind
        self._recipe = recipe  # (transformation, args) that make this again: how it pickles
        self.__name__ = f"{kind}_{fun_name(fun)}"
        self.__doc__ = getattr(fun, "__doc__", None)
        # inspect.signature follows this: the compiled wrapper names and checks the arguments
        # by the user's parameters (``argument x``, not ``args[0]``)
        self.__wrapped__ = fun
        self._function = None
        self._sig = signature_of(fun)

    def __call__(self, *args, **kwargs):
        if current_trace() is not None:
            return _traced_call(self.fun, self._sig, self._impl, args, kwargs)
        if self._function is None:
            self._function = Function(self._traceable())
            route_calls(self, Transformed.__call__, self._function)  # native fast path for calls
        return self._function(*args, **kwargs)

    def _traceable(self):
        """What the compiled wrapper traces: this call under a trace, as a function that does not
        hold ``self`` (which holds the wrapper: a cycle would keep the compiled code alive until
        the next garbage collection)."""
        fun, sig, impl = self.fun, self._sig, self._impl

        def traceable(*args, **kwargs):
            return _traced_call(fun, sig, impl, args, kwargs)

        traceable.__name__ = traceable.__qualname__ = self.__name__
        traceable.__doc__, traceable.__wrapped__ = self.__doc__, fun  # names the user's parameters
        return traceable

    def __reduce__(self):
        """As its transformation of ``fun`` when ``fun`` is importable, else as the compiled
        signatures of its calls (``graphc/trace/pickling.py``)."""
        return pickling.reduce(self, self._function)

    def _pickle_recipe(self):
        return self._recipe

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"<graphc.{self.kind} of {fun_name(self.fun)}>"


def _traced_call(fun, sig, impl, args, kwargs):
    check_call(fun, sig, args, kwargs, fun_name(fun))
    return impl(*args, **kwargs)


def trace_differentiable(fun, args, kwargs, argnums, has_aux, who):
    """``fun`` traced with the leaves of ``args[argnums]`` as inputs, which must be floating point
    (what ``grad``, ``jacobian`` and ``jacfwd`` differentiate with respect to)."""
    traced = trace_function(fun, args, kwargs, argnums, has_aux, who)
    check_float_inputs(traced, argnums, who, fun)
    return traced


def _scalar_output(traced, who, fun):
    """The type of ``fun``'s output, which must be one 0-d float, not inside a container (as in
    JAX: ``[loss]`` or ``{'loss': loss}`` is refused, since its gradient would lose the
    structure)."""
    types = traced.main_types()
    if traced.out_tree != "*" or types[0].shape != () or types[0].dtype.kind != "f":
        got = ", ".join(str(t) for t in types) or "nothing"
        if traced.out_tree not in ("*", (None,)):
            got = f"{pytree.describe(traced.out_tree)} holding {got}"
        if traced.out_tree == "*" and types[0].shape == ():
            hint = " (convert it with .astype(float))"
        else:
            hint = "; for other outputs use gc.vjp or gc.jacobian"
        raise located(
            DifferentiationError,
            f"{who}: {fun_name(fun)} must return a scalar (a 0-d floating-point value), "
            f"but it returned {got}{hint}",
        )
    return types[0]


def _with_zeros(fun, traced, cts) -> list:
    """One pytree per differentiated argument; inputs the output does not depend on get zeros,
    which are part of the gradient (``bwd``) and point at ``fun``'s definition (no forward op
    made them; the same line whether or not a user frame called, as under ``graphc dump``)."""
    with derivative_nodes("bwd", None, fun):
        return traced.split_inputs(traced.zeros_for_none(cts))


def _grads(fun, traced, cts, argnums):
    per_arg = _with_zeros(fun, traced, cts)
    return per_arg[0] if isinstance(argnums, int) else tuple(per_arg)


def value_and_grad(
    fun: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """``(value, grad)`` of a scalar function, or ``((value, aux), grad)`` with ``has_aux``.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> loss = lambda w, x: np.sum((x * w) ** 2)
        >>> value, dw = gc.value_and_grad(loss)(np.array([1.0, 2.0]), np.array([3.0, 1.0]))
        >>> print(value, dw)
        13.0 [18.  4.]
        >>> (value, aux), dw = gc.value_and_grad(lambda w: (w * w, w + 1.0), has_aux=True)(3.0)
        >>> print(value, aux, dw)
        9.0 4.0 6.0
    """

    def impl(*args, **kwargs):
        nums = check_argnums(argnums, len(args), "grad", kwargs)
        traced = trace_differentiable(fun, args, kwargs, nums, has_aux, "grad")
        lin = traced.linearize()
        out_type = _scalar_output(traced, "grad", fun)
        with derivative_nodes("bwd", lin.output_loc(0), fun):  # the def line for an input
            seed = sh.scalar(1, out_type.dtype)
        cts = lin.backward([seed] + [None] * (len(lin.outs) - 1))
        value, aux = traced.restore_outputs(lin.outs)
        g = _grads(fun, traced, cts, argnums)
        return ((value, aux), g) if has_aux else (value, g)

    return Transformed(fun, impl, "value_and_grad", (value_and_grad, (fun, argnums, has_aux)))


def grad(
    fun: Callable[..., Any], argnums: int | tuple[int, ...] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of a scalar function with respect to ``argnums`` (same pytree, shapes and
    dtypes as the argument); ``(grad, aux)`` with ``has_aux``.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(gc.grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0, 3.0])))
        [2. 4. 6.]
        >>> print(gc.grad(gc.grad(lambda x: x ** 3))(2.0))  # second derivative: 6x
        12.0
        >>> dx, dy = gc.grad(lambda x, y: x * y, argnums=(0, 1))(2.0, 5.0)
        >>> print(dx, dy)
        5.0 2.0
        >>> g = gc.grad(lambda p: p["w"] * p["b"])({"w": np.float32(3.0), "b": np.float32(2.0)})
        >>> print(g["w"], g["b"], g["w"].dtype)
        2.0 3.0 float32
    """
    vg = value_and_grad(fun, argnums, has_aux)

    def impl(*args, **kwargs):
        result = vg._impl(*args, **kwargs)
        if has_aux:
            (_, aux), g = result
            return g, aux
        return result[1]

    return Transformed(fun, impl, "grad", (grad, (fun, argnums, has_aux)))


def stop_gradient(x: Any) -> Any:
    """``x`` with its value kept and its gradient zero, for any pytree of arrays, tracers and
    Python scalars (dicts, lists, tuples, namedtuples, None leaves kept), as JAX's; each leaf
    goes through ``graphc.numpy.stop_gradient``, so outside tracing leaves come back as arrays.

    Example::

        >>> import graphc as gc
        >>> print(gc.grad(lambda x: x * gc.stop_gradient(x))(3.0))  # d/dx of x * c, c = 3
        3.0
        >>> print(gc.stop_gradient({"a": 1.0, "b": None}))
        {'a': array(1.), 'b': None}
    """
    return pytree.tree_map(gnp.stop_gradient, x)


# --- vjp ------------------------------------------------------------------------------------------
def _check_like(kind, given, tree, types, what):
    """Cotangents/tangents given by the user: the pytree structure ``tree`` of the values they
    stand for (as JAX requires), each leaf of its value's shape; cast to its dtype."""
    leaves, given_tree = pytree.flatten(given)
    if given_tree != tree:
        raise located(
            DifferentiationError,
            f"{kind}: the {what} must have the structure of the "
            f"{'output' if kind == 'vjp' else 'primals'}, {pytree.describe(tree)}, but "
            f"{pytree.describe(given_tree)} was given",
        )
    out = []
    trace = current_trace()
    paths = leaf_paths(tree, what)
    for path, x, t in zip(paths, leaves, types, strict=True):
        x = as_tracer(x, trace)
        if tuple(x.shape) != tuple(t.shape):
            raise located(
                ShapeError,
                f"{kind}: {path} has shape {tuple(x.shape)}, expected {tuple(t.shape)}",
            )
        if t.dtype.kind != "f":
            out.append(None)
            continue
        out.append(x if x.dtype == t.dtype else ew.convert(x, dtype=t.dtype))
    return out


def _trace_primals(fun, primals, has_aux, who):
    """``fun(*primals)`` traced with every primal's leaves as inputs (vjp and jvp differentiate
    with respect to all of them), its arguments checked against its signature first."""
    check_call(fun, signature_of(fun), primals, {}, fun_name(fun))
    return trace_function(fun, primals, {}, tuple(range(len(primals))), has_aux, who)


def _vjp_in_trace(fun, primals, has_aux):
    traced = _trace_primals(fun, primals, has_aux, "vjp")
    lin = traced.linearize()
    out, aux = traced.restore_outputs(lin.outs)
    types = traced.main_types()

    def vjp_fn(cotangent):
        cts = _check_like("vjp", cotangent, traced.out_tree, types, "cotangent")
        in_cts = lin.backward(cts + [None] * (len(lin.outs) - len(cts)))
        return tuple(_with_zeros(fun, traced, in_cts))

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


_TOP_LEVEL: weakref.WeakKeyDictionary | dict = weakref.WeakKeyDictionary()


def _top_level(fun, key, make):
    """A compiled helper for a transformation called from plain Python, cached per function.
    ``make(fun_ref)`` builds what to compile, reaching ``fun`` through ``fun_ref()`` only: the
    table holds ``fun`` weakly, and a helper holding it would keep its own entry (and engines)
    alive for good. Whoever may call the helper later (``vjp_fn``) holds ``fun`` instead."""
    try:
        ref = weakref.ref(fun)
        table = _TOP_LEVEL.setdefault(fun, {})
    except TypeError:  # not weak-referenceable: no cache
        return Function(make(lambda: fun))
    if key not in table:
        table[key] = Function(make(ref))
    return table[key]


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(out, vjp_fn)``: ``vjp_fn(ct)`` returns one cotangent per primal (PyTorch's
    ``y.backward(gradient=ct)``). From plain Python, ``out`` and each ``vjp_fn`` call are compiled
    functions (the forward part is recomputed inside ``vjp_fn``'s graph).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> out, vjp_fn = gc.vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
        >>> print(out)
        [1. 4.]
        >>> (ct,) = vjp_fn(np.array([1.0, 10.0]))
        >>> print(ct)
        [ 2. 40.]
    """
    _check_callable(fun, "vjp")
    if current_trace() is not None:
        return _vjp_in_trace(fun, primals, has_aux)
    forward = _top_level(fun, ("vjp_out", has_aux), lambda ref: _named(
        fun, "vjp_out", lambda *args, **kwargs: autograph_convert(ref())(*args, **kwargs),
        signature_of(fun)))
    result = forward(*primals)
    out, aux = split_aux(result, has_aux, fun, "vjp")
    vjp_fn = vjp_function(fun, tuple(primals), has_aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def vjp_function(fun, primals: tuple, has_aux: bool) -> VJPFunction:
    """The ``vjp_fn`` of ``vjp(fun, *primals, has_aux=has_aux)`` called from plain Python."""
    backward = _top_level(fun, ("vjp_bwd", has_aux), lambda ref: _named(
        fun, "vjp", lambda primals, cotangent: _vjp_in_trace(ref(), primals, has_aux)[1](cotangent)))
    return VJPFunction(fun, backward, primals, has_aux)


class VJPFunction:
    """``vjp_fn(cotangent)``: the compiled backward pass at fixed primals (its graph recomputes
    the forward part). A class, not a closure, so that it pickles: as ``vjp_function`` of
    ``fun`` when ``fun`` is importable, else as the backward pass's compiled signatures."""

    def __init__(self, fun, backward: Function, primals: tuple, has_aux: bool):
        self.fun = fun  # the table holds fun weakly: backward stays cached while this lives
        self._backward, self._primals, self._has_aux = backward, primals, has_aux

    def __call__(self, cotangent):
        return tuple(self._backward(self._primals, cotangent))

    def _pickle_recipe(self):
        return vjp_function, (self.fun, self._primals, self._has_aux)

    def __reduce__(self):
        rebuild = pickling.rebuild_of(self)
        if rebuild is not None:
            return rebuild
        return VJPFunction, (None, self._backward, self._primals, self._has_aux)


def _check_callable(fun, kind):
    if not callable(fun):
        raise located(DifferentiationError, f"{kind} needs a callable, got {type(fun).__name__}")


def _named(fun, kind, f, signature=None):
    """``f`` under the name ``{kind}_{fun's name}`` (and ``signature`` for argument checks)."""

    def wrapper(*args, **kwargs):
        return f(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = f"{kind}_{fun_name(fun)}"
    wrapper.__signature__ = signature if signature is not None else signature_of(f)
    return wrapper


# --- jvp ------------------------------------------------------------------------------------------
def _jvp_in_trace(fun, primals, tangents):
    traced = _trace_primals(fun, primals, False, "jvp")
    in_types = [v.type for v in traced.graph.inputs[: traced.n_in]]
    tans = _check_like("jvp", tuple(tangents), pytree.flatten(tuple(primals))[1], in_types,
                       "tangents")
    fwd = LinearizedForward(traced.graph, traced.graph_args())
    out_t = fwd.push(tans + [None] * len(traced.captured))
    out, _ = traced.restore_outputs(fwd.outs)
    for i, (v, t) in enumerate(zip(traced.graph.outputs, out_t, strict=True)):
        if t is None:  # an output that does not depend on the primals: a zero tangent
            with derivative_nodes("jvp", fwd.output_loc(i), fun):
                out_t[i] = sh.zeros(v.shape, v.dtype)
    return out, pytree.unflatten(traced.out_tree, out_t)


def jvp(
    fun: Callable[..., Any], primals: tuple[Any, ...] | list[Any],
    tangents: tuple[Any, ...] | list[Any],
) -> tuple[Any, Any]:
    """Forward mode: ``(fun(*primals), J @ tangents)``; ``primals`` and ``tangents`` are tuples.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> out, t = gc.jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))
        >>> print(out, t)
        6.0 3.0
        >>> out, t = gc.jvp(lambda x: x ** 2, (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
        >>> print(out, t)
        [1. 4.] [2. 4.]
    """
    _check_callable(fun, "jvp")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise located(
            DifferentiationError,
            "jvp: primals and tangents must be tuples (one entry per argument of the function)",
        )
    if len(primals) != len(tangents):
        raise located(
            DifferentiationError, f"jvp: {len(primals)} primals but {len(tangents)} tangents"
        )
    if current_trace() is not None:
        return _jvp_in_trace(fun, tuple(primals), tuple(tangents))
    compiled = _top_level(
        fun,
        "jvp",
        lambda ref: _named(
            fun, "jvp", lambda primals, tangents: _jvp_in_trace(ref(), primals, tangents)),
    )
    try:
        return compiled(tuple(primals), tuple(tangents))
    except GraphcError as e:  # name the user's parameter, not the wrapper's ``primals[i]``
        Arguments(fun, fun_name(fun), (), ()).signature(tuple(primals), {})
        raise e from None
