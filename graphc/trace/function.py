"""``gc.function`` / ``gc.jit``: trace once per input signature, optimize, compile, cache, run.

Choices (where API.md is silent):
  - Called inside another trace, a ``gc.function`` is inlined into the enclosing graph (like a nested
    ``jax.jit``), so the optimizer sees the whole computation.
  - Outputs are fresh NumPy arrays; a Python scalar result comes back as a 0-d array.
  - A retrace is logged on the ``graphc`` logger at DEBUG level with the argument that changed; the
    ninth trace of one function warns once (TensorFlow's excessive-retracing warning), counting
    traces made, so a signature evicted and traced again counts again.
  - Each function keeps at most ``config.max_traces`` signatures (``GRAPHC_MAX_TRACES``, default
    64; 0 keeps all, as ``tf.function`` does), evicting the least recently used: each costs an
    LLVM engine of ~1.7 MB for a small graph, so 500 shapes of one function held 880 MB.
"""

from __future__ import annotations

import collections
import functools
import inspect
import logging
import threading
import weakref
from collections.abc import Callable, Sequence

import numpy as np

from .. import config
from ..core import Tracer, as_array, collector_paused, current_trace, located, new_trace
from ..core.locations import definition_location, warn_at_user
from ..errors import ArgumentError, GraphcError
from ..ir import Graph, TensorType, verify
from . import fastpath, pytree
from .concrete import Concrete
from .signature import arg_name, describe_change, leaf_paths, leaf_signature

log = logging.getLogger("graphc")


_AUTOGRAPH: list = []  # AutoGraph's convert, once graphc.autograph has installed it


def install_autograph(convert) -> None:
    """Make ``convert`` what traces call functions through. AutoGraph builds on ``gc.cond``, a
    layer above tracing, so it installs itself (``graphc.autograph``) instead of being imported."""
    _AUTOGRAPH[:] = [convert]


def autograph_convert(fun):
    """``fun`` converted by AutoGraph (itself before ``graphc.autograph`` is imported)."""
    return _AUTOGRAPH[0](fun) if _AUTOGRAPH else fun


def signature_of(fun) -> inspect.Signature | None:
    """``fun``'s signature, or None where Python cannot tell (some builtins and callables)."""
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def positional_names(sig) -> list[str]:
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
        raise located(ArgumentError, f"gc.function({name}): static_argnums must be an int or a "
                      f"tuple of ints, got {argnums!r}")
    n, out = len(params), set()
    for a in nums:
        if -n <= a < 0:
            a += n
        elif a < 0 or (a >= n and not _takes(sig, inspect.Parameter.VAR_POSITIONAL)):
            raise located(ArgumentError, f"gc.function({name}): static_argnums {a} is out of range: "
                          f"{name} takes {n} positional parameter{'s' if n != 1 else ''}")
        out.add(a)
    return tuple(sorted(out))


