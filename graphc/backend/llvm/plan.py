"""The plan: a fused graph as data -- one frozen record per kernel, the storage plan, the call style.

``plan_graph(graph, tuning)`` takes every decision the LLVM text depends on: where each value lives
(argument slot, workspace offset, constant global: memory.py), which kernels share code (share.py),
whether a kernel inlines its math or calls vector-variant wrappers, how many threads it is split
over and into which block ranges (threads.py), its explicit vector width, whether the program runs
chunk by chunk and with which workspace layout (blocking.py), and whether ``graphc_main`` calls the
kernels directly or through address tables. ``lower.render`` prints a ``Program`` and decides
nothing. A program is a tree: a ``Loop`` or ``Cond`` step holds body programs with their own
workspace region (the renderer runs a loop body ``count`` times). A ``cond`` node becomes a
``Cond`` step: each branch graph is fused and planned like a program of its own (``_Frame``: its
inputs and outputs are the enclosing buffers), its values placed past the enclosing workspace;
body programs are never chunked (blocking's layout is one flat program's).
"""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np

from ...ir import Graph, TensorType
from ...ir.diagnostics import internal_message
from ...ops import elementwise as ew
from ...ops import indexing as ix
from ...ops import reduce as red
from ...ops import shape as sh
from ...ops.call import fused, inline_calls
from ...ops.linalg import dot_general
from . import blocking, hostcall, memory, threads
from .fusion import fuse
from .kernels import REDUCERS, region_lanes
from .records import Buffer, Cond, Kernel, Loop, Move, Program, Split, Tape  # noqa: F401
from .matmul import DotPlan
from .nested import PLANNERS, Space
from .region import RULES, LoweringError, node_context
from .share import kernel_key
from .tuning import Tuning

#: Top-level primitives that are views of their operand's bytes (no kernel).
VIEWS = {sh.reshape, sh.stop_gradient}
#: Primitives lowered as whole kernels of their own kind (others: region rules, RULES).
KERNEL_KINDS = {dot_general: "dot", red.cumsum: "cumsum", fused: "region",
                ix.scatter_add: "scatter", ix.argsort: "sort"}
KERNEL_KINDS.update(dict.fromkeys(REDUCERS, "reduce"))
KERNEL_KINDS.update(dict.fromkeys(PLANNERS, "nested"))
KERNEL_KINDS.update(hostcall.KINDS)


# - planning ---------------------------------------------------------------------------------------
class _Slot:
    """A value's storage while planning (mutable: outputs are claimed, offsets given later)."""

    def __init__(self, kind: str, nbytes: int, slot: int | None = None, name: str | None = None,
                 buffer: Buffer | None = None):
        self.kind, self.nbytes, self.slot, self.name = kind, nbytes, slot, name
        self.buffer = buffer  # kind "outer": a branch body's view of the enclosing plan's Buffer


class _Step:
    """A kernel while planning: its node (None for an output copy), the values it reads and
    writes, its scratch panels ((TensorType, _Slot) pairs) and a copy's destination slot.

    NOTE: this and ``_Frame`` are plain classes, not dataclasses: each dataclass costs ~0.5-1 ms
    to create at import, and the plan module is imported by every process's first compile."""

    __slots__ = ("node", "reads", "writes", "temps", "copy_to", "update")

    def __init__(self, node, reads: list, writes: list, temps: list | None = None,
                 copy_to: _Slot | None = None):
        self.node, self.reads, self.writes = node, reads, writes
        self.temps, self.copy_to = temps or [], copy_to
        self.update = None  # a gemm call's (W, scale): it computes W + scale * A @ B


def _nbytes(t: TensorType) -> int:
    return t.size * t.dtype.itemsize


class _Globals:
    """Constant globals named by content, as ``Module.global_array`` names them."""

    def __init__(self):
        self.names: dict = {}
        self.arrays: list = []

    def name(self, arr: np.ndarray) -> str:
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self.names:
            self.names[key] = f"@const{len(self.names)}"
            self.arrays.append((self.names[key], arr))
        return self.names[key]


