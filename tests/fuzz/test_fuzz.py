"""Random-program differential tests (issue 8): compiled vs reference, derivatives vs central
differences, jvp vs vjp, both HVP compositions, second inputs and odd layouts — and tests that
the harness itself catches wrong numbers and survives a dying worker.

No known-bug class is masked here: a program that hits an open bug fails this test until the fix
lands (the failure message is a standalone reproducer).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from .checks import Outcome, ProgramCheck, _fd_mismatch
from .generate import programs, random_program, replay_program
from .program import Leaf, Op, Program

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _assert_ok(prog):
    out = ProgramCheck(prog).run()
    assert out.status == "ok", f"{out.signature}\n{out.detail}\n\n{prog.reproducer(out.check)}"


@settings(max_examples=120, suppress_health_check=SLOW)
@given(programs(max_ops=6))
def test_short_programs(prog):
    _assert_ok(prog)


@settings(max_examples=40, suppress_health_check=SLOW)
@given(programs(max_ops=20))
def test_long_programs(prog):
    _assert_ok(prog)


@pytest.mark.parametrize("seed", range(8))
def test_campaign_generator_is_deterministic_and_replayable(seed):
    prog, choices = random_program(seed)
    again, _ = random_program(seed)
    assert prog.source() == again.source() == replay_program(choices).source()


def _tiny(expr="np.sin(x0) * 2.0", kind="sin"):
    x = Leaf("x0", (7,), -2.0, 2.0, seed=1, arg=True)
    return Program("float32", [x], [Op("v1", expr, kind, (7,), -2.0, 2.0, exact=False)])


def test_compare_catches_a_wrong_compiled_value():
    check = ProgramCheck(_tiny())
    r = {d: check.call(_ref(check, d), d, check.xs) for d in ("float32", "float64")}
    assert check.compare(r["float32"], r, "same").status == "ok"
    wrong = {k: [np.asarray(a) * (1 + 2e-5) for a in v] for k, v in r["float32"].items()}
    assert check.compare(wrong, r, "perturbed").status == "mismatch"


def _ref(check, dtype):
    from graphc.trace.function import Function

    from .checks import derivatives

    return Function(derivatives(check.prog.build(dtype), 1), backend="reference", optimize=False)


def test_numeric_check_catches_a_wrong_derivative_and_spares_a_kink():
    smooth = [[(np.array([1.0]), np.array([1.0]), np.array([1.0]))]] * 2
    assert _fd_mismatch(np.array([1.0]), smooth, 0, np.array([3.0])) == ""
    assert _fd_mismatch(np.array([1.1]), smooth, 0, np.array([3.0])) != ""
    kink = [[(np.array([0.0]), np.array([1.0]), np.array([-1.0]))]] * 2  # |x| at 0
    assert _fd_mismatch(np.array([0.5]), kink, 0, np.array([0.0])) == ""


def test_exact_programs_must_be_bit_identical():
    prog = _tiny("x0[::-1] * 0.5", "slice")
    prog.ops[0] = Op("v1", "x0[::-1] * 0.5", "slice", (7,), -1.0, 1.0, exact=True)
    assert prog.exact and ProgramCheck(prog).run() == Outcome("ok")


def test_reproducer_is_a_standalone_script(tmp_path):
    path = tmp_path / "repro.py"
    path.write_text(_tiny().reproducer("value"))
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, GRAPHC_CACHE="0"))
    assert run.returncode == 0, run.stderr
    assert "hvp_rev_over_rev" in run.stdout


def test_campaign_survives_a_worker_abort(tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, os.path.join(ROOT, "tools", "fuzz.py"), "3", "0", "--jobs", "1",
         "--out", str(out), "--max-repro", "0"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, GRAPHC_FUZZ_ABORT_SEED="1", GRAPHC_CACHE="0"))
    recs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["seed"] for r in recs) == [0, 1, 2], run.stdout + run.stderr
    (dead,) = [r for r in recs if r["seed"] == 1]
    assert dead["status"] == "crash" and dead["check"] == "abort"


def test_central_difference_of_a_square_and_of_abs_at_zero():
    from graphc.testing import central_difference

    (c, fwd, bwd), = central_difference(lambda a: [a[0] ** 2], [np.array([3.0])], [np.ones(1)],
                                        (1e-5,))[0]
    np.testing.assert_allclose([c, fwd, bwd], [[6.0]] * 3, rtol=1e-4)
    (c, fwd, bwd), = central_difference(lambda a: [np.abs(a[0])], [np.zeros(1)], [np.ones(1)],
                                        (1e-8,))[0]
    assert c == 0.0 and fwd == 1.0 and bwd == -1.0
