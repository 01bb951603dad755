"""``graphc dump``: the IR text of examples/, every stage, and one-line errors for bad input."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import graphc as gc
from graphc.cli import main, parse_argnums, parse_spec

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOSS = os.path.join(ROOT, "examples", "loss.py")
MLP = os.path.join(ROOT, "examples", "mlp.py")
MLP_SPECS = ["f32[4,8]", "f32[8]", "f32[8,1]", "f32[1]", "f32[16,4]", "f32[16,1]"]
MLP_ARGS = [a for spec in MLP_SPECS for a in ("--arg", spec)]

LOSS_TRACED = """\
graph loss(%0: f32[2,3], %1: f32[2,3]) {
  %2: f32[2,3] = sub %0, %1                               # loss.py:11
  %3: f32[2,3] = mul %2, %2                               # loss.py:11
  %4: f32[] = reduce_sum[axes=(0, 1)] %3                  # loss.py:11
  return %4
}
"""


def dump(capsys, *args):
    """Run ``graphc dump`` in-process; returns (exit status, stdout, stderr)."""
    rc = main(["dump", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def node_lines(text):
    return [ln for ln in text.splitlines() if re.match(r"\s+%\d+.* = ", ln)]


# --- argument specs -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, shape, dtype",
    [
        ("f32[2,3]", (2, 3), np.float32),
        ("f64[]", (), np.float64),
        ("i32[10]", (10,), np.int32),
        ("i64[4]", (4,), np.int64),
        ("bool[3]", (3,), np.bool_),
        ("f32[ 2 , 1 ,5 ]", (2, 1, 5), np.float32),
        ("float64[0]", (0,), np.float64),
    ],
)
def test_parse_spec(spec, shape, dtype):
    a = parse_spec(spec)
    assert a.shape == shape and a.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    "spec",
    [
        "f33[2]", "f32", "f32[2,", "f32[2,x]", "f32[-1]", "f16[2]", "[2]", "f32[2,,3]",
        "f32[99999999999,99999999999]",  # more elements than any array can hold
    ],
)
def test_parse_spec_rejects(spec):
    with pytest.raises(gc.GraphcError, match=re.escape(repr(spec))):
        parse_spec(spec)


def test_parse_argnums():
    assert parse_argnums("0") == 0
    assert parse_argnums("0,2") == (0, 2)
    for bad in ("x", "1,", ""):
        with pytest.raises(gc.GraphcError, match="--grad"):
            parse_argnums(bad)


# --- stages ---------------------------------------------------------------------------------------
def test_dump_traced_golden(capsys):
    rc, out, err = dump(capsys, LOSS + ":loss", "--arg", "f32[2,3]", "--arg", "f32[2,3]")
    assert (rc, err) == (0, "")
    assert out == LOSS_TRACED


def test_dump_matches_make_graph(capsys):
    """The CLI prints exactly what gc.make_graph gives on real arrays of the same types."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(parse_spec(s).shape).astype(np.float32) for s in MLP_SPECS]
    rc, out, _ = dump(capsys, MLP + ":mlp_loss", *MLP_ARGS)
    assert rc == 0
    assert out == str(gc.make_graph(_load_mlp())(*arrays)) + "\n"


def test_dump_mlp_types(capsys):
    rc, out, err = dump(capsys, MLP + ":mlp_loss", *MLP_ARGS)
    assert rc == 0, err
    assert out.startswith(
        "graph mlp_loss(%0: f32[4,8], %1: f32[8], %2: f32[8,1], %3: f32[1], "
        "%4: f32[16,4], %5: f32[16,1]) {"
    )
    assert "dot_general" in out and "tanh" in out
    assert re.search(r"return %\d+\n}\n$", out)
    assert all(": f32[" in ln for ln in node_lines(out))


def test_dump_zero_d_and_int_args(tmp_path, capsys):
    src = tmp_path / "f.py"
    src.write_text("def f(n, x):\n    return x * n + 1\n")
    rc, out, err = dump(capsys, f"{src}:f", "--arg", "i32[]", "--arg", "i32[5]")
    assert rc == 0, err
    assert out.startswith("graph f(%0: i32[], %1: i32[5]) {")
    assert all(": i32[" in ln for ln in node_lines(out))


