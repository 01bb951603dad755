"""Building and running ``driver.c`` against an exported library (see the driver's comment)."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from graphc.backend.llvm import export

HERE = os.path.dirname(os.path.abspath(__file__))
CC = next((shutil.which(c) for c in export.COMPILERS if shutil.which(c)), None)
#: Every test here builds C: without a compiler there is nothing to test (CI machines have gcc).
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler (cc, gcc or clang) on PATH")


def build_driver(lib: str, name: str, n_in: int, n_out: int) -> str:
    """The driver compiled against ``lib``'s header (warnings are errors) and linked to it."""
    folder = os.path.dirname(lib)
    header = os.path.splitext(os.path.basename(lib))[0] + ".h"
    ptrs = [f"in[{i}]" for i in range(n_in)] + [f"out[{j}]" for j in range(n_out)]
    exe = os.path.join(folder, f"driver_{name}")
    cmd = [CC, "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-O1", "-Wall", "-Wextra", "-Werror",
           f"-I{folder}", f"-DEXPORT={name}", f'-DHEADER="{header}"',
           f"-DCALL(in,out,ws)={name}({', '.join([*ptrs, 'ws'])})",
           os.path.join(HERE, "driver.c"), lib, f"-Wl,-rpath,{folder}", "-pthread", "-o", exe]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return exe


def run_driver(exe: str, mode: str, inputs, *extra) -> str:
    """The driver's output for ``inputs`` (arrays in the export's order)."""
    path = exe + ".in"
    with open(path, "wb") as f:
        for a in inputs:
            f.write(np.ascontiguousarray(a).tobytes())
    done = subprocess.run([exe, mode, path, *map(str, extra)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout


def parse_outputs(text: str, like) -> list[np.ndarray]:
    """The driver's printed lines as arrays of the types and shapes of ``like``."""
    lines = text.splitlines()
    out = []
    for line, ref in zip(lines, like):
        ref = np.asarray(ref)
        exact = np.int64 if ref.dtype.kind in "biu" else np.float64  # both hold every value
        out.append(np.array(line.split(), dtype=exact).astype(ref.dtype).reshape(ref.shape))
    return out


def export_and_run(concrete, tmp_path, args, name: str, mode: str = "once", target="native",
                   *extra):
    """Export ``concrete`` as ``name``, run the driver on ``args`` and return (its outputs,
    the Python call's outputs as a flat list, the driver's whole text)."""
    lib = concrete.export(str(tmp_path / f"lib{name}"), target=target, name=name)
    want = flat(concrete(*args))
    leaves = [np.asarray(a) for a in args]
    exe = build_driver(lib, name, len(leaves), len(want))
    text = run_driver(exe, mode, leaves, *extra)
    return parse_outputs(text, want), want, text


def flat(tree) -> list[np.ndarray]:
    if isinstance(tree, (tuple, list)):
        return [a for t in tree for a in flat(t)]
    return [np.asarray(tree)]


def assert_bitwise(got, want) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert g.tobytes() == w.tobytes(), (g, w)
