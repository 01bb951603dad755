"""Multi-threaded kernels: which kernels, how many chunks, and the process's thread pool.

A large flat elementwise kernel (``kernels._emit_vector_flat``) takes two extra parameters, the
range ``[lo, hi)`` of vector blocks it computes (the scalar tail runs with the last range); a
large gemm takes a range of rows. ``graphc_main`` fills one context record per chunk (the
kernel's buffer pointers, then lo and hi) and calls ``gc_par_run``, which hands the chunks to
one persistent pool of worker threads shared by every compiled function (``RUNTIME``, compiled
once per process). Each element is computed by the same code whatever its chunk, so the results
are bit-identical to one thread's. The threads touch no Python objects (the native entry has
released the GIL for calls this large).

Why a pool, and this one: starting and joining a POSIX thread per chunk cost ~15 us per call.
Workers sleep on a condition variable between calls (never spin: a spinning worker takes a core
from whatever else runs there), and chunks are claimed, not assigned: the caller claims chunks
too, so a worker the OS has not scheduled yet (a busy machine) costs nothing but its share, and a
call completes even when no worker could be started. One call uses the pool at a time; a second
concurrent caller runs its chunks itself. A forked child resets the pool (its workers were not
forked) and starts its own on its first parallel call.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os

from .irtext import Func

@functools.cache
def pthreads() -> bool:
    """Register the pool's POSIX thread functions with the JIT from this process's C library;
    False when they cannot be found (then every kernel runs single-threaded)."""
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


_SYMBOLS = ("pthread_create", "pthread_mutex_init", "pthread_mutex_lock", "pthread_mutex_unlock",
            "pthread_cond_init", "pthread_cond_wait", "pthread_cond_broadcast")


def threads_for(size: int, weight: int, tuning) -> int:
    """The number of chunks a flat kernel of ``size`` elements and body ``weight`` (see
    ``Tuning.thread_min_work``) is split into (1: no threading code)."""
    n = min(tuning.threads, tuning.max_threads)
    small = size < tuning.thread_min_size or size * max(weight, 1) < tuning.thread_min_work
    if n <= 1 or small or not pthreads():
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
    f = Func(f"{name}.t", ["ptr %c"], ret="ptr")  # a pthread start routine, returning null
    args = []
    for i in range(n_ptrs + 2):
        ty = "ptr" if i < n_ptrs else "i64"
        slot = f.gep("i64", "%c", str(i))
        args.append(f"{ty} {f.op(f'load {ty}, ptr {slot}, align 8')}")
    f.do(f"call void @{name}({', '.join(args)})")
    f.ret("null")
    return f.text()


def call_ranged(module, main, name: str, ptrs: list[str], split) -> None:
    """In ``graphc_main``: call kernel ``name`` (buffer pointers ``ptrs``) over the block ranges
    ``split.chunks`` (one ``(0, 0)`` chunk: its loop takes no range) through the pool, which
    gets ``split.threads - 1`` workers (the caller is the other thread)."""
    chunks = split.chunks
    if len(chunks) == 1:
        refs = "".join(f"ptr {p}, " for p in ptrs)
        main.do(f"call void @{name}({refs}i64 {chunks[0][0]}, i64 {chunks[0][1]})")
        return
    pool().want(split.threads - 1)
    if f"{name}.t" not in module.wrapped:
        module.wrapped.add(f"{name}.t")
        module.functions.append(thread_wrapper(name, len(ptrs)))
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


class _Pool:
    """The compiled runtime of this process and its ``gc_pool_want``."""

    def __init__(self, module):
        self.module = module  # keeps the code alive
        self.want = ctypes.CFUNCTYPE(None, ctypes.c_int64)(module.address("gc_pool_want"))


@functools.cache
def pool() -> _Pool:
    """Compile ``RUNTIME`` (through the disk cache), make ``gc_par_run`` resolve in every module
    compiled from now on, and initialize the pool (again in a forked child)."""
    from . import cache, jit

    if not pthreads():
        raise RuntimeError("graphc's thread pool needs pthreads")  # callers checked pthreads()
    # no optimization: a few instructions per chunk and call either way, and a process's first
    # threaded compile pays 6 ms for it instead of 25
    module = cache.compile_cached(RUNTIME, "graphc_pool", codegen_opt=0, llvm_opt=0)
    jit.register_symbol("gc_par_run", module.address("gc_par_run"))
    reset = ctypes.CFUNCTYPE(None)(module.address("gc_pool_reset"))
    reset()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=reset)
    return _Pool(module)


#: The pool, as LLVM IR. Written out rather than built with ``irtext.Func``: it is one fixed
#: piece of code with nothing generated in it, and a reviewer of a concurrency runtime should
#: see every instruction. ``next`` packs the posted job's generation (high 32 bits) with its next
#: unclaimed chunk, so a worker that read an older job cannot claim a chunk of a newer one;
#: ``left`` counts chunks not yet finished, and the call returns only when it is 0 (no worker
#: still runs code with the caller's records). Sync objects get 128 bytes each (glibc's mutex is
#: 40 and its condition 48 on x86-64; macOS's mutex 64).
RUNTIME = """
@gc_pool.mutex = internal global [128 x i8] zeroinitializer, align 64
@gc_pool.work = internal global [128 x i8] zeroinitializer, align 64
@gc_pool.done = internal global [128 x i8] zeroinitializer, align 64
@gc_pool.next = internal global i64 0, align 64
@gc_pool.left = internal global i64 0, align 64
@gc_pool.busy = internal global i32 0, align 64
@gc_pool.gen = internal global i64 0, align 64
@gc_pool.fn = internal global ptr null
@gc_pool.ctx = internal global ptr null
@gc_pool.n = internal global i64 0
@gc_pool.stride = internal global i64 0
@gc_pool.running = internal global i64 0
@gc_pool.wanted = internal global i64 0
@gc_pool.tids = internal global [64 x i64] zeroinitializer