def plan_graph(graph: Graph, tuning: Tuning | None = None) -> Program:
    """The plan of ``graph`` (typically after ``fusion.fuse``); see the module docstring."""
    n_in, n_args = len(graph.inputs), len(graph.inputs) + len(graph.outputs)
    inputs = [_Slot("arg", _nbytes(v.type), slot=i) for i, v in enumerate(graph.inputs)]
    targets = [_Slot("arg", _nbytes(v.type), slot=n_in + j) for j, v in enumerate(graph.outputs)]
    frame = _Frame(inputs, targets, n_args, _Globals())
    return _plan(inline_calls(graph), tuning or Tuning(), frame)


class _Frame:
    """Where a (body) program's values come from and go: the input and output slots, the
    argument count, the constant globals (one table for the whole tree: the module defines the
    top program's ``globals``), the first workspace byte it may use, its kernels' name prefix."""

    __slots__ = ("inputs", "targets", "n_args", "consts", "base", "prefix")

    def __init__(self, inputs: list, targets: list, n_args: int, consts: _Globals,
                 base: int = 0, prefix: str = "k"):
        self.inputs, self.targets, self.n_args, self.consts = inputs, targets, n_args, consts
        self.base, self.prefix = base, prefix

    @property
    def nested(self) -> bool:
        return self.prefix != "k"


def _plan(graph: Graph, tuning: Tuning, frame: _Frame) -> Program:
    storage, steps, producers = _collect(graph, tuning, frame.inputs, frame.consts)
    _claim_outputs(graph, storage, steps, frame.targets)
    offsets, ws_bytes = _offsets(steps, storage)
    split = [_threads(step, tuning) for step in steps]
    maths = _math_modes(steps, tuning)
    inline = [m in ("none", "inline") for m in maths]
    lanes = [_lanes(s, tuning, i) for s, i in zip(steps, inline, strict=True)]
    chunked = not frame.nested and blocking.candidate(steps, storage, split, ws_bytes, tuning)
    blocks = [_blocks(s, n, ln, chunked, tuning)
              for s, n, ln in zip(steps, split, lanes, strict=True)]
    layout = None
    if chunked:
        ws = [st for s in steps for st in _stores(s, storage) if st.kind == "ws"]
        layout = blocking.layout(blocks, steps, list(dict.fromkeys(ws)), tuning)
        if layout is not None:
            offsets, ws_bytes = layout.offsets, layout.workspace
    offsets = {k: frame.base + o for k, o in offsets.items()}
    buffers = _freeze(storage, steps, offsets)
    body_base = frame.base + memory.round_up(ws_bytes)
    kernels, keys, bodies = [], {}, [0]
    for k, step in enumerate(steps):
        if step.node is not None and step.node.prim in PLANNERS:
            records, extent = _nested(step, storage, buffers, tuning, frame, k, body_base)
            kernels += records
            bodies.append(extent)
            continue
        chunks = _chunks(step, split[k], blocks[k], tuning)
        sp = Split(split[k], split[k] > 1 or chunked, blocks[k], chunks)
        origin = producers.get(step.reads[0]) if step.reads else None
        plan = {"lanes": lanes[k], "math": maths[k], "split": sp, "update": step.update}
        kernels.append(_kernel(f"{frame.prefix}{k}", step, storage, buffers, origin, plan, keys))
    direct = frame.nested or len(steps) <= tuning.direct_calls_max  # a body's buffers may be rows
    calls = "chunks" if chunked else "direct" if direct else "table"
    workspace = body_base - frame.base + max(bodies) if max(bodies) else ws_bytes
    return Program(
        tuple(kernels), frame.n_args, workspace, calls, layout,
        () if frame.nested else tuple(frame.consts.arrays), tuning,
    )


def _nested(step, storage, buffers, tuning, frame, k, base):
    """A control-flow node's records (nested.py), its bodies planned as programs of their own
    whose inputs and outputs are the enclosing buffers given (``_Frame``)."""
    node = step.node
    name = f"{frame.prefix}{k}"

    def body(graph, ins, outs, at, tag):
        def outer(bufs):
            return [_Slot("outer", b.nbytes, buffer=b) for b in bufs]

        sub = _Frame(outer(ins), outer(outs), frame.n_args, frame.consts, at, f"{name}_{tag}")
        return _plan(fuse(inline_calls(graph)), tuning, sub)

    ins = [buffers[id(storage[v])] for v in node.inputs]
    outs = [buffers[id(storage[v])] for v in node.outputs]
    return PLANNERS[node.prim](node, ins, outs, Space(base), body, name)


