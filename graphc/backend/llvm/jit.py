"""LLVM IR text -> native code in this process (llvmlite MCJIT), tuned for the host CPU.

Choices, with the measurements behind them (2-core Zen, llvmlite 0.50 / LLVM 22, assertions on):
  - **Optimization pipeline:** the new pass manager's default ``O2`` pipeline with loop and SLP
    vectorization and loop interleaving on (``config.llvm_opt_level`` may pick 1-3). O3 adds little
    for the straight loop nests the lowering emits and costs more compile time.
  - **Code generation opt level 2:** a small loop module codegens in ~1.6 ms at level 0 vs ~3.9 ms
    at level 2, but level 0 (fast register allocator, FastISel) ran a vectorized 1e6-element
    reduction 40% slower (155 vs 111 us). Level 1 costs the same as 2. Steady-state speed wins: a
    function is compiled once and called many times.
  - **One MCJIT engine per module**, each parsed in its own LLVM context: every module defines
    ``graphc_main`` (no symbol clashes), and the context's types and constants are freed with the
    module instead of growing the global context forever. The engine lives as long as its
    ``JitModule``; callers keep that object alive while they hold addresses into it.
  - **One lock around every LLVM call:** llvmlite's engines and pass builders are not documented as
    thread-safe; compiles are rare, so serialising them costs nothing that matters.
  - **Object code first, then the engine:** one shared target machine per level optimizes each
    module and emits its object code; the engine is handed that object through MCJIT's object
    cache hook and never generates code itself, which keeps it at ~0.15 MB instead of ~1.65 MB
    (``_shared_machine``). The same object goes to the disk cache (``cache.py``), so a later
    process skips optimization and code generation (only parsing remains, ~0.4 ms), and to an
    in-process memo of recent objects (``_RECENT``), so compiling the same text again does too.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import re
import sys
import threading
import time

import llvmlite
import llvmlite.binding as llvm

from ... import config
from ...errors import ArgumentError, InternalError

#: Serialises every call into LLVM (parsing, passes, engine creation, symbol lookup, asm emission).
LOCK = threading.RLock()
#: id(JitModule) -> (engine, LLVM context). Strong references here keep engines and contexts out
#: of cyclic garbage: the collector finalizes garbage in any order, and a context disposed before
#: its engine crashes the process. ``JitModule.__del__`` closes the engine, then the context.
_LIVE: dict[int, tuple] = {}


class LLVMCompileError(InternalError):
    """LLVM rejected a module (a lowering bug): the message carries LLVM's diagnostic."""


#: The host features each portable x86-64 level needs (LLVM's names), cumulative: the levels of
#: the x86-64 psABI. ``config.target_cpu`` may name a level only where the host has them all.
X86_LEVELS = {
    "x86-64": (),
    "x86-64-v2": ("cx16", "sahf", "popcnt", "sse4.1", "sse4.2", "ssse3"),
    "x86-64-v3": ("avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"),
    "x86-64-v4": ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}


@functools.cache
def host() -> dict:
    """Target triple, CPU name and feature string code is built for: this machine's, or the
    portable level ``config.target_cpu`` names (then "features" is empty: the level's own), and
    the vector width the lowering assumes."""
    with LOCK:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        triple = llvm.get_process_triple()
        cpu, features = llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()
    wanted = config.target_cpu
    if wanted in ("", "host"):
        wide = "+avx512f" in features.split(",")
    else:
        _check_level(wanted, triple, features)
        cpu, features, wide = wanted, "", wanted == "x86-64-v4"
    return {
        "triple": triple,
        "cpu": cpu,
        "features": features,
        "vector_bits": 512 if wide else 256,
        "llvm": ".".join(map(str, llvm.llvm_version_info)),
        "llvmlite": llvmlite.__version__,
    }


def _check_level(level: str, triple: str, features: str) -> None:
    """Refuse a level this machine cannot run (its code would die of an illegal instruction)."""
    if level not in X86_LEVELS or not triple.startswith("x86_64"):
        raise ArgumentError(
            f"GRAPHC_CPU={level!r}: expected 'host' or, on x86-64, one of {sorted(X86_LEVELS)}")
    have = set(features.split(","))
    names = list(X86_LEVELS)
    needed = [f for lv in names[: names.index(level) + 1] for f in X86_LEVELS[lv]]
    missing = [f for f in needed if "+" + f not in have]
    if missing:
        raise ArgumentError(f"GRAPHC_CPU={level!r}: this CPU lacks {', '.join(missing)}")


def codegen_level(codegen_opt: int | None) -> int:
    """The code generation level a compile uses: ``codegen_opt``, else
    ``config.llvm_codegen_opt``."""
    return config.llvm_codegen_opt if codegen_opt is None else codegen_opt


