"""Every debug knob in one place. Values come from environment variables at import time and may be
changed at run time by assigning the attributes."""

import os

from .errors import GraphcError


def _flag(name: str, default: bool) -> bool:
    v = os.environ.get(name)
    return default if v is None else v.strip().lower() not in ("", "0", "false", "no")


def _int(name: str, default: int, allowed: range | None = None) -> int:
    """An integer knob; unset or blank is ``default``, anything else not an int (in ``allowed``)
    an error naming the variable (Python's bare ValueError at ``import graphc``, or LLVM's at the
    first compile, did not)."""
    v = os.environ.get(name, "").strip()
    if not v:
        return default
    try:
        n = int(v)
    except ValueError:
        raise GraphcError(f"{name}={v!r}: expected an integer") from None
    if allowed is not None and n not in allowed:
        raise GraphcError(f"{name}={v!r}: expected {allowed.start} to {allowed.stop - 1}")
    return n


#: Run the IR verifier after tracing, differentiation and every pass (always on in the tests).
verify_ir = _flag("GRAPHC_VERIFY", False)
#: How many traces of one function before the excessive-retracing warning (TensorFlow warns at 5+).
retrace_warn_limit = _int("GRAPHC_RETRACE_WARN", 8)
#: Signatures one gc.function keeps compiled (least recently used evicted first; 0: no limit).
#: Why 64: eight times the retrace warning's count, so a function cycling through a few dozen
#: shapes (bucketed sequence lengths) never recompiles, while one retracing without end holds at
#: most 64 LLVM engines (~1.7 MB each for a small graph: ~110 MB) instead of growing forever.
max_traces = _int("GRAPHC_MAX_TRACES", 64, range(0, 2**31))
#: Backend used by gc.function when none is named: "llvm" (native code) or "reference" (NumPy).
default_backend = os.environ.get("GRAPHC_BACKEND", "llvm")
#: LLVM middle-end pipeline level (new pass manager: 1, 2 or 3); see graphc/backend/llvm/jit.py.
llvm_opt_level = _int("GRAPHC_LLVM_OPT", 2, range(4))
#: LLVM code generation level (0-3); 2 by default, see graphc/backend/llvm/jit.py for why.
llvm_codegen_opt = _int("GRAPHC_LLVM_CODEGEN_OPT", 2, range(4))
#: On-disk cache of compiled code (see graphc/backend/llvm/cache.py): on unless GRAPHC_CACHE=0.
disk_cache = _flag("GRAPHC_CACHE", True)
#: The cache folder; default $XDG_CACHE_HOME/graphc or ~/.cache/graphc.
cache_dir = os.environ.get("GRAPHC_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "graphc")
#: Let the optimizer use rewrites that are not IEEE-exact (x*0 -> 0, x-x -> 0, x+0.0 -> x,
#: exp(log x) -> x, ...; the list is in graphc/passes/simplify.py). Off: results are bit-identical
#: to the unoptimized graph's.
fast_math = _flag("GRAPHC_FAST_MATH", False)
#: Threads a large elementwise kernel is split over (graphc/backend/llvm/threads.py); default: the
#: cores this process may run on. 1 (GRAPHC_THREADS=1) compiles no threading code at all.
threads = _int("GRAPHC_THREADS", 0) or (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)
#: The CPU compiled code is built for: "" or "host" (this machine, the default) or a portable x86-64
#: level, "x86-64", "x86-64-v2", "x86-64-v3" (AVX2) or "x86-64-v4" (AVX-512), which must not need a
#: feature this machine lacks (graphc/backend/llvm/jit.py checks). Why: tests and benchmarks can
#: run AVX2 code on an AVX-512 machine, so both are checked on one machine.
target_cpu = os.environ.get("GRAPHC_CPU", "").strip()