def _normalize_argnames(argnames, sig, name) -> frozenset:
    """``static_argnames`` as a set of names, each one ``fun`` can take by keyword."""
    names = (argnames,) if isinstance(argnames, str) else argnames
    if not isinstance(names, (tuple, list, set, frozenset)) or not all(
        isinstance(a, str) for a in names
    ):
        raise located(ArgumentError, f"gc.function({name}): static_argnames must be a str or a "
                      f"tuple of str, got {argnames!r}")
    if not _takes(sig, inspect.Parameter.VAR_KEYWORD):
        unknown = sorted(set(names) - set(sig.parameters))
        if unknown:
            raise located(ArgumentError, f"gc.function({name}): static_argnames {unknown} are not "
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


class Arguments:
    """How one function's arguments become a signature key: its static positions and names and
    the parameter names messages use. Kept apart from ``Function`` so a ``Concrete`` can check
    its arguments without holding the function (which holds the Concrete: a reference cycle
    would keep compiled code alive until the next garbage collection)."""

    def __init__(self, fun, name, static_argnums, static_argnames):
        self.name = name
        self.sig = signature_of(fun)
        self.params = positional_names(self.sig)
        nums = _normalize_argnums(static_argnums, self.params, self.sig, name)
        names = _normalize_argnames(static_argnames, self.sig, name)
        # a static name also makes its position static, and the other way round (as in JAX)
        self.static_argnames = names | {self.params[i] for i in nums if i < len(self.params)}
        self.static_argnums = tuple(sorted(set(nums) | {
            i for i, p in enumerate(self.params) if p in self.static_argnames
        }))

    def split(self, args, kwargs):
        dyn_args = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
        static_args = tuple((i, a) for i, a in enumerate(args) if i in self.static_argnums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        static_kwargs = tuple(sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames))
        return (dyn_args, dyn_kwargs), (static_args, static_kwargs)

    def signature(self, args, kwargs):
        """``(key, leaves)``: the signature key of a call and its flat dynamic argument leaves."""
        dynamic, static = self.split(args, kwargs)
        leaves, treedef = pytree.flatten(dynamic)
        self._check_hashable(static)
        try:
            sigs = tuple(leaf_signature(x, "argument") for x in leaves)
        except GraphcError as e:
            raise self._locate_leaf_error(treedef, leaves, e) from None
        return (treedef, sigs, static), leaves

    def _check_hashable(self, static):
        """Static values key the cache, so each must be hashable (as in JAX); name the culprit."""
        named = [(self.params[i] if i < len(self.params) else f"args[{i}]", v) for i, v in static[0]]
        for name, value in named + list(static[1]):
            try:
                hash(value)
            except TypeError:
                raise located(
                    GraphcError,
                    f"{self.name}: static argument {name} must be hashable (it keys the trace "
                    f"cache), got an unhashable {type(value).__name__}; pass a tuple or a frozen "
                    "dataclass, or make it a dynamic argument"
                ) from None

    def _locate_leaf_error(self, treedef, leaves, err):
        for path, x in zip(leaf_paths(treedef), leaves, strict=True):
            try:
                leaf_signature(x, "")
            except GraphcError as e:
                detail = str(e).removeprefix(": ")
                return located(type(err), f"{self.name}: argument {self.arg_name(path)}: "
                               f"{detail}")
        return err

    def dyn_params(self):
        return [p for i, p in enumerate(self.params) if i not in self.static_argnums]

    def arg_name(self, path):
        return arg_name(path, self.dyn_params())

    def describe_change(self, old_key, new_key) -> str:
        return describe_change(old_key, new_key, self.dyn_params(), self.params)


class Function:
    """A traced-and-compiled function; see ``gc.function``.

    Its cache holds at most ``config.max_traces`` signatures, least recently used first out (see
    ``_remember``). Nothing it makes points back at it, so dropping it frees its compiled code at
    once, without waiting for the cyclic garbage collector."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), autograph=True, backend=None,
                 optimize=True):
        if not callable(fun):
            raise GraphcError(f"gc.function needs a callable, got {type(fun).__name__}")
        functools.update_wrapper(self, fun, updated=())
        self.fun = fun
        self._arguments = Arguments(fun, self.__name__, static_argnums, static_argnames)
        self.static_argnums = self._arguments.static_argnums
        self.static_argnames = self._arguments.static_argnames
        self._signature = self._arguments.signature
        self.autograph = autograph
        self.backend = backend or config.default_backend
        self.optimize = optimize
        self._cache: collections.OrderedDict = collections.OrderedDict()  # oldest use first
        self._cache_lock = threading.Lock()  # held for dictionary updates only, never a build
        self._build_lock = threading.RLock()
        self._last_key = None
        self._traces = self._evictions = 0
        self._warned = False
        #: (weak reference to an object, its generic __call__), routed like self: see route_calls
        self._hosts: list = [(weakref.ref(self), Function.__call__)]
        self._shortcuts: list = []  # (key, make) of the newest fastpath.CHAIN signatures

    # --- calling ----------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        # the generic path; _remember may route calls to native code first (see there)
        if current_trace() is not None:
            return self._traced_fun()(*args, **kwargs)
        key, leaves = self._signature(args, kwargs)
        concrete = self._lookup(key) or self._build(args, kwargs, key)
        return concrete.run(leaves)

    def concrete(self, *args, **kwargs) -> Concrete:
        """The compiled artefact for these arguments' signature (built if needed, not run). It
        stays valid after the cache evicts it or the function is dropped."""
        key, _ = self._signature(args, kwargs)
        return self._lookup(key) or self._build(args, kwargs, key)

    def stats(self) -> dict:
        """The signature cache: ``signatures`` held, ``max_traces`` (0: no limit), ``traces``
        made so far and ``evictions`` (a signature evicted and called again is traced again)."""
        return {"signatures": len(self._cache), "max_traces": _max_traces(),
                "traces": self._traces, "evictions": self._evictions}

    def _lookup(self, key) -> Concrete | None:
        with self._cache_lock:
            concrete = self._cache.get(key)
            if concrete is not None:
                self._cache.move_to_end(key)
            return concrete

    # --- building ---------------------------------------------------------------------------------
    def _build(self, args, kwargs, key) -> Concrete:
        # NOTE: one build per signature even when several threads miss the cache at once; the lock
        # is taken only on a miss, so the per-call path never touches it.
        with self._build_lock:
            return self._lookup(key) or self._build_locked(args, kwargs, key)

    def _build_locked(self, args, kwargs, key) -> Concrete:
        if self._traces:
            log.debug("retracing %s: %s", self.__name__,
                      self._arguments.describe_change(self._last_key, key))
        if self._traces >= config.retrace_warn_limit and not self._warned:
            self._warned = True
            evicted = (f" ({self._evictions} signatures evicted from its cache of "
                       f"config.max_traces={_max_traces()})" if self._evictions else "")
            warn_at_user(
                f"{self.__name__} has been traced {self._traces + 1} times{evicted}; each new "
                "input signature (shapes, dtypes, static values, pytree structure) costs a trace "
                "and a compile. Pass arrays of fixed shapes, or mark Python values static."
            )
        with collector_paused():
            concrete = Concrete.build(self, args, kwargs, key)
        self._traces += 1
        self._last_key = key
        self._remember(key, concrete)
        return concrete

    def _remember(self, key, concrete: Concrete) -> None:
        """Cache ``concrete`` and route calls to it, evicting the least recently used signatures
        beyond ``config.max_traces``. The cache and the shortcuts hold the only references graphc
        keeps, so an evicted signature's engine is freed as soon as no call is running it and the
        user holds no ``Concrete`` of it."""
        limit = _max_traces()
        dropped = []  # freed after the lock is released (freeing an engine takes jit.LOCK)
        with self._cache_lock:
            self._cache[key] = concrete
            while limit and len(self._cache) > limit:
                victim = self._victim(key)
                dropped.append((victim, self._cache.pop(victim)))
        evicted = [k for k, _ in dropped]
        self._evictions += len(evicted)
        if evicted:
            log.debug("%s: %d signature(s) evicted (config.max_traces=%d)", self.__name__,
                      len(evicted), limit)
        make = fastpath.maker(concrete.executable, key, concrete.out_tree,
                              len(concrete.graph.outputs))
        shortcuts = [(k, m) for k, m in self._shortcuts if k not in evicted]
        shortcuts += [(key, make)] if make is not None else []
        if evicted or make is not None:
            self._shortcuts = shortcuts[-fastpath.CHAIN:]
            self._route(self._hosts)

    def _victim(self, keep):
        """The signature to evict: the least recently used one, passing over those with a
        shortcut (calls through a shortcut run no Python code, so they cannot mark it used)."""
        older = [k for k in self._cache if k != keep]
        shortcut = {k for k, _ in self._shortcuts}
        return next((k for k in older if k not in shortcut), older[0])

    def _route(self, hosts) -> None:
        """Install the current shortcuts on the live ``hosts`` (``(weakref, generic)`` pairs)."""
        self._hosts = [(r, g) for r, g in self._hosts if r() is not None]
        live = [(h, g) for r, g in hosts if (h := r()) is not None]
        fastpath.install(live, [m for _, m in self._shortcuts])

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
            check_call(self.fun, self._arguments.sig, call_args, call_kwargs, self.__name__)
            out = self._traced_fun()(*call_args, **call_kwargs)
            out_leaves, out_tree = pytree.flatten(out)
            check_output_leaves(out_leaves, out_tree, lambda path, leaf, detail: (
                f"{self.__name__} returned an unsupported value at {path} "
                f"({type(leaf).__name__}): {detail}"))
            graph, captured = trace.graph(out_leaves)
        if captured:
            raise GraphcError(f"internal error: the top-level trace of {self.__name__} captured "
                              f"{len(captured)} outer values")
        return graph, out_tree

    def _traced_fun(self):
        """What a trace calls: ``fun`` converted by AutoGraph unless ``autograph=False``."""
        return autograph_convert(self.fun) if self.autograph else self.fun

    def __get__(self, obj, objtype=None):
        return self if obj is None else functools.partial(self, obj)

    def __reduce__(self):
        """By reference when this object or ``fun`` is importable, else by its compiled
        signatures (``pickling.py``)."""
        from . import pickling

        return pickling.reduce(self, self)

    def _pickle_recipe(self):
        return Function, (self.fun, self.static_argnums, tuple(sorted(self.static_argnames)),
                          self.autograph, self.backend, self.optimize)

    def __copy__(self):
        return self  # one function, as copy treats Python's (a copy would retrace everything)

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"<graphc.function {self.__name__}>"


def _max_traces() -> int:
    n = config.max_traces
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ArgumentError(f"graphc.config.max_traces must be an int >= 0 (0: no limit), got "
                            f"{n!r}")
    return n


def route_calls(host, generic_call, function: Function) -> None:
    """Let calls of ``host`` take ``function``'s fast path too: for objects such as ``gc.grad(f)``
    whose ``generic_call`` (their class's ``__call__``) compiles and runs through ``function``
    outside a trace. Mismatches fall back to ``generic_call(host, ...)``. ``function`` holds
    ``host`` weakly (the host holds the function)."""
    hosted = (weakref.ref(host), generic_call)
    with function._build_lock:  # a build in another thread may be changing the shortcuts
        function._hosts.append(hosted)
        if function._shortcuts:
            function._route([hosted])


def function(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (),
             static_argnames: str | Sequence[str] = (), autograph: bool = True,
             backend: str | None = None) -> Function | Callable[[Callable], Function]:
    """Trace, optimize and compile ``fun`` once per input signature (usable bare or with options).

    ``backend="reference"`` runs the NumPy reference evaluator instead of native code (debugging);
    the default is ``config.default_backend``.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> @gc.function
        ... def f(x, y):
        ...     return np.sin(x) * y + 1.0
        >>> print(f(np.zeros(3), np.ones(3)))
        [1. 1. 1.]
        >>> @gc.jit(static_argnums=1)
        ... def power(x, n):
        ...     return x ** n
        >>> print(power(np.array([1.0, 2.0, 3.0]), 2))
        [1. 4. 9.]
    """
    if fun is None:
        return functools.partial(function, static_argnums=static_argnums,
                                 static_argnames=static_argnames, autograph=autograph,
                                 backend=backend)
    return Function(fun, static_argnums, static_argnames, autograph, backend)


def make_graph(fun: Callable, static_argnums: int | Sequence[int] = (),
               static_argnames: str | Sequence[str] = ()) -> Callable[..., Graph]:
    """Like ``jax.make_jaxpr``: returns a function that traces ``fun`` and returns the graph.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> def sumsq(x):
        ...     return np.sum(x * x)
        >>> print(gc.make_graph(sumsq)(np.ones(3)))  # doctest: +ELLIPSIS
        graph sumsq(%0: f64[3]) {
          %1: f64[3] = mul %0, %0 ...# ...doctest...:2
          %2: f64[] = reduce_sum[axes=(0,)] %1 ...# ...doctest...:2
          return %2
        }
    """

    def traced(*args, **kwargs):
        f = Function(fun, static_argnums, static_argnames, backend="reference", optimize=False)
        key, _ = f._signature(args, kwargs)
        graph, _ = f.trace(args, kwargs, key)
        if config.verify_ir:
            verify(graph)
        return graph

    return traced
