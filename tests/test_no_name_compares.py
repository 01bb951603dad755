"""No stage decides by a primitive's name: graphc's source never compares ``<x>.prim.name`` (or a
``prim``/``primitive`` variable's ``.name``, or a local variable assigned from one) with string
literals by ==, !=, in or not in. Stages ask for the primitive itself or its fields (``family``,
``cost``, ``transcendental``); names are for messages."""

from __future__ import annotations

import ast
from pathlib import Path

import graphc

_OPS = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)


def _is_prim_name(expr, aliases) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in aliases
    if not (isinstance(expr, ast.Attribute) and expr.attr == "name"):
        return False
    owner = expr.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "prim") or (
        isinstance(owner, ast.Name) and owner.id in ("prim", "primitive")
    )


def _is_literal(expr) -> bool:
    """A string literal, or a tuple/list/set (or frozenset/set call) of string literals."""
    if isinstance(expr, ast.Constant):
        return isinstance(expr.value, str)
    if isinstance(expr, ast.Call) and getattr(expr.func, "id", None) in ("frozenset", "set"):
        return any(_is_literal(a) for a in expr.args)
    if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
        return any(_is_literal(e) for e in expr.elts)
    return False


def name_compares(source: str) -> list[int]:
    """Line numbers of comparisons of a primitive's name with string literals in ``source``."""
    tree = ast.parse(source)
    aliases = {
        t.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_prim_name(node.value, ())
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not any(isinstance(op, _OPS) for op in node.ops):
            continue
        sides = [node.left, *node.comparators]
        if any(_is_prim_name(s, aliases) for s in sides) and any(_is_literal(s) for s in sides):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_name_compares():
    bad = (
        "a = node.prim.name == 'exp'\n"
        "b = prim.name in ('sin', 'cos')\n"
        "name = n.prim.name\n"
        "c = name not in frozenset(('reshape',))\n"
    )
    assert name_compares(bad) == [1, 2, 4]
    fine = "x = prim.name in REGISTRY\ny = node.prim is ew.exp\nz = path.name == 'x.py'\n"
    assert name_compares(fine) == []


def test_graphc_compares_no_primitive_names():
    root = Path(graphc.__file__).parent
    found = [
        f"{path.relative_to(root.parent)}:{line}"
        for path in sorted(root.rglob("*.py"))
        for line in name_compares(path.read_text())
    ]
    assert not found, f"primitive names compared with strings (use the primitive): {found}"
