"""Ahead-of-time export: one signature's graph as a C shared library and its header, run without
Python (``graphc export``, ``Concrete.export``).

The C ABI (each header says it again, with its function's types; ``cheader.py`` writes it):
  ``size_t NAME_workspace_bytes(void)``, and
  ``int NAME(const T *in0, ..., T *out0, ..., void *workspace)``: inputs, then outputs, as
  C-contiguous arrays of exactly the header's shapes and dtypes (bool: one byte, 0 or 1); the
  outputs overlap nothing else. ``workspace``: that many bytes, 64-byte aligned, used by one call
  at a time, or NULL to have the call allocate (and free) its own. Returns 0, or 1 when memory
  ran out (the workspace, or a while loop's saved carries in a reverse pass). The library holds
  no mutable state, so any number of threads may call it at once, each with its own workspace
  (or NULL). Only ``NAME`` and ``NAME_workspace_bytes`` are exported symbols.

How: the graph goes through the JIT's pipeline (the backend's passes and plan,
``plan.backend_plan``; ``lower.render``) with two tuning changes, since the library runs outside
graphc's process: one thread (large kernels would call the thread pool graphc compiles into its
own process, ``threads.py``) and no BLAS (NumPy's bundled OpenBLAS is not there: graphc's own
gemm kernel runs instead). Graphs whose kernels call back into Python (the linalg
factorizations and ``gc.print``: ``hostcall.py``) are refused. A small second module (``_abi``)
adds the public function, which packs its pointers into ``graphc_main``'s argument array, and
maps the runtime symbols the JIT registers in-process (``graphc_rt_realloc``,
``graphc_rt_stack_free``) to the C library's ``realloc``/``free``; everything but the public
names is made internal. The object is position-independent code for the chosen CPU, linked by
the system C compiler (llvmlite can emit object files but has no linker) with ``-lm`` (LLVM may
turn an intrinsic into a libm call on CPUs without the instruction, e.g. ``floor`` before
SSE4.1).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile

import llvmlite.binding as llvm

from ...errors import ArgumentError, GraphcError, InternalError
from ...ir import Graph
from . import cheader, jit, memory
from .hostcall import KINDS as HOST_CALLS
from .irtext import DEFINE, Func, declarations
from .lower import render
from .plan import backend_plan
from .tuning import Tuning

#: ``target`` values: this machine's CPU, or a portable x86-64 level (the psABI's).
TARGETS = ("native", *jit.X86_LEVELS)
COMPILERS = ("cc", "gcc", "clang")
SUFFIX = ".dylib" if sys.platform == "darwin" else ".so"
#: The C library functions the library's own module (``_abi``) calls: the only functions the
#: module may leave undefined (LLVM's code generator may add libm calls below the IR).
C_LIBRARY = ("realloc", "free", "posix_memalign")
#: The names ``_abi`` defines or calls besides the public ones.
RUNTIME = ("graphc_rt_realloc", "graphc_rt_stack_free", *C_LIBRARY)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: A global written at run time (``@name = ... global``; constants say ``constant``).
_MUTABLE = re.compile(r"^@(?!llvm\.)([-\w.$]+) = [^\n]*?\bglobal\b", re.M)


@dataclasses.dataclass(frozen=True)
class Target:
    """What the object code is built for: LLVM's triple, CPU and features, and the vector width
    the lowering assumes (as ``jit.host`` decides it for the JIT)."""

    name: str
    triple: str
    cpu: str
    features: str
    vector_bits: int


def target(name: str = "native") -> Target:
    """``native`` (this machine's CPU and features) or an x86-64 level. A level this CPU cannot
    run is still built (the library is for other machines); only an unknown name is refused."""
    with jit.LOCK:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        triple = llvm.get_process_triple()
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
    if name == "native":
        wide = "+avx512f" in features.split(",")
        return Target(name, triple, cpu, features, 512 if wide else 256)
    if name not in jit.X86_LEVELS:
        raise ArgumentError(f"unknown export target {name!r}: expected one of {', '.join(TARGETS)}")
    if not triple.startswith("x86_64"):
        raise ArgumentError(f"export target {name!r} is an x86-64 level; this machine is {triple}")
    return Target(name, triple, name, "", 512 if name == "x86-64-v4" else 256)


def c_name(text: str) -> str:
    """``text`` as a C identifier (``value_and_grad(loss)`` -> ``value_and_grad_loss_``)."""
    name = re.sub(r"\W", "_", text, flags=re.ASCII)
    return name if _IDENTIFIER.match(name) else f"_{name}"


def library_paths(path: str) -> tuple[str, str]:
    """``(library, header)`` for ``path`` given with or without a ``.so``/``.dylib``/``.h``."""
    stem, ext = os.path.splitext(path)
    base = stem if ext in (".so", ".dylib", ".h") else path
    return base + SUFFIX, base + ".h"


def export(graph: Graph, path: str, name: str, target_name: str = "native",
           in_names=None, out_names=None) -> str:
    """Write the library and header for ``graph`` (an optimized graph: ``Concrete.graph``) as C
    function ``name``; ``in_names``/``out_names`` label the arrays in the header. Returns the
    library's path."""
    if not _IDENTIFIER.match(name):
        raise ArgumentError(f"export name {name!r} is not a C identifier")
    tgt = target(target_name)  # before any work: a bad target is the cheapest error
    compiler = find_compiler()
    refuse_host_calls(graph, name)
    tuning = dataclasses.replace(Tuning.from_config(tgt.vector_bits), threads=1, blas=None)
    lowered = render(backend_plan(graph, tuning))
    public = (name, f"{name}_workspace_bytes")
    taken = set(DEFINE.findall(lowered.ir)).union(RUNTIME).intersection(public)
    if taken:
        raise ArgumentError(f"export name {name!r} is taken by graphc's code or a C library "
                            f"function it calls ({min(taken)}): choose another name")
    abi = _abi(name, lowered.entry, len(graph.inputs), len(graph.outputs), lowered.workspace_bytes)
    obj = object_code(lowered.ir, abi, public, tgt)
    lib, header = library_paths(path)
    link(compiler, obj, lib)
    text = cheader.header(name, graph, lowered.workspace_bytes, tgt, os.path.basename(lib),
                          in_names, out_names)
    with open(header, "w", encoding="utf-8") as f:
        f.write(text)
    return lib


def refuse_host_calls(graph: Graph, name: str) -> None:
    """A node (nested graphs included) whose kernel calls back into Python cannot be exported."""
    for node in graph.nodes:
        if node.prim in HOST_CALLS:
            where = f"{node.loc}: " if node.loc else ""
            raise GraphcError(
                f"{where}cannot export {name}: {node.prim.name} runs Python at run time (its "
                "kernel calls back into NumPy: the linalg factorizations use numpy.linalg, "
                "gc.print prints through Python), and an exported library runs without Python"
            )
        for sub in node.subgraphs():
            refuse_host_calls(sub, name)


def _abi(name: str, entry: str, n_in: int, n_out: int, ws_bytes: int) -> str:
    """The public functions and the runtime symbols ``graphc_main`` calls, as a module."""
    call = _public(name, entry, n_in, n_out, ws_bytes)
    size = Func(f"{name}_workspace_bytes", [], linkage="", ret="i64")
    size.ret(str(ws_bytes))
    grow = Func("graphc_rt_realloc", ["ptr %p", "i64 %n"], linkage="", ret="ptr")
    grow.ret(grow.op("call ptr @realloc(ptr %p, i64 %n)"))
    free = Func("graphc_rt_stack_free", ["ptr %p"], linkage="")
    free.do("call void @free(ptr %p)")
    body = "\n\n".join(f.text() for f in (call, size, grow, free))
    return "\n".join([*declarations(body), "", body]) + "\n"


def _public(name: str, entry: str, n_in: int, n_out: int, ws_bytes: int) -> Func:
    """``i32 NAME(in..., out..., workspace)``: the pointers into an array for ``entry``; a NULL
    workspace is allocated (64-byte aligned) and freed around the call."""
    ptrs = [f"%in{i}" for i in range(n_in)] + [f"%out{j}" for j in range(n_out)]
    f = Func(name, [f"ptr {p}" for p in ptrs] + ["ptr %workspace"], linkage="", ret="i32")
    args = f.alloca(f"[{len(ptrs) + 1} x ptr]", align=8)
    for k, p in enumerate(ptrs):
        f.do(f"store ptr {p}, ptr {f.gep('ptr', args, str(k))}, align 8")
    ws_slot = f.gep("ptr", args, str(len(ptrs)))

    def run(ws: str) -> str:
        f.do(f"store ptr {ws}, ptr {ws_slot}, align 8")
        return f.op(f"call i32 @{entry}(ptr {args})")

    if not ws_bytes:
        f.ret(run("null"))
        return f
    own, given, ok, failed = f.fresh("own"), f.fresh("given"), f.fresh("ok"), f.fresh("nomem")
    f.branch(f.op("icmp eq ptr %workspace, null"), own, given)
    f.start_block(given)
    f.ret(run("%workspace"))
    f.start_block(own)
    slot = f.alloca("ptr", align=8)
    err = f.op(f"call i32 @posix_memalign(ptr {slot}, i64 {memory.ALIGN}, "
               f"i64 {memory.round_up(ws_bytes)})")
    f.branch(f.op(f"icmp eq i32 {err}, 0"), ok, failed)
    f.start_block(failed)
    f.ret("1")
    f.start_block(ok)
    ws = f.op(f"load ptr, ptr {slot}, align 8")
    status = run(ws)
    f.do(f"call void @free(ptr {ws})")
    f.ret(status)
    return f


def object_code(main_ir: str, abi_ir: str, public: tuple[str, ...], tgt: Target) -> bytes:
    """Link the two modules, make every non-public symbol internal, optimize as the JIT does and
    emit position-independent object code for ``tgt``."""
    mutable = _MUTABLE.findall(main_ir + abi_ir)
    if mutable:  # the ABI promises thread safety: the lowering writes no global
        raise InternalError(f"internal error in export: mutable globals {mutable}")
    with jit.LOCK:
        tm = llvm.Target.from_triple(tgt.triple).create_target_machine(
            cpu=tgt.cpu, features=tgt.features, opt=jit.codegen_level(None), reloc="pic",
            codemodel="default")
        ctx, mods = llvm.create_context(), []
        try:
            for text in (main_ir, abi_ir):
                mods.append(llvm.parse_assembly(text, ctx))
            mod = mods[0]
            mod.link_in(mods[1])
            foreign = sorted(f.name for f in mod.functions if f.is_declaration and
                             not f.name.startswith("llvm.") and f.name not in C_LIBRARY)
            if foreign:  # e.g. the thread pool, BLAS: only graphc's process defines them
                raise InternalError(f"internal error in export: {public[0]} would call "
                                    f"{', '.join(foreign)}, which no C library defines")
            for value in (*mod.functions, *mod.global_variables):
                if value.name not in public and not value.is_declaration and \
                        value.linkage == llvm.Linkage.external:
                    value.linkage = llvm.Linkage.internal
            mod.triple, mod.data_layout = tgt.triple, str(tm.target_data)
            jit._verify(mod, public[0], main_ir)
            jit._optimize(mod, tm, jit.opt_level(None))
            jit._verify(mod, public[0], main_ir, " after optimization")
            return tm.emit_object(mod)
        except RuntimeError as e:  # parsing or linking: a bug in the lowering or in _abi
            raise jit.LLVMCompileError(f"LLVM rejected the export of {public[0]}: {e}") from None
        finally:  # every module before its context, or LLVM frees them twice
            for m in mods:
                m.close()
            ctx.close()


def find_compiler() -> str:
    """The system C compiler that links the library: llvmlite emits object code but has no
    linker."""
    for cand in COMPILERS:
        found = shutil.which(cand)
        if found:
            return found
    raise GraphcError(
        "graphc export needs a C compiler to link the shared library (llvmlite makes the object "
        f"code but has no linker); none of {', '.join(COMPILERS)} is on PATH: install one "
        "(e.g. apt install gcc, or Xcode's command line tools)"
    )


def link(compiler: str, obj: bytes, lib: str) -> None:
    """``cc -shared`` the object into ``lib`` (with libm), named by its file name (its soname, or
    ``@rpath/`` name on macOS) so programs linked against it by path find it through their rpath."""
    base = os.path.basename(lib)
    darwin = sys.platform == "darwin"
    soname = f"-Wl,-install_name,@rpath/{base}" if darwin else f"-Wl,-soname,{base}"
    os.makedirs(os.path.dirname(lib) or ".", exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="graphc-export-") as tmp:
        obj_path = os.path.join(tmp, "graphc_export.o")
        with open(obj_path, "wb") as f:
            f.write(obj)
        cmd = [compiler, "-shared", soname, "-o", lib, obj_path, "-lm"]
        done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise GraphcError(f"linking {lib} failed ({' '.join(cmd)}):\n{done.stderr.strip()}")
