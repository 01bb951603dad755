"""Fast calls of compiled functions: skipping the generic signature path for cached signatures.

The generic path of ``Function.__call__`` (flatten the pytree, build the signature key, look it
up, convert, unflatten) costs ~15 us in Python. For each newly compiled signature this module
installs a shortcut as ``__call__`` of a class made for that one instance (and of the hosts routed
to it, e.g. ``gc.grad(f)``). On a mismatch a shortcut calls the previous signature's shortcut, up
to ``CHAIN`` of them, and then the generic path:

  - **Every argument a positional array, result one array or a flat tuple:** ``__call__`` is the
    backend's native entry itself (``graphc.backend.llvm.entry``). A builtin as a class's
    ``__call__`` is called without ``self``, so a call runs no Python code at all: the entry checks
    each argument's type, dtype, shape and layout in machine code, runs the compiled code and
    returns the result, or calls its fallback (another signature, keywords, tracers, a
    non-contiguous array). W1: 0.41 us per call instead of ~15.
  - **Pytrees of arrays (dicts, lists, tuples, None, namedtuples) in and out, and Python scalars:**
    a Python function generated for the signature's structure (as ``collections.namedtuple``
    generates code) checks the containers' exact types and sizes, passes the leaves to the native
    entry and builds the output structure; ~1 us. A Python scalar (weak leaf) must have exactly
    its Python type (``float``, ``int`` in int64 range, ``bool``) and is passed as the NumPy scalar
    of the signature's dtype.
Not routed: static arguments and keyword arguments, which keep the generic path. Called inside
another trace with concrete arrays, a shortcut computes the (constant) result natively instead of
inlining it; the value is the same.
"""

from __future__ import annotations

import types
import weakref

from ..core.locations import GENERATED_FILENAME
from ..errors import GraphcError


def maker(executable, key, out_tree, nout: int):
    """``make(fallback)`` -> the ``__call__`` to install for this signature (calling
    ``fallback(*args, **kwargs)`` on a mismatch), or None when the signature has no shortcut."""
    entry_with_fallback = getattr(executable, "entry_with_fallback", None)
    treedef, sigs, static = key
    if entry_with_fallback is None or static != ((), ()):
        return None
    if len(executable.in_types) != len(sigs) or len(executable.out_types) != nout:
        return None  # the compiled graph's arguments are not the signature's leaves one-to-one
    args_tree, kwargs_tree = treedef[1]
    if kwargs_tree != (dict, (), ()):
        return None
    flat_out = (nout == 1 and out_tree == "*") or (nout != 1 and out_tree == (tuple, ("*",) * nout))
    weak = any(w for _, _, w in sigs)
    if args_tree == (tuple, ("*",) * len(sigs)) and flat_out and not weak:
        return entry_with_fallback
    entry = entry_with_fallback(None)
    if entry is None:
        return None
    source, env = _pytree_call_source(args_tree, out_tree, nout, sigs)
    env.update(entry=entry, MISSING=object())
    code = compile(source, GENERATED_FILENAME, "exec")

    def make(fallback):
        namespace = dict(env, fallback=fallback)
        # our own generated code (see _pytree_call_source), under a file name that the search
        # for the user's frame skips: a fallback's error or warning names the user's call
        exec(code, namespace)  # noqa: S102
        return namespace.pop("__call__")  # its globals must not hold it: a cycle, freed late

    return make


#: How many signatures keep a shortcut: each falls back to the one compiled before it, the oldest
#: to the generic path (a mismatch costs ~0.05 us per native shortcut passed, ~0.3 us per
#: generated one). The function chooses which signatures (``Function._remember``).
CHAIN = 4


def install(hosts, makes) -> None:
    """Give each ``(host, generic_call)`` the chain of shortcuts ``makes`` (oldest first, at most
    ``CHAIN``), ending in the generic ``__call__``; no shortcuts restores the generic one.

    Nothing installed refers to the host strongly (fallbacks hold it weakly), and the host's own
    class is emptied when the host dies: a class is freed only by the cyclic collector, and its
    shortcuts hold compiled code. A call running a shortcut holds it (``type.__call__`` lookups
    return a new reference), so replacing or emptying the chain never frees code under a call."""
    for host, generic in hosts:
        cls = type(host)
        own = cls.__dict__.get("_one_instance", False)
        call, fallback = None, _weak_method(generic, host)
        for m in makes:
            made = m(fallback)
            if made is not None:  # a builtin is called without self, a generated function with
                call = made
                native = isinstance(made, types.BuiltinFunctionType)
                fallback = made if native else _weak_method(made, host)
        if call is None:
            if own:
                _empty(cls)
            continue
        if not own:
            cls = type(
                cls.__name__,
                (cls,),
                {
                    "_one_instance": True,
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                },
            )
            host.__class__ = cls
            weakref.finalize(host, _empty, cls).atexit = False
        cls.__call__ = call


