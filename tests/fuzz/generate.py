"""Random programs over the graphc.numpy / graphc.nn surface, kept in each op's domain by
construction.

Design choices:
  - Every decision is one integer from a *chooser* (``choose(n)`` in ``[0, n)``, smaller is
    simpler). A seeded ``random.Random`` chooser drives campaigns, hypothesis' ``data.draw``
    drives the suite, and a replay chooser over a recorded choice list drives the minimizer (it
    shrinks the list and regenerates, as hypothesis itself does).
  - Each value carries an interval that bounds it; an op whose domain is not guaranteed by the
    interval wraps its operand (``log(x*x+0.5)``, ``arcsin(0.875*tanh(x))``), and a value whose
    bound grows past 64 is first scaled by an exact power of two. So no program overflows or
    leaves a domain, and float32 and float64 versions compute the same mathematics.
  - Python literals are dyadic (exact in float32), so float32 programs have exact float64 twins.
"""

from __future__ import annotations

import math
import random

import numpy as np

from .program import Leaf, Op, Program

DIMS = (1, 2, 3, 4, 5, 7, 13, 129, 1000)
MAX_SIZE = 4000  # elements per value: keeps a program cheap on a 2-core machine
BOUND = 64.0


class RandomChooser:
    """Seeded choices that are recorded, so the minimizer can replay and shrink them."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.record: list[int] = []

    def __call__(self, n: int) -> int:
        k = self.rng.randrange(n) if n > 1 else 0
        self.record.append(k)
        return k


class ReplayChooser:
    """Replays a recorded choice list (clamped to range; 0 once it runs out)."""

    def __init__(self, choices):
        self.choices, self.i = list(choices), 0

    def __call__(self, n: int) -> int:
        k = self.choices[self.i] if self.i < len(self.choices) else 0
        self.i += 1
        return min(k, n - 1) if n > 1 else 0


def _interval(values):
    vals = [v for v in values if not math.isnan(v)]
    return min(vals), max(vals)


def _mag(lo, hi):
    return max(abs(lo), abs(hi))


class Gen:
    """Builds one program; ``choose`` is any chooser."""

    def __init__(self, choose, max_ops=20):
        self.c = choose
        self.dtype = ("float64", "float32")[self.c(2)]
        self.leaves: list[Leaf] = []
        self.ops: list[Op] = []
        self.info: dict = {}  # name -> (shape, lo, hi)
        self.traced: set[str] = set()  # names whose value depends on an argument
        self.n_ops = 1 + self.c(max_ops)

    # --- choices ----------------------------------------------------------------------------
    def pick(self, seq):
        return seq[self.c(len(seq))]

    def ns(self, gnp_name, np_name=None):
        """A function spelled the graphc.numpy way or the plain NumPy way (dispatch)."""
        return self.pick((f"gnp.{gnp_name}", f"np.{np_name or gnp_name}"))

    def shape(self, rank=None):
        rank = self.pick((1, 2, 0, 3, 1, 2)) if rank is None else rank
        dims = [self.pick(DIMS) for _ in range(rank)]
        while math.prod(dims) > MAX_SIZE:
            dims[dims.index(max(dims))] = self.pick(DIMS[:6])
        return tuple(dims)

    def leaf(self, shape, lo=None, hi=None, arg=None):
        if lo is None:
            lo, hi = self.pick(((-2.0, 2.0), (0.5, 2.0), (-1.0, 1.0)))
        arg = self.c(2) == 0 if arg is None else arg
        n = len(self.leaves)
        name = f"x{n}" if arg else f"c{n}"
        self.leaves.append(Leaf(name, tuple(shape), lo, hi, seed=self.c(1 << 16), arg=arg))
        if arg:
            self.traced.add(name)
        self.info[name] = (tuple(shape), lo, hi)
        return name

    def emit(self, kind, expr, shape, lo, hi, exact=False):
        name = f"v{len(self.ops) + len(self.leaves)}"
        op = Op(name, expr, kind, tuple(shape), float(lo), float(hi), exact)
        self.ops.append(op)
        if op.uses() & self.traced:
            self.traced.add(name)
        self.info[name] = (tuple(shape), float(lo), float(hi))
        return name

    # --- operand helpers --------------------------------------------------------------------
    def bounded(self, name, limit=BOUND):
        """``name``, first scaled by an exact power of two when its bound exceeds ``limit``."""
        shape, lo, hi = self.info[name]
        m = _mag(lo, hi)
        if m <= limit:
            return name
        k = math.ceil(math.log2(m / limit)) + 1
        s = 2.0 ** -k
        return self.emit("scale", f"{name} * {s!r}", shape, lo * s, hi * s, exact=True)

    def positive(self, name, least=0.0625):
        """A value >= ``least`` made from ``name`` (a domain wrap, emitted as its own op)."""
        if name not in self.info:  # a Python literal
            return repr(abs(float(name)) + 0.5)
        shape, lo, hi = self.info[name]
        if lo >= least:
            return name
        m = _mag(lo, hi)
        low = lo * lo if lo > 0 else (hi * hi if hi < 0 else 0.0)
        text, lo2, hi2, exact = self.pick((
            (f"{name} * {name} + 0.5", low + 0.5, m * m + 0.5, True),
            (f"gnn.softplus({name}) + 0.125", math.log1p(math.exp(max(lo, -700))) + 0.125,
             max(hi, 0.0) + 0.7 + 0.125, False),
            (f"{self.ns('abs')}({name}) + 0.5", 0.5, m + 0.5, True),
        ))
        return self.emit("domain", text, shape, lo2, hi2, exact)

    def operand(self, prefer=None):
        """A recent value (usually the last one) to keep programs chains rather than bushes;
        always one that depends on an argument: a constant's value is a NumPy array, whose
        methods (``c.dot(x)``) cannot take a traced argument, and it has no derivatives."""
        names = [op.out for op in self.ops if op.uses() & self.traced] or \
            [leaf.name for leaf in self.leaves if leaf.arg]
        if prefer is not None and self.c(4):
            return prefer
        return names[-1 - self.c(min(len(names), 3))] if self.c(3) else self.pick(names)

    def partner(self, shape):
        """A second operand broadcasting against ``shape``: an earlier value, a new leaf of a
        broadcast-compatible shape, or a Python scalar (weak)."""
        mode = self.c(4)
        if mode == 0:
            same = [n for n, (s, _, _) in self.info.items() if _broadcasts(s, shape)]
            if same:
                n = self.pick(same)
                return self.bounded(n)
        if mode == 3:
            lit = self.pick((0.5, 2.0, -1.5, 3.0, 0.25))
            return repr(lit)
        rank = len(shape)
        if mode == 1 and rank and self.c(3) == 0:  # a leaf given a leading axis: ct[None]
            c = self.leaf(shape[1:])
            _, lo, hi = self.info[c]
            return self.emit("expand_dims", f"{c}[None]", (1,) + shape[1:], lo, hi, exact=True)
        variants = [shape, (), shape[self.c(rank + 1):] if rank else (),
                    tuple(1 if self.c(2) else d for d in shape)]
        if rank < 3:
            variants.append((self.pick((1, 3)),) * (3 - rank) + shape if rank else (2,))
        target = self.pick(variants)
        if math.prod(np.broadcast_shapes(target, shape)) > MAX_SIZE:
            target = shape
        return self.leaf(target)

    def lohi(self, text):
        """Interval of an operand's text (a name or a literal)."""
        if text in self.info:
            return self.info[text][1:]
        v = float(text)
        return v, v

    def shape_of(self, text):
        return self.info[text][0] if text in self.info else ()

    # --- the program ------------------------------------------------------------------------
    def program(self) -> Program:
        from .ops import OPS

        first = self.leaf(self.shape(), arg=True)
        del first
        tries = 0
        while len(self.ops) < self.n_ops and tries < 4 * self.n_ops:
            tries += 1
            family = self.pick(OPS)
            family(self, self.operand())
        if not self.ops:  # every family declined: a plain elementwise op
            OPS[0](self, self.operand())
        return Program(self.dtype, self.leaves, self.ops).prune()


def _broadcasts(a, b):
    try:
        return np.broadcast_shapes(a, b) == tuple(b)
    except ValueError:
        return False


def interval(values):
    """Bounds of a function over an interval, from its values at the ends and critical points."""
    return _interval(values)


def random_program(seed, max_ops=20):
    """The campaign generator: a seeded program and the choice list that regenerates it."""
    chooser = RandomChooser(seed)
    prog = Gen(chooser, max_ops).program()
    return prog, chooser.record


def replay_program(choices, max_ops=20):
    return Gen(ReplayChooser(choices), max_ops).program()


def programs(max_ops=20):
    """The hypothesis strategy: same generator, hypothesis' choices (so it shrinks them)."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return Gen(lambda n: draw(st.integers(0, n - 1)) if n > 1 else 0, max_ops).program()

    return strategy()
