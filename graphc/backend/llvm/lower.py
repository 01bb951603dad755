"""Graph -> one LLVM IR module (text). Pure: no llvmlite calls, so the text can be golden-tested.

The module's entry is ``void @graphc_main(ptr %args)``: ``args[i]`` points at the graph's inputs in
order, then its outputs, then the workspace (null when it is 0 bytes). Buffers are C-contiguous with
the graph's shapes and dtypes (bool as one byte 0/1). Each top-level node becomes one kernel
function (a loop nest): a ``fused`` node's whole body, any elementwise/shape node or reduction on
its own, ``dot_general`` and ``cumsum``. ``reshape`` and ``stop_gradient`` at top level are views
(no code); constants are private read-only globals. There is no mutable global state, so calls with
separate workspaces may run concurrently. Kernels with the same code (unrolled loops) are emitted
and compiled once (``share.py``); with many kernels, ``graphc_main`` passes each its buffers as a
constant table of (argument slot, offset) pairs (``_call_kernel``).
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
from ...ops import reduce as red
from ...ops import shape as sh
from ...ops.call import inline_calls
from ...ops.linalg import dot_general
from ...passes.fuse import TRANSCENDENTAL, fused
from ...ir.diagnostics import internal_message
from . import blocking, memory, threads, vecmath
from .irtext import MEM, REG, SUFFIX, Func, declarations, mem_const
from .kernels import REDUCERS, emit_cumsum, emit_region
from .matmul import DotPlan, emit_dot, emit_pack
from .region import RULES, Buf, Emitter, LoweringError, node_context
from .share import step_key

ENTRY = "graphc_main"
#: Graphs with more kernels than this call them through address-computing wrappers (see
#: ``_call_kernel``): hundreds of direct calls with dozens of CSE'd buffer pointers each make the
#: register allocator's time on ``graphc_main`` superlinear (W6 n=1000: ~250 of 370 ms of LLVM).
DIRECT_CALLS_MAX = 8
#: Top-level primitives that are views of their operand's bytes (no kernel).
VIEWS = {sh.reshape, sh.stop_gradient}
#: Kernels with more math-library calls than this call them through vector-variant wrappers
#: (vecmath.py: compile time stays flat); fewer are inlined (faster code: the vectorizer interleaves
#: the polynomial chains of several vectors; W2 runs ~1.5x faster inlined).
INLINE_MATH_MAX = 6


@dataclass
class Lowered:
    ir: str
    workspace_bytes: int
    kernels: list[str] = field(default_factory=list)
    entry: str = ENTRY
    #: kernel function name -> the node it computes (JIT errors name the node: see ``compile``)
    nodes: dict = field(default_factory=dict)


class Module:
    """The functions, read-only globals and math functions of the module being built."""

    def __init__(self, vector_bits: int, blas=None):
        self.vector_bits, self.blas = vector_bits, blas
        self.functions: list[str] = []
        self.globals: list[str] = []
        self._global_ids: dict = {}
        self.math_names: dict[str, tuple] = {}  # name -> (type, arity, lanes, attribute group)
        #: (name, lanes, inlined) of the math functions explicitly vectorized kernels call
        self.vector_math: set[tuple[str, int, bool]] = set()
        self.inlined: set[str] = set()  # called directly (mathlib marks them alwaysinline)
        self.inline_math = True
        self.meta_ids = itertools.count()
        self.metadata: list[str] = []
        self._kernel_ids: dict[str, str] = {}  # kernel text without its name -> that name
        self.direct_calls = True
        self.wrapped: set[str] = set()  # kernels with a ``.w`` wrapper (see lower._call_kernel)
        self.kernel_keys: dict = {}  # step key -> (kernel name, description, ranged blocks)
        #: (primitive, dtype) of math functions some kernel calls out of line: a kernel calling
        #: only those calls them too instead of inlining copies (W6 n=10: LLVM 83 -> ~40 ms).
        self.shared: set = set()
        self.pending: list | None = None  # deferred kernel calls (blocking.py)
        self.kernel_nodes: dict = {}  # kernel function name -> the node it computes

    @functools.cached_property
    def mathlib(self):
        """Imported on first use: graphs without transcendentals skip its ~8 ms import."""
        from . import mathlib

        return mathlib

    def math_call(self, f, fn, d, args) -> str:
        """``fn`` on scalars: sqrt is LLVM's (correctly rounded, vectorizable); the others are
        mathlib's, inlined or called through a vector-variant wrapper (``inline_math``)."""
        t, sfx = REG[d], SUFFIX[d]
        operands = ", ".join(f"{t} {a}" for a in args)
        own = f"gc_{fn}_{sfx}"
        if fn == "sqrt":
            return f.op(f"call {t} @llvm.sqrt.{sfx}({operands})")
        if self.inline_math:
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

    def vector_math_call(self, f, fn, d, args, lanes: int) -> str:
        """``fn`` on ``lanes``-wide vectors (explicitly vectorized kernels): one definition per
        module and width, ``alwaysinline`` where the kernel inlines its math, else shared out of
        line. ``sincos`` returns a ``{sin, cos}`` pair."""
        vt, sfx = f"<{lanes} x {REG[d]}>", SUFFIX[d]
        own = f"gc_{fn}_{sfx}"
        if fn == "sqrt":
            name = f"llvm.sqrt.v{lanes}{sfx}"
        else:
            self.vector_math.add((own, lanes, self.inline_math))
            name = vecmath.vector_name(own, lanes) + ("_inl" if self.inline_math else "")
        ret = f"{{{vt}, {vt}}}" if fn == "sincos" else vt
        # a literal operand (``atan2(x, 2.0)``, ``2.0 ** x``) is a scalar: splat it to the vector
        vector = [a if a.startswith("%") else f"splat ({REG[d]} {a})" for a in args]
        operands = ", ".join(f"{vt} {a}" for a in vector)
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
        wanted = set(self.math_names) | self.inlined | {name for name, _, _ in self.vector_math}
        defs = vecmath.split_definitions(self.mathlib.definitions(sorted(wanted)))
        parts, used, attrs = [defs[name] for name in sorted(self.inlined)], [], []
        vectors = {(name, n, inl): "" for name, n, inl in self.vector_math}
        for name, (t, arity, n, group) in self.math_names.items():
            if name not in self.inlined:
                parts.append(defs[name])
            parts.append(vecmath.wrapper(name, t, arity))
            vectors.setdefault((name, n, False), "")
            # NOTE: the scalar wrapper is listed too: without a non-call use, the optimizer drops
            # an argument every call passes the same constant (``atan2(x, 2.0)``) before the loop
            # vectorizer runs, and the call then contradicts its "vv" variant attribute (a broken
            # module LLVM's code generator aborts the process on).
            used += [f"ptr @{vecmath.vector_name(name, n)}", f"ptr @{vecmath.wrapper_name(name)}"]
            attrs.append(f"attributes #{group} = {{ {vecmath.variant_attribute(name, n, arity)} }}")
        for key in vectors:  # explicit code's out-of-line copies stay out of line
            vectors[key] = (
                "alwaysinline " if key[2] else "noinline " if key in self.vector_math else ""
            )
        for (name, n, inl), attr in sorted(vectors.items()):
            text = vecmath.vector_definition(defs[name], name, n, suffix="_inl" if inl else "")
            parts.append(text.replace(") nounwind", f") {attr}nounwind", 1))
        if used:
            parts.append(
                f"@llvm.compiler.used = appending global [{len(used)} x ptr] "
                f'[{", ".join(used)}], section "llvm.metadata"'
            )
        return parts + attrs


