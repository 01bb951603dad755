"""A small builder for LLVM IR text: fresh SSA names, basic blocks, phis, counted loops, typed
constants, returns. Every function the backend prints is built with it (``Func``).

The lowering writes IR as text (no llvmlite.binding calls) so it can be golden-tested and hashed for
the compile cache. Loops have static trip counts and are emitted in do-while form (the trip count is
known to be at least one), the shape LLVM's loop vectorizer handles best.
"""

from __future__ import annotations

import re
import struct
from contextlib import contextmanager

import numpy as np

from ... import dtypes

#: Loops with fewer iterations are not worth the vectorizer's time (compile time is the cost that
#: matters for them): they are marked not to be vectorized nor unrolled -- once a short inner loop
#: is unrolled, its outer loop becomes innermost and the vectorizer spends ~150 ms on it (gathers).
NO_VECTORIZE_BELOW = 16
_SHORT_LOOP = ('!{!"llvm.loop.vectorize.enable", i1 false}', '!{!"llvm.loop.unroll.disable"}')

#: Register types: bool values are i1 in registers and i8 (0/1) in memory.
REG = {
    dtypes.float32: "float",
    dtypes.float64: "double",
    dtypes.int32: "i32",
    dtypes.int64: "i64",
    dtypes.bool_: "i1",
}
MEM = {**REG, dtypes.bool_: "i8"}
SUFFIX = {dtypes.float32: "f32", dtypes.float64: "f64", dtypes.int32: "i32", dtypes.int64: "i64"}


def const(value, dtype: np.dtype) -> str:
    """``value`` as an IR literal of ``dtype``'s register type (floats as exact hex doubles)."""
    if dtypes.is_float(dtype):
        v = float(np.asarray(value, dtype=dtype))  # round to the target precision first
        return f"0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016X}"
    if dtypes.is_bool(dtype):
        return "true" if bool(value) else "false"
    return str(int(value))


def mem_const(value, dtype: np.dtype) -> str:
    """``value`` as an IR literal of the in-memory type (bool as i8)."""
    return str(int(bool(value))) if dtypes.is_bool(dtype) else const(value, dtype)


class Phi:
    """A phi line whose incoming values may be added after it is emitted (a loop's back edge):
    it is printed when the function is."""

    __slots__ = ("name", "ty", "incoming")

    def __init__(self, name: str, ty: str, incoming):
        self.name, self.ty, self.incoming = name, ty, list(incoming)

    def add(self, value: str, block: str) -> None:
        self.incoming.append((value, block))

    def __str__(self) -> str:
        pairs = ", ".join(f"[ {v}, %{b} ]" for v, b in self.incoming)
        return f"  {self.name} = phi {self.ty} {pairs}"


class Loop:
    """An open counted loop: its index, the phis of its carried values (``Phi`` records: the index
    first), and its trip count."""

    def __init__(self, index, head, phis, n):
        self.index, self.head, self.n = index, head, n
        self.phi_records = phis
        self.phis = [p.name for p in phis[1:]]


