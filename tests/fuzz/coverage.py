"""Which of issue 8's bug classes (and rarer op compositions) a generated program contains.

Why: a generator that cannot make the program a known bug needs will never find the next bug of
that kind; the suite asserts the campaign generator reaches every class below, and a campaign's
programs can be counted by class.
"""

from __future__ import annotations

import ast
import math
import re

REDUCTIONS = {"sum", "mean", "max", "min", "var", "std", "logsumexp", "norm", "prod"}
VECTOR_MATH = {"arctan", "arctan2", "pow", "sqrt_pow"}


def classes(prog) -> set[str]:
    shapes = {leaf.name: leaf.shape for leaf in prog.leaves}
    shapes.update((op.out, op.shape) for op in prog.ops)
    consts = {c.name for c in prog.consts}
    wide = 16 if prog.dtype == "float64" else 32  # one vector of the host's widest registers
    found = set()
    for op in prog.ops:
        used = op.uses()
        big = math.prod(op.shape) >= wide
        if op.kind == "contract":
            found |= {"contract with a constant"} if used & consts else set()
            found |= {"contract with a 0-d operand"} if any(shapes[n] == () for n in used) else set()
        if op.kind == "cumsum":
            found.add("cumsum")
        if re.search(r"\bc\d+\[None\]", op.expr):
            found.add("constant[None]")
        first = re.match(r"\w+\.(maximum|minimum)\((c\d+),", op.expr)
        if first and shapes[first[2]] == () and big:
            found.add("max/min(0-d constant, vector)")
        if op.kind in VECTOR_MATH and big:
            found.add(f"vector {op.kind}")
        if re.match(r"[\d.]+ \*\* ", op.expr):
            found.add("literal ** x")
        if op.kind == "relu":
            found.add("relu")
        if op.kind in REDUCTIONS:
            found |= _reduction_classes(op, shapes[sorted(used)[0]])
        if op.kind == "slice" and re.search(r"-?\d*:-?\d*:-?\d+", op.expr):
            found.add("slice with a step")
        if op.shape == () and any(op.out in o.uses() and o.shape != () for o in prog.ops):
            found.add("0-d result broadcast")
    return found


def _reduction_classes(op, x_shape):
    found = {"keepdims"} if "keepdims=True" in op.expr else set()
    m = re.search(r"axis=(-?\d+|\([-\d, ]*\))", op.expr)
    if m:
        axes = ast.literal_eval(m[1])
        axes = axes if isinstance(axes, tuple) else (axes,)
        found |= {"negative axis"} if any(a < 0 for a in axes) else set()
        if axes and all(x_shape[a] == 1 for a in axes):
            found.add("reduction over size-1 axes")
    return found


ALL = ("contract with a constant", "contract with a 0-d operand", "cumsum", "constant[None]",
       "max/min(0-d constant, vector)", "vector arctan", "vector arctan2", "vector pow",
       "vector sqrt_pow", "literal ** x", "relu", "keepdims", "negative axis",
       "reduction over size-1 axes", "slice with a step", "0-d result broadcast")