declare i32 @pthread_create(ptr, ptr, ptr, ptr)
declare i32 @pthread_mutex_init(ptr, ptr)
declare i32 @pthread_mutex_lock(ptr)
declare i32 @pthread_mutex_unlock(ptr)
declare i32 @pthread_cond_init(ptr, ptr)
declare i32 @pthread_cond_wait(ptr, ptr)
declare i32 @pthread_cond_broadcast(ptr)

; At start-up and in a forked child: fresh sync objects, no workers, the pool free.
define void @gc_pool_reset() nounwind {
entry:
  call i32 @pthread_mutex_init(ptr @gc_pool.mutex, ptr null)
  call i32 @pthread_cond_init(ptr @gc_pool.work, ptr null)
  call i32 @pthread_cond_init(ptr @gc_pool.done, ptr null)
  store i64 0, ptr @gc_pool.running
  store atomic i32 0, ptr @gc_pool.busy release, align 4
  ret void
}

; At least %n workers (at most 64) from the next parallel call on.
define void @gc_pool_want(i64 %n) nounwind {
entry:
  call i32 @pthread_mutex_lock(ptr @gc_pool.mutex)
  %w = load i64, ptr @gc_pool.wanted
  %cap = call i64 @llvm.umin.i64(i64 %n, i64 64)
  %more = call i64 @llvm.umax.i64(i64 %w, i64 %cap)
  store i64 %more, ptr @gc_pool.wanted
  call i32 @pthread_mutex_unlock(ptr @gc_pool.mutex)
  ret void
}

; Under the mutex: start the workers wanted and not running; a failed start stops trying.
define internal void @gc_pool_start() nounwind {
entry:
  br label %head
head:
  %r = load i64, ptr @gc_pool.running
  %w = load i64, ptr @gc_pool.wanted
  %short = icmp ult i64 %r, %w
  br i1 %short, label %create, label %out
create:
  %tid = getelementptr i64, ptr @gc_pool.tids, i64 %r
  %e = call i32 @pthread_create(ptr %tid, ptr null, ptr @gc_pool_worker, ptr null)
  %ok = icmp eq i32 %e, 0
  br i1 %ok, label %started, label %failed
started:
  %r1 = add i64 %r, 1
  store i64 %r1, ptr @gc_pool.running
  br label %head
failed:
  store i64 %r, ptr @gc_pool.wanted
  br label %out
out:
  ret void
}

; Claim and run chunks of job %gen until none is left; the one finishing the last chunk wakes
; the caller.
define internal void @gc_pool_claim(ptr %fn, ptr %ctx, i64 %n, i64 %stride, i64 %gen) nounwind {
entry:
  br label %try
try:
  %v = load atomic i64, ptr @gc_pool.next acquire, align 8
  %g = lshr i64 %v, 32
  %i = and i64 %v, 4294967295
  %mine = icmp eq i64 %g, %gen
  %more = icmp ult i64 %i, %n
  %ok = and i1 %mine, %more
  br i1 %ok, label %take, label %out
take:
  %v1 = add i64 %v, 1
  %r = cmpxchg ptr @gc_pool.next, i64 %v, i64 %v1 acq_rel acquire
  %won = extractvalue { i64, i1 } %r, 1
  br i1 %won, label %run, label %try
run:
  %off = mul i64 %i, %stride
  %c = getelementptr i8, ptr %ctx, i64 %off
  call ptr %fn(ptr %c)
  %left = atomicrmw sub ptr @gc_pool.left, i64 1 acq_rel
  %last = icmp eq i64 %left, 1
  br i1 %last, label %wake, label %try
wake:
  call i32 @pthread_mutex_lock(ptr @gc_pool.mutex)
  call i32 @pthread_cond_broadcast(ptr @gc_pool.done)
  call i32 @pthread_mutex_unlock(ptr @gc_pool.mutex)
  br label %out
out:
  ret void
}