def backend_plan(optimized: Graph, tuning: Tuning | None = None) -> Program:
    """The plan the LLVM backend compiles for an optimized graph: after its own ``PASSES`` (fusion), with
    this host's tuning unless ``tuning`` is given (``graphc dump --stage plan``)."""
    from . import PASSES, _lowering_options

    if tuning is None:
        tuning = Tuning.from_config(**_lowering_options())
    for _, run in PASSES:
        optimized = run(optimized)
    return plan_graph(optimized, tuning)


def _collect(graph, tuning, inputs, consts):
    """Storage of every value (the inputs': ``inputs``) and the kernel steps, in graph order."""
    storage, steps, producers = {}, [], {}
    for v, slot in zip(graph.inputs, inputs, strict=True):
        storage.setdefault(v, slot)
    for node in graph.nodes:
        with node_context(node):
            _assign(node, storage, steps, consts, tuning)
        producers.update(dict.fromkeys(node.outputs, node))
    return storage, _fold_updates(steps, graph, tuning), producers


def _fold_updates(steps, graph, tuning) -> list:
    """Steps with each gemm call whose product only feeds ``W + c * product`` (an SGD update:
    ``W - lr * grad``) doing that update itself: W copied into the result, then gemm with alpha c
    and beta 1. Why: the product is never stored and read back (W3's 784x512 update: 9.6 -> 6.4
    MB of memory traffic, OpenBLAS's zeroing of C with beta 0 included). The result may differ
    from the unfused one in the last bit (OpenBLAS may fuse alpha's multiply into an FMA)."""
    uses = collections.Counter(v for st in steps for v in st.reads)
    uses.update(graph.outputs)
    made = {v: st for st in steps for v in st.writes if st.node is not None}
    out = []
    for st in steps:
        found = _update_of(st)
        dot = made.get(found[0]) if found else None
        if dot is None or uses[found[0]] != 1 or dot.node.prim is not dot_general or (
                DotPlan(dot.node, tuning.vector_bits, tuning.blas).strategy != "blas"):
            out.append(st)
            continue
        dot.reads.append(found[1])
        dot.writes, dot.update = st.writes, (found[1], found[2])
    return out


def _update_of(step):
    """``(product, W, c)`` when ``step`` computes ``W + c * product`` (or ``W - c * product``,
    ``W - product``, either operand order; fused, or a lone ``add``/``sub``) of two same-typed
    values; else None."""
    node = step.node
    if node is None or len(node.inputs) != 2:
        return None
    if node.prim is fused:
        body = node.attrs["body"]
        nodes, results, outer = body.nodes, body.outputs, dict(zip(body.inputs, node.inputs))
    else:
        nodes, results, outer = [node], node.outputs, {v: v for v in node.inputs}
    if len(results) != 1 or not 1 <= len(nodes) <= 3:
        return None
    *rest, last = nodes
    if last.prim not in (ew.add, ew.sub) or last.outputs[0] is not results[0]:
        return None
    scale, term = 1.0, last.inputs[1]  # what is added to W (or subtracted from it)
    if rest:  # c * product, c a 0-d constant
        if len(rest) != 2 or rest[0].prim is not sh.constant or rest[1].prim is not ew.mul:
            return None
        c, m = rest[0].outputs[0], rest[1]
        term = m.outputs[0]
        if c not in m.inputs or c.type != TensorType((), term.dtype) or term not in last.inputs:
            return None
        scale, prod = float(rest[0].attrs["value"].array), next(v for v in m.inputs if v is not c)
    else:
        prod = term
    w = next((v for v in last.inputs if v is not term), None)
    if w is None or (last.prim is ew.sub and last.inputs[1] is not term):
        return None
    if last.prim is ew.sub:
        scale = -scale
    if prod not in outer or w not in outer or outer[prod] is outer[w] or (
            outer[prod].type != outer[w].type or outer[w].type != node.outputs[0].type):
        return None  # (W being the product itself, W + c * W, would read a result never stored)
    return outer[prod], outer[w], scale