_LOOP_ID = re.compile(r"!llvm\.loop !\d+")


# - storage and steps ------------------------------------------------------------------------------
class Storage:
    """Where a value's bytes live: an argument slot, the workspace, or a constant global."""

    def __init__(self, kind: str, nbytes: int, slot: int | None = None, ptr: str | None = None):
        self.kind, self.nbytes, self.slot, self.ptr = kind, nbytes, slot, ptr


def _nbytes(t: TensorType) -> int:
    return t.size * t.dtype.itemsize


@dataclass
class Step:
    node: object | None  # the node this kernel computes (None for an output copy)
    reads: list  # values read
    writes: list  # values written
    temps: list = field(default_factory=list)  # (Storage, TensorType) scratch panels
    copy_to: Storage | None = None  # for output copies: the destination


def lower_graph(graph: Graph, vector_bits: int = 256, blas: dict | None = None) -> Lowered:
    """Lower ``graph`` (typically after ``passes.fuse``) to a module; see the module docstring.

    ``vector_bits``: the widest vectors the target runs well (256 for AVX2, 512 for AVX-512), used
    to shape the matmul microkernel. ``blas``: {dtype name: (gemm symbol, int bits)} when the JIT
    can resolve a cblas gemm (``blas.lowering_option()``); large float matmuls then call it."""
    graph = inline_calls(graph)
    module = Module(vector_bits, blas)
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    storage: dict = {}
    for i, v in enumerate(graph.inputs):
        storage.setdefault(v, Storage("arg", _nbytes(v.type), slot=i))
    steps: list[Step] = []
    producers = {}
    for node in graph.nodes:
        with node_context(node):
            _assign(node, storage, steps, module)
        producers.update(dict.fromkeys(node.outputs, node))
    claimed = set()
    for j, v in enumerate(graph.outputs):
        st = storage.get(v)
        if st is None:
            detail = f"output {j} ({v.type}) is computed by no node"
            raise LoweringError(internal_message(None, f"lowering graph {graph.name}", detail))
        if st.kind == "ws" and id(st) not in claimed:
            claimed.add(id(st))
            st.kind, st.slot = "arg", n_in + j
        else:
            dst = Storage("arg", _nbytes(v.type), slot=n_in + j)
            steps.append(Step(None, [v], [v], copy_to=dst))
    offsets, ws_bytes = _plan(steps, storage)
    module.pending = [] if blocking.candidate(steps, storage, _threads, ws_bytes) else None
    main = Func(ENTRY, ["ptr %args"], linkage="", attrs="nounwind")
    module.direct_calls = len(steps) <= DIRECT_CALLS_MAX
    ptrs = _arg_pointers(main, n_in + n_out)
    kernels = []
    for step in steps:  # functions some kernel calls out of line: see _emit_step
        calls = _math_calls(step.node)
        if len(calls) > INLINE_MATH_MAX:
            module.shared |= _math_kinds(calls)
    for k, step in enumerate(steps):
        node = step.node or producers.get(step.reads[0])  # a copy: name what made the value
        with node_context(node) if node is not None else contextlib.nullcontext():
            kernels.append(_emit_step(module, main, k, step, storage, offsets, ptrs))
    if module.pending is not None:  # calls deferred: see blocking.py
        layout = blocking.plan(module, module.pending, steps)
        ws_bytes = layout.workspace if layout else ws_bytes
        blocking.emit_calls(module, main, module.pending, offsets, ptrs, layout)
    module.functions.append(main.text())
    return Lowered(module.text(), ws_bytes, kernels, nodes=module.kernel_nodes)