def test_dump_unwraps_gc_function(tmp_path, capsys):
    src = tmp_path / "g.py"
    src.write_text("import graphc as gc\n\n@gc.function\ndef g(x):\n    return x * 2.0\n")
    rc, out, _ = dump(capsys, f"{src}:g", "--arg", "f32[3]")
    assert rc == 0 and out.startswith("graph g(%0: f32[3]) {")
    assert "f32[3] = mul" in out  # the weak 2.0 keeps float32


def test_dump_optimized(capsys):
    rc, out, err = dump(capsys, MLP + ":mlp_loss", *MLP_ARGS, "--stage", "optimized")
    assert rc == 0, err
    traced = str(gc.make_graph(_load_mlp())(*[parse_spec(s) for s in MLP_SPECS]))
    assert out.startswith("graph mlp_loss(")
    assert 0 < len(node_lines(out)) <= len(node_lines(traced))


def _load_mlp():
    from graphc.cli import load_target

    return load_target(MLP + ":mlp_loss")


@pytest.mark.parametrize("stage, markers", [("llvm", ["define", "fsub", "fmul"]), ("asm", ["ret"])])
def test_dump_native_stages(capsys, stage, markers):
    rc, out, err = dump(
        capsys, LOSS + ":loss", "--arg", "f32[3]", "--arg", "f32[3]", "--stage", stage
    )
    assert rc == 0, err
    for m in markers:
        assert m in out


def split_stages(out):
    """``=== title: N nodes ===`` blocks -> [(title, N, graph text)]."""
    result = []
    for block in out.split("=== ")[1:]:
        header, body = block.split(" ===\n", 1)
        title, count = re.fullmatch(r"(.*): (\d+) nodes", header).groups()
        result.append((title, int(count), body.strip()))
    return result


def test_dump_all_stages(capsys):
    argv = [MLP + ":mlp_loss", *MLP_ARGS, "--grad", "0,1,2,3"]
    rc, out, err = dump(capsys, *argv, "--stage", "all")
    assert rc == 0, err
    stages = split_stages(out)
    assert stages[0][0] == "traced"
    for title, count, body in stages:
        assert count == len(node_lines(body)), title  # the stated count is the graph's
    names = [re.fullmatch(r"pass \d+ \((\w+)\)", t).group(1) for t, _, _ in stages[1:]]
    assert {"fold", "simplify", "cse", "dce"} <= set(names) and names[-1] == "fuse"
    assert names[0] == "inline"  # custom-rule calls are inlined first, for every backend
    assert stages[-2][1] < stages[0][1]  # the pipeline removed nodes from the gradient graph
    assert " = fused " in stages[-1][2]
    rc, optimized, _ = dump(capsys, *argv, "--stage", "optimized")
    assert rc == 0 and optimized.strip() == stages[-2][2]  # the pipeline's result, before fusion

    rc, out, err = dump(capsys, *argv, "--after", "cse")
    assert rc == 0, err
    shown = split_stages(out)
    assert shown and all("(cse)" in t for t, _, _ in shown)
    assert [b for _, _, b in shown] == [b for t, _, b in stages if "(cse)" in t]


def test_dump_after_inline_shows_custom_rules_inlined(tmp_path, capsys):
    src = tmp_path / "c.py"
    src.write_text(
        "import graphc as gc\nimport graphc.numpy as gnp\n\n"
        "@gc.custom_vjp\ndef csin(x):\n    return gnp.sin(x)\n\n"
        "csin.defvjp(lambda x: (gnp.sin(x), x), lambda x, g: (g * gnp.cos(x),))\n\n"
        "def f(x):\n    return x + csin(x)\n"
    )
    rc, traced, err = dump(capsys, f"{src}:f", "--arg", "f32[3]")
    assert rc == 0 and "custom_vjp_call" in traced, err
    rc, out, err = dump(capsys, f"{src}:f", "--arg", "f32[3]", "--after", "inline")
    assert rc == 0, err
    ((title, _, body),) = split_stages(out)
    assert title == "pass 1 (inline)"
    assert "custom_vjp_call" not in body and body.count(" = sin ") == 1


def test_dump_after_unknown_pass(capsys):
    rc, out, err = dump(
        capsys, LOSS + ":loss", "--arg", "f32[3]", "--arg", "f32[3]", "--after", "nope"
    )
    assert_one_line_error(rc, out, err, "'nope'", "cse", "dce", status=2)