def _assign(node, storage, steps, consts, tuning):
    for v in node.inputs:  # e.g. a constant a pass dropped: say so here, not as a KeyError later
        if v not in storage:
            raise LoweringError(f"operand {v} is computed by no earlier node")
    out = node.outputs[0] if node.outputs else None
    if node.prim in VIEWS:
        storage[out] = storage[node.inputs[0]]
        return
    if node.prim is sh.constant:
        name = consts.name(node.attrs["value"].array)
        storage[out] = _Slot("global", _nbytes(out.type), name=name)
        return
    if node.prim not in KERNEL_KINDS and node.prim not in RULES:
        raise LoweringError(f"no LLVM lowering for primitive {node.prim.name!r}")
    for v in node.outputs:
        storage[v] = _Slot("ws", _nbytes(v.type))
    temps = []
    if node.prim is ix.argsort:  # the merge sort's two lines of indices
        t = TensorType((node.inputs[0].shape[node.attrs["axis"]],), np.dtype(np.int64))
        temps += [(t, _Slot("ws", _nbytes(t))) for _ in range(2)]
    if node.prim is dot_general:
        dot = DotPlan(node, tuning.vector_bits, tuning.blas)
        for side in ("lhs", "rhs"):
            if dot.pack[side]:
                t = TensorType(dot.panel_shape(side), dot.d)
                temps.append((t, _Slot("ws", _nbytes(t))))
    steps.append(_Step(node, list(node.inputs), list(node.outputs), temps))


def _claim_outputs(graph, storage, steps, targets):
    """Outputs computed into the workspace are computed into their target slot (an argument, or
    a branch body's enclosing buffer) instead; the others (inputs, constants, a value output
    twice) get a copy step."""
    claimed = set()
    for j, (v, target) in enumerate(zip(graph.outputs, targets, strict=True)):
        st = storage.get(v)
        if st is None:
            detail = f"output {j} ({v.type}) is computed by no node"
            raise LoweringError(internal_message(None, f"lowering graph {graph.name}", detail))
        if st.kind == "ws" and id(st) not in claimed:
            claimed.add(id(st))
            st.kind, st.slot, st.buffer = target.kind, target.slot, target.buffer
        else:
            steps.append(_Step(None, [v], [v], copy_to=target))


def _stores(step, storage) -> list:
    """The slots a step's kernel touches, in parameter order."""
    writes = [step.copy_to or storage[v] for v in step.writes]
    return list(dict.fromkeys([storage[v] for v in step.reads] + writes + [s for _, s in step.temps]))


def _offsets(steps, storage):
    plan_steps, sizes = [], {}

    def ws(vs):
        return [storage[v] for v in vs if storage[v].kind == "ws"]

    for step in steps:
        temps = [s for _, s in step.temps]
        defs = [] if step.copy_to is not None else ws(step.writes)
        plan_steps.append((defs, ws(step.reads), temps))
        for s in (*defs, *ws(step.reads), *temps):
            sizes[s] = s.nbytes
    return memory.plan(plan_steps, sizes)


def _freeze(storage, steps, offsets) -> dict:
    """One frozen Buffer per slot."""
    slots = list(storage.values()) + [s.copy_to for s in steps if s.copy_to is not None]
    slots += [s for step in steps for _, s in step.temps]
    return {id(s): s.buffer or Buffer(s.kind, s.nbytes, s.slot, offsets.get(s, 0), s.name)
            for s in dict.fromkeys(slots)}


def _kernel(stem, step, storage, buffers, origin, plan, keys) -> Kernel:
    """The record of the step named ``stem`` (k3, or k3_t0 in a branch body); ``plan`` holds its
    lanes, math mode and split; ``keys`` maps each dedupe key to the first kernel with it."""
    node = step.node
    name = f"{stem}_{node.prim.name if node is not None else 'copy'}"
    reads = tuple((v, buffers[id(storage[v])]) for v in step.reads)
    writes = tuple((v, buffers[id(step.copy_to or storage[v])]) for v in step.writes)
    temps = tuple((t, buffers[id(s)]) for t, s in step.temps)
    kind, domain = _kind(step)
    kernel = Kernel(name, kind, node, node or origin, domain, reads, writes, temps, **plan)
    key = kernel_key(node, [b for _, b in (*reads, *writes)], kernel.buffers)
    if key is None:
        return kernel
    if kernel.split.ranged:
        key = (key, kernel.split.threads)
    first = keys.setdefault(key, name)
    return dataclasses.replace(kernel, key=key, reuses=None if first == name else first)


