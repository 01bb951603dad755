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

from graphc.trace.function import Function

from .checks import Outcome, ProgramCheck, _fd_mismatch, derivatives
from .generate import programs, random_program, replay_program
from .program import Leaf, Op, Program

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _assert_ok(prog, seed=0):
    out = ProgramCheck(prog, seed).run()
    assert out.status == "ok", f"{out.signature}\n{out.detail}\n\n{prog.reproducer(out.check)}"


@settings(max_examples=120, suppress_health_check=SLOW)
@given(programs(max_ops=6))
def test_short_programs(prog):
    _assert_ok(prog)


@settings(max_examples=40, suppress_health_check=SLOW)
@given(programs(max_ops=20))
def test_long_programs(prog):
    _assert_ok(prog)


@pytest.mark.parametrize("seed", range(40))
def test_campaign_programs(seed):
    """Programs of the campaign generator, whose sizes are uniform (hypothesis favours the
    smallest choices: most of its programs have 1-3 ops)."""
    prog, _ = random_program(seed)
    _assert_ok(prog, seed)


@pytest.mark.parametrize("seed", range(8))
def test_campaign_generator_is_deterministic_and_replayable(seed):
    prog, choices = random_program(seed)
    again, _ = random_program(seed)
    assert prog.source() == again.source() == replay_program(choices).source()


def _tiny(expr="np.sin(x0) * 2.0", kind="sin"):
    x = Leaf("x0", (7,), -2.0, 2.0, seed=1, arg=True)
    return Program("float32", [x], [Op("v1", expr, kind, (7,), -2.0, 2.0, exact=False)])


def _reference(check):
    ref = {d: Function(derivatives(check.prog.build(d), 1), backend="reference", optimize=False)
           for d in ("float32", "float64")}
    return check.reference(ref, check.xs)


def test_compare_catches_a_wrong_compiled_value():
    check = ProgramCheck(_tiny())
    r = _reference(check)
    assert check.compare(r["float32"], r, "same").status == "ok"
    wrong = {k: [np.asarray(a) * (1 + 2e-5) for a in v] for k, v in r["float32"].items()}
    assert check.compare(wrong, r, "perturbed").status == "mismatch"


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


def test_tanh_of_a_contraction_is_within_its_rounding():
    """Found by the dev profile: the vjp of tanh(x0 @ x1) is ``1 - tanh**2`` at |x| ~ 10, whose
    error is absolute (the rounding of tanh ~ 1), 2 ulp of 1 against a result of 2e-4; the old
    bound (NumPy's float32 run as the conditioning sample) allowed half of that."""
    prog = Program("float64", [Leaf("x0", (3,), 0.5, 2.0, 23183, True),
                               Leaf("x1", (3, 1), -2.0, 2.0, 4334, True)],
                   [Op("v2", "x0 @ x1", "contract", (1,), -12.0, 12.0, False),
                    Op("v3", "np.tanh(v2)", "tanh", (1,), -1.0, 1.0, False)])
    _assert_ok(prog)


def test_hvp_compositions_of_a_std_of_two_are_within_their_rounding():
    """Campaign seed 109150: the HVP of std over 2 elements (|x0 - x1| / 2) is 0 but for terms
    ~1/std that cancel; where x0 ~ x1 both compositions are noise of 3e-11, which the old
    absolute floor (1e-12) did not allow and the rounding model does."""
    prog = Program("float32", [Leaf("x0", (129, 7), -2.0, 2.0, 62038, True),
                               Leaf("x1", (129, 7), -2.0, 2.0, 23203, True)],
                   [Op("v2", "np.stack([x0, x1], axis=1)", "stack", (129, 2, 7), -2.0, 2.0, True),
                    Op("v3", "gnp.std(v2, axis=1, keepdims=False)", "std", (129, 7), 0.0, 2.0,
                       False)])
    _assert_ok(prog, 109150)


