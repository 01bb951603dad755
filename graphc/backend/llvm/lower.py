"""Plan -> one LLVM IR module (text). Pure: no llvmlite calls, so the text can be golden-tested.

The module's entry is ``i32 @graphc_main(ptr %args)`` (0, or 1 when memory ran out): ``args[i]`` points at the graph's inputs in
order, then its outputs, then the workspace (null when it is 0 bytes). Buffers are C-contiguous with
the graph's shapes and dtypes (bool as one byte 0/1). Every decision is the plan's (plan.py):
``render`` prints each ``Kernel`` record as one kernel function (a loop nest) and ``graphc_main``
as the program's calls, a counted loop per ``Loop`` step and a branch per ``Cond``. Constants are
private read-only globals. There is no mutable global state, so calls with separate workspaces may
run concurrently. With many kernels, ``graphc_main`` passes each its buffers as a constant table of
(argument slot, offset) pairs (``_Render.call``).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import re
from dataclasses import dataclass, field

import numpy as np

from ...ir import Graph, TensorType
from ...ops import REGISTRY
from ...ops.call import fused
from . import blocking, threads, vecmath
from .irtext import MEM, REG, SUFFIX, Func, declarations, mem_const
from .hostcall import emit_host_call
from .indexkernels import emit_argsort, emit_scatter
from .kernels import emit_cumsum, emit_region
from .matmul import DotPlan, emit_dot, emit_pack
from .flow import FlowRender
from .plan import KERNEL_KINDS, VIEWS, Program, math_calls, plan_graph
from .region import RULES, Buf, Emitter, node_context
from .tuning import Tuning

ENTRY = "graphc_main"


@dataclass
class Lowered:
    ir: str
    workspace_bytes: int
    kernels: list[str] = field(default_factory=list)
    entry: str = ENTRY
    #: kernel function name -> the node it computes (JIT errors name the node: see ``compile``)
    nodes: dict = field(default_factory=dict)
    #: how long lowering took (set by ``backend.llvm.compile``, for ``stats()``)
    lowering_ms: float | None = None


class Module:
    """The functions, read-only globals and math functions of the module being built."""

    def __init__(self, vector_bits: int):
        self.vector_bits = vector_bits
        self.functions: list[str] = []
        self.globals: list[str] = []
        self._global_ids: dict = {}
        self.math_names: dict[str, tuple] = {}  # name -> (type, arity, lanes, attribute group)
        #: (name, lanes, inlined) of the math functions explicitly vectorized kernels call
        self.vector_math: set[tuple[str, int, bool]] = set()
        self.inlined: set[str] = set()  # called directly (mathlib marks them alwaysinline)
        self.meta_ids = itertools.count()
        self.metadata: list[str] = []
        self._kernel_ids: dict[str, str] = {}  # kernel text without its name -> that name
        #: wrappers and runtime functions already added (``.w``, ``.b``, ``.t``, gc_par_run)
        self.wrapped: set[str] = set()
        self.kernel_nodes: dict = {}  # kernel function name -> the node it computes

    @functools.cached_property
    def mathlib(self):
        """Imported on first use: graphs without transcendentals skip its ~8 ms import."""
        from . import mathlib

        return mathlib

    def math_call(self, f, fn, d, args, inline: bool) -> str:
        """``fn`` on scalars: sqrt is LLVM's (correctly rounded, vectorizable); the others are
        mathlib's, inlined or called through a vector-variant wrapper (the kernel's math mode)."""
        t, sfx = REG[d], SUFFIX[d]
        operands = ", ".join(f"{t} {a}" for a in args)
        own = f"gc_{fn}_{sfx}"
        if fn == "sqrt":
            return f.op(f"call {t} @llvm.sqrt.{sfx}({operands})")
        if inline:
            self.inlined.add(own)
            return f.op(f"call {t} @{own}({operands})")
        lanes = vecmath.lanes(self.vector_bits, d.itemsize)
        entry = self.math_names.setdefault(own, (t, len(args), lanes, 1000 + len(self.math_names)))
        return f.op(f"call {t} @{vecmath.wrapper_name(own)}({operands}) #{entry[3]}")

    def add_kernel(self, f) -> str:
        """Add kernel ``f`` unless an identical one exists; returns the name to call. Why: unrolled
        loops (W6: 1000 steps) give hundreds of kernels that differ only in the buffers they are
        passed, and LLVM's time is per instruction compiled: each distinct body is compiled once."""
        text = f.text()
        key = _LOOP_ID.sub("!llvm.loop !M", text.split("(", 1)[1])
        name = self._kernel_ids.setdefault(key, f.name)
        if name == f.name:
            self.functions.append(text)
            self.metadata += f.metadata
        return name

    def vector_math_call(self, f, fn, d, args, lanes: int, inline: bool) -> str:
        """``fn`` on ``lanes``-wide vectors (explicitly vectorized kernels): one definition per
        module and width, ``alwaysinline`` where the kernel inlines its math, else shared out of
        line. ``sincos`` returns a ``{sin, cos}`` pair."""
        vt, sfx = f"<{lanes} x {REG[d]}>", SUFFIX[d]
        own = f"gc_{fn}_{sfx}"
        if fn == "sqrt":
            name = f"llvm.sqrt.v{lanes}{sfx}"
        else:
            self.vector_math.add((own, lanes, inline))
            name = vecmath.vector_name(own, lanes) + ("_inl" if inline else "")
        ret = f"{{{vt}, {vt}}}" if fn == "sincos" else vt
        operands = ", ".join(f"{vt} {a}" for a in args)  # (literals come splat: Emitter.lit)
        return f.op(f"call {ret} @{name}({operands})")

    def global_array(self, arr: np.ndarray) -> Buf:
        """A private constant global holding ``arr`` (deduplicated by content)."""
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        name = self._global_ids.get(key)
        if name is None:
            name = f"@const{len(self._global_ids)}"
            self._global_ids[key] = name
            d = arr.dtype
            flat = np.ascontiguousarray(arr).reshape(-1)
            if flat.size == 0:
                body = "[1 x i8] zeroinitializer"
            else:
                if d.kind in "iu":  # address tables: fast path for plain integers
                    elems = ", ".join(f"{MEM[d]} {x}" for x in flat.tolist())
                else:
                    elems = ", ".join(f"{MEM[d]} {mem_const(x, d)}" for x in flat)
                body = f"[{flat.size} x {MEM[d]}] [{elems}]"
            self.globals.append(f"{name} = private unnamed_addr constant {body}, align 64")
        return Buf(name, TensorType(tuple(arr.shape), np.dtype(arr.dtype)))

    def text(self) -> str:
        parts = [*self.globals, *self.functions, *self._math_text(), "\n".join(self.metadata)]
        body = "\n\n".join(parts)
        return "\n\n".join([*declarations(body), body]) + "\n"

    def _math_text(self) -> list[str]:
        """mathlib's scalar definitions, their vector variants and call wrappers (see
        vecmath.py)."""
        if not self.math_names and not self.inlined and not self.vector_math:
            return []
        define = self.mathlib.definition
        parts, used, attrs = [define(name) for name in sorted(self.inlined)], [], []
        vectors = set(self.vector_math)
        for name, (t, arity, n, group) in self.math_names.items():
            if name not in self.inlined:
                parts.append(define(name))
            parts.append(vecmath.wrapper(name, t, arity))
            vectors.add((name, n, False))
            # NOTE: the scalar wrapper is listed too: without a non-call use, the optimizer drops
            # an argument every call passes the same constant (``atan2(x, 2.0)``) before the loop
            # vectorizer runs, and the call then contradicts its "vv" variant attribute (a broken
            # module LLVM's code generator aborts the process on).
            used += [f"ptr @{vecmath.vector_name(name, n)}", f"ptr @{vecmath.wrapper_name(name)}"]
            attrs.append(f"attributes #{group} = {{ {vecmath.variant_attribute(name, n, arity)} }}")
        for name, n, inl in sorted(vectors):  # explicit code's out-of-line copies stay out of line
            shared = (name, n, inl) in self.vector_math
            inlining = "alwaysinline" if inl else "noinline" if shared else ""
            symbol = vecmath.vector_name(name, n) + ("_inl" if inl else "")
            parts.append(define(name, n, symbol, inlining, self.vector_bits))
        if used:
            parts.append(
                f"@llvm.compiler.used = appending global [{len(used)} x ptr] "
                f'[{", ".join(used)}], section "llvm.metadata"'
            )
        return parts + attrs