def _target_machine(level: int):
    h = host()
    target = llvm.Target.from_triple(h["triple"])
    return target.create_target_machine(
        cpu=h["cpu"],
        features=h["features"],
        opt=level,
        reloc="default",
        codemodel="jitdefault",
        jit=True,
    )


@functools.cache
def _shared_machine(level: int):
    """The target machine that optimizes modules, generates their object code and prints their
    assembly (under ``LOCK`` only). Why one: a machine builds its subtarget (the instruction and
    lowering tables, ~1.4 MB) the first time it optimizes or generates code, and keeps it; an
    engine given a fresh machine to do that kept it for its whole life (1.65 MB per engine), one
    given object code stays at ~0.15 MB."""
    tm = _target_machine(level)
    tm.set_asm_verbosity(True)
    return tm


def _parse(ir_text: str, name: str, tm=None):
    """Parse and verify in a fresh context; with ``tm``, set the module's triple and data layout."""
    ctx = llvm.create_context()
    try:
        mod = llvm.parse_assembly(ir_text, ctx)
    except RuntimeError as e:
        raise LLVMCompileError(f"LLVM rejected module {name!r}: {e}\n{_excerpt(ir_text)}") from None
    _verify(mod, name, ir_text)
    mod.name = name
    if tm is not None:
        mod.triple = host()["triple"]
        mod.data_layout = str(tm.target_data)
    return mod


def _verify(mod, name: str, ir_text: str, stage: str = "") -> None:
    """Raise LLVMCompileError if ``mod`` is broken. Why: LLVM's code generator verifies with fatal
    errors, so a broken module that reached it would abort the whole process (exit 134); every
    module is verified here before the optimizer sees it and again before code generation."""
    try:
        mod.verify()
    except RuntimeError as e:
        raise LLVMCompileError(
            f"LLVM rejected module {name!r}{stage}: {e}\n{_excerpt(ir_text)}"
        ) from None


def _excerpt(text: str, lines: int = 40) -> str:
    rows = text.splitlines()
    more = f"\n... ({len(rows) - lines} more lines)" if len(rows) > lines else ""
    return "\n".join(rows[:lines]) + more


def opt_level(level: int | None) -> int:
    """The optimization pipeline's level: ``level``, else ``config.llvm_opt_level``."""
    return config.llvm_opt_level if level is None else level


def _optimize(mod, tm, level: int) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=level)
    pto.loop_vectorization = True
    pto.slp_vectorization = True
    pto.loop_interleaving = True
    pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


class JitModule:
    """A compiled module: native addresses of its functions, its optimized IR and its assembly.

    Keep this object alive while any address obtained from it may be called: dropping it frees the
    engine and the machine code.
    """

    def __init__(self, name, ir_text, engine, obj, codegen_opt, compile_ms, from_cache,
                 phases=None, llvm_opt=None):
        self.name = name
        self.ir_text = ir_text
        _LIVE[id(self)] = (engine, engine_context(engine))
        self._engine = engine
        self._optimized_ir: str | None = None
        self.object_code = obj
        self.codegen_opt = codegen_opt
        self.llvm_opt = opt_level(llvm_opt)  # the optimization pipeline's level
        self.compile_ms = compile_ms
        self.from_cache = from_cache
        #: milliseconds per step of ``compile_ir``: parse, optimize, codegen (absent when the
        #: object code came from a cache), load
        self.phases = phases or {}
        self._asm: str | None = None

    def address(self, symbol: str) -> int:
        with LOCK:
            addr = self._engine.get_function_address(symbol)
        if not addr:
            raise LLVMCompileError(f"module {self.name!r} has no function {symbol!r}")
        return addr

    @property
    def llvm_ir(self) -> str:
        """The optimized module text. Recomputed (deterministically) when first asked: printing a
        large module costs milliseconds that a compile need not spend for a view rarely read."""
        if self._optimized_ir is None:
            with LOCK:
                tm = _shared_machine(self.codegen_opt)
                mod = _parse(self.ir_text, self.name, tm)
                _optimize(mod, tm, self.llvm_opt)
                self._optimized_ir = str(mod)
        return self._optimized_ir

    def asm(self) -> str:
        if self._asm is None:
            text = self.llvm_ir
            with LOCK:
                self._asm = _shared_machine(self.codegen_opt).emit_assembly(_parse(text, self.name))
        return self._asm

    def __del__(self):
        if _LIVE is None or sys.is_finalizing():  # interpreter shutdown: the OS reclaims it all
            return
        engine, ctx = _LIVE.pop(id(self), (None, None))
        if engine is not None:
            with LOCK:
                engine.close()
                ctx.close()

    def __repr__(self) -> str:
        cached = ", cached" if self.from_cache else ""
        return f"<JitModule {self.name} ({self.compile_ms:.1f} ms{cached})>"