def _spread(f, *args):
    from .rounding import U32, perturbed_call

    fn = Function(f, backend="reference", optimize=False)
    exact = np.asarray(fn(*args), np.float64)
    rng = np.random.default_rng(0)
    return max(np.max(np.abs(perturbed_call(fn, rng, U32, *args) - exact)) for _ in range(4)) / U32


def test_rounding_model_scales_a_sum_with_its_terms_not_its_result():
    terms = np.array([1e4, 1.0, -1e4] * 43)  # 129 terms, sum 43: it cancelled
    size = np.sum(np.abs(terms))
    # n-ulp errors on the terms: above sum|terms| (ulps of the result 43 would be ~1e2), and
    # below the worst case n sum|terms|
    assert 129 * size > _spread(lambda x: np.sum(x), terms) > size
    c = np.linspace(-1.0, 1.0, 129)
    assert _spread(lambda x: np.dot(x, c), np.ones(129)) > np.sum(np.abs(c))  # result 0


def test_rounding_model_keeps_exact_ops_exact():
    x = np.array([0.5, 2.0, 2.0, -1.0])
    assert _spread(lambda v: np.minimum(np.max(v), -np.abs(v)[::-1].reshape(2, 2)[0]), x) == 0.0
    import graphc as gc

    from .rounding import perturbed_call

    grad = Function(gc.grad(lambda v: np.max(v * 1.5)), backend="reference", optimize=False)
    g = perturbed_call(grad, np.random.default_rng(0), 2.0 ** -24, x)  # max's gradient: its max
    assert np.isfinite(g).all() and np.sum(g) == pytest.approx(1.5, rel=1e-5)


def test_numpy_oracle_catches_a_composite_both_backends_share():
    """Both backends run graphc's sigmoid formula, so only an outside oracle sees it wrong: a
    value off by 2e-6 (relative, beyond float32 rounding) against NumPy's extended precision."""
    check = ProgramCheck(_tiny("gnn.sigmoid(x0 * 4.0)", "sigmoid"))
    r = _reference(check)
    assert check.against_numpy(r["float32"], r).status == "ok"
    wrong = dict(r["float32"], value=[r["float32"]["value"][0] * (1 + 2e-6)])
    out = check.against_numpy(wrong, r)
    assert out.status == "mismatch" and "NumPy" in out.detail


def test_nan_input_check_catches_a_nan_turned_into_zero():
    check = ProgramCheck(_tiny("gnn.relu(x0)", "relu"))
    ref = Function(derivatives(check.prog.build("float32"), 1), backend="reference")
    assert check.nan_input(ref).status == "ok"

    def hides_nan(*a):
        out, *rest = ref(*a)
        return (np.nan_to_num(out), *rest)

    out = check.nan_input(hides_nan)
    assert out.status == "mismatch" and out.check == "nan input"


def test_generator_reaches_every_issue_8_bug_class():
    """Generation only (no compiling): each class in 2,000 campaign programs, at least 3 times."""
    from collections import Counter

    from .coverage import ALL, classes

    seen = Counter(c for seed in range(2000) for c in classes(random_program(seed)[0]))
    assert {c: seen[c] for c in ALL if seen[c] < 3} == {}


def test_ops_take_values_that_depend_on_an_argument():
    """Campaign seed 114808 (old generator): ``v6.dot(x3)`` with ``v6 = c1[None]`` a NumPy
    array, whose method cannot take a traced argument (an invalid program, refused by graphc
    with a TracerBoolError at its line). A constant-valued op is a partner, never an operand."""
    from .generate import Gen, RandomChooser

    g = Gen(RandomChooser(0))
    x = g.leaf((3,), arg=True)
    c = g.leaf((3,), arg=False)
    g.emit("domain", f"{c} * {c} + 0.5", (3,), 0.5, 4.5, exact=True)
    assert {g.operand() for _ in range(50)} == {x}
    v = g.emit("mul", f"{x} * {c}", (3,), -4.0, 4.0)
    assert {g.operand() for _ in range(50)} == {v}


