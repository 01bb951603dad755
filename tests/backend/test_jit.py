"""graphc.backend.llvm.jit: IR text -> native code for the host CPU."""

import ctypes

import numpy as np
import pytest

from graphc.backend.llvm import jit
from graphc.errors import GraphcError

from ._handir import axpy_ir
from .cases import in_threads


def _run_axpy(module, x, y):
    out = np.empty_like(x)
    argv = (ctypes.c_void_p * 4)(x.ctypes.data, y.ctypes.data, out.ctypes.data, None)
    assert ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(module.address("graphc_main"))(argv) == 0
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_compiled_code_computes(dtype, n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 100).astype(dtype)
    y = (rng.standard_normal(n) * 100).astype(dtype)
    module = jit.compile_ir(axpy_ir(n, dtype), "axpy")
    np.testing.assert_array_equal(_run_axpy(module, x, y), 2 * x + y)


def test_optimized_ir_is_vectorized_for_host_and_asm_available():
    module = jit.compile_ir(axpy_ir(1000, np.float32), "vec")
    assert "<8 x float>" in module.llvm_ir or "<16 x float>" in module.llvm_ir
    assert jit.host()["triple"] in module.llvm_ir
    asm = module.asm()
    assert "graphc_main:" in asm and ("ymm" in asm or "zmm" in asm)
    assert module.compile_ms > 0 and module.object_code[:4] == b"\x7fELF"


def test_bad_ir_raises_a_graphc_error_with_llvm_diagnostic():
    with pytest.raises(jit.LLVMCompileError, match="(?s)bad_mod.*function result type") as info:
        jit.compile_ir("define void @graphc_main(ptr %a) {\n  ret i32 0\n}\n", "bad_mod")
    assert isinstance(info.value, GraphcError)
    with pytest.raises(jit.LLVMCompileError, match="no function 'nope'"):
        jit.compile_ir(axpy_ir(4, np.float32), "m").address("nope")


def test_verifier_catches_invalid_module():
    text = (
        "define void @graphc_main(ptr %a) {\nentry:\n  br label %x\nx:\n  %v = add i32 %w, 1\n"
        "  %w = add i32 %v, 1\n  ret void\n}\n"
    )
    with pytest.raises(jit.LLVMCompileError):
        jit.compile_ir(text, "cyclic")


def test_object_code_reload_skips_optimization_and_runs_the_same():
    first = jit.compile_ir(axpy_ir(33, np.float64), "a")
    again = jit.compile_ir(axpy_ir(33, np.float64), "a", cached_object=first.object_code)
    assert again.from_cache and not first.from_cache
    x, y = np.linspace(-1, 1, 33), np.linspace(3, 4, 33)
    np.testing.assert_array_equal(_run_axpy(again, x, y), 2 * x + y)
    assert again.llvm_ir == first.llvm_ir  # recomputed on demand, deterministically


def test_concurrent_compiles_are_safe():
    results, errors = {}, []

    def work(k):
        try:
            n = 10 + k
            x, y = np.arange(n, dtype=np.float64), np.full(n, float(k))
            results[k] = np.array_equal(
                _run_axpy(jit.compile_ir(axpy_ir(n, np.float64), f"m{k}"), x, y), 2 * x + y
            )
        except Exception as e:  # noqa: BLE001  (any failure in a thread is reported below)
            errors.append(e)

    in_threads(work)
    assert not errors and all(results.values()) and len(results) == 6


def test_module_outlives_nothing_it_needs():
    module = jit.compile_ir(axpy_ir(5, np.int64), "life")
    addr = module.address("graphc_main")
    assert addr == module.address("graphc_main")
    x = np.arange(5, dtype=np.int64)
    np.testing.assert_array_equal(_run_axpy(module, x, x), 3 * x)


def test_cyclic_garbage_holding_compiled_code_is_collected_without_crashing():
    """A context finalized before its engine crashes the process: the collector picks any order
    inside a cycle (a gc.function's class -> native entry -> module -> engine is one)."""
    import subprocess
    import sys
    from pathlib import Path

    tests = str(Path(__file__).parents[1])
    code = f"""
import gc, sys
import numpy as np
sys.path.insert(0, {tests!r})
from backend._handir import axpy_exe
for i in range(60):
    exe = axpy_exe((5,), np.float64)
    holder = [exe.entry_with_fallback(lambda *a: None), exe]
    holder.append(holder)
    exe.cycle = holder
    del exe, holder
    if i % 10 == 0:
        gc.collect()
gc.collect()
print("survived")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-2000:]
