"""Input signatures: what a compiled function is specialised on, and how arguments are checked.

A signature is the pytree structure of the dynamic arguments, each leaf's (shape, dtype, weak) and
the values of the static arguments. Python scalars are *weak* leaves (NEP 50): ``f(x_f32, 2.0)``
computes in float32. Objects with ``shape`` and ``dtype`` but no data (like
``jax.ShapeDtypeStruct``) are accepted where only a trace is needed (``make_graph``, ``concrete``).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import DTypeError, GraphcError
from . import pytree


def leaf_signature(x, where: str) -> tuple:
    """``(shape, dtype, weak)`` of one argument leaf, or a clear error naming ``where`` it is."""
    t = type(x)
    if t is np.ndarray:
        d = x.dtype
        if d not in dtypes.SHORT_NAMES:
            raise _bad_dtype(d, where)
        return (x.shape, d, False)
    if t is float or t is int or t is bool:
        if t is int and not -(2**63) <= x < 2**63:
            raise GraphcError(f"{where}: integer {x} does not fit in int64")
        return ((), dtypes.python_scalar_dtype(x), True)
    if isinstance(x, np.generic):
        d = x.dtype
        if d not in dtypes.SHORT_NAMES:
            raise _bad_dtype(d, where)
        return ((), d, False)
    if isinstance(x, np.ndarray):  # subclasses such as np.matrix or masked arrays
        raise GraphcError(f"{where}: array subclass {t.__name__} is not supported; pass np.asarray(x)")
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        d = np.dtype(x.dtype)
        if d not in dtypes.SHORT_NAMES:
            raise _bad_dtype(d, where)
        return (tuple(x.shape), d, False)
    raise GraphcError(
        f"{where}: unsupported argument of type {t.__name__} ({_short(x)}); pass NumPy arrays, Python "
        "scalars or pytrees of them (dict, list, tuple, namedtuple, None), or mark it static with "
        "static_argnums/static_argnames"
    )


def _bad_dtype(d, where):
    return DTypeError(f"{where}: unsupported dtype {d}; graphc supports float32, float64, int32, "
                      "int64 and bool (convert with .astype)")


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def leaf_paths(treedef, prefix: str = "") -> list[str]:
    """Readable paths of a structure's leaves (``args[0]['w']``), for messages."""
    if treedef == "*":
        return [prefix]
    t = treedef[0]
    if t is None:
        return []
    if len(treedef) == 3:
        return [p for k, c in zip(treedef[1], treedef[2]) for p in leaf_paths(c, f"{prefix}[{k!r}]")]
    return [p for i, c in enumerate(treedef[1]) for p in leaf_paths(c, f"{prefix}[{i}]")]


def describe_change(old_key, new_key, arg_names) -> str:
    """Why a retrace happened: the first argument whose signature differs."""
    old_tree, old_leaves, old_static = old_key
    new_tree, new_leaves, new_static = new_key
    if old_tree != new_tree:
        return f"argument structure changed from {pytree.describe(old_tree)} to {pytree.describe(new_tree)}"
    if old_static != new_static:
        return f"static arguments changed from {old_static!r} to {new_static!r}"
    paths = leaf_paths(new_tree)
    for path, a, b in zip(paths, old_leaves, new_leaves, strict=True):
        if a != b:
            return f"argument {_name(path, arg_names)} changed from {format_leaf(a)} to {format_leaf(b)}"
    return "unknown"


def _name(path: str, arg_names) -> str:
    # paths start with [0] for positional args or [1] for keyword args
    if path.startswith("[0]["):
        rest = path[4:]
        idx = int(rest.split("]")[0])
        tail = rest[len(str(idx)) + 1:]
        name = arg_names[idx] if idx < len(arg_names) else f"args[{idx}]"
        return f"{name}{tail}"
    return path[3:].lstrip("[").replace("']", "", 1).replace("'", "", 1) if path.startswith("[1]") else path


def format_leaf(sig) -> str:
    shape, d, weak = sig
    return f"{dtypes.SHORT_NAMES[d]}[{','.join(map(str, shape))}]{' (weak)' if weak else ''}"
