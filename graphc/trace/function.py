"""``gc.function`` / ``gc.jit``: trace once per input signature, optimize, compile, cache, run.

Choices (where API.md is silent):
  - Called inside another trace, a ``gc.function`` is inlined into the enclosing graph (like a nested
    ``jax.jit``), so the optimizer sees the whole computation.
  - Outputs are fresh NumPy arrays; a Python scalar result comes back as a 0-d array.
  - A retrace is logged on the ``graphc`` logger at DEBUG level with the argument that changed; the
    ninth trace of one function warns once (TensorFlow's excessive-retracing warning).
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time

import numpy as np

from .. import config
from ..errors import ArgumentError, GraphcError
from ..ir import Graph, TensorType, verify
from . import fastpath, pytree
from .locations import definition_location, warn_at_user
from .signature import arg_name, describe_change, leaf_paths, leaf_signature
from .tracer import (
    Tracer, as_array, collector_paused, current_trace, located, new_trace,
)

log = logging.getLogger("graphc")


def signature_of(fun) -> inspect.Signature | None:
    """``fun``'s signature, or None where Python cannot tell (some builtins and callables)."""
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def _positional_names(sig) -> list[str]:
    """Names of the parameters that positional arguments bind to (``*args`` and later excluded)."""
    if sig is None:
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in sig.parameters.values() if p.kind in kinds]


def _takes(sig, kind) -> bool:
    """Whether ``sig`` has a parameter of ``kind`` (``*args``/``**kwargs``); True when unknown."""
    return sig is None or any(p.kind == kind for p in sig.parameters.values())


def int_tuple(argnums) -> tuple[int, ...] | None:
    """An ``argnums``-style argument (an int, or a tuple or list of ints; a bool is not one) as a
    tuple of Python ints, or None when it is something else."""
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else argnums
    if not isinstance(nums, (tuple, list)) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in nums
    ):
        return None
    return tuple(map(int, nums))


def _normalize_argnums(argnums, params, sig, name) -> tuple[int, ...]:
    """``static_argnums`` as a sorted tuple of non-negative positions (negative ones count from
    the end of the named parameters, as in JAX); a position the function cannot take is refused
    when it is made, not ignored."""
    nums = int_tuple(argnums)
    if nums is None:
        raise located(GraphcError, f"gc.function({name}): static_argnums must be an int or a "
                      f"tuple of ints, got {argnums!r}")
    n, out = len(params), set()
    for a in nums:
        if -n <= a < 0:
            a += n
        elif a < 0 or (a >= n and not _takes(sig, inspect.Parameter.VAR_POSITIONAL)):
            raise located(GraphcError, f"gc.function({name}): static_argnums {a} is out of range: "
                          f"{name} takes {n} positional parameter{'s' if n != 1 else ''}")
        out.add(a)
    return tuple(sorted(out))


def _normalize_argnames(argnames, sig, name) -> frozenset:
    """``static_argnames`` as a set of names, each one ``fun`` can take by keyword."""
    names = (argnames,) if isinstance(argnames, str) else argnames
    if not isinstance(names, (tuple, list, set, frozenset)) or not all(
        isinstance(a, str) for a in names
    ):
        raise located(GraphcError, f"gc.function({name}): static_argnames must be a str or a "
                      f"tuple of str, got {argnames!r}")
    if not _takes(sig, inspect.Parameter.VAR_KEYWORD):
        unknown = sorted(set(names) - set(sig.parameters))
        if unknown:
            raise located(GraphcError, f"gc.function({name}): static_argnames {unknown} are not "
                          f"parameters of {name}{sig}")
    return frozenset(names)


def check_call(fun, sig, args, kwargs, name) -> None:
    """Arguments that do not fit ``fun``'s signature ``sig``, refused before tracing with the
    user's line (a call deep inside graphc would raise Python's bare TypeError there)."""
    if sig is None:
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        raise located(ArgumentError, f"{name}{sig}: {e}") from None


