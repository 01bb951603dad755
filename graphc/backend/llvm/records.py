"""The plan's records: frozen data that ``plan.py`` decides, ``plantext.py`` prints and
``lower.render`` prints as LLVM text, deciding nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import blocking
from .tuning import Tuning


@dataclass(frozen=True, eq=False)
class Buffer:
    """Bytes a kernel reads or writes: argument ``slot``, the workspace at ``offset`` (absolute in
    the one workspace), the constant global ``name``, or (kind ``slice``) row ``index`` of
    ``parent``: ``parent + i * stride`` bytes, ``i`` the iteration of the loop naming ``index``.
    Compared by identity."""

    kind: str  # "arg" | "ws" | "global" | "slice"
    nbytes: int
    slot: int | None = None
    offset: int = 0
    name: str | None = None
    parent: Buffer | None = None
    stride: int = 0
    index: str | None = None

    def __str__(self) -> str:
        if self.kind == "arg":
            return f"arg{self.slot}"
        if self.kind == "slice":
            return f"{self.parent}[{self.index}]"
        return self.name if self.kind == "global" else f"ws@{self.offset}"


@dataclass(frozen=True)
class Split:
    """How a kernel's work is cut: over ``threads`` threads, in vector-block ranges ``chunks``
    (claimed by the pool's threads: threads.py); a ranged kernel takes ``[lo, hi)`` parameters,
    and its loop runs a range of its ``blocks`` vector blocks (None: the loop ignores the
    range)."""

    threads: int = 1
    ranged: bool = False
    blocks: int | None = None
    chunks: tuple = ()


@dataclass(frozen=True, eq=False, repr=False)
class Kernel:
    """One kernel function and its call: ``kind`` is region, reduce, dot, cumsum or copy."""

    name: str
    kind: str
    node: object | None  # None for an output copy
    origin: object | None  # the node a failure names (a copy's: its value's producer)
    domain: tuple
    reads: tuple  # (Value, Buffer) per operand
    writes: tuple  # (Value, Buffer) per result
    temps: tuple = ()  # (TensorType, Buffer) scratch panels
    lanes: int | None = None  # explicit vector width (None: scalar loops)
    math: str = "none"  # none | inline | wrapped (vector variants) | shared (others' wrappers)
    split: Split = Split()
    update: tuple | None = None  # a gemm call's (W, scale): W + scale * A @ B (plan._fold_updates)
    key: object = None  # structural dedupe key (share.py)
    reuses: str | None = None  # the earlier kernel whose code this one calls

    @property
    def buffers(self) -> list:
        seen = [b for _, b in (*self.reads, *self.writes)] + [b for _, b in self.temps]
        return list(dict.fromkeys(seen))

    @property
    def params(self) -> list:
        """The buffers passed as pointers (globals are named in the code)."""
        return [b for b in self.buffers if b.kind != "global"]

    @property
    def inline_math(self) -> bool:
        return self.math in ("none", "inline")


@dataclass(frozen=True, eq=False, repr=False)
class Loop:
    """Run ``body`` ``count`` times, or, when ``count`` is None, while the program ``cond`` writes
    true into the bool ``pred`` (a Tape's backward loop has neither: it runs once per saved step).
    After each run the ``moves`` copy the next carry into place. ``index`` names the iteration
    number for slice buffers (counting down when ``reverse``); ``offset`` shifts the body's
    workspace (hand-built plans; planned bodies use absolute offsets)."""

    count: int | None
    body: Program
    offset: int = 0
    cond: Program | None = None
    pred: Buffer | None = None
    moves: tuple = ()  # Move pairs (src, dst)
    index: str | None = None
    reverse: bool = False


@dataclass(frozen=True, eq=False, repr=False)
class Cond:
    """Run ``then`` when the bool scalar ``pred`` is true, else ``orelse``."""

    pred: Buffer
    then: Program
    orelse: Program
    offset: int = 0


@dataclass(frozen=True, eq=False, repr=False)
class Move:
    """Copy each ``(src, dst)`` pair's bytes in ``graphc_main``; a None ``src`` fills ``dst`` with
    zeros."""

    pairs: tuple


@dataclass(frozen=True, eq=False, repr=False)
class Tape:
    """A while loop's reverse pass: ``forward`` (a while ``Loop``) pushes the bytes of ``saved``
    before each step onto a stack that grows by doubling (``graphc_main`` returns 1 when it
    cannot grow); then ``backward`` runs once per step, last first, with those bytes put back.
    The ``backward`` program is the whole step's VJP (it recomputes the step's forward)."""

    forward: Loop
    saved: tuple  # Buffers
    backward: Loop
    #: binomial checkpointing instead: count the steps, then reverse them keeping at most
    #: ``checkpoints`` copies of the whole carry ``state`` in ``slots`` (``flow.revolve``)
    checkpoints: int | None = None
    state: tuple = ()
    slots: Buffer | None = None


@dataclass(frozen=True, eq=False, repr=False)
class Program:
    """Steps (Kernel, Loop, Cond, Move, Tape) run in order over ``n_args`` argument slots and a workspace of
    ``workspace`` bytes; ``calls``: direct, table (address-table wrappers) or chunks (blocked, with
    ``layout``, or each once over its whole range when ``layout`` is None)."""

    steps: tuple
    n_args: int
    workspace: int
    calls: str = "direct"
    layout: blocking.Layout | None = None
    globals: tuple = ()  # (name, ndarray) constants, in the order their names were given
    tuning: Tuning = field(default_factory=Tuning)

    def __str__(self) -> str:
        from .plantext import format_plan

        return format_plan(self)
