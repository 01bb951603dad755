"""Issue 8 item 9: under the ``graphc`` console script and ``python -m graphc`` every node of a
dump, gradient nodes included, names the user's FILE.py:line (not the installed ``bin/graphc``
shim, nor nothing). Run in subprocesses, as a user would; expected lines are read from the user
file's own text."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(os.path.dirname(sys.executable), "graphc")

USER_FILE = """\
import numpy as np


def f(x, y, unused):
    z = x * y
    w = np.sin(z)
    return np.sum(w * x + z)
"""


def lines_of(text: str, *needles: str) -> set[int]:
    return {i for i, line in enumerate(text.splitlines(), 1) if any(n in line for n in needles)}


def run(cmd, cwd):
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout


COMMANDS = {
    "console-script": [SCRIPT],
    "python-m": [sys.executable, "-m", "graphc"],
}


@pytest.mark.parametrize("how", COMMANDS)
@pytest.mark.parametrize("stage", ["traced", "optimized"])
def test_every_dumped_node_names_the_users_line(how, stage, tmp_path):
    if how == "console-script" and not os.path.exists(SCRIPT):
        pytest.skip(f"no console script at {SCRIPT} (graphc is not installed in this environment)")
    (tmp_path / "user_prog.py").write_text(USER_FILE)
    body = lines_of(USER_FILE, "z =", "w =", "return")
    (def_line,) = lines_of(USER_FILE, "def f")
    args = ["dump", "user_prog.py:f", "--grad", "0,1,2", "--stage", stage]
    args += [a for _ in range(3) for a in ("--arg", "f32[3]")]
    out = run(COMMANDS[how] + args, tmp_path)
    nodes = [ln for ln in out.splitlines() if re.match(r"\s+%\d+.* = ", ln)]
    assert nodes, out
    bwd = 0
    for ln in nodes:
        m = re.search(r"#( bwd)? user_prog\.py:(\d+)$", ln)
        assert m, f"node without the user's location: {ln!r}\n{out}"
        line = int(m.group(2))
        if m.group(1):
            bwd += 1
            # gradient nodes: the forward op's line; zeros for `unused`: its def line
            assert line in body | {def_line}, ln
        else:
            assert line in body, ln
    assert bwd >= 5 and "graphc:" not in out and "__main__" not in out
    zeros = [ln for ln in nodes if f"user_prog.py:{def_line}" in ln]
    assert zeros and all("bwd" in ln for ln in zeros)