_LOOP_ID = re.compile(r"!llvm\.loop !\d+")


class Scope:
    """What one kernel's code generation sees: the module, and the kernel's plan record (its math
    mode, lanes and split), in the interface the region emitter calls."""

    def __init__(self, module: Module, kernel):
        self.module, self.kernel = module, kernel

    def math_call(self, f, fn, d, args) -> str:
        return self.module.math_call(f, fn, d, args, self.kernel.inline_math)

    def vector_math_call(self, f, fn, d, args, lanes: int) -> str:
        return self.module.vector_math_call(f, fn, d, args, lanes, self.kernel.inline_math)

    def global_array(self, arr: np.ndarray) -> Buf:
        return self.module.global_array(arr)


def lower_graph(graph: Graph, vector_bits: int = 256, blas: dict | None = None) -> Lowered:
    """Lower ``graph`` (typically after ``fusion.fuse``) to a module: ``render(plan_graph(...))``
    with this process's tuning.

    ``vector_bits``: the widest vectors the target runs well (256 for AVX2, 512 for AVX-512), used
    to shape the matmul microkernel. ``blas``: {dtype name: (gemm symbol, int bits)} when the JIT
    can resolve a cblas gemm (``blas.lowering_option()``); large float matmuls then call it."""
    return render(plan_graph(graph, Tuning.from_config(vector_bits, blas)))


