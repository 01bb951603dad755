"""``stats()["compile_phases_ms"]`` breaks the LLVM backend's share of a first call into lowering,
LLVM parse, optimize, code generation and load; loading cached object code skips optimize and
code generation."""

from __future__ import annotations

import uuid

import numpy as np

import graphc as gc
from graphc.backend.llvm import jit


def test_phases_add_up():
    stats = gc.function(lambda x: np.sin(x * 3.0).sum(), backend="llvm").concrete(
        np.ones(7)).stats()
    phases = stats["compile_phases_ms"]
    assert set(phases) >= {"lowering", "parse", "load"}
    assert all(v >= 0 for v in phases.values())
    assert sum(v for k, v in phases.items() if k != "lowering") <= stats["llvm_compile_ms"] + 1e-6
    assert phases["lowering"] <= stats["compile_ms"]


def test_cached_object_code_skips_optimize_and_codegen():
    name = f"graphc_phase_probe_{uuid.uuid4().hex}"  # text no earlier compile made (no memo)
    text = f"define i32 @{name}(i32 %a) {{\n  %b = add i32 %a, 1\n  ret i32 %b\n}}\n"
    fresh = jit.compile_ir(text, "probe")
    assert list(fresh.phases) == ["parse", "optimize", "codegen", "load"]
    again = jit.compile_ir(text, "probe", cached_object=fresh.object_code)
    assert list(again.phases) == ["parse", "load"] and again.from_cache
