"""Compile mathlib functions inside a vectorizable loop and call them on NumPy arrays.

The loop is what graphc's lowering emits for an elementwise op: `void k(ptr a, ptr b, ptr out, i64
n)`, optimized at O3 with the loop vectorizer for the host CPU, so the tests measure the code users
get. (Accuracy oracles and ulp errors live in tests/oracles.py; NumPy appears here only as the
throughput baseline of ``bench``.)
"""

from __future__ import annotations

import ctypes
import time

import llvmlite.binding as llvm
import numpy as np

from graphc.backend.llvm import mathlib

_TY = {"f32": ("float", np.float32), "f64": ("double", np.float64)}


def _kernel(name: str) -> str:
    fty = _TY[name.rsplit("_", 1)[1]][0]
    binary = name.split("_")[1] in ("atan2", "pow")
    args = f"{fty} %xa, {fty} %xb" if binary else f"{fty} %xa"
    return f"""
define void @k_{name}(ptr noalias readonly %a, ptr noalias readonly %b, ptr noalias %o, i64 %n) {{
entry:
  %nonempty = icmp sgt i64 %n, 0
  br i1 %nonempty, label %loop, label %exit
loop:
  %i = phi i64 [ 0, %entry ], [ %i1, %loop ]
  %pa = getelementptr inbounds {fty}, ptr %a, i64 %i
  %xa = load {fty}, ptr %pa
  %pb = getelementptr inbounds {fty}, ptr %b, i64 %i
  %xb = load {fty}, ptr %pb
  %r = call {fty} @{name}({args})
  %po = getelementptr inbounds {fty}, ptr %o, i64 %i
  store {fty} %r, ptr %po
  %i1 = add nuw nsw i64 %i, 1
  %done = icmp eq i64 %i1, %n
  br i1 %done, label %exit, label %loop
exit:
  ret void
}}
"""


class Compiled:
    """All requested kernels in one JIT module; `call(name, a, b=None)` returns a fresh output
    array."""

    def __init__(self, names, cpu=None, features=None):
        """``cpu``/``features``: an LLVM target CPU other than the host's (e.g. "haswell" for AVX2
        code on an AVX-512 machine); the host's by default."""
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        names = sorted(names)
        text = mathlib.definitions(names) + "".join(_kernel(n) for n in names)
        mod = llvm.parse_assembly(text)
        mod.verify()
        target = llvm.Target.from_triple(llvm.get_process_triple())
        self.tm = target.create_target_machine(
            cpu=cpu or llvm.get_host_cpu_name(),
            features=llvm.get_host_cpu_features().flatten() if cpu is None else (features or ""),
            opt=3,
        )
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pb = llvm.create_pass_builder(self.tm, pto)
        pb.getModulePassManager().run(mod, pb)
        self.optimized_ir = str(mod)
        self.engine = llvm.create_mcjit_compiler(mod, self.tm)
        self.engine.finalize_object()
        proto = ctypes.CFUNCTYPE(
            None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64
        )
        self.funcs = {n: proto(self.engine.get_function_address(f"k_{n}")) for n in names}

    def call(self, name, a, b=None, out=None):
        dt = _TY[name.rsplit("_", 1)[1]][1]
        a = np.ascontiguousarray(a, dtype=dt)
        b = a if b is None else np.ascontiguousarray(np.broadcast_to(b, a.shape), dtype=dt)
        out = np.empty_like(a) if out is None else out
        self.funcs[name](a.ctypes.data, b.ctypes.data, out.ctypes.data, a.size)
        return out

    def kernel_ir(self, name: str) -> str:
        """The optimized IR of one kernel (after inlining and vectorization)."""
        start = self.optimized_ir.index(f"@k_{name}(")
        return self.optimized_ir[start : self.optimized_ir.index("\n}\n", start)]


def _elements_per_ns(fns, x, repeats):
    """Median elements/ns of each fn(x); the fns run interleaved so machine load hits them alike."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns, strict=True):
            t0 = time.perf_counter_ns()
            fn(x)
            t.append(time.perf_counter_ns() - t0)
    return [x.size / float(np.median(t)) for t in times]


_BENCH = {
    "exp": (np.exp, -80, 80),
    "sin": (np.sin, -100, 100),
    "log": (np.log, 1e-3, 1e3),
    "tanh": (np.tanh, -5, 5),
    "expm1": (np.expm1, -5, 5),
    "log1p": (np.log1p, -0.5, 100),
    "cos": (np.cos, -100, 100),
    "atan2": (np.arctan2, -5, 5),
    "pow": (np.power, 0.1, 10),
}


def bench(n=10**6, repeats=11, fns=("exp", "sin", "log", "tanh")):
    """Throughput table (elements/ns) against NumPy at n elements, one row per function and
    dtype."""
    lib = Compiled([f"gc_{f}_{s}" for f in fns for s in ("f32", "f64")])
    rng = np.random.default_rng(0)
    rows = []
    for f in fns:
        ref, lo, hi = _BENCH[f]
        for sfx, dt in (("f32", np.float32), ("f64", np.float64)):
            x = rng.uniform(lo, hi, n).astype(dt)
            out = np.empty_like(x)
            kernel = lib.funcs[f"gc_{f}_{sfx}"]
            args = (x, x) if f in ("atan2", "pow") else (x,)

            def ours(a, k=kernel, out=out):
                k(a.ctypes.data, a.ctypes.data, out.ctypes.data, a.size)

            def theirs(a, ref=ref, out=out, args=args):
                ref(*args, out=out)

            g, npy = _elements_per_ns([ours, theirs], x, repeats)
            rows.append(f"{f:6s} {sfx}  graphc {g:6.2f}  numpy {npy:6.2f}  ratio {g / npy:5.2f}")
    return "\n".join(rows)


if __name__ == "__main__":
    import sys

    print(bench(fns=tuple(sys.argv[1:]) or tuple(_BENCH)))
