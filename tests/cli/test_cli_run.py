"""``graphc run FILE.ir``: the text ``graphc dump`` prints, parsed (graphc.ir.parse), compiled and
run, gives the function's own outputs; bad files and values are refused with the reason."""

import ast
import os
import re

import numpy as np
import pytest

import graphc as gc
from graphc.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _outputs(text):
    """The printed outputs: each a Python literal (exact: the shortest round-trip decimals)."""
    blocks = re.split(r"^output \d+: \S+\n", text, flags=re.M)[1:]
    return [np.array(ast.literal_eval(b.strip())) for b in blocks]


@pytest.mark.parametrize("backend", ["llvm", "reference"])
@pytest.mark.parametrize("stage", ["traced", "optimized"])
def test_dump_then_run_gives_the_functions_outputs(tmp_path, capsys, monkeypatch, backend, stage):
    monkeypatch.chdir(ROOT)
    path = tmp_path / "loss.ir"
    assert main(["dump", "examples/loss.py:loss", "--arg", "f64[3]", "--arg", "f64[3]",
                 "--grad", "0", "--stage", stage]) == 0
    path.write_text(capsys.readouterr().out)
    y = np.array([0.25, -1.0, 2.0])
    np.save(tmp_path / "y.npy", y)
    assert main(["run", str(path), "--arg", "[1, 2, 3]", "--arg", str(tmp_path / "y.npy"),
                 "--backend", backend]) == 0
    value, grad = _outputs(capsys.readouterr().out)
    x = np.array([1.0, 2.0, 3.0])
    want_value, want_grad = gc.value_and_grad(lambda a, b: np.sum((a - b) ** 2))(x, y)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12)


def test_run_refuses_bad_input(tmp_path, capsys):
    path = tmp_path / "g.ir"
    path.write_text(str(gc.make_graph(lambda x: x * 2)(np.ones(3))))
    assert main(["run", str(path), "--arg", "[1, 2]"]) == 2
    assert "shape (2,) given, the graph takes f64[3]" in capsys.readouterr().err
    assert main(["run", str(path)]) == 2
    assert "takes 1 inputs" in capsys.readouterr().err
    assert main(["run", str(path), "--arg", "hello"]) == 2
    assert "neither a .npy file" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "missing.ir")]) == 2
    assert "cannot read" in capsys.readouterr().err
    path.write_text("graph g(%0: f64[3]) {\n  %1: f64[3] = nosuchop %0\n  return %1\n}\n")
    assert main(["run", str(path), "--arg", "1.0"]) == 1
    assert "unknown primitive 'nosuchop'" in capsys.readouterr().err
    assert main(["run", str(path.with_suffix(".ir")), "--arg", "1.0", "--backend", "x"]) == 2


def test_run_refuses_values_that_would_be_truncated(tmp_path, capsys):
    path = tmp_path / "g.ir"
    path.write_text(str(gc.make_graph(lambda i: i * 2)(np.int64(3))))
    assert main(["run", str(path), "--arg", "1.5"]) == 2
    assert "float64 values given, the graph takes i64[]" in capsys.readouterr().err
    assert main(["run", str(path), "--arg", "4"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "8"
