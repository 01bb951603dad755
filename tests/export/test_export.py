"""Exported C libraries (``Concrete.export``): a C program built against the header with the
system compiler gives the Python call's numbers, from two threads at once too; the library needs
no Python, BLAS or graphc runtime; and what cannot be exported is refused with the reason.

Comparisons: bit for bit where the library runs the JIT's code for the same CPU (the same plan,
IR and target; one thread instead of several changes nothing, since a threaded kernel computes
every element with the same code). To rounding where the summation order differs: a large
product the JIT hands to OpenBLAS (the export runs graphc's own gemm kernel), and a portable
target whose vectors are narrower than this CPU's (pairwise sums are blocked by vector width).
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from _cdriver import CC, assert_bitwise, build_driver, export_and_run, flat, needs_cc, run_driver

import graphc as gc
import graphc.numpy as gnp
from graphc.backend.llvm import blas, export, jit
from graphc.errors import InternalError

pytestmark = needs_cc


def _stats(x, y):
    big = x > 0.5  # int64 and bool results too
    return np.sum(np.exp(-x * x) * y + np.sin(x), axis=1), np.max(x) * y, big.sum(), big[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elementwise_and_reductions_match_python_bit_for_bit(tmp_path, dtype):
    x = np.linspace(-2, 2, 3 * 5 * 7).reshape(3, 5, 7).astype(dtype)  # odd shapes
    y = dtype(1.5)  # a 0-d input, giving a 0-d output
    c = gc.function(_stats).concrete(x, y)
    got, want, _ = export_and_run(c, tmp_path, (x, y), "stats")
    assert [w.shape for w in want] == [(3, 7), (), (), (5, 7)]
    assert_bitwise(got, want)


def _loss(w, x, y):
    return np.mean((np.tanh(x @ w) - y) ** 2)


def test_gradient_of_a_loss_over_two_arguments(tmp_path):
    rng = np.random.default_rng(0)
    w, x, y = rng.normal(size=5), rng.normal(size=(7, 5)), rng.normal(size=7)
    c = gc.function(gc.value_and_grad(_loss, argnums=(0, 1))).concrete(w, x, y)
    got, want, _ = export_and_run(c, tmp_path, (w, x, y), "loss_grad")
    assert [g.shape for g in got] == [(), (5,), (7, 5)]
    assert_bitwise(got, want)


def _product(a, b):
    return np.tanh(a @ b)


def test_a_large_product_runs_graphcs_gemm_not_blas(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(96, 130)).astype(np.float32)
    b = rng.normal(size=(130, 70)).astype(np.float32)
    c = gc.function(_product).concrete(a, b)
    if blas.find() is not None:  # the JIT calls NumPy's OpenBLAS for this one
        assert "cblas" in c.llvm_ir()
    got, want, _ = export_and_run(c, tmp_path, (a, b), "product")
    np.testing.assert_allclose(got[0], want[0], rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got[0], np.tanh(a.astype(np.float64) @ b), rtol=1e-4, atol=1e-5)
    assert not [s for s in _symbols(tmp_path / "libproduct.so", "--undefined-only")
                if "blas" in s.lower()]


def _loop(x, n):
    def body(carry):
        i, v = carry
        return i + 1, np.sin(v) * 1.5 + 0.25 * v * v

    _, v = gc.while_loop(lambda c: c[0] < n, body, (np.int32(0), x))
    return np.sum(v * v)


def test_a_while_loops_reverse_pass_grows_its_tape_with_realloc(tmp_path):
    x, n = np.linspace(-0.5, 0.5, 9), np.int32(40)  # 40 steps: the 16-record tape grows twice
    c = gc.function(gc.grad(_loop)).concrete(x, n)
    assert "@graphc_rt_realloc" in c.llvm_ir()  # saved carries: the JIT registers realloc
    got, want, _ = export_and_run(c, tmp_path, (x, n), "loop_grad")
    assert_bitwise(got, want)


def _tape(x, n):
    def body(carry):
        i, v = carry
        return i + 1, np.tanh(v) * 1.01

    _, v = gc.while_loop(lambda c: c[0] < n, body, (np.int32(0), x))
    return np.sum(v)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_running_out_of_memory_returns_1(tmp_path):
    x, n = np.zeros(1 << 18, np.float32), np.int32(100_000)  # a 1 MB carry saved per step
    c = gc.function(gc.grad(_tape)).concrete(x, n)
    lib = c.export(str(tmp_path / "libtape"), name="tape_grad")
    exe = build_driver(lib, "tape_grad", 2, 1)
    assert run_driver(exe, "limit", [x, n], 256).strip() == "status 1"


def _big(x):
    t = np.tanh(x) * 2.0  # JIT: a threaded kernel; the export: one thread, same bits
    return t + np.sqrt(np.abs(x)), np.sum(t[:4].T @ t[:4, :3], axis=1)  # below BLAS's size


def test_two_threads_at_once_with_null_workspaces(tmp_path):
    x = np.linspace(-3, 3, 512 * 600).reshape(512, 600).astype(np.float32)  # JIT: threaded
    c = gc.function(_big).concrete(x)
    assert c.stats()["workspace_bytes"] > 0
    assert ("gc_par_run" in c.llvm_ir()) == (gc.config.threads > 1)
    got, want, text = export_and_run(c, tmp_path, (x,), "big", "threads", "native", 50)
    assert text.splitlines()[-1] == "mismatches 0"
    assert_bitwise(got, want)
    exe = os.path.join(tmp_path, "driver_big")
    assert run_driver(exe, "workspace", [x]) == run_driver(exe, "once", [x])


def _level_runs_here(level: str) -> bool:
    here = export.target()
    try:
        jit._check_level(level, here.triple, here.features)
    except gc.GraphcError:
        return False
    return True


@pytest.mark.skipif(not export.target().triple.startswith("x86_64"), reason="x86-64 levels")
@pytest.mark.parametrize("level", ["x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"])
def test_portable_targets_build_and_run_where_the_cpu_can(tmp_path, level):
    x = np.linspace(-2, 2, 3 * 5 * 7).reshape(3, 5, 7)
    y = np.float64(0.75)
    c = gc.function(_stats).concrete(x, y)
    lib = c.export(str(tmp_path / "libstats"), target=level, name="stats")
    with open(tmp_path / "libstats.h") as f:
        assert f"for target {level}." in f.read()
    if shutil.which("objdump") and level in ("x86-64", "x86-64-v2"):
        asm = subprocess.run(["objdump", "-d", lib], capture_output=True, text=True).stdout
        assert "%ymm" not in asm and "%zmm" not in asm  # SSE only: runs on any x86-64-v2
    if not _level_runs_here(level):
        pytest.skip(f"this CPU cannot run {level} code")
    exe = build_driver(lib, "stats", 2, 4)
    got = run_driver(exe, "once", [x, y]).splitlines()
    want = flat(c(x, y))
    for line, w in zip(got, want, strict=True):
        np.testing.assert_allclose(np.array(line.split(), float).reshape(w.shape), w,
                                   rtol=1e-14, atol=1e-14)


def _symbols(lib, which: str) -> list[str]:
    if shutil.which("nm") is None:
        pytest.skip("no nm")
    text = subprocess.run(["nm", "-D", which, str(lib)], capture_output=True, text=True).stdout
    return [line.split()[-1] for line in text.splitlines() if line.strip()]


def test_only_the_public_names_are_exported_and_nothing_needs_python(tmp_path):
    w, x, y = np.ones(5), np.ones((7, 5)), np.ones(7)
    c = gc.function(gc.value_and_grad(_loss)).concrete(w, x, y)
    lib = c.export(str(tmp_path / "libloss"))
    assert lib == str(tmp_path / f"libloss{export.SUFFIX}")
    defined = _symbols(lib, "--defined-only")
    assert sorted(defined) == ["value_and_grad__loss", "value_and_grad__loss_workspace_bytes"]
    undefined = _symbols(lib, "--undefined-only")
    assert not [s for s in undefined if s.startswith(("Py", "_Py", "graphc", "gc_"))]


def test_headers_of_two_exports_compile_together_in_c_and_cpp(tmp_path):
    a = np.ones((2, 3), np.float32)
    gc.function(_product).concrete(a, a.T).export(str(tmp_path / "libone"), name="one")
    gc.function(_stats).concrete(a[None], np.float32(1)).export(str(tmp_path / "libtwo"),
                                                                name="two")
    src = '#include "libone.h"\n#include "libtwo.h"\nint main(void) { return two_NUM_INPUTS; }\n'
    for compiler, ext in ((CC, "c"), (shutil.which("c++"), "cpp")):
        if compiler is None:
            continue
        (tmp_path / f"both.{ext}").write_text(src)
        done = subprocess.run([compiler, "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                               f"-I{tmp_path}", str(tmp_path / f"both.{ext}")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


# - refusals ---------------------------------------------------------------------------------------
def _factor(a):
    return np.sum(gnp.linalg.cholesky(a @ a.T + 4.0 * gnp.eye(3)))


def test_a_linalg_factorization_is_refused_naming_the_op_and_line(tmp_path):
    c = gc.function(_factor).concrete(np.ones((3, 3)))
    with pytest.raises(gc.GraphcError, match=r"test_export\.py:\d+: cannot export _factor: "
                       r"cholesky runs Python at run time") as err:
        c.export(str(tmp_path / "libfactor"))
    assert "numpy.linalg" in str(err.value)
    assert not os.path.exists(tmp_path / f"libfactor{export.SUFFIX}")


def _printing(x):
    gc.print("x = {}", x)
    return x * 2.0


def test_gc_print_is_refused(tmp_path):
    c = gc.function(_printing).concrete(np.ones(3))
    with pytest.raises(gc.GraphcError, match="debug_print runs Python at run time"):
        c.export(str(tmp_path / "libprint"))


def test_an_unknown_target_and_a_bad_name_are_refused(tmp_path):
    c = gc.function(_product).concrete(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(gc.ArgumentError, match=r"unknown export target 'armv9'.*x86-64-v3"):
        c.export(str(tmp_path / "libp"), target="armv9")
    with pytest.raises(gc.ArgumentError, match="not a C identifier"):
        c.export(str(tmp_path / "libp"), name="my product")
    for taken in ("graphc_main", "free", "graphc_rt_realloc"):
        with pytest.raises(gc.ArgumentError, match=f"taken by graphc's code.*{taken}"):
            c.export(str(tmp_path / "libp"), name=taken)


def test_a_module_calling_what_only_graphcs_process_defines_is_an_internal_error():
    main_ir = ("declare void @gc_par_run(ptr, ptr, i64, i64)\n"
               "define i32 @graphc_main(ptr %args) {\n"
               "  call void @gc_par_run(ptr null, ptr null, i64 0, i64 0)\n  ret i32 0\n}\n")
    abi = export._abi("f", "graphc_main", 0, 1, 0)
    with pytest.raises(InternalError, match="f would call gc_par_run"):
        export.object_code(main_ir, abi, ("f", "f_workspace_bytes"), export.target())


def test_no_c_compiler_says_why_one_is_needed(tmp_path, monkeypatch):
    c = gc.function(_product).concrete(np.ones((2, 3)), np.ones((3, 2)))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(gc.GraphcError, match=r"needs a C compiler.*no linker.*cc, gcc, clang"):
        c.export(str(tmp_path / "libp"))
