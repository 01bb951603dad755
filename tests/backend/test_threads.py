"""Large flat elementwise kernels split over threads (graphc/backend/llvm/threads.py): results are
bit-identical to one thread's, small kernels carry no threading code, concurrent calls work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import graphc as gc
import graphc.numpy as gnp
from graphc import config
from graphc.backend.reference import evaluate
from graphc.ir import Builder, TensorType
from graphc.ops import elementwise as ew

from .llvm_helper import run_graph

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="threads are tested where pthreads resolve"
)


def _graph(shape, d, scalar_shape=()):
    """exp/tanh/log1p/sqrt/select chain with an operand broadcast from ``scalar_shape``."""
    b = Builder("g")
    x = b.add_input(TensorType(shape, d))
    s = b.add_input(TensorType(scalar_shape, d))
    (e,) = b.emit(ew.exp, [ew_neg(b, x)], {})
    (t,) = b.emit(ew.tanh, [x], {})
    (m,) = b.emit(ew.mul, [t, s], {})
    (c,) = b.emit(ew.greater, [x, s], {})
    (r,) = b.emit(ew.select, [c, m, e], {})
    (sq,) = b.emit(ew.mul, [x, x], {})
    (lg,) = b.emit(ew.log1p, [sq], {})
    (o,) = b.emit(ew.add, [r, lg], {})
    return b.build([o, c])


def ew_neg(b, x):
    (n,) = b.emit(ew.neg, [x], {})
    return n


def _args(shape, d, scalar_shape=()):
    rng = np.random.default_rng(1)
    return [rng.standard_normal(shape).astype(d), rng.standard_normal(scalar_shape).astype(d)]


def _run(g, args, n, monkeypatch):
    monkeypatch.setattr(config, "threads", n)
    return run_graph(g, args)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [2, 3])
def test_threaded_kernels_match_one_thread_bit_for_bit(dtype, n, monkeypatch):
    d = np.dtype(dtype)
    shape = (100_003,)  # odd: a scalar tail after the vector blocks
    g, args = _graph(shape, d), _args(shape, d)
    outs1, low1 = _run(g, args, 1, monkeypatch)
    outs_n, low_n = _run(g, args, n, monkeypatch)
    assert "gc_par_run" not in low1.ir and "%lo" not in low1.ir
    assert "block ranges" in low_n.kernels[0] and "call void @gc_par_run" in low_n.ir
    for a, b in zip(outs1, outs_n, strict=True):
        np.testing.assert_array_equal(a, b)
    want = evaluate(g, args)
    tol = 2e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(outs_n[0], want[0], rtol=tol, atol=tol)
    np.testing.assert_array_equal(outs_n[1], want[1])


def test_broadcasting_kernels_stay_correct(monkeypatch):
    """Non-flat (broadcasting) bodies keep their loop nest: one call, same values."""
    d = np.dtype(np.float32)
    g, args = _graph((257, 401), d, scalar_shape=(1, 401)), _args((257, 401), d, (1, 401))
    outs1, _ = _run(g, args, 1, monkeypatch)
    outs2, _ = _run(g, args, 2, monkeypatch)
    for a, b in zip(outs1, outs2, strict=True):
        np.testing.assert_array_equal(a, b)
    want = evaluate(g, args)
    np.testing.assert_allclose(outs2[0], want[0], rtol=2e-6, atol=2e-6)


def test_small_kernels_have_no_threading_code(monkeypatch):
    d = np.dtype(np.float32)
    g, args = _graph((1001,), d), _args((1001,), d)
    (got, _), low = _run(g, args, 2, monkeypatch)
    assert "gc_par_run" not in low.ir and "pthread" not in low.ir and "%lo" not in low.ir
    np.testing.assert_allclose(got, evaluate(g, args)[0], rtol=2e-6, atol=2e-6)


def _loss(x):
    return gnp.sum(gnp.sin(x) * gnp.exp(-x * x) + 0.5 * gnp.tanh(x) + gnp.log1p(x * x))


def test_concurrent_calls_of_a_threaded_function(monkeypatch):
    """Several Python threads calling one threaded executable (GIL released) all get the right
    values; they equal a single-threaded build's bit for bit."""
    x = np.random.default_rng(2).standard_normal(300_001).astype(np.float32)
    monkeypatch.setattr(config, "threads", 1)
    want = np.asarray(gc.jit(gc.grad(_loss))(x))
    monkeypatch.setattr(config, "threads", 2)
    f = gc.jit(gc.grad(_loss))
    assert "gc_par_run" in f.concrete(x).llvm_ir()
    results, errors = [None] * 4, []

    def work(k):
        try:
            results[k] = [np.asarray(f(x)) for _ in range(5)]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for rs in results:
        for r in rs:
            np.testing.assert_array_equal(r, want)
    ref = np.cos(x) * np.exp(-x * x) - 2 * x * np.sin(x) * np.exp(-x * x)
    ref += 0.5 * (1 - np.tanh(x) ** 2) + 2 * x / (1 + x * x)
    np.testing.assert_allclose(want, ref, rtol=1e-4, atol=1e-5)