def test_rounding_model_lets_rounding_noise_take_either_sign():
    x = np.full(3, 0.1)  # x - mean(x) is 0 in exact arithmetic, rounding noise in floating point
    assert _spread(lambda v: np.sign(v - np.mean(v)), x) * 2.0 ** -24 >= 1.0
    assert _spread(lambda v: np.sign(v - 1.5), np.array([1.0, 2.0])) == 0.0  # far from 0


def test_sign_of_a_std_of_equal_rows_is_within_its_rounding():
    """Campaign seed 123950 (float64): std over a broadcast axis is 0 in exact arithmetic;
    the compiled code got 0 and the reference 1e-17, so sign gave 0 and 1. The rounding model
    ran with float32-sized errors scaled down to float64, which a jump does not survive."""
    prog = Program("float64", [Leaf("x0", (13,), 0.5, 2.0, 6599, True)],
                   [Op("v1", "np.broadcast_to(np.log1p(x0), (3, 13)) * 0.25", "mul", (3, 13),
                       0.0, 1.0, False),
                    Op("v2", "gnp.std(gnp.sqrt(v1 + 0.5), axis=0, keepdims=True)", "std",
                       (1, 13), 0.0, 1.0, False),
                    Op("v3", "gnp.sign(v2)", "sign", (1, 13), 0.0, 1.0, True)])
    _assert_ok(prog, 123950)


def test_numeric_check_spares_a_midpoint_subgradient():
    """abs'(0) = 0 and max ties split 1/2: both one-sided differences see the same jump, but
    the central differences grow as 1/h instead of converging."""
    jump = [[(np.array([5e4]), np.array([1e5]), np.array([0.0]))],
            [(np.array([5e7]), np.array([5e7]), np.array([5e7]))]]
    assert _fd_mismatch(np.array([0.0]), jump, 0, np.array([1.0])) == ""


def test_mixed_second_derivative_of_pow_at_exponent_zero():
    """Found by fuzzing with an exact 0 in the inputs: pow's rule special-cases y == 0 (for
    x ** 0.0 at x = 0) and so changes d/dy of d/db there. Oracle: d/dy (y b**(y-1)) = 1/b."""
    import graphc as gc
    import graphc.numpy as gnp

    d_db = gc.grad(lambda b, y: gnp.power(b, y), argnums=0)
    for dt in (np.float32, np.float64):
        got = gc.grad(lambda y: d_db(dt(2.0), y))(dt(0.0))
        assert got == pytest.approx(0.5, rel=1e-6)


def test_long_float32_cumsum_is_within_its_rounding():
    """Campaign seed 133820: a float32 cumsum of 3,000 terms near -7 ends 0.77 off (-20703):
    sequential rounding errors of like terms add up, beyond independent per-term errors, and
    the NumPy comparison had dropped NumPy's own float32 run as a conditioning sample."""
    ops = [("v1", "gnn.clip_by_value(x0, 0.0, 0.5)", (2, 1000)), ("v3", "v1 - x1", (2, 1000)),
           ("v4", "gnn.logsumexp(v3, axis=(0,), keepdims=False)", (1000,)),
           ("v6", "gnp.outer(v4, x2)", (1000, 3)), ("v14", "gnp.arccos(v6 * 0.25)", (1000, 3)),
           ("v23", "gnn.log_softmax(v14 / 3.5, axis=-2)", (1000, 3)),
           ("v25", "gnp.cumsum(v23)", (3000,))]
    prog = Program("float32", [Leaf("x0", (2, 1000), 0.5, 2.0, 62419, True),
                               Leaf("x1", (), 0.5, 2.0, 42094, True),
                               Leaf("x2", (3,), -1.0, 1.0, 64095, True)],
                   [Op(out, expr, "cumsum", shape, -3e4, 3e4, False) for out, expr, shape in ops])
    _assert_ok(prog, 133820)
