"""Input signatures: what a compiled function is specialised on, and how arguments are checked.

A signature is the pytree structure of the dynamic arguments, each leaf's (shape, dtype, weak) and
the values of the static arguments. Python scalars are *weak* leaves (NEP 50): ``f(x_f32, 2.0)``
computes in float32. Leaves are NumPy arrays and scalars and Python scalars, as in JAX's ``jit``
(see ``_refusal`` for what else is refused, and why).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ArgumentError, DTypeError, GraphcError
from . import pytree


def leaf_signature(x, where: str) -> tuple:
    """``(shape, dtype, weak)`` of one argument leaf, or a clear error naming ``where`` it is."""
    t = type(x)
    if t is np.ndarray:
        return (x.shape, _supported(x.dtype, where), False)
    if t is float or t is int or t is bool:
        if t is int and not -(2**63) <= x < 2**63:
            raise GraphcError(f"{where}: integer {x} does not fit in int64")
        return ((), dtypes.python_scalar_dtype(x), True)
    if isinstance(x, np.generic):
        return ((), _supported(x.dtype, where), False)
    raise ArgumentError(f"{where}: {_refusal(x)}")


def _refusal(x) -> str:
    """Why the argument ``x`` is not a value graphc takes, and what to pass instead. As JAX's
    ``jit`` does, only NumPy arrays and scalars are taken: an object that merely converts
    (``__array__``: a torch tensor, a pandas Series) would be copied at every call and may need
    a device transfer or a ``detach`` first, so the user converts it, once; a shape-and-dtype
    description (``jax.ShapeDtypeStruct``) has no data to run on."""
    name = type(x).__name__
    if isinstance(x, np.ndarray):  # subclasses such as np.matrix or masked arrays
        return f"array subclass {name} is not supported; pass np.asarray(x)"
    if hasattr(x, "__array__"):
        how = (".detach().cpu().numpy()" if hasattr(x, "detach") else
               ".numpy()" if hasattr(x, "numpy") else "np.asarray(...)")
        return (f"{name} ({_short(x)}) is not a NumPy array (graphc takes NumPy arrays and "
                f"scalars); convert it first, once, with {how}")
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return (f"{name} ({_short(x)}) describes a shape and a dtype but holds no data, so "
                "there is nothing to run on; pass an array of that shape and dtype (tracing "
                "reads only those: np.zeros(shape, dtype) will do for make_graph and concrete)")
    return (f"unsupported argument of type {name} ({_short(x)}); pass NumPy arrays, Python "
            "scalars or pytrees of them (dict, list, tuple, namedtuple, None), or mark it static "
            "with static_argnums/static_argnames")


def _supported(d: np.dtype, where: str) -> np.dtype:
    """``d`` when graphc supports it, else a DTypeError naming ``where`` and the way out."""
    if d not in dtypes.SHORT_NAMES:
        raise DTypeError(f"{where}: unsupported dtype {d}; graphc supports float32, float64, "
                         "int32, int64 and bool (convert with .astype)")
    return d


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def leaf_paths(treedef, prefix: str = "") -> list[str]:
    """Readable paths of a structure's leaves (``[0]['w']``, ``[1].b`` for a namedtuple field)."""
    if treedef == "*":
        return [prefix]
    t = treedef[0]
    if t is None:
        return []
    if len(treedef) == 3:
        return [p for k, c in zip(treedef[1], treedef[2], strict=True)
                for p in leaf_paths(c, f"{prefix}[{k!r}]")]
    fields = getattr(t, "_fields", None)
    parts = [f".{f}" for f in fields] if fields else [f"[{i}]" for i in range(len(treedef[1]))]
    return [p for part, c in zip(parts, treedef[1], strict=True) for p in leaf_paths(c, prefix + part)]


def arg_name(path: str, arg_names) -> str:
    """The user's name for an argument path of ``flatten((args, kwargs))``: ``[0][1]['w']`` becomes
    ``params['w']`` when the second positional parameter is ``params``; ``[1]['scale']`` becomes
    ``scale``. Positions past the named parameters (``*args``) read ``args[i]``."""
    if path.startswith("[0]["):
        idx_text, _, tail = path[4:].partition("]")
        idx = int(idx_text)
        name = arg_names[idx] if idx < len(arg_names) else f"args[{idx}]"
        return f"{name}{tail}"
    if path.startswith("[1]["):
        key_text, _, tail = path[4:].partition("]")
        return f"{key_text.strip(chr(39))}{tail}"
    return path


def _top_level(tree) -> list[tuple[str, object]]:
    """``(path, subtree)`` of each top-level argument in a ``(args, kwargs)`` treedef."""
    (_, arg_defs), kw_def = tree[1]
    out = [(f"[0][{i}]", d) for i, d in enumerate(arg_defs)]
    return out + [(f"[1][{k!r}]", d) for k, d in zip(kw_def[1], kw_def[2], strict=True)]


def describe_change(old_key, new_key, arg_names, all_names) -> str:
    """Why a retrace happened: the first argument whose signature differs, by the user's name
    (``arg_names``: the dynamic positional parameters; ``all_names``: all positional ones)."""
    old_tree, old_leaves, old_static = old_key
    new_tree, new_leaves, new_static = new_key
    if old_tree != new_tree:
        old_args, new_args = dict(_top_level(old_tree)), dict(_top_level(new_tree))
        for path in sorted(set(old_args) | set(new_args)):
            a, b = old_args.get(path), new_args.get(path)
            if a != b:
                was = "absent" if a is None else pytree.describe(a)
                now = "absent" if b is None else pytree.describe(b)
                return f"argument {arg_name(path, arg_names)} changed structure from {was} to {now}"
    if old_static != new_static:
        return describe_static_change(old_static, new_static, all_names)
    for path, a, b in zip(leaf_paths(new_tree), old_leaves, new_leaves, strict=True):
        if a != b:
            return (f"argument {arg_name(path, arg_names)} changed from {format_leaf(a)} to "
                    f"{format_leaf(b)}")
    return "unknown"


def describe_static_change(old_static, new_static, all_names) -> str:
    """The first static argument (by position, then by name) whose value differs."""
    old = {**{i: v for i, v in old_static[0]}, **dict(old_static[1])}
    new = {**{i: v for i, v in new_static[0]}, **dict(new_static[1])}
    for k in sorted(set(old) | set(new), key=str):
        if old.get(k, _ABSENT) != new.get(k, _ABSENT):
            name = all_names[k] if isinstance(k, int) and k < len(all_names) else k
            return (f"static argument {name} changed from {old.get(k, 'absent')!r} to "
                    f"{new.get(k, 'absent')!r}")
    return "static arguments changed"


_ABSENT = object()


def format_leaf(sig) -> str:
    shape, d, weak = sig
    return f"{dtypes.SHORT_NAMES[d]}[{','.join(map(str, shape))}]{' (weak)' if weak else ''}"