def render(program: Program) -> Lowered:
    """The module text of ``program``; decides nothing (see plan.py)."""
    module = Module(program.tuning.vector_bits)
    for _, arr in program.globals:  # first: the plan's names are the module's first globals
        module.global_array(arr)
    main = Func(ENTRY, ["ptr %args"], linkage="", attrs="nounwind", ret="i32")
    out = _Render(module, main, program.n_args)
    out.program(program, 0)
    out.finish()
    module.functions.append(main.text())
    return Lowered(module.text(), program.workspace, out.descriptions, nodes=module.kernel_nodes)


class _Render(FlowRender):
    """Prints a program's kernels into the module and its calls into ``graphc_main``."""

    def __init__(self, module: Module, main: Func, n_args: int):
        self.module, self.main, self.n_args = module, main, n_args
        self.ptrs = load_args(main, n_args)
        self.emitted: dict = {}  # planned kernel name -> (emitted name, description)
        self.descriptions: list[str] = []
        self.flow_init()

    def program(self, program: Program, base: int) -> None:
        """Render ``program``'s steps; its workspace region starts at byte ``base``."""
        deferred = []
        for step in program.steps:
            if self.flow(step, base):
                continue
            origin = step.origin
            with node_context(origin) if origin is not None else contextlib.nullcontext():
                name = self.define(step, program.tuning)
                self.call(program, step, name, base, deferred)
        if program.calls == "chunks":
            rows = functools.partial(self.rows, base=base, shifted=1)
            blocking.emit_calls(self.module, self.main, deferred, rows, program.layout)

    @contextlib.contextmanager
    def in_function(self, f: Func, index: dict):
        """Render into ``f`` (taking ``ptr %args``) instead of ``graphc_main``, with loop indices
        ``index``; kernels are shared with the module."""
        saved = self.main, self.ptrs, self.index
        self.main, self.ptrs, self.index = f, load_args(f, self.n_args), index
        try:
            yield
        finally:
            self.main, self.ptrs, self.index = saved

    def define(self, kernel, tuning) -> str:
        """Emit ``kernel``'s function (unless it reuses another's, or a body rendered once more
        emitted it already); returns the name to call."""
        if kernel.name in self.emitted:
            return self.emitted[kernel.name][0]
        if kernel.reuses is not None:
            same, desc = self.emitted[kernel.reuses]
            self.descriptions.append(f"{kernel.name}: {desc} (same code as {same})")
            return same
        f, desc = _emit_kernel(self.module, kernel, tuning)
        name = self.module.add_kernel(f)
        if kernel.node is not None:
            self.module.kernel_nodes.setdefault(name, kernel.node)
        self.emitted[kernel.name] = (name, desc)
        same = f" (same code as {name})" if name != f.name else ""
        self.descriptions.append(f"{f.name}: {desc}{same}")
        return name

    def call(self, program, kernel, name: str, base: int, deferred: list) -> None:
        """The one call dispatch: deferred (blocked programs), over threads (ranged kernels),
        direct, or through the ``.w`` table wrapper."""
        passed = kernel.params
        if program.calls == "chunks":
            deferred.append((name, passed, kernel.split.blocks))
        elif kernel.split.ranged:
            ptrs = [self.pointer(b, base) for b in passed]
            threads.call_ranged(self.module, self.main, name, ptrs, kernel.split)
        elif program.calls == "direct":
            args = ", ".join(f"ptr {self.pointer(b, base)}" for b in passed)
            self.main.do(f"call void @{name}({args})")
        else:
            self.table_call(name, passed, base)

    def table_call(self, name: str, passed, base: int) -> None:
        """``name.w(ptr %args, ptr @table)`` loads ``args[slot] + offset`` for each (slot, offset)
        pair of a constant table, so ``graphc_main`` is a short list of two-argument calls holding
        no values across them."""
        if name not in self.module.wrapped:
            self.module.wrapped.add(name)
            self.module.functions.append(_table_wrapper(name, len(passed)))
        pairs = [row[:2] for row in self.rows(passed, base, 0)]
        table = self.module.global_array(np.array(pairs, dtype=np.int64))
        self.main.do(f"call void @{name}.w(ptr %args, ptr {table.ptr})")

    def rows(self, buffers, base: int, shifted: int) -> list[tuple[int, int, int]]:
        """(argument slot, byte offset, shifted) per buffer; workspace buffers are flagged
        ``shifted`` (blocking.py moves them per chunk)."""
        ws = len(self.ptrs) - 1
        return [(b.slot, 0, 0) if b.kind == "arg" else (ws, base + b.offset, shifted) for b in buffers]

    def pointer(self, b, base: int) -> str:
        if b.kind == "arg":
            return self.ptrs[b.slot]
        if b.kind == "slice":
            parent = self.pointer(b.parent, base)
            return self.main.gep("i8", parent, self.main.mul(self.index[b.index], b.stride))
        if b.kind == "global":
            return b.name
        return self.main.gep("i8", self.ptrs[-1], str(base + b.offset))