def check_output_leaves(leaves, tree, explain) -> None:
    """Every returned leaf must be a traced value or become an array (a Python scalar comes back
    as a 0-d array); anything else raises ``explain(path, leaf, detail)`` at the user's line."""
    for path, leaf in zip(leaf_paths(tree, "output"), leaves, strict=True):
        if isinstance(leaf, Tracer):
            continue
        try:
            as_array(leaf)
        except GraphcError as e:
            detail = getattr(e, "detail", str(e))
            raise located(type(e), explain(path, leaf, detail)) from None


class Function:
    """A traced-and-compiled function; see ``gc.function``."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), autograph=True, backend=None,
                 optimize=True):
        if not callable(fun):
            raise GraphcError(f"gc.function needs a callable, got {type(fun).__name__}")
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self._sig = signature_of(fun)
        self._params = _positional_names(self._sig)
        self.static_argnums = _normalize_argnums(static_argnums, self._params, self._sig,
                                                 self.__name__)
        names = _normalize_argnames(static_argnames, self._sig, self.__name__)
        # a static name also makes its position static, and the other way round (as in JAX)
        self.static_argnames = names | {
            self._params[i] for i in self.static_argnums if i < len(self._params)
        }
        self.static_argnums = tuple(sorted(set(self.static_argnums) | {
            i for i, p in enumerate(self._params) if p in self.static_argnames
        }))
        # NOTE: accepted for API.md's signature; there is no AST conversion yet, so data-dependent
        # Python control flow raises TracerBoolError whatever this says.
        self.autograph = autograph
        self.backend = backend or config.default_backend
        self.optimize = optimize
        self._cache: dict = {}
        self._build_lock = threading.RLock()
        self._last_key = None
        self._warned = False
        self._hosts: list = []  # (object, its generic __call__) routed like self, see route_calls
        self._fast_make = None

    # --- calling ----------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # the generic path; _install_fast may route calls to native code first (see there)
        if current_trace() is not None:
            return self.fun(*args, **kwargs)
        key, leaves = self._signature(args, kwargs)
        concrete = self._cache.get(key)
        if concrete is None:
            concrete = self._build(args, kwargs, key)
        return concrete.run(leaves)

    def concrete(self, *args, **kwargs) -> Concrete:
        """The compiled artefact for these arguments' signature (built if needed, not run)."""
        key, _ = self._signature(args, kwargs)
        return self._cache.get(key) or self._build(args, kwargs, key)

    def _split(self, args, kwargs):
        dyn_args = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
        static_args = tuple((i, a) for i, a in enumerate(args) if i in self.static_argnums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        static_kwargs = tuple(sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames))
        return (dyn_args, dyn_kwargs), (static_args, static_kwargs)

    def _signature(self, args, kwargs):
        dynamic, static = self._split(args, kwargs)
        leaves, treedef = pytree.flatten(dynamic)
        self._check_hashable(static)
        try:
            sigs = tuple(leaf_signature(x, "argument") for x in leaves)
        except GraphcError as e:
            raise self._locate_leaf_error(treedef, leaves, e) from None
        return (treedef, sigs, static), leaves

    def _check_hashable(self, static):
        """Static values key the cache, so each must be hashable (as in JAX); name the culprit."""
        named = [(self._params[i] if i < len(self._params) else f"args[{i}]", v) for i, v in static[0]]
        for name, value in named + list(static[1]):
            try:
                hash(value)
            except TypeError:
                raise located(
                    GraphcError,
                    f"{self.__name__}: static argument {name} must be hashable (it keys the trace "
                    f"cache), got an unhashable {type(value).__name__}; pass a tuple or a frozen "
                    "dataclass, or make it a dynamic argument"
                ) from None

    def _locate_leaf_error(self, treedef, leaves, err):
        for path, x in zip(leaf_paths(treedef), leaves, strict=True):
            try:
                leaf_signature(x, "")
            except GraphcError as e:
                detail = str(e).removeprefix(": ")
                return located(type(err), f"{self.__name__}: argument {self._arg_name(path)}: "
                               f"{detail}")
        return err

    def _dyn_params(self):
        return [p for i, p in enumerate(self._params) if i not in self.static_argnums]

    def _arg_name(self, path):
        return arg_name(path, self._dyn_params())

    # --- building ---------------------------------------------------------------------------------
    def _build(self, args, kwargs, key) -> Concrete:
        # NOTE: one build per signature even when several threads miss the cache at once; the lock
        # is taken only on a miss, so the per-call path never touches it.
        with self._build_lock:
            concrete = self._cache.get(key)
            return concrete if concrete is not None else self._build_locked(args, kwargs, key)

    def _build_locked(self, args, kwargs, key) -> Concrete:
        if self._cache:
            why = describe_change(self._last_key, key, self._dyn_params(), self._params)
            log.debug("retracing %s: %s", self.__name__, why)
        if len(self._cache) >= config.retrace_warn_limit and not self._warned:
            self._warned = True
            warn_at_user(
                f"{self.__name__} has been traced {len(self._cache) + 1} times; each new input "
                "signature (shapes, dtypes, static values, pytree structure) costs a trace and a "
                "compile. Pass arrays of fixed shapes, or mark Python values static."
            )
        with collector_paused():
            concrete = Concrete.build(self, args, kwargs, key)
        self._cache[key] = concrete
        self._last_key = key
        _install_fast(self, concrete, key)
        return concrete

    def trace(self, args, kwargs, key) -> tuple[Graph, tuple]:
        """Trace ``fun`` for the signature ``key``; returns the graph and the output treedef."""
        treedef, sigs, _ = key
        with new_trace(self.__name__) as trace:
            trace.default_loc = definition_location(self.fun)
            tracers = [trace.new_input(TensorType(tuple(s), d), weak) for s, d, weak in sigs]
            dyn_args, dyn_kwargs = pytree.unflatten(treedef, tracers)
            call_args = list(dyn_args)
            for i, a in enumerate(args):
                if i in self.static_argnums:
                    call_args.insert(i, a)
            call_kwargs = dict(dyn_kwargs)
            call_kwargs.update((k, v) for k, v in kwargs.items() if k in self.static_argnames)
            check_call(self.fun, self._sig, call_args, call_kwargs, self.__name__)
            out = self.fun(*call_args, **call_kwargs)
            out_leaves, out_tree = pytree.flatten(out)
            check_output_leaves(out_leaves, out_tree, lambda path, leaf, detail: (
                f"{self.__name__} returned an unsupported value at {path} "
                f"({type(leaf).__name__}): {detail}"))
            graph, captured = trace.graph(out_leaves)
        if captured:
            raise GraphcError(f"internal error: the top-level trace of {self.__name__} captured "
                              f"{len(captured)} outer values")
        return graph, out_tree

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self) -> str:
        return f"<graphc.function {self.__name__}>"