def _empty(cls) -> None:
    """Back to the generic ``__call__`` inherited from the host's original class."""
    if "__call__" in cls.__dict__:
        del cls.__call__


def _weak_method(fun, host):
    """``fun`` bound to ``host`` through a weak reference; ``fun(host, ...)`` when called."""
    ref = weakref.ref(host)

    def call(*args, **kwargs):
        host = ref()
        if host is None:  # a shortcut taken off its class and called after the host died
            raise GraphcError("internal error: a compiled call outlived its function")
        return fun(host, *args, **kwargs)

    return call


class _Source:
    """Accumulates guard lines and leaf expressions while walking an argument treedef."""

    def __init__(self, sigs):
        self.sigs = iter(sigs)
        self.lines: list[str] = []
        self.leaves: list[str] = []
        self.env: dict = {}
        self.n = 0

    def name(self) -> str:
        self.n += 1
        return f"v{self.n}"

    def const(self, value) -> str:
        self.n += 1
        self.env[f"c{self.n}"] = value
        return f"c{self.n}"

    def walk(self, expr: str, d) -> None:
        if d == "*":
            _, dtype, weak = next(self.sigs)
            if (
                weak
            ):  # a Python scalar: exactly its type, passed as the NumPy scalar the graph takes
                self._weak_leaf(expr, dtype)
            else:
                self.leaves.append(expr)
            return
        t = d[0]
        if t is None:
            self.lines.append(f"if {expr} is not None: return fallback(*args, **kwargs)")
            return
        v = self.name()
        self.lines.append(f"{v} = {expr}")
        children = d[-1]
        self.lines.append(
            f"if type({v}) is not {self.const(t)} or len({v}) != {len(children)}: "
            "return fallback(*args, **kwargs)"
        )
        if len(d) == 3:  # dict-like: a missing key gives MISSING, which no check accepts
            for k, c in zip(d[1], children, strict=True):
                self.walk(f"{v}.get({self.const(k)}, MISSING)", c)
        else:
            for i, c in enumerate(children):
                self.walk(f"{v}[{i}]", c)

    def _weak_leaf(self, expr: str, dtype) -> None:
        v = self.name()
        py = {"f": float, "i": int, "b": bool}[dtype.kind]
        check = f"type({v}) is not {self.const(py)}"
        if py is int:
            check += f" or not {-(2**63)} <= {v} < {2**63}"
        self.lines.append(f"{v} = {expr}")
        self.lines.append(f"if {check}: return fallback(*args, **kwargs)")
        self.leaves.append(f"{self.const(dtype.type)}({v})")


def _out_expr(d, counter: list, src: _Source, single: bool) -> str:
    if d == "*":
        counter[0] += 1
        return "r" if single else f"r[{counter[0] - 1}]"
    t = d[0]
    if t is None:
        return "None"
    parts = [_out_expr(c, counter, src, single) for c in d[-1]]
    if t is tuple:
        return "(" + "".join(p + ", " for p in parts) + ")"
    if t is list:
        return "[" + ", ".join(parts) + "]"
    if t is dict:
        return (
            "{" + ", ".join(f"{src.const(k)}: {p}" for k, p in zip(d[1], parts, strict=True)) + "}"
        )
    if len(d) == 3:  # a dict subclass: same construction as pytree.unflatten
        pairs = ", ".join(f"({src.const(k)}, {p})" for k, p in zip(d[1], parts, strict=True))
        return f"{src.const(t)}([{pairs}])"
    return f"{src.const(t)}({', '.join(parts)})"  # namedtuple


def _pytree_call_source(args_tree, out_tree, nout: int, sigs) -> tuple[str, dict]:
    src = _Source(sigs)
    nargs = len(args_tree[1])
    src.lines.append(f"if kwargs or len(args) != {nargs}: return fallback(*args, **kwargs)")
    for i, child in enumerate(args_tree[1]):
        src.walk(f"args[{i}]", child)
    out = _out_expr(out_tree, [0], src, single=nout == 1)
    body = [
        *src.lines,
        f"r = entry({', '.join(src.leaves)})",
        "if r is NotImplemented: return fallback(*args, **kwargs)",
        f"return {out}",
    ]
    source = "def __call__(self, *args, **kwargs):\n" + "".join(f"    {b}\n" for b in body)
    return source, src.env
