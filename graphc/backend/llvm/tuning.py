"""Every tuning constant of the LLVM backend in one frozen object, built from ``config`` and the host.

The plan (plan.py) reads all its decisions' limits from a ``Tuning``; tests pass their own
(``dataclasses.replace(Tuning.from_config(), block_min_workspace=0)``) instead of patching module
globals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ... import config


@dataclass(frozen=True)
class Tuning:
    #: The widest vectors the target runs well (256 for AVX2, 512 for AVX-512).
    vector_bits: int = 256
    #: {dtype name: (gemm symbol, int bits)} when the JIT can resolve a cblas gemm (blas.py).
    blas: dict | None = None
    #: Threads a large flat kernel may be split over (1: no threading code; threads.py).
    threads: int = 1
    #: Graphs with more kernels than this call them through address-computing wrappers: hundreds
    #: of direct calls with dozens of CSE'd buffer pointers each make the register allocator's time
    #: on ``graphc_main`` superlinear (W6 n=1000: ~250 of 370 ms of LLVM).
    direct_calls_max: int = 8
    #: Kernels with more math-library calls than this call them through vector-variant wrappers
    #: (vecmath.py: compile time stays flat); fewer are inlined (faster code: the vectorizer
    #: interleaves the polynomial chains of several vectors; W2 runs ~1.5x faster inlined).
    inline_math_max: int = 6
    #: Emit flat elementwise regions as explicit vector code (False: scalar loops for LLVM's
    #: vectorizer).
    explicit_vectors: bool = True
    #: At most this many threads per kernel.
    max_threads: int = 8
    #: Chunks per thread of a threaded elementwise kernel (plan._chunks).
    chunks_per_thread: int = 4
    #: Kernels doing less work than this per call (elements x weight of their body's nodes: a
    #: transcendental counts ``math_weight``, other nodes 1) run in one thread. Measured here (2
    #: cores, float32): starting and joining a thread costs ~15 us; x*x+1 over 262144 elements
    #: (work 0.5M) ran 28 us on one thread and 38 us on two; tanh/exp/log1p over 16384 (0.46M)
    #: 52 -> 43 us, over 65536 (1.8M) 209 -> 124 us; W2 (1e6 elements) 4.2 -> 2.2 ms.
    thread_min_work: int = 1 << 20
    math_weight: int = 8
    #: And at least this many elements.
    thread_min_size: int = 1 << 14
    #: Products calling gemm with fewer multiply-adds run on one thread (matmul.DotPlan.threads).
    gemm_thread_min: int = 1 << 22
    #: Vector blocks per chunk of a blocked program (blocking.py); 0 turns blocking off. Measured on
    #: W6 (1024 float32, n=100, 2-core EPYC, 512 KB L2 per core): 8-16 vectors of 16 per chunk ran
    #: fastest (197 us), 32: 225 us.
    block_vectors: int = 16
    #: Programs with more kernels run unblocked: W6 n=1000 (109 kernels) blocked ran 2510 -> 2215
    #: us but its LLVM time grew 300 -> 720 ms (first call over 1 s).
    block_max_kernels: int = 32
    #: Programs whose unblocked workspace is smaller fit in L2 anyway (W6 n=10, 13 KB: 16.0 -> 16.6
    #: us blocked).
    block_min_workspace: int = 128 << 10

    @classmethod
    def from_config(cls, vector_bits: int = 256, blas: dict | None = None, **changes) -> Tuning:
        """The defaults with this process's thread count (``config.threads``) and the target's
        vector width and gemm; ``changes`` override fields."""
        base = cls(vector_bits=vector_bits, blas=blas)
        threads = max(1, min(int(config.threads), base.max_threads))
        return dataclasses.replace(base, **{"threads": threads, **changes})