def _assign(node, storage, steps, module):
    for v in node.inputs:  # e.g. a constant a pass dropped: say so here, not as a KeyError later
        if v not in storage:
            raise LoweringError(f"operand {v} is computed by no earlier node")
    if node.prim in VIEWS:
        storage[node.outputs[0]] = storage[node.inputs[0]]
        return
    if node.prim is sh.constant:
        buf = module.global_array(node.attrs["value"].array)
        storage[node.outputs[0]] = Storage("global", _nbytes(node.outputs[0].type), ptr=buf.ptr)
        return
    if node.prim not in KERNEL_PRIMS and node.prim not in RULES:
        raise LoweringError(f"no LLVM lowering for primitive {node.prim.name!r}")
    for v in node.outputs:
        storage[v] = Storage("ws", _nbytes(v.type))
    temps = []
    if node.prim is dot_general:
        plan = DotPlan(node, module.vector_bits, module.blas)
        for side in ("lhs", "rhs"):
            if plan.pack[side]:
                t = TensorType(plan.panel_shape(side), plan.d)
                temps.append((Storage("ws", _nbytes(t)), t))
    steps.append(Step(node, list(node.inputs), list(node.outputs), temps))


def _plan(steps, storage):
    plan_steps, sizes = [], {}

    def ws(vs):
        return [storage[v] for v in vs if storage[v].kind == "ws"]

    for step in steps:
        temps = [s for s, _ in step.temps]
        defs = [] if step.copy_to is not None else ws(step.writes)
        plan_steps.append((defs, ws(step.reads), temps))
        for s in (*defs, *ws(step.reads), *temps):
            sizes[s] = s.nbytes
    return memory.plan(plan_steps, sizes)


def _arg_pointers(main, n):
    ptrs = []
    for i in range(n + 1):
        slot = main.gep("ptr", "%args", str(i))
        ptrs.append(main.op(f"load ptr, ptr {slot}, align 8", stem="arg"))
    return ptrs