_DECLARE = re.compile(r"^declare\b[^@\n]*@([-\w.$]+)\(", re.M)


def _check_symbols(ir_text: str, name: str) -> None:
    """Every function the module declares resolves (registered or in the process): MCJIT would
    link a missing one to address 0, and the first call through it would crash the process. Read
    off the text, so loading cached object code needs no parse of the module."""
    missing = sorted(f for f in set(_DECLARE.findall(ir_text))
                     if not f.startswith("llvm.") and not llvm.address_of_symbol(f))
    if missing:
        raise LLVMCompileError(f"module {name!r} calls functions nothing defines: {missing}")


def compile_ir(
    ir_text: str,
    name: str = "graphc",
    *,
    cached_object: bytes | None = None,
    codegen_opt: int | None = None,
    llvm_opt: int | None = None,
) -> JitModule:
    """Parse, verify, optimize and compile ``ir_text`` for the host CPU, generating code at level
    ``codegen_level(codegen_opt)`` after the optimization pipeline at ``opt_level(llvm_opt)``.

    With ``cached_object`` (object code a previous compile of the same text produced, see
    ``cache.py``) optimization and code generation are skipped.
    """
    t0 = time.perf_counter()
    level = codegen_level(codegen_opt)
    h = host()  # what else decides the object code (the disk cache's key has these too)
    speed = opt_level(llvm_opt)
    memo_key = (hashlib.blake2b(ir_text.encode(), digest_size=16).digest(), level, speed,
                h["triple"], h["cpu"], h["features"])
    with LOCK:
        obj = cached_object if cached_object is not None else _RECENT.get(memo_key)
        if cached_object is None and obj is not None:
            _RECENT.move_to_end(memo_key)  # least recently used goes first, not oldest made
        shared = _shared_machine(level)
        marks = [("parse", time.perf_counter())]
        if obj is None:
            mod = _parse(ir_text, name, shared)
            marks.append(("optimize", time.perf_counter()))
            _optimize(mod, shared, speed)
            _verify(mod, name, ir_text, " after optimization")
            marks.append(("codegen", time.perf_counter()))
            obj = shared.emit_object(mod)
            # only object code made here is remembered: a cached_object handed in was checked by
            # whoever read it, for this call
            _remember_object(memo_key, obj)
        # the engine only loads the object code into an empty module of its own (parsing and
        # verifying the text again, ~1 ms for a small graph, would only repeat what made it):
        # its own machine never builds a subtarget
        marks.append(("load", time.perf_counter()))
        _check_symbols(ir_text, name)
        engine = llvm.create_mcjit_compiler(_parse("", name), _target_machine(level))
        engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        engine.finalize_object()
    end = time.perf_counter()
    ms = (end - t0) * 1e3
    phases = {k: (b - a) * 1e3 for (k, a), (_, b) in zip(marks, [*marks[1:], ("", end)])}
    return JitModule(name, ir_text, engine, obj, level, ms, cached_object is not None, phases,
                     speed)


#: Object code of recent compiles by IR text digest and levels and target, least recently used
#: first, at most ``RECENT_BYTES`` in all. Compiling a module again (a one-shot ``gc.grad(f)(x)``
#: in a loop, a signature evicted and called again) then skips optimization and code generation,
#: also with the disk cache off. Why, besides speed: every run of llvmlite's optimization pipeline
#: leaves ~90 KB that is never freed (measured with llvmlite 0.50 / LLVM 22: building and running
#: the pass manager, with the pass builder reused or not), so 1,200 one-shot gradients grew the
#: process by 110 MB; reusing object code leaves it flat.
_RECENT: collections.OrderedDict = collections.OrderedDict()
RECENT_BYTES = 16 << 20


def _remember_object(key, obj: bytes) -> None:
    """Keep ``obj`` as the newest entry of ``_RECENT``, dropping the oldest beyond the budget."""
    _RECENT[key] = obj
    _RECENT.move_to_end(key)
    total = sum(map(len, _RECENT.values()))
    while total > RECENT_BYTES and len(_RECENT) > 1:
        total -= len(_RECENT.popitem(last=False)[1])


def engine_context(engine):
    (mod,) = engine._modules
    return mod._context


def register_symbol(name: str, address: int) -> None:
    """Make ``name`` resolve to ``address`` when modules are linked (process-wide, idempotent)."""
    with LOCK:
        llvm.add_symbol(name, address)