; A worker: sleep until a job newer than the last one seen is posted, claim its chunks, repeat.
define internal ptr @gc_pool_worker(ptr %unused) nounwind {
entry:
  %seen = alloca i64, align 8
  store i64 0, ptr %seen
  call i32 @pthread_mutex_lock(ptr @gc_pool.mutex)
  br label %check
check:
  %g = load i64, ptr @gc_pool.gen
  %s = load i64, ptr %seen
  %same = icmp eq i64 %g, %s
  br i1 %same, label %sleep, label %job
sleep:
  call i32 @pthread_cond_wait(ptr @gc_pool.work, ptr @gc_pool.mutex)
  br label %check
job:
  store i64 %g, ptr %seen
  %fn = load ptr, ptr @gc_pool.fn
  %ctx = load ptr, ptr @gc_pool.ctx
  %n = load i64, ptr @gc_pool.n
  %stride = load i64, ptr @gc_pool.stride
  call i32 @pthread_mutex_unlock(ptr @gc_pool.mutex)
  %g32 = and i64 %g, 4294967295
  call void @gc_pool_claim(ptr %fn, ptr %ctx, i64 %n, i64 %stride, i64 %g32)
  call i32 @pthread_mutex_lock(ptr @gc_pool.mutex)
  br label %check
}

; fn(ctx + j * stride) for every j < n, on the pool when it is free, else all here.
define void @gc_par_run(ptr %fn, ptr %ctx, i64 %n, i64 %stride) nounwind {
entry:
  %b = cmpxchg ptr @gc_pool.busy, i32 0, i32 1 acquire monotonic
  %got = extractvalue { i32, i1 } %b, 1
  br i1 %got, label %post, label %alone
alone:
  %j = phi i64 [ 0, %entry ], [ %j1, %alone ]
  %off = mul i64 %j, %stride
  %c = getelementptr i8, ptr %ctx, i64 %off
  call ptr %fn(ptr %c)
  %j1 = add i64 %j, 1
  %end = icmp uge i64 %j1, %n
  br i1 %end, label %alone.x, label %alone
alone.x:
  ret void
post:
  call i32 @pthread_mutex_lock(ptr @gc_pool.mutex)
  call void @gc_pool_start()
  %g0 = load i64, ptr @gc_pool.gen
  %g = add i64 %g0, 1
  store i64 %g, ptr @gc_pool.gen
  store ptr %fn, ptr @gc_pool.fn
  store ptr %ctx, ptr @gc_pool.ctx
  store i64 %n, ptr @gc_pool.n
  store i64 %stride, ptr @gc_pool.stride
  store atomic i64 %n, ptr @gc_pool.left release, align 8
  %g32 = and i64 %g, 4294967295
  %first = shl i64 %g32, 32
  store atomic i64 %first, ptr @gc_pool.next release, align 8
  call i32 @pthread_cond_broadcast(ptr @gc_pool.work)
  call i32 @pthread_mutex_unlock(ptr @gc_pool.mutex)
  call void @gc_pool_claim(ptr %fn, ptr %ctx, i64 %n, i64 %stride, i64 %g32)
  call i32 @pthread_mutex_lock(ptr @gc_pool.mutex)
  br label %wait
wait:
  %l = load atomic i64, ptr @gc_pool.left acquire, align 8
  %done = icmp eq i64 %l, 0
  br i1 %done, label %finish, label %sleep
sleep:
  call i32 @pthread_cond_wait(ptr @gc_pool.done, ptr @gc_pool.mutex)
  br label %wait
finish:
  call i32 @pthread_mutex_unlock(ptr @gc_pool.mutex)
  store atomic i32 0, ptr @gc_pool.busy release, align 4
  ret void
}

declare i64 @llvm.umin.i64(i64, i64)
declare i64 @llvm.umax.i64(i64, i64)
"""
