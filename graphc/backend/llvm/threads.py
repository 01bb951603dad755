"""Multi-threaded elementwise kernels: which kernels, how many threads, and the IR runtime.

A large flat elementwise kernel (``kernels._emit_vector_flat``) takes two extra parameters, the
range ``[lo, hi)`` of vector blocks it computes (the scalar tail runs with the last range).
``graphc_main`` fills one context record per chunk (the kernel's buffer pointers, then lo and hi)
and calls ``gc_par_run``, which starts a POSIX thread per chunk but the first, runs the first
itself and joins the others. Each element is computed by the same code whatever its chunk, so the
results are bit-identical to one thread's. A ``pthread_create`` failure runs that chunk in the
calling thread, so a call always completes. The threads touch no Python objects (the native entry
has released the GIL for calls this large).
"""

from __future__ import annotations

import ctypes
import functools
import itertools

@functools.cache
def _pthreads() -> bool:
    """Register pthread_create/pthread_join with the JIT from this process's C library; False
    when they cannot be found (then every kernel runs single-threaded)."""
    from . import jit

    try:
        libc = ctypes.CDLL(None)
        found = {n: ctypes.cast(getattr(libc, n), ctypes.c_void_p).value for n in _SYMBOLS}
    except (OSError, AttributeError):
        return False
    if not all(found.values()):
        return False
    for name, address in found.items():
        jit.register_symbol(name, address)
    return True


_SYMBOLS = ("pthread_create", "pthread_join")


def threads_for(size: int, weight: int, tuning) -> int:
    """The number of chunks a flat kernel of ``size`` elements and body ``weight`` (see
    ``Tuning.thread_min_work``) is split into (1: no threading code)."""
    n = min(tuning.threads, tuning.max_threads)
    small = size < tuning.thread_min_size or size * max(weight, 1) < tuning.thread_min_work
    if n <= 1 or small or not _pthreads():
        return 1
    return n


def ranges(blocks: int, n: int) -> list[tuple[int, int]]:
    """``[0, blocks)`` cut into ``n`` (or fewer) near-equal non-empty ranges."""
    n = max(1, min(n, blocks))
    cuts = [blocks * j // n for j in range(n + 1)]
    return [(a, b) for a, b in itertools.pairwise(cuts) if b > a]


def thread_wrapper(name: str, n_ptrs: int) -> str:
    """``ptr @name.t(ptr %c)``: the thread entry calling kernel ``name`` with the pointers and range
    read from context record ``%c`` (n_ptrs pointers, then lo, then hi, 8 bytes each)."""
    lines = [f"define internal ptr @{name}.t(ptr %c) nounwind {{", "entry:"]
    args = []
    for i in range(n_ptrs + 2):
        ty = "ptr" if i < n_ptrs else "i64"
        lines.append(f"  %a{i}.p = getelementptr inbounds i64, ptr %c, i64 {i}")
        lines.append(f"  %a{i} = load {ty}, ptr %a{i}.p, align 8")
        args.append(f"{ty} %a{i}")
    lines += [f"  call void @{name}({', '.join(args)})", "  ret ptr null", "}"]
    return "\n".join(lines)


def call_ranged(module, main, name: str, ptrs: list[str], split, max_threads: int) -> None:
    """In ``graphc_main``: call kernel ``name`` (buffer pointers ``ptrs``) over the block ranges
    ``split.chunks`` (one ``(0, 0)`` chunk: its loop takes no range), a thread per chunk (at most
    ``max_threads``)."""
    chunks = split.chunks
    if len(chunks) == 1:
        refs = "".join(f"ptr {p}, " for p in ptrs)
        main.do(f"call void @{name}({refs}i64 {chunks[0][0]}, i64 {chunks[0][1]})")
        return
    if f"{name}.t" not in module.wrapped:
        module.wrapped.add(f"{name}.t")
        module.functions.append(thread_wrapper(name, len(ptrs)))
        if "gc_par_run" not in module.wrapped:
            module.wrapped.add("gc_par_run")
            module.functions.append(runtime(max_threads))
    _parallel_call(main, name, ptrs, chunks)


def _parallel_call(main, name: str, ptrs: list[str], chunks: list[tuple[int, int]]) -> None:
    """Fill the context records and run ``name`` over ``chunks``."""
    stride = len(ptrs) + 2
    ctx = main.alloca(f"[{len(chunks) * stride} x i64]")
    for j, (lo, hi) in enumerate(chunks):
        values = [("ptr", p) for p in ptrs] + [("i64", str(lo)), ("i64", str(hi))]
        for i, (ty, v) in enumerate(values):
            slot = main.gep("i64", ctx, str(j * stride + i))
            main.do(f"store {ty} {v}, ptr {slot}, align 8")
    main.do(f"call void @gc_par_run(ptr @{name}.t, ptr {ctx}, i64 {len(chunks)}, i64 {stride * 8})")


def runtime(max_threads: int) -> str:
    """``gc_par_run(fn, ctx, n, stride)``: fn(ctx + j*stride) for j < n (at most ``max_threads``),
    j >= 1 on new threads."""
    return f"""define internal void @gc_par_run(ptr %fn, ptr %ctx, i64 %n, i64 %stride) noinline nounwind {{
entry:
  %tids = alloca [{max_threads} x i64], align 8
  %ok = alloca [{max_threads} x i8], align 8
  br label %spawn
spawn:
  %j = phi i64 [ 1, %entry ], [ %j.next, %spawned ]
  %more = icmp ult i64 %j, %n
  br i1 %more, label %create, label %own
create:
  %off = mul i64 %j, %stride
  %c = getelementptr inbounds i8, ptr %ctx, i64 %off
  %tid = getelementptr inbounds i64, ptr %tids, i64 %j
  %r = call i32 @pthread_create(ptr %tid, ptr null, ptr %fn, ptr %c)
  %started = icmp eq i32 %r, 0
  %flag = zext i1 %started to i8
  %okp = getelementptr inbounds i8, ptr %ok, i64 %j
  store i8 %flag, ptr %okp, align 1
  br i1 %started, label %spawned, label %inline
inline:
  %ignored = call ptr %fn(ptr %c)
  br label %spawned
spawned:
  %j.next = add i64 %j, 1
  br label %spawn
own:
  %own.r = call ptr %fn(ptr %ctx)
  br label %join
join:
  %k = phi i64 [ 1, %own ], [ %k.next, %joined ]
  %more.k = icmp ult i64 %k, %n
  br i1 %more.k, label %check, label %done
check:
  %okq = getelementptr inbounds i8, ptr %ok, i64 %k
  %fl = load i8, ptr %okq, align 1
  %was = icmp ne i8 %fl, 0
  br i1 %was, label %dojoin, label %joined
dojoin:
  %tkp = getelementptr inbounds i64, ptr %tids, i64 %k
  %tk = load i64, ptr %tkp, align 8
  %jr = call i32 @pthread_join(i64 %tk, ptr null)
  br label %joined
joined:
  %k.next = add i64 %k, 1
  br label %join
done:
  ret void
}}"""