class Func:
    """One function's body as text lines: the one place that names SSA values, opens blocks and
    prints a function (kernels, ``graphc_main``, the native entry, mathlib; not the fixed thread
    pool runtime, threads.RUNTIME)."""

    def __init__(
        self, name: str, params: list[str], linkage: str = "internal", attrs: str = "nounwind",
        ret: str = "void",
    ):
        self.name, self.ret_type = name, ret
        linkage, attrs = f"{linkage} " if linkage else "", f" {attrs}" if attrs else ""
        self.header = f"define {linkage}{ret} @{name}({', '.join(params)}){attrs} {{"
        self.lines: list = []  # text lines and ``Phi`` records
        self.allocas: list[str] = []
        self.block = "entry"
        self._n = 0
        #: Loop metadata for every loop closed from now on (e.g. a forced vector width), and the
        #: module-wide counter numbering metadata nodes; the nodes go to ``self.metadata``.
        self.loop_hint: tuple[str, ...] = ()
        self.meta_ids = None
        self.metadata: list[str] = []

    def fresh(self, stem: str = "t") -> str:
        self._n += 1
        return f"{stem}{self._n}"

    def op(self, text: str, stem: str = "t") -> str:
        """Emit ``%name = text`` and return ``%name``."""
        name = f"%{self.fresh(stem)}"
        self.lines.append(f"  {name} = {text}")
        return name

    def do(self, text: str) -> None:
        self.lines.append(f"  {text}")

    def alloca(self, ty: str, align: int = 64, init: str | None = None) -> str:
        """A stack slot in the entry block, holding ``init`` from the entry on when given."""
        name = f"%{self.fresh('slot')}"
        self.allocas.append(f"  {name} = alloca {ty}, align {align}")
        if init is not None:
            self.allocas.append(f"  store {ty} {init}, ptr {name}, align {align}")
        return name

    def start_block(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.block = label

    def phi(self, ty: str, incoming=(), stem: str = "t", name: str | None = None) -> Phi:
        """Emit a phi of (value, block) pairs; more may be added (``Phi.add``) until printing."""
        phi = Phi(name or f"%{self.fresh(stem)}", ty, incoming)
        self.lines.append(phi)
        return phi

    def jump(self, label: str) -> None:
        self.do(f"br label %{label}")

    def branch(self, cond: str, yes: str, no: str, tag: str = "") -> None:
        self.do(f"br i1 {cond}, label %{yes}, label %{no}{tag}")

    def ret(self, value: str | None = None) -> None:
        """End the block returning ``value`` (of the function's return type)."""
        self.do(f"ret {self.ret_type} {value}" if value is not None else "ret void")

    # --- counted loops ------------------------------------------------------------------------
    def loop_begin(self, n: int, carried=(), stem: str = "L") -> Loop:
        """Open ``for i in range(n)`` (n >= 1); ``carried`` is a list of (type, initial value)."""
        assert n >= 1
        pred = self.block
        head = self.fresh(stem)
        self.jump(head)
        self.start_block(head)
        phis = [self.phi("i64", [("0", pred)], name=f"%{head}.i")]
        for k, (ty, init) in enumerate(carried):
            phis.append(self.phi(ty, [(init, pred)], name=f"%{head}.c{k}"))
        return Loop(phis[0].name, head, phis, n)

    def loop_end(self, loop: Loop, nexts=()) -> list[str]:
        """Close ``loop``; ``nexts`` are the carried values' next values. Returns their final
        values."""
        index = loop.index
        for phi, value in zip(loop.phi_records, [f"{index}.next", *nexts], strict=True):
            phi.add(value, self.block)
        self.do(f"{index}.next = add nuw nsw i64 {index}, 1")
        done = self.op(f"icmp eq i64 {index}.next, {loop.n}")
        hints = _SHORT_LOOP if loop.n < NO_VECTORIZE_BELOW else self.loop_hint
        exit_label = f"{loop.head}.exit"
        self.branch(done, exit_label, loop.head, self.loop_tag(hints))
        self.start_block(exit_label)
        return list(nexts)

    def loop_tag(self, hints) -> str:
        """``, !llvm.loop !N`` for a loop's back edge carrying ``hints`` ("" for none, or without
        a metadata counter); the nodes go to ``self.metadata``."""
        if not hints or self.meta_ids is None:
            return ""
        ids = [next(self.meta_ids) for _ in range(len(hints) + 1)]
        self.metadata.append(f"!{ids[0]} = distinct !{{{', '.join(f'!{i}' for i in ids)}}}")
        self.metadata += [f"!{i} = {h}" for i, h in zip(ids[1:], hints, strict=True)]
        return f", !llvm.loop !{ids[0]}"

    @contextmanager
    def loop(self, n: int, stem: str = "L"):
        """``for i in range(n)`` with nothing carried; yields the index (the literal 0 when n ==
        1)."""
        if n == 1:
            yield "0"
            return
        lp = self.loop_begin(n, stem=stem)
        yield lp.index
        self.loop_end(lp)

    @contextmanager
    def repeat_while(self, cond, stem: str = "Wh"):
        """``while cond(): body`` for data-dependent trip counts: ``cond()`` emits the test (an
        i1) in the loop head; yields the exit label (the body may branch there early)."""
        head, body, done = self.fresh(stem), self.fresh(f"{stem}b"), self.fresh(f"{stem}x")
        self.jump(head)
        self.start_block(head)
        self.branch(cond(), body, done)
        self.start_block(body)
        yield done
        self.jump(head)
        self.start_block(done)

    @contextmanager
    def when(self, cond: str, stem: str = "W"):
        """Run the body only when the i1 ``cond`` holds."""
        body, done = self.fresh(stem), self.fresh(f"{stem}x")
        self.branch(cond, body, done)
        self.start_block(body)
        yield
        self.jump(done)
        self.start_block(done)

    def text(self) -> str:
        """The function's text; a last block with no terminator returns void."""
        lines = self.lines
        if lines and lines[0] == "entry:":
            lines = lines[1:]
        last = str(lines[-1]) if lines else ""
        tail = [] if last.startswith(("  ret ", "  unreachable")) else ["  ret void"]
        return "\n".join([self.header, "entry:", *self.allocas, *map(str, lines), *tail, "}"])

    # --- index arithmetic with literal folding -------------------------------------------------
    def mul(self, a: str, k: int) -> str:
        if k == 0 or a == "0":
            return "0"
        if k == 1:
            return a
        if a.lstrip("-").isdigit():
            return str(int(a) * k)
        return self.op(f"mul nuw nsw i64 {a}, {k}")

    def add(self, a: str, b: str) -> str:
        if a == "0":
            return b
        if b == "0":
            return a
        if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
            return str(int(a) + int(b))
        return self.op(f"add nsw i64 {a}, {b}")

    def linear(self, terms) -> str:
        """Sum of ``index * stride`` terms."""
        total = "0"
        for idx, stride in terms:
            total = self.add(total, self.mul(idx, stride))
        return total

    def gep(self, ty: str, base: str, offset: str) -> str:
        if offset == "0":
            return base
        return self.op(f"getelementptr inbounds {ty}, ptr {base}, i64 {offset}")


_CALL = re.compile(r"call (<[^>]+>|\S+) @([\w.]+)\((.*)\)")
#: A function definition's first line; group 1 is its name (also used to place LLVM's errors).
DEFINE = re.compile(r"^define [^@]*@([\w.]+)\(", re.MULTILINE)


def declarations(body: str) -> list[str]:
    """``declare`` lines for every called C library function (expm1f, atan2, ...), derived from the
    call sites. Intrinsics need none: LLVM's parser declares them on first use."""
    defined = set(DEFINE.findall(body))
    decls = {}
    for ret, name, args in _CALL.findall(body):
        if name in defined or name in decls or name.startswith("llvm."):
            continue
        types = [a.rsplit(" ", 1)[0] for a in _split_args(args)]
        decls[name] = f"declare {ret} @{name}({', '.join(types)})"
    return [decls[k] for k in sorted(decls)]


def _split_args(args: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in args:
        if ch in "<[":
            depth += 1
        elif ch in ">]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out