def load_args(f: Func, n_args: int) -> list[str]:
    """The argument pointers, then the workspace's, loaded from ``%args`` in ``f``."""
    return [f.op(f"load ptr, ptr {f.gep('ptr', '%args', str(i))}, align 8", stem="arg")
            for i in range(n_args + 1)]


def _table_wrapper(name: str, n: int) -> str:
    w = Func(f"{name}.w", ["ptr %args", "ptr %tbl"], attrs="noinline nounwind")
    args = []
    for i in range(n):
        slot = w.op(f"load i64, ptr {w.gep('i64', '%tbl', str(2 * i))}, align 8")
        off = w.op(f"load i64, ptr {w.gep('i64', '%tbl', str(2 * i + 1))}, align 8")
        base = w.op(f"load ptr, ptr {w.gep('ptr', '%args', slot)}, align 8")
        args.append(f"ptr {w.gep('i8', base, off)}")
    w.do(f"call void @{name}({', '.join(args)})")
    return w.text()


def _emit_kernel(module: Module, kernel, tuning) -> tuple[Func, str]:
    """``kernel``'s function from its record alone, and its description."""
    params = {b: f"%p{i}" for i, b in enumerate(kernel.params)}
    params.update({b: b.name for b in kernel.buffers if b.kind == "global"})
    # NOTE: x86 legalizes 512-bit vector types only in functions that allow them; the matmul
    # microkernel's explicit <16 x float> accumulators need it (the vectorizer's choice is
    # unaffected). NOTE: noinline keeps each kernel its own function: inlined into graphc_main,
    # hundreds of loops in one function make the function passes superlinear (W6 n=1000: 64 vs ~20
    # ms per kernel).
    attrs = f'noinline nounwind "min-legal-vector-width"="{tuning.vector_bits}"'
    ranges = ["i64 %lo", "i64 %hi"] if kernel.split.ranged else []
    f = Func(kernel.name, [f"ptr noalias {params[b]}" for b in kernel.params] + ranges, attrs=attrs)
    f.meta_ids = module.meta_ids
    if not kernel.inline_math:  # see vecmath.py: two vectors per call hide the polynomials' latency
        itemsize = math_calls(kernel.node)[0].outputs[0].dtype.itemsize
        f.loop_hint = (
            f'!{{!"llvm.loop.vectorize.width", i32 {vecmath.lanes(tuning.vector_bits, itemsize)}}}',
            '!{!"llvm.loop.interleave.count", i32 1}',
        )
    reads = {v: Buf(params[b], v.type) for v, b in kernel.reads}
    writes = [(v, Buf(params[b], v.type)) for v, b in kernel.writes]
    temps = [Buf(params[b], t) for t, b in kernel.temps]
    rule = _RENDERERS[kernel.kind]
    return f, rule(Scope(module, kernel), f, kernel, reads, writes, temps, tuning)