def test_dump_grad(capsys):
    rc, out, err = dump(
        capsys, LOSS + ":loss", "--arg", "f32[2,3]", "--arg", "f32[2,3]", "--grad", "0"
    )
    assert rc == 0, err
    fwd = [ln for ln in node_lines(out) if "bwd" not in ln]
    bwd = [ln for ln in node_lines(out) if "# bwd" in ln]
    assert fwd and bwd
    outs = re.search(r"return (.*)\n", out).group(1).split(", ")
    assert len(outs) == 2  # the value and the gradient of argument 0
    assert f"{outs[1]}: f32[2,3] =" in out
    from graphc.cli import load_target

    x = np.ones((2, 3), np.float32)
    expected = gc.make_graph(gc.value_and_grad(load_target(LOSS + ":loss"), argnums=0))(x, x)
    # locations included: every gradient node, the seed too, is at the line of a forward op
    # (issue 8), never at the caller's line, which differs here
    assert out.strip() == str(expected).strip()


def test_dump_grad_several(capsys):
    rc, out, err = dump(capsys, MLP + ":mlp_loss", *MLP_ARGS, "--grad", "0,1,2,3")
    assert rc == 0, err
    outs = re.search(r"return (.*)\n", out).group(1).split(", ")
    assert len(outs) == 5
    for name, typ in zip(outs[1:], ["f32[4,8]", "f32[8]", "f32[8,1]", "f32[1]"], strict=True):
        assert f"{name}: {typ}" in out  # each gradient has its parameter's type


# --- errors ---------------------------------------------------------------------------------------
def assert_one_line_error(rc, out, err, *needles, status=None):
    assert rc != 0 and (status is None or rc == status)
    assert out == ""
    assert err.startswith("graphc: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["--arg", "f33[2]", "--arg", "f32[2]"], ["f33", "f32, f64, i32, i64, bool"]),
        (["--arg", "f32[2,"], ["'f32[2,'", "DTYPE[SHAPE]"]),
        (["--arg", "f32[2]"], ["loss(x, y)", "'y'"]),
        (["--arg", "f32[2]"] * 3, ["loss(x, y)", "3 --arg"]),
        (["--arg", "f32[2]", "--arg", "f32[2]", "--grad", "a"], ["--grad", "'a'"]),
        (["--arg", "f32[2]", "--arg", "f32[2]", "--grad", "5"], ["--grad 5", "2 argument"]),
        (
            ["--arg", "f32[2]", "--arg", "f32[2]", "--stage", "optimised"],
            ["optimised", "optimized"],
        ),
        (["--arg", "f32[2]", "--arg", "f32[2]", "--stage", "llvm", "--after", "dce"], ["--after"]),
    ],
)
def test_bad_command_line(capsys, argv, needles):
    assert_one_line_error(*dump(capsys, LOSS + ":loss", *argv), *needles, status=2)


def test_missing_file(capsys):
    assert_one_line_error(
        *dump(capsys, "no/such/file.py:loss"), "no such file: no/such/file.py", status=2
    )


def test_missing_function(capsys):
    assert_one_line_error(
        *dump(capsys, LOSS + ":nope"), "no function 'nope'", "defines: loss", status=2
    )


def test_target_without_function(capsys):
    assert_one_line_error(*dump(capsys, LOSS), "FILE.py:FUNCTION", status=2)


def test_not_callable(tmp_path, capsys):
    src = tmp_path / "c.py"
    src.write_text("X = 3\n")
    assert_one_line_error(*dump(capsys, f"{src}:X"), "int, not a function", status=2)


def test_shape_error_names_user_line(capsys):
    res = dump(capsys, LOSS + ":loss", "--arg", "f32[2]", "--arg", "f32[3]")
    assert_one_line_error(*res, "loss.py:11", "(2,)", "(3,)", status=1)


def test_python_error_in_user_code_names_line(tmp_path, capsys):
    src = tmp_path / "buggy.py"
    src.write_text("def f(x):\n    y = x + 1\n    return undefined_name * y\n")
    assert_one_line_error(
        *dump(capsys, f"{src}:f", "--arg", "f64[2]"),
        "buggy.py:3",
        "NameError",
        "undefined_name",
        status=1,
    )