def _install_fast(function: Function, concrete: Concrete, key) -> None:
    """Route calls of ``function`` (and its hosts) to a shortcut for this signature when one
    exists: the native entry itself or a generated pytree wrapper (see ``fastpath``)."""
    make = fastpath.maker(concrete.executable, key, concrete.out_tree, len(concrete.graph.outputs))
    if make is not None:
        function._fast_make = make
        fastpath.install([(function, Function.__call__), *function._hosts], make)


def route_calls(host, generic_call, function: Function) -> None:
    """Let calls of ``host`` take ``function``'s fast path too: for objects such as ``gc.grad(f)``
    whose ``generic_call`` (their class's ``__call__``) compiles and runs through ``function``
    outside a trace. Mismatches fall back to ``generic_call(host, ...)``."""
    function._hosts.append((host, generic_call))
    if function._fast_make is not None:
        fastpath.install([(host, generic_call)], function._fast_make)


class Concrete:
    """The compiled artefact for one signature: graphs of each stage, the executable, statistics."""

    def __init__(self, function: Function, key, traced: Graph, optimized: Graph, executable,
                 out_tree, stats):
        self._function, self._key = function, key
        self.sigs = key[1]  # (shape, dtype, weak) per argument leaf
        self.traced = traced
        self.graph = optimized
        self.executable = executable
        self.out_tree = out_tree
        self._stats = stats

    @classmethod
    def build(cls, function: Function, args, kwargs, key) -> Concrete:
        from ..backend import get_backend
        from ..passes import optimize

        t0 = time.perf_counter()
        traced, out_tree = function.trace(args, kwargs, key)
        t1 = time.perf_counter()
        if config.verify_ir:
            verify(traced)
        optimized, pass_stats = optimize(traced) if function.optimize else (traced, [])
        t2 = time.perf_counter()
        executable = get_backend(function.backend).compile(optimized)
        t3 = time.perf_counter()
        stats = {
            "nodes": {"traced": traced.count_nodes(), "optimized": optimized.count_nodes()},
            "passes": pass_stats,
            "trace_ms": (t1 - t0) * 1e3,
            "optimize_ms": (t2 - t1) * 1e3,
            "compile_ms": (t3 - t2) * 1e3,
        }
        return cls(function, key, traced, optimized, executable, out_tree, stats)

    def run(self, leaves):
        """Execute on the flat argument leaves of this signature; returns the output pytree.
        Python scalars and NumPy scalars become arrays of the dtype the trace gave them."""
        arrays = []
        for x, (_, d, _) in zip(leaves, self.sigs, strict=True):
            arrays.append(x if type(x) is np.ndarray else np.asarray(x, dtype=d))
        outs = self.executable(*arrays)
        return pytree.unflatten(self.out_tree, outs)

    def __call__(self, *args, **kwargs):
        """Run on arguments of exactly this signature (static arguments included); anything else
        is refused with the reason, since compiled code for other shapes could not run safely."""
        function = self._function
        key, leaves = function._signature(args, kwargs)
        if key != self._key:
            why = describe_change(self._key, key, function._dyn_params(), function._params)
            raise located(GraphcError, f"{function.__name__}: this compiled function does not "
                          f"fit these arguments: {why}; call the gc.function itself to retrace")
        return self.run(leaves)

    def ir(self, stage: str = "optimized") -> str:
        if stage == "traced":
            return str(self.traced)
        if stage == "optimized":
            return str(self.graph)
        return self.executable.text(stage)

    def llvm_ir(self) -> str:
        return self.executable.text("llvm")

    def asm(self) -> str:
        return self.executable.text("asm")

    def stats(self) -> dict:
        return {**self._stats, **self.executable.stats()}


def function(fun=None, *, static_argnums=(), static_argnames=(), autograph=True, backend=None):
    """Trace, optimize and compile ``fun`` once per input signature (usable bare or with options).

    ``backend="reference"`` runs the NumPy reference evaluator instead of native code (debugging);
    the default is ``config.default_backend``.
    """
    if fun is None:
        return functools.partial(function, static_argnums=static_argnums,
                                 static_argnames=static_argnames, autograph=autograph,
                                 backend=backend)
    return Function(fun, static_argnums, static_argnames, autograph, backend)


def make_graph(fun, static_argnums=(), static_argnames=()):
    """Like ``jax.make_jaxpr``: returns a function that traces ``fun`` and returns the graph."""

    def traced(*args, **kwargs):
        f = Function(fun, static_argnums, static_argnames, backend="reference", optimize=False)
        key, _ = f._signature(args, kwargs)
        graph, _ = f.trace(args, kwargs, key)
        if config.verify_ir:
            verify(graph)
        return graph

    return traced
