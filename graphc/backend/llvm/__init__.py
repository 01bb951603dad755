"""The LLVM backend: optimized graph -> (fusion) -> LLVM IR -> native code -> ``Executable``.

The backend's own pass, fusion, is in ``PASSES``: the pipeline runs it after the optimizer
(``passes.manager.prepare``), so ``stats()`` and ``graphc dump --stage all`` show it. ``compile``
lowers the fused graph to one module whose ``graphc_main(ptr args)`` follows the native ABI
(inputs, outputs, workspace),
appends the native Python entry (``entry.py``) when this process supports it, compiles through
the disk cache (``cache.py``) and wraps the result (``abi.Executable``).
"""

from __future__ import annotations

import ctypes
import functools
import math
import re
import time

from ...errors import GraphcError
from ...ir import Graph
from ...ir.graph import holds_graphs
from ...ops.linalg import dot_general
from ...ir.diagnostics import internal_error, internal_message
from . import blas, cache, entry, irtext, jit
from .abi import Executable
from .fusion import fuse
# lowering's modules at import, not in the first compile (~12 ms of a small graph's first call)
from .lower import lower_graph

__all__ = ["PASSES", "Executable", "compile", "compile_lowered"]

#: This backend's passes, run once each after the optimizer, in order: fusion makes the loop
#: nests (``fused`` nodes) the lowering turns into kernels.
PASSES = (("fuse", fuse),)


@functools.cache
def _lowering_options() -> dict:
    """Target facts the lowering needs: vector width, and NumPy's bundled gemm when it has one
    (registered with the JIT so calls to it resolve, also from cached object code)."""
    found = blas.find()
    for symbol, _, address in (found or {}).values():
        jit.register_symbol(symbol, address)
    libc = ctypes.CDLL(None)  # a while loop's reverse pass grows its saved carries (flow.py)
    for name, c_name in (("graphc_rt_realloc", "realloc"), ("graphc_rt_stack_free", "free")):
        jit.register_symbol(name, ctypes.cast(getattr(libc, c_name), ctypes.c_void_p).value)
    return {"vector_bits": jit.host()["vector_bits"], "blas": blas.lowering_option()}


#: Graphs doing at most this many element operations per call (``_work``) get code generation
#: level 0 (fast instruction selection and register allocation): it halves LLVM's code generation
#: time, which for such graphs is most of the first call (W1: 15.3 -> 11.8 ms), and its slower
#: loops cost at most ~0.1 us per call at this size (W1 steady unchanged, 0.44 us). They also get
#: the O0 optimization pipeline (inlining of mathlib's always-inline functions, little else):
#: its ~7 ms fixed cost was a third of a tiny graph's first call (W1-like value_and_grad: 19.6 ->
#: 15 ms), for 0.20 -> 0.21 us a call.
TINY_WORK = 256


def _work(graph: Graph, limit: int, nested: bool = False) -> int:
    """Roughly the element operations one call performs (its inputs' and every node's result sizes,
    M*N*K for products), counted until it exceeds ``limit``. A node holding graphs (a ``fused``
    loop nest) counts as its graphs' nodes, so fusion leaves the figure as it was."""
    total = 0 if nested else sum(v.type.size for v in graph.inputs)
    for node in graph.nodes:
        if holds_graphs(node.attrs):
            total += sum(_work(g, limit, True) for g in node.subgraphs())
        else:
            total += _node_work(node)
        if total > limit:
            break
    return total


def _node_work(node) -> int:
    """The element operations of one node: its results' sizes (each product element sums K)."""
    total = 0
    for v in node.outputs:
        size = v.type.size
        if node.prim is dot_general:
            lhs = node.inputs[0].shape
            size *= math.prod(lhs[a] for a in node.attrs["contracting"][0])
        total += size
    return total


def compile(graph: Graph) -> Executable:
    """Compile ``graph`` after this backend's ``PASSES``. Every failure is a GraphcError: one
    outside a node's lowering (blocking) becomes an internal error naming the node the failing
    code held (``passes.manager.internal_error``)."""
    t0 = time.perf_counter()
    try:
        lowered = lower_graph(graph, **_lowering_options())
    except GraphcError:
        raise
    except Exception as e:
        raise internal_error("the LLVM backend", e) from e
    lowered.lowering_ms = (time.perf_counter() - t0) * 1e3
    return compile_lowered(graph, lowered)


_SYMBOL = re.compile(r"@?\b(k\d+_\w+)")
_PARSE_LINE = re.compile(r"<string>:(\d+):\d+: error")


def _failing_node(text: str, message: str, nodes: dict):
    """The node whose kernel LLVM's ``message`` is about: a kernel named in it, or the function
    holding the line a parse error points at; None when neither is a kernel."""
    names = _SYMBOL.findall(message)
    m = _PARSE_LINE.search(message)
    if m:
        for line in reversed(text.splitlines()[: int(m.group(1))]):
            d = irtext.DEFINE.match(line)
            if d:
                names.insert(0, d.group(1))
                break
    for name in names:
        node = nodes.get(name.split(".", 1)[0])  # wrappers: k3_fused.w, .b, .t
        if node is not None:
            return node
    return None


def compile_lowered(graph: Graph, lowered) -> Executable:
    """Compile an already-lowered module (``lowered.ir``, ``.workspace_bytes``, ``.kernels``) whose
    ``graphc_main`` implements ``graph``'s signature."""
    t0 = time.perf_counter()
    in_types = [v.type for v in graph.inputs]
    out_types = [v.type for v in graph.outputs]
    use_entry = entry.available()
    text = lowered.ir
    if use_entry:
        io_bytes = sum(t.size * t.dtype.itemsize for t in in_types + out_types)
        release = io_bytes + lowered.workspace_bytes >= entry.GIL_RELEASE_BYTES
        text += "\n" + entry.entry_ir(in_types, out_types, lowered.workspace_bytes, release)
    tiny = _work(graph, TINY_WORK) <= TINY_WORK
    try:
        module = cache.compile_cached(text, graph.name, codegen_opt=0 if tiny else None,
                                      llvm_opt=0 if tiny else None)
    except jit.LLVMCompileError as e:
        node = _failing_node(text, str(e), getattr(lowered, "nodes", {}))
        stage = f"compiling {node.prim.name} with LLVM" if node else "compiling with LLVM"
        raise jit.LLVMCompileError(internal_message(node, stage, str(e))) from e
    address = module.address("graphc_entry") if use_entry else None
    ms = (time.perf_counter() - t0) * 1e3
    return Executable(
        graph, lowered, module, entry_address=address, compile_ms=ms, from_cache=module.from_cache
    )


def host() -> dict:
    """The CPU and toolchain code is compiled for (for reports and cache keys)."""
    return jit.host()