def test_module_that_fails_to_import(tmp_path, capsys):
    src = tmp_path / "broken.py"
    src.write_text("import numpy as np\n\ndef f(x:\n    return x\n")
    assert_one_line_error(
        *dump(capsys, f"{src}:f", "--arg", "f64[2]"),
        "cannot load",
        "SyntaxError",
        "broken.py:3",
        status=1,
    )


def test_multiline_message_stays_one_line(tmp_path, capsys):
    src = tmp_path / "ml.py"
    src.write_text("def f(x):\n    raise ValueError('first\\nsecond')\n")
    assert_one_line_error(*dump(capsys, f"{src}:f", "--arg", "f64[2]"), "first second", status=1)


def test_error_line_follows_the_rule_node_locations_use():
    """Code the user execs (``<string>``) is the user's for error lines as for IR comments."""
    from graphc.cli import _describe

    try:
        exec(compile("def g():\n    raise ValueError('boom')\ng()\n", "<string>", "exec"), {})
    except ValueError as e:
        assert _describe(e) == "<string>:2: ValueError: boom"
    else:
        raise AssertionError("exec did not raise")


def test_verbose_shows_traceback(capsys):
    rc, _, err = dump(capsys, LOSS + ":loss", "--arg", "f32[2]", "--arg", "f32[3]", "--verbose")
    assert rc == 1
    assert "Traceback (most recent call last)" in err and "ShapeError" in err
    assert err.rstrip("\n").splitlines()[-1].startswith("graphc: error: loss.py:11")


def test_sibling_imports_work(tmp_path, capsys):
    (tmp_path / "helper_mod_for_cli.py").write_text("SCALE = 4.0\n")
    (tmp_path / "main_mod.py").write_text(
        "from helper_mod_for_cli import SCALE\n\ndef f(x):\n    return x * SCALE\n"
    )
    rc, _, err = dump(capsys, f"{tmp_path}/main_mod.py:f", "--arg", "f64[2]")
    assert rc == 0, err
    assert str(tmp_path) not in sys.path  # the folder was only on the path while loading


def test_module_with_dataclass(tmp_path, capsys):
    """The file is a real module while it runs: dataclasses with string annotations work."""
    (tmp_path / "dc.py").write_text(
        "from __future__ import annotations\nimport dataclasses\n\n"
        "@dataclasses.dataclass\nclass Cfg:\n    scale: float = 2.0\n\n"
        "def f(x):\n    return x * Cfg().scale\n"
    )
    rc, out, err = dump(capsys, f"{tmp_path}/dc.py:f", "--arg", "f64[2]")
    assert rc == 0, err
    assert "f64[2] = mul" in out


# --- the two entry points -------------------------------------------------------------------------
def test_help(capsys):
    assert main(["dump", "--help"]) == 0
    assert "--stage" in capsys.readouterr().out
    assert main([]) == 2


def test_python_dash_m():
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "graphc",
            "dump",
            "examples/loss.py:loss",
            "--arg",
            "f32[2,3]",
            "--arg",
            "f32[2,3]",
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == LOSS_TRACED
    res = subprocess.run(
        [sys.executable, "-m", "graphc", "dump", "examples/loss.py:loss", "--arg", "x"],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "'x'" in res.stderr


def test_console_script_is_declared():
    """pyproject's ``graphc`` script points at the function these tests exercise."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        text = f.read()
    assert re.search(r'^graphc = "graphc\.cli:main"$', text, re.MULTILINE)
    assert re.search(r'^name = "graphc-compiler"$', text, re.MULTILINE)


def test_a_transformed_function_dumps_its_own_graph(capsys, tmp_path):
    """``jr = gc.jacobian(f)`` dumps the Jacobian's graph (cos appears, the output is 3x3), not f's;
    a ``gc.function`` is unwrapped to the function it compiles."""
    src = tmp_path / "jr.py"
    src.write_text("import numpy as np\nimport graphc as gc\n\n\ndef f(x):\n"
                   "    return np.sin(x) * x\n\n\njr = gc.jacobian(f)\nff = gc.function(f)\n")
    rc, out, _ = dump(capsys, f"{src}:jr", "--arg", "f64[3]")
    assert rc == 0 and out.startswith("graph jacobian_f(") and " cos " in out
    assert re.search(r"%\d+: f64\[3,3\] = .*\n  return %\d+\n}", out)
    rc, out, _ = dump(capsys, f"{src}:ff", "--arg", "f64[3]")
    assert rc == 0 and out.startswith("graph f(") and " cos " not in out