def _kind(step) -> tuple[str, tuple]:
    """The kernel kind and its iteration domain (the shape its loops run over)."""
    node = step.node
    if node is None:
        return "copy", tuple(step.reads[0].shape)
    kind = KERNEL_KINDS.get(node.prim, "region")
    nodes = node.attrs["body"].nodes if node.prim is fused else [node]
    reducer = next((n for n in nodes if n.prim in REDUCERS), None)
    if kind == "region" and reducer is not None:
        kind = "reduce"
    if kind in ("reduce", "cumsum"):
        return kind, tuple((reducer or node).inputs[0].shape)
    outs = node.attrs["body"].outputs if node.prim is fused else node.outputs
    return kind, tuple(outs[0].shape) if outs else ()


def math_calls(node) -> list:
    """The nodes a kernel computes with math-library calls (its transcendental nodes)."""
    if node is None:
        return []
    nodes = node.attrs["body"].nodes if node.prim is fused else [node]
    return [n for n in nodes if n.prim.transcendental]


def _math_kinds(calls) -> set:
    return {(n.prim, n.outputs[0].dtype) for n in calls}


def _math_modes(steps, tuning) -> list[str]:
    """Per step: ``inline`` (few math calls), ``wrapped`` (more than ``inline_math_max``: calls
    through vector-variant wrappers) or ``shared`` (only functions some wrapped kernel calls out of
    line: calling them too instead of inlining copies took W6 n=10's LLVM time 83 -> ~40 ms)."""
    calls = [math_calls(step.node) for step in steps]
    shared = set()
    for c in calls:
        if len(c) > tuning.inline_math_max:
            shared |= _math_kinds(c)
    modes = []
    for c in calls:
        if not c:
            modes.append("none")
        elif len(c) > tuning.inline_math_max:
            modes.append("wrapped")
        else:
            modes.append("shared" if _math_kinds(c) <= shared else "inline")
    return modes


def _threads(step, tuning) -> int:
    """How many threads a step's kernel is split over: ``fused`` elementwise bodies (no
    reduction, no matmul) big enough to repay starting threads (``threads.threads_for``), and
    products that call gemm (``DotPlan.threads``: their rows split, OpenBLAS's own threads off)."""
    node = step.node
    if node is not None and node.prim is dot_general:
        return DotPlan(node, tuning.vector_bits, tuning.blas).threads(tuning)
    if node is None or node.prim is not fused:
        return 1
    body = node.attrs["body"]
    if any(n.prim in KERNEL_KINDS for n in body.nodes):
        return 1
    size = body.outputs[0].type.size if body.outputs else 0
    weight = sum(tuning.math_weight if n.prim.transcendental else 1 for n in body.nodes)
    return threads.threads_for(size, weight, tuning)


def _lanes(step, tuning, inline) -> int | None:
    """The explicit vector width of a region or copy kernel (kernels.region_lanes)."""
    node = step.node
    if node is None:
        return region_lanes([], step.reads, step.writes, inline, tuning)
    if node.prim is fused:
        body = node.attrs["body"]
        return region_lanes(body.nodes, body.inputs, body.outputs, inline, tuning)
    if KERNEL_KINDS.get(node.prim, "region") in ("region", "reduce"):
        return region_lanes([node], node.inputs, node.outputs, inline, tuning)
    return None


def _blocks(step, n_threads, lanes, chunked, tuning) -> int | None:
    """The vector blocks a ranged kernel's loop runs a range of (None: not ranged, or its loop
    takes no range: scalar code or one block)."""
    if n_threads > 1 and step.node is not None and step.node.prim is dot_general:
        return DotPlan(step.node, tuning.vector_bits, tuning.blas).row_units
    if not (n_threads > 1 or chunked) or not lanes:
        return None
    blocks = math.prod(step.writes[0].shape) // lanes
    return blocks if blocks > 1 else None


def _chunks(step, n_threads, blocks, tuning) -> tuple:
    """The block ranges of a threaded kernel: ``Tuning.chunks_per_thread`` per thread (the pool's
    threads claim them, so a thread the OS runs late takes fewer), one per thread for a gemm call
    (each call packs its own panels)."""
    if n_threads <= 1:
        return ()
    if not blocks:
        return ((0, 0),)
    node = step.node
    blas = node is not None and node.prim is dot_general and DotPlan(
        node, tuning.vector_bits, tuning.blas).strategy == "blas"
    return tuple(threads.ranges(blocks, n_threads * (1 if blas else tuning.chunks_per_thread)))
