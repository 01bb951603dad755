"""``graphc export`` end to end: examples/export_c/README.md's commands (export with --grad, build
main.c, run it) print what the Python program prints; the CLI's own refusals."""

import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest
from _cdriver import CC, build_driver, needs_cc, parse_outputs, run_driver

import graphc as gc
from graphc.backend.llvm import export
from graphc.cli import main

pytestmark = needs_cc
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "export_c")


def _readme_commands() -> list[list[str]]:
    with open(os.path.join(EXAMPLE, "README.md"), encoding="utf-8") as f:
        block = re.search(r"```bash\n(.*?)```", f.read(), re.DOTALL).group(1)
    return [shlex.split(line) for line in block.strip().splitlines()]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the README's commands: Linux")
def test_the_c_example_prints_what_python_prints(tmp_path):
    build = str(tmp_path / "build")
    programs = {"graphc": [sys.executable, "-m", "graphc"], "cc": [CC], "python": [sys.executable]}
    printed = []
    for words in _readme_commands():
        words = [w.replace("build", build) for w in words]
        cmd = programs.get(words[0], words[:1]) + words[1:]
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (cmd, done.stderr)
        printed.append(done.stdout)
    assert printed[0] == f"wrote {build}/liblogreg.so and {build}/liblogreg.h\n"
    c_lines, python_lines = printed[2], printed[3]
    assert c_lines == python_lines and c_lines.count("\n") == 6


@pytest.mark.skipif(not export.target().triple.startswith("x86_64"), reason="x86-64 levels")
def test_a_portable_target_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    out = str(tmp_path / "libloss")
    assert main(["export", "examples/loss.py:loss", "--arg", "f64[2,3]", "--arg", "f64[2,3]",
                 "--target", "x86-64-v2", "-o", out]) == 0
    assert capsys.readouterr().out == f"wrote {out}{export.SUFFIX} and {out}.h\n"
    x, y = np.arange(6.0).reshape(2, 3), np.full((2, 3), 0.5)
    exe = build_driver(out + export.SUFFIX, "loss", 2, 1)
    want = gc.function(lambda a, b: np.sum((a - b) ** 2))(x, y)
    (got,) = parse_outputs(run_driver(exe, "once", [x, y]), [want])
    assert got == want  # a sum of six exact squares: exact in any order


def test_refusals_are_one_line_with_an_exit_status(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    args = ["export", "examples/loss.py:loss", "--arg", "f32[3]", "--arg", "f32[3]", "-o",
            str(tmp_path / "libloss")]
    assert main([*args, "--target", "pentium"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("graphc: error: unknown export target 'pentium'") and err.count("\n") == 1
    assert main([*args, "--name", "2fast"]) == 1
    assert "not a C identifier" in capsys.readouterr().err
    assert main(args[:-2]) == 2  # -o is required
    assert "-o/--output" in capsys.readouterr().err
