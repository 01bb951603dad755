"""GRAPHC_CPU: code built for a portable x86-64 level runs here, gives the host build's numbers,
and a level this CPU cannot run (or an unknown name) is refused before any code is built."""

import os
import subprocess
import sys

import pytest

from graphc.backend.llvm import jit
from graphc.errors import ArgumentError

X86 = jit.host()["triple"].startswith("x86_64")
HOST_FEATURES = jit.host()["features"] if X86 else ""

PROGRAM = """
import numpy as np, graphc as gc, graphc.numpy as gnp
from graphc.backend.llvm import jit
f = gc.function(lambda x: (gnp.arctan2(x, 2.0) + np.exp(x) * x).sum() + np.tanh(x))
x = np.linspace(-3, 3, 1001)
c = f.concrete(x)
asm = c.asm()
print(jit.host()["cpu"], jit.host()["vector_bits"], "zmm" in asm, "ymm" in asm)
print(f(x).tobytes().hex())
"""


def run(cpu):
    env = dict(os.environ, GRAPHC_CPU=cpu, GRAPHC_CACHE="0")
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    head, numbers = out.stdout.split("\n")[:2]
    return head.split(), numbers


@pytest.mark.skipif(not X86, reason="portable levels are x86-64 ones")
def test_avx2_level_on_any_x86_host():
    """x86-64-v3 (AVX2) never uses 512-bit registers and gives the host build's bits: graphc's
    math library is the same algorithm at every vector width."""
    if "+avx2" not in HOST_FEATURES.split(","):
        pytest.skip("this CPU has no AVX2")
    (cpu, bits, zmm, ymm), numbers = run("x86-64-v3")
    assert (cpu, bits, zmm, ymm) == ("x86-64-v3", "256", "False", "True")
    assert numbers == run("host")[1]


@pytest.mark.parametrize("level", ["znver9", "x86-64-v5", "i386"])
def test_unknown_level_is_refused(level):
    with pytest.raises(ArgumentError, match=f"GRAPHC_CPU='{level}'.*expected 'host'"):
        jit._check_level(level, "x86_64-unknown-linux-gnu", HOST_FEATURES)


def test_level_the_cpu_lacks_is_refused():
    """An SSE2-only CPU cannot run x86-64-v3 code: the message names the missing features."""
    sse2 = "+sse,+sse2,+cx8,+fxsr,+mmx"
    with pytest.raises(ArgumentError, match=r"lacks cx16, sahf, popcnt.*avx2"):
        jit._check_level("x86-64-v3", "x86_64-unknown-linux-gnu", sse2)
    jit._check_level("x86-64", "x86_64-unknown-linux-gnu", sse2)  # the baseline always runs


def test_levels_are_refused_off_x86():
    with pytest.raises(ArgumentError, match="on x86-64"):
        jit._check_level("x86-64-v2", "aarch64-unknown-linux-gnu", "+neon")
