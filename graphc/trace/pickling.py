"""Pickling compiled functions: ``gc.function``/``gc.jit``, the transformations (``grad``,
``value_and_grad``, ``jacobian``, ``jacfwd``, ``hessian``, ``vmap``, the function ``vjp``
returns) and ``Concrete`` artefacts, for multiprocessing (fork or spawn), Dask, Ray or a serving
process.

What travels:
  - **A reference**, when the Python function is found again by its module and qualified name
    (as pickle does for functions), in a module other than ``__main__``: a module-level
    ``@gc.function`` as that name (the receiver's object of that name, with its cache), any other
    wrapper as its transformation, its options and the function's reference (``gc.grad(f,
    argnums=1)`` is ``grad(f, 1, False)`` again). The receiver traces and compiles on its first
    call of each signature, as the sender did (a disk-cache hit on a machine that compiled it).
  - **Its compiled signatures** otherwise (a local function, a lambda, a closure, a method, a
    function of ``__main__``, which is another program in a Dask worker or a server, as
    cloudpickle decides): per signature its key (argument structure, shapes, dtypes, static
    values), its traced and optimized graphs as IR text (``graphc.ir.parse`` reads them back
    exactly, constants bit for bit: arrays a function closes over are constants of its graphs)
    and what the backend's ``Executable.shipped()`` gives (the LLVM backend's: the object code and
    the cache key it was built under, ``backend/llvm/shipping.py``). The receiver runs the
    backend's passes on the optimized graph and compiles it, loading the object code when its
    own module has the recorded key (same CPU, features, versions: never code built for another
    CPU), else compiling. It runs those signatures; another signature, or a call inside a trace
    (``gc.grad`` of it, another ``gc.function``), is a ``GraphcError`` saying why. A function
    with no compiled signature cannot travel so: pickling it is a ``PicklingError`` saying what
    to do. A ``Concrete`` always travels as its one signature.

Not pickled: the signature cache of a function that travels by reference, statistics of the
sender's cache (``stats()["cache"]``), and the parameters' defaults and annotations of one that
travels by signatures (only names and kinds, for argument checks and messages).
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import sys
import time

from ..backend import backend_passes, get_backend
from ..core import located
from ..errors import GraphcError
from ..ir import parse
from ..passes import prepare
from .concrete import Concrete
from .function import Arguments, Function

#: The layout of a pickled function's signatures; a pickle of another layout is refused.
FORMAT = 1
#: Modules whose functions never travel by reference: another process's ``__main__`` (and
#: multiprocessing's name for it in a spawned child) is another program.
_MAIN_MODULES = frozenset({"__main__", "__mp_main__"})


def location(obj) -> tuple[str, str] | None:
    """``(module, qualname)`` that finds ``obj`` again, as pickle finds functions: ``obj``'s own
    names or, for graphc's wrappers that have none (``gc.grad(f)``), those of the function they
    wrap, when they lead to ``obj`` itself; None for local functions, lambdas, bound methods and
    anything in ``__main__``."""
    named = obj
    while getattr(named, "__qualname__", None) is None and hasattr(type(named), "_pickle_recipe"):
        named = named.fun
    module, qualname = getattr(named, "__module__", None), getattr(named, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or module in _MAIN_MODULES:
        return None
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return (module, qualname) if found is obj else None


def find(module: str, qualname: str):
    """The object at ``module.qualname`` (``location``'s inverse, in the receiving process)."""
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def rebuild_of(obj):
    """``(callable, args)`` rebuilding one of graphc's function objects (its
    ``_pickle_recipe()``) when the function it wraps travels by reference, else None."""
    recipe = getattr(type(obj), "_pickle_recipe", None)
    if recipe is None or not by_reference(obj.fun):
        return None
    return recipe(obj)


def by_reference(obj) -> bool:
    """Whether ``obj`` pickles as a reference (see the module docstring)."""
    return location(obj) is not None or rebuild_of(obj) is not None


def reduce(obj, compiled: Function | None):
    """``__reduce__`` of graphc's function objects: its name, its rebuild, or else the compiled
    signatures of ``compiled``, the ``Function`` its calls run (None before the first call)."""
    found = location(obj)
    if found is not None:
        return find, found
    rebuild = rebuild_of(obj)
    if rebuild is not None:
        return rebuild
    return restore_function, (function_state(compiled, obj),)


def reduce_concrete(concrete: Concrete):
    state = {**_header(concrete._arguments), "signatures": [_signature_state(concrete)]}
    return restore_concrete, (state,)


def function_state(function: Function | None, obj) -> dict:
    """What travels of ``function`` when its Python function cannot: its signatures."""
    if function is None:
        concretes = []
    elif isinstance(function, Unpickled):
        concretes = list(function.shipped.values())
    else:
        with function._cache_lock:
            concretes = list(function._cache.values())
    if not concretes:
        raise pickle.PicklingError(
            f"cannot pickle {obj!r}: its Python function is {_WHY}, so it travels as its "
            "compiled signatures, and none is compiled yet: call it on example arguments first "
            "(for a gc.function, .concrete(...) will do), or define the function at the top "
            "level of an importable module")
    return {**_header(function._arguments), "signatures": [_signature_state(c) for c in concretes]}


def _header(arguments: Arguments) -> dict:
    from .. import __version__

    sig = arguments.sig
    parameters = None if sig is None else [
        (p.name, p.kind.name, p.default is not p.empty) for p in sig.parameters.values()]
    return {"format": FORMAT, "graphc": __version__, "name": arguments.name,
            "parameters": parameters, "static_argnums": arguments.static_argnums,
            "static_argnames": tuple(sorted(arguments.static_argnames))}


def _signature_state(concrete: Concrete) -> dict:
    executable = concrete.executable
    return {"key": concrete._key, "out_tree": concrete.out_tree,
            "backend": executable.stats()["backend"], "traced": str(concrete.traced),
            "optimized": str(concrete.graph), "stats": concrete._stats,
            "code": executable.shipped()}


def restore_function(state: dict) -> Unpickled:
    """The function a pickle of compiled signatures holds (``reduce``'s reconstructor)."""
    return Unpickled(state)


def restore_concrete(state: dict) -> Concrete:
    (concrete,) = Unpickled(state).shipped.values()
    return concrete


class _Placeholder:
    """Stands for the Python function that did not travel: its name and parameters (what the
    argument checks read). Calling it, as a trace of an enclosing function would, raises the
    GraphcError saying why that cannot work."""

    def __init__(self, name: str, parameters):
        self.__name__ = self.__qualname__ = name
        self.__doc__ = None
        if parameters is not None:
            self.__signature__ = inspect.Signature([
                inspect.Parameter(n, getattr(inspect.Parameter, kind),
                                  default=_NOT_PICKLED if has_default else inspect.Parameter.empty)
                for n, kind, has_default in parameters])

    def __call__(self, *args, **kwargs):
        raise located(GraphcError, f"{self.__name__} came from a pickle without its Python "
                      f"function, which is {_WHY}, so it cannot be traced again, as inside "
                      "gc.grad, gc.vmap or another gc.function; call it on arrays, with the "
                      "argument signatures it was pickled with")


class _NotPickled:
    def __repr__(self) -> str:
        return "<not pickled>"


_NOT_PICKLED = _NotPickled()
_WHY = "not importable (a local function, a lambda, a method or one defined in __main__)"


class Unpickled(Function):
    """A ``gc.function`` rebuilt from its compiled signatures (``shipped``, by signature key), its
    Python function absent. Calls of those signatures run as before, through the native fast
    path; any other signature is a GraphcError naming the difference."""

    def __init__(self, state: dict):
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            from .. import __version__

            got = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise GraphcError(f"cannot unpickle a graphc function pickled in format {got!r}: "
                              f"graphc {__version__} reads format {FORMAT}")
        name = state["name"]
        if not state["signatures"]:
            raise GraphcError(f"cannot unpickle {name}: the pickle holds no signature")
        super().__init__(_Placeholder(name, state["parameters"]), state["static_argnums"],
                         state["static_argnames"], autograph=False)
        self.shipped: dict = {}
        for i, s in enumerate(state["signatures"]):
            try:
                concrete = _restore_signature(self, s)
            except (GraphcError, KeyError, TypeError, ValueError) as e:
                raise GraphcError(f"cannot unpickle {name}: signature {i}: {e}") from e
            self.shipped[s["key"]] = concrete
            self._remember(s["key"], concrete)

    def _build_locked(self, args, kwargs, key) -> Concrete:
        concrete = self.shipped.get(key)  # a shipped signature the cache evicted
        if concrete is None:
            why = self._arguments.describe_change(next(iter(self.shipped)), key)
            raise located(GraphcError, f"{self.__name__}: these arguments need a signature it "
                          f"was not pickled with ({why}, against the first of the "
                          f"{_count(len(self.shipped))} it was pickled with); it came from a "
                          f"pickle without its Python function, which is {_WHY}, so it cannot "
                          "trace one")
        self._remember(key, concrete)
        return concrete

    def __repr__(self) -> str:
        return f"<graphc.function {self.__name__} (unpickled, {_count(len(self.shipped))})>"


def _count(n: int) -> str:
    return f"{n} signature{'s' if n != 1 else ''}"


def _restore_signature(function: Function, s: dict) -> Concrete:
    """One pickled signature compiled again in this process (the object code loaded when it
    was made for this very module, see ``backend/llvm/shipping.py``)."""
    t0 = time.perf_counter()
    traced, optimized = parse(s["traced"]), parse(s["optimized"])
    backend = get_backend(s["backend"])
    _, compiled, _ = prepare(optimized, backend_passes(backend), optimizing=False)
    code = s["code"]
    executable = backend.compile(compiled) if code is None else code.compile(compiled)
    stats = {**s["stats"], "unpickle_ms": (time.perf_counter() - t0) * 1e3}
    return Concrete(function, s["key"], traced, optimized, executable, s["out_tree"], stats)