# - kernel renderers by kind: (scope, f, kernel, reads, writes, temps, tuning) -> description -------
def _region_kernel(scope, f, kernel, reads, writes, temps, tuning):
    node = kernel.node
    if node is None:  # an output copy
        return emit_region(scope, f, reads, [], writes)
    if node.prim is fused:
        body = node.attrs["body"]
        leaves = {bv: reads[v] for bv, v in zip(body.inputs, node.inputs, strict=True)}
        outs = [(bv, buf) for bv, (_, buf) in zip(body.outputs, writes, strict=True)]
        return "fused " + emit_region(scope, f, leaves, body.nodes, outs)
    return emit_region(scope, f, reads, [node], writes)


def _dot_kernel(scope, f, kernel, reads, writes, temps, tuning):
    node = kernel.node
    plan = DotPlan(node, tuning.vector_bits, tuning.blas)
    em = Emitter(f, scope, {}, {})
    ptrs, panels = [], iter(temps)
    for side, v in zip(("lhs", "rhs"), node.inputs, strict=True):
        if plan.pack[side]:
            panel = next(panels)
            emit_pack(em, plan, side, reads[v], panel)
            ptrs.append(panel.ptr)
        else:
            ptrs.append(reads[v].ptr)
    rows = ("%lo", "%hi") if kernel.split.ranged else None
    update = (reads[kernel.update[0]].ptr, kernel.update[1]) if kernel.update else None
    return emit_dot(em, plan, ptrs[0], ptrs[1], writes[0][1].ptr, rows, update)


def _scatter_kernel(scope, f, kernel, reads, writes, temps, tuning):
    bufs = [reads[v] for v in kernel.node.inputs]
    return emit_scatter(scope, f, kernel.node, bufs, writes[0][1])


def _sort_kernel(scope, f, kernel, reads, writes, temps, tuning):
    x = reads[kernel.node.inputs[0]]
    return emit_argsort(scope, f, kernel.node, x, writes[0][1], temps[0], temps[1])


def _host_kernel(scope, f, kernel, reads, writes, temps, tuning):
    return emit_host_call(scope, f, kernel.node, reads, writes)


def _cumsum_kernel(scope, f, kernel, reads, writes, temps, tuning):
    return emit_cumsum(scope, f, kernel.node, reads[kernel.node.inputs[0]], writes[0][1])


_RENDERERS = {
    "region": _region_kernel,
    "reduce": _region_kernel,
    "copy": _region_kernel,
    "dot": _dot_kernel,
    "cumsum": _cumsum_kernel,
    "scatter": _scatter_kernel,
    "sort": _sort_kernel,
    "host": _host_kernel,
}


def missing_lowerings() -> list[str]:
    """Primitives in the registry with no lowering (a test keeps this empty); call-like primitives
    are inlined before lowering."""
    known = set(RULES) | set(KERNEL_KINDS) | VIEWS
    return sorted(
        p.name for p in REGISTRY.values() if p not in known and not p.extra.get("inline_graph")
    )