def test_graphc_threads_1_disables_threading():
    code = (
        "from graphc import config; from graphc.backend.llvm import threads; "
        "from graphc.backend.llvm.tuning import Tuning; "
        "print(config.threads, threads.threads_for(10**6, 20, Tuning.from_config()))"
    )
    env = dict(os.environ, GRAPHC_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.stdout.split() == ["1", "1"], out.stderr
    env["GRAPHC_THREADS"] = "3"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.stdout.split() == ["3", "3"], out.stderr


_FAILING_CREATE = """
import ctypes, numpy as np, graphc as gc, graphc.numpy as gnp
from graphc import config
from graphc.backend.llvm import jit, threads
CB = ctypes.CFUNCTYPE(ctypes.c_int, *[ctypes.c_void_p] * 4)
calls = []
fake = CB(lambda *a: calls.append(1) or 11)  # EAGAIN, like a process out of threads
threads.pthreads()
jit.register_symbol("pthread_create", ctypes.cast(fake, ctypes.c_void_p).value)
def fn(x):
    return gnp.tanh(x) * gnp.exp(-x) + gnp.log1p(x * x)
x = np.random.default_rng(0).standard_normal(200_001).astype(np.float32)
config.threads = 3
f = gc.jit(fn)
got = [np.asarray(f(x)) for _ in range(3)]
config.threads = 1
want = np.asarray(gc.jit(fn)(x))
print(len(calls), all(np.array_equal(g, want) for g in got))
"""


def test_failed_thread_creation_runs_every_chunk_in_the_caller():
    """pthread_create failing (a fake returning EAGAIN) still computes every chunk, in the calling
    thread; the pool stops trying after the first failure (one attempt over three calls)."""
    env = dict(os.environ, GRAPHC_CACHE="0")
    out = subprocess.run(
        [sys.executable, "-c", _FAILING_CREATE],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.stdout.split() == ["1", "True"], out.stderr


def test_large_gemm_calls_split_rows_over_graphc_threads():
    """A product calling NumPy's gemm is split by rows over graphc's threads, each calling gemm
    with OpenBLAS's own threads turned off (their spin-waiting collapses under load); the rows
    computed in chunks are those of one call."""
    from graphc.backend.llvm import blas
    from graphc.backend.llvm.plan import backend_plan

    found = blas.find()
    if found is None or "threads" not in found or config.threads < 2:
        pytest.skip("needs NumPy's bundled OpenBLAS with openblas_set_num_threads_local and 2+ "
                    "threads")
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((300, 700)), rng.standard_normal((700, 64))
    f = gc.function(lambda a, b: a @ b, backend="llvm")
    text = str(backend_plan(f.concrete(x, w).graph))
    assert re.search(r"dot_general .* threads 2 chunks 0-150,150-300", text), text
    np.testing.assert_allclose(f(x, w), x @ w, rtol=1e-12, atol=1e-12)
    small = gc.function(lambda a, b: a @ b, backend="llvm")
    assert "threads" not in str(backend_plan(small.concrete(x[:8, :8], w[:8, :8]).graph))


def _big_fn():
    x = np.random.default_rng(4).standard_normal(400_001).astype(np.float32)
    return gc.jit(lambda x: gnp.tanh(x) * gnp.exp(-x) + gnp.log1p(x * x)), x


def _native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_the_pool_is_started_once_and_sleeps_when_idle(monkeypatch):
    """Many threaded calls start no thread after the first (the workers persist), and idle
    workers use no CPU: they wait on a condition variable instead of spinning."""
    monkeypatch.setattr(config, "threads", 2)
    f, x = _big_fn()
    want = np.tanh(x) * np.exp(-x) + np.log1p(x * x)
    np.testing.assert_allclose(f(x), want, rtol=2e-6, atol=2e-6)
    assert "call void @gc_par_run" in f.concrete(x).llvm_ir()
    before = _native_threads()
    for _ in range(20):
        f(x)
    assert _native_threads() == before
    cpu = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - cpu < 0.1  # a spinning worker would burn ~0.3 s


_FORKED = """
import os, numpy as np, graphc as gc, graphc.numpy as gnp
from graphc import config
config.threads = 2
x = np.random.default_rng(5).standard_normal(300_001).astype(np.float32)
f = gc.jit(lambda x: gnp.tanh(x) * gnp.exp(-x) + gnp.log1p(x * x))
want = np.asarray(f(x))
pid = os.fork()
if pid == 0:
    ok = all(np.array_equal(np.asarray(f(x)), want) for _ in range(5))
    os._exit(0 if ok else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), np.array_equal(np.asarray(f(x)), want))
"""


def test_a_forked_child_computes_with_its_own_pool():
    """The pool's workers are not forked: the child resets the pool and starts its own, and both
    processes go on computing the same values."""
    out = subprocess.run([sys.executable, "-c", _FORKED], env=dict(os.environ, GRAPHC_CACHE="0"),
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.stdout.split() == ["0", "True"], out.stderr


@pytest.mark.parametrize("m, k", [(301, 700), (256, 784), (97, 1000)])
def test_graphcs_own_gemm_split_by_row_blocks_matches_one_thread(m, k):
    """graphc's own gemm kernel (no BLAS) split over threads by blocks of MR rows, the rows left
    over computed by the chunk ending at the last block, k blocked (K > 384) or not: bit for bit
    the single-threaded kernel's result (each element sums k in the same order)."""
    from .llvm_helper import jit_tuned

    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((k, 96)).astype(
        np.float32)
    one, low1 = jit_tuned(lambda a, b: a @ b, (a, b), blas=None, threads=1)
    many, low = jit_tuned(lambda a, b: a @ b, (a, b), blas=None, threads=2, gemm_thread_min=0)
    assert "gemm" in low.kernels[0] and "gc_par_run" in low.ir and "gc_par_run" not in low1.ir
    np.testing.assert_array_equal(many[0], one[0])
    np.testing.assert_allclose(many[0], a.astype(np.float64) @ b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("core_bits, n, want", [
    (256, 512, "gemm"), (256, 10, "blas"), (512, 512, "blas"), (None, 512, "blas")])
def test_blas_with_narrower_kernels_than_graphcs_is_not_called(core_bits, n, want):
    """An OpenBLAS running kernels narrower than graphc compiles for (OPENBLAS_CORETYPE=Haswell
    on an AVX-512 machine) is not called for products graphc's own gemm kernel runs faster; it
    still is for narrow ones (N below a vector), and one as wide, or not saying, for both."""
    from graphc.backend.llvm.matmul import DotPlan
    from graphc.ir import Builder, TensorType
    from graphc.ops.linalg import dot_general

    b = Builder("g")
    x = b.add_input(TensorType((256, 784), np.dtype(np.float32)))
    w = b.add_input(TensorType((784, n), np.dtype(np.float32)))
    b.emit(dot_general, [x, w], {"contracting": ((1,), (0,)), "batch": ((), ())})
    option = {"float32": ("sgemm", 64), "float64": ("dgemm", 64), "core_bits": core_bits}
    assert DotPlan(b.nodes[0], 512, option).strategy == want


_CORETYPE = """
import numpy as np, graphc as gc
from graphc.backend.llvm import blas, jit
x, w = np.ones((256, 784), np.float32), np.ones((784, 512), np.float32)
f = gc.function(lambda a, b: a @ b)
kernel = f.concrete(x, w).executable.lowered.kernels[0]
print(blas.core_bits(), jit.host()["vector_bits"], "dot_general gemm" in kernel,
      np.array_equal(f(x, w), x @ w))
"""


def test_openblas_coretype_haswell_on_an_avx512_machine_uses_graphcs_gemm():
    from graphc.backend.llvm import blas, jit

    if blas.find() is None or blas.core_bits() is None or jit.host()["vector_bits"] < 512:
        pytest.skip("needs an AVX-512 machine and NumPy's OpenBLAS naming its core")
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell", GRAPHC_CACHE="0")
    out = subprocess.run([sys.executable, "-c", _CORETYPE], env=env, capture_output=True,
                         text=True, check=False, timeout=120)
    assert out.stdout.split() == ["256", "512", "True", "True"], out.stderr