def _pointer(main, st: Storage, offsets, ptrs) -> str:
    if st.kind == "arg":
        return ptrs[st.slot]
    if st.kind == "global":
        return st.ptr
    return main.gep("i8", ptrs[-1], str(offsets[st]))


def _pointers(main, stores, offsets, ptrs) -> list[str]:
    return [_pointer(main, s, offsets, ptrs) for s in stores]


def _call_kernel(module, main, name, stores, offsets, ptrs) -> None:
    """Call kernel ``name`` from ``graphc_main`` with the buffers ``stores``: directly with their
    addresses, or (many kernels) through ``name.w(ptr %args, ptr @table)``, which loads
    ``args[slot] + offset`` for each (slot, offset) pair of a constant table, so ``graphc_main``
    is a short list of two-argument calls holding no values across them."""
    if module.direct_calls:
        args = ", ".join(f"ptr {_pointer(main, s, offsets, ptrs)}" for s in stores)
        main.do(f"call void @{name}({args})")
        return
    ws_slot = len(ptrs) - 1
    pairs = [(s.slot, 0) if s.kind == "arg" else (ws_slot, offsets[s]) for s in stores]
    if name not in module.wrapped:
        module.wrapped.add(name)
        w = Func(f"{name}.w", ["ptr %args", "ptr %tbl"], attrs="noinline nounwind")
        args = []
        for i in range(len(pairs)):
            slot = w.op(f"load i64, ptr {w.gep('i64', '%tbl', str(2 * i))}, align 8")
            off = w.op(f"load i64, ptr {w.gep('i64', '%tbl', str(2 * i + 1))}, align 8")
            base = w.op(f"load ptr, ptr {w.gep('ptr', '%args', slot)}, align 8")
            args.append(f"ptr {w.gep('i8', base, off)}")
        w.do(f"call void @{name}({', '.join(args)})")
        module.functions.append(w.text())
    table = module.global_array(np.array(pairs, dtype=np.int64))
    main.do(f"call void @{name}.w(ptr %args, ptr {table.ptr})")


def _emit_step(module, main, k, step, storage, offsets, ptrs) -> str:
    """Emit step ``k``'s kernel function and its call from ``main``; returns its description."""
    stores = list(
        dict.fromkeys(
            [storage[v] for v in step.reads]
            + [step.copy_to or storage[v] for v in step.writes]
            + [s for s, _ in step.temps]
        )
    )
    passed = [s for s in stores if s.kind != "global"]  # globals are named in the kernel's code
    name = f"k{k}_{step.node.prim.name if step.node else 'copy'}"
    n_threads = _threads(step)
    ranged = n_threads > 1 or module.pending is not None
    key = step_key(step, storage, stores)
    key = key if key is None or not ranged else (key, n_threads)
    if key in module.kernel_keys:  # same structure: same text (and emitting it costs ~1 ms)
        same, desc, blocks = module.kernel_keys[key]
        if module.pending is not None:
            module.pending.append((same, passed, blocks))
        elif n_threads > 1:
            threads.call_ranged(
                module, main, same, _pointers(main, passed, offsets, ptrs), n_threads, blocks
            )
        else:
            _call_kernel(module, main, same, passed, offsets, ptrs)
        return f"{name}: {desc} (same code as {same})"
    params = {s: f"%p{i}" for i, s in enumerate(passed)}
    params.update({s: s.ptr for s in stores if s.kind == "global"})
    # NOTE: x86 legalizes 512-bit vector types only in functions that allow them; the matmul
    # microkernel's explicit <16 x float> accumulators need it (the vectorizer's choice is
    # unaffected). NOTE: noinline keeps each kernel its own function: inlined into graphc_main,
    # hundreds of loops in one function make the function passes superlinear (W6 n=1000: 64 vs ~20
    # ms per kernel).
    attrs = f'noinline nounwind "min-legal-vector-width"="{module.vector_bits}"'
    ranges = ["i64 %lo", "i64 %hi"] if ranged else []
    f = Func(name, [f"ptr noalias {params[s]}" for s in passed] + ranges, attrs=attrs)
    f.ranged = ranged
    calls = _math_calls(step.node)
    shared = bool(calls) and _math_kinds(calls) <= module.shared
    module.inline_math = len(calls) <= INLINE_MATH_MAX and not shared
    f.meta_ids = module.meta_ids
    if not module.inline_math:  # see vecmath.py: two vectors per call hide the polynomials' latency
        width = vecmath.lanes(module.vector_bits, calls[0].outputs[0].dtype.itemsize)
        f.loop_hint = (
            f'!{{!"llvm.loop.vectorize.width", i32 {width}}}',
            '!{!"llvm.loop.interleave.count", i32 1}',
        )
    reads = {v: Buf(params[storage[v]], v.type) for v in step.reads}
    if step.copy_to is not None:
        v = step.reads[0]
        desc = emit_region(module, f, reads, [], [(v, Buf(params[step.copy_to], v.type))])
    else:
        writes = [(v, Buf(params[storage[v]], v.type)) for v in step.writes]
        temps = [Buf(params[s], t) for s, t in step.temps]
        desc = KERNEL_PRIMS.get(step.node.prim, _region_kernel)(
            module, f, step.node, reads, writes, temps
        )
    name = module.add_kernel(f)
    if step.node is not None:
        module.kernel_nodes.setdefault(name, step.node)
    blocks = getattr(f, "ranged_blocks", None)
    if key is not None:
        module.kernel_keys[key] = (name, desc, blocks)
    if module.pending is not None:
        module.pending.append((name, passed, blocks))
    elif f.ranged:
        threads.call_ranged(
            module, main, name, _pointers(main, passed, offsets, ptrs), n_threads, blocks
        )
    else:
        _call_kernel(module, main, name, passed, offsets, ptrs)
    return f"{f.name}: {desc}" + (f" (same code as {name})" if name != f.name else "")


