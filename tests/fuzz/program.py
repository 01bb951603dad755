"""The program representation shared by the hypothesis strategy, the seeded campaign generator and
the minimizer: a list of leaves (arguments and captured constants) and a list of ops, each op one
line of Python source over earlier names.

Design choice: an op *is* its source line (``expr``), together with the static facts the generator
needs to keep going (shape, a guaranteed value interval, whether the op is exact in IEEE
arithmetic). So the function under test is built by ``exec`` of exactly the text a reproducer
prints: what fails in a campaign and what a person reruns can never differ.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap

import numpy as np

HEADER = """\
import numpy as np
import graphc as gc
import graphc.numpy as gnp
import graphc.nn as gnn
import graphc.scipy.special as gsp


def rand(shape, lo, hi, seed, dtype):
    # float32-representable values, so the float32 and float64 versions compute the same math
    v = np.random.default_rng(seed).uniform(lo, hi, shape).astype(np.float32)
    return np.asarray(v, dtype)
"""


@dataclasses.dataclass(frozen=True)
class Leaf:
    """An input: a function argument (``arg``) or a NumPy array the function closes over."""

    name: str
    shape: tuple
    lo: float
    hi: float
    seed: int
    arg: bool

    def value(self, dtype, seed_offset=0):
        v = np.random.default_rng(self.seed + seed_offset).uniform(self.lo, self.hi, self.shape)
        return np.asarray(v.astype(np.float32), dtype)

    def source(self) -> str:
        return f"rand({self.shape!r}, {self.lo!r}, {self.hi!r}, {self.seed}, DT)"


@dataclasses.dataclass(frozen=True)
class Op:
    """``out = expr``; ``lo..hi`` bounds every element of the result (by interval arithmetic)."""

    out: str
    expr: str
    kind: str
    shape: tuple
    lo: float
    hi: float
    exact: bool

    def uses(self) -> set[str]:
        return set(re.findall(r"\b([xcv]\d+)\b", self.expr))


@dataclasses.dataclass
class Program:
    dtype: str
    leaves: list[Leaf]
    ops: list[Op]

    @property
    def args(self) -> list[Leaf]:
        return [leaf for leaf in self.leaves if leaf.arg]

    @property
    def consts(self) -> list[Leaf]:
        return [leaf for leaf in self.leaves if not leaf.arg]

    @property
    def output(self) -> str:
        return self.ops[-1].out if self.ops else self.args[0].name

    @property
    def exact(self) -> bool:
        return all(op.exact for op in self.ops)

    def kinds(self) -> list[str]:
        return [op.kind for op in self.ops]

    def function_source(self) -> str:
        lines = [f"{c.name} = {c.source()}" for c in self.consts]
        params = ", ".join(a.name for a in self.args)
        lines.append(f"\n\ndef f({params}):")
        lines += [f"    {op.out} = {op.expr}  # {op.kind}" for op in self.ops]
        lines.append(f"    return {self.output}")
        return "\n".join(lines) + "\n"

    def source(self, dtype=None) -> str:
        return f"{HEADER}\nDT = np.{dtype or self.dtype}\n{self.function_source()}"

    def build(self, dtype=None):
        """The program's function ``f`` for ``dtype`` (default: the program's own)."""
        scope: dict = {}
        exec(compile(self.source(dtype), "<fuzz program>", "exec"), scope)
        return scope["f"]

    def inputs(self, dtype=None, seed_offset=0) -> list[np.ndarray]:
        return [a.value(dtype or self.dtype, seed_offset) for a in self.args]

    def prune(self) -> Program:
        """Drop ops and leaves the output does not depend on."""
        live = {self.output}
        kept = []
        for op in reversed(self.ops):
            if op.out in live:
                kept.append(op)
                live |= op.uses()
        leaves = [leaf for leaf in self.leaves if leaf.name in live]
        if not any(leaf.arg for leaf in leaves):  # keep one argument: f needs an input
            leaves = [self.args[0]] + leaves
        return Program(self.dtype, leaves, kept[::-1])

    def replace_op_by_argument(self, index: int) -> Program:
        """The same program with op ``index`` replaced by a fresh argument of its shape and range
        (the minimizer's "drop an op" step)."""
        op = self.ops[index]
        leaf = Leaf(op.out, op.shape, max(op.lo, -2.0), min(op.hi, 2.0) if op.hi > op.lo else op.hi,
                    seed=index + 1000, arg=True)
        if leaf.lo >= leaf.hi:  # a constant-valued op: keep its value interval honest
            leaf = dataclasses.replace(leaf, lo=op.lo, hi=op.lo + 1e-3)
        ops = self.ops[:index] + self.ops[index + 1:]
        return Program(self.dtype, self.leaves + [leaf], ops).prune()

    def reproducer(self, check: str, detail: str = "") -> str:
        """A standalone script: the program, its inputs, and both backends on its derivatives."""
        from .checks import REPRO_HARNESS

        note = "\n".join("# " + line for line in textwrap.wrap(detail, 96)) if detail else ""
        inputs = ", ".join(a.source() for a in self.args)
        return (f"# graphc fuzz reproducer: check {check!r}, ops {self.kinds()}\n{note}\n"
                f"{self.source()}\n\nARGS = [{inputs}]\n{REPRO_HARNESS}")
