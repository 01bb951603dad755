"""Pytrees: nested tuples, lists, dicts, namedtuples and None, flattened to leaves and back.

A treedef is a hashable nested tuple, so it can be part of a signature cache key. Dict keys are
sorted (as in JAX), so ``{'b':.., 'a':..}`` and ``{'a':.., 'b':..}`` have one structure; an
``OrderedDict`` keeps its insertion order, which is part of its meaning (JAX does the same).
"""

from __future__ import annotations

from ..errors import GraphcError

_LEAF = "*"


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def flatten(tree) -> tuple[list, tuple]:
    """``(leaves, treedef)``: the leaves in a fixed order and a hashable structure."""
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def _flatten(x, leaves):
    t = type(x)
    if t is tuple or t is list:
        return (t, tuple(_flatten(c, leaves) for c in x))
    if t is dict:
        keys = _sorted_keys(x)
        return (dict, tuple(keys), tuple(_flatten(x[k], leaves) for k in keys))
    if x is None:
        return (None,)
    if _is_namedtuple(x):
        return (t, tuple(_flatten(c, leaves) for c in x))
    if isinstance(x, dict):  # dict subclasses (OrderedDict, ...) keep their type and key order
        keys = list(x)
        return (t, tuple(keys), tuple(_flatten(x[k], leaves) for k in keys))
    leaves.append(x)
    return _LEAF


def _sorted_keys(d) -> list:
    """Sorted keys; keys of mixed types (``{1: .., 'a': ..}``) sort by type name, then value."""
    try:
        return sorted(d)
    except TypeError:
        return sorted(d, key=lambda k: (type(k).__name__, repr(k)))


def unflatten(treedef, leaves):
    """The inverse of ``flatten``: ``leaves`` put back into ``treedef``'s structure."""
    it = iter(leaves)
    out = _unflatten(treedef, it)
    if next(it, _END) is not _END:
        raise GraphcError("too many leaves for tree structure")
    return out


_END = object()


def _unflatten(d, it):
    if d == _LEAF:
        return next(it)
    t = d[0]
    if t is None:
        return None
    if t is tuple or t is list:
        return t(_unflatten(c, it) for c in d[1])
    if len(d) == 3:  # dict-like
        return t(zip(d[1], (_unflatten(c, it) for c in d[2]), strict=True))
    return t(*(_unflatten(c, it) for c in d[1]))  # namedtuple


def tree_map(f, tree, *rest):
    """``f`` applied leafwise to ``tree`` (and to the matching leaves of ``rest``)."""
    leaves, treedef = flatten(tree)
    others = [flatten(r)[0] for r in rest]
    return unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])


def num_leaves(treedef) -> int:
    """How many leaves ``unflatten(treedef, ...)`` takes."""
    if treedef == _LEAF:
        return 1
    if treedef[0] is None:
        return 0
    return sum(num_leaves(c) for c in treedef[-1])


def describe(treedef) -> str:
    """A short readable form of a structure, for error messages."""
    if treedef == _LEAF:
        return "*"
    t = treedef[0]
    if t is None:
        return "None"
    if len(treedef) == 3:
        items = zip(treedef[1], treedef[2], strict=True)
        return "{" + ", ".join(f"{k!r}: {describe(c)}" for k, c in items) + "}"
    inner = ", ".join(describe(c) for c in treedef[1])
    if t is list:
        return f"[{inner}]"
    if t is tuple:
        return f"({inner},)" if len(treedef[1]) == 1 else f"({inner})"
    return f"{t.__name__}({inner})"  # namedtuple