def _threads(step) -> int:
    """How many threads a step's kernel is split over: only ``fused`` elementwise bodies (no
    reduction, no matmul) big enough to repay starting threads (``threads.threads_for``)."""
    node = step.node
    if node is None or node.prim is not fused:
        return 1
    body = node.attrs["body"]
    if any(n.prim in KERNEL_PRIMS for n in body.nodes):
        return 1
    size = body.outputs[0].type.size if body.outputs else 0
    weight = sum(threads.MATH_WEIGHT if n.prim in TRANSCENDENTAL else 1 for n in body.nodes)
    return threads.threads_for(size, weight)


def _math_kinds(calls) -> set:
    return {(n.prim, n.outputs[0].dtype) for n in calls}


def _math_calls(node) -> list:
    """The nodes a kernel computes with math-library calls (its transcendental nodes)."""
    if node is None:
        return []
    nodes = node.attrs["body"].nodes if node.prim is fused else [node]
    return [n for n in nodes if n.prim in TRANSCENDENTAL]


# - kernel rules: one signature (module, f, node, reads, writes, temps) -> description -------------
def _region_kernel(module, f, node, reads, writes, temps):
    if node.prim is fused:
        body = node.attrs["body"]
        leaves = {bv: reads[v] for bv, v in zip(body.inputs, node.inputs, strict=True)}
        outs = [(bv, buf) for bv, (_, buf) in zip(body.outputs, writes, strict=True)]
        return "fused " + emit_region(module, f, leaves, body.nodes, outs)
    return emit_region(module, f, reads, [node], writes)


def _dot_kernel(module, f, node, reads, writes, temps):
    plan = DotPlan(node, module.vector_bits, module.blas)
    em = Emitter(f, module, {}, {})
    ptrs, panels = [], iter(temps)
    for side, v in zip(("lhs", "rhs"), node.inputs, strict=True):
        if plan.pack[side]:
            panel = next(panels)
            emit_pack(em, plan, side, reads[v], panel)
            ptrs.append(panel.ptr)
        else:
            ptrs.append(reads[v].ptr)
    return emit_dot(em, plan, ptrs[0], ptrs[1], writes[0][1].ptr)


def _cumsum_kernel(module, f, node, reads, writes, temps):
    return emit_cumsum(module, f, node, reads[node.inputs[0]], writes[0][1])


#: Primitives lowered as whole kernels rather than at an index of a loop body. Reductions, region
#: primitives and ``fused`` share ``_region_kernel``.
KERNEL_PRIMS = {dot_general: _dot_kernel, red.cumsum: _cumsum_kernel}
KERNEL_PRIMS.update({p: _region_kernel for p in (*REDUCERS, fused)})


def missing_lowerings() -> list[str]:
    """Primitives in the registry with no lowering (a test keeps this empty); call-like primitives
    are inlined before lowering."""
    known = set(RULES) | set(KERNEL_PRIMS) | VIEWS
    return sorted(
        p.name for p in REGISTRY.values() if p not in known and not p.extra.get("inline_graph")
    )
