"""The math oracle of the test suite (tests/oracles.py) against values known independently of it:
published constants, Python's scalar libm in float64 rounded to float32 (float64 is ~2^29 times
finer, so it rounds the same away from ties), hand-made rounding ties, and C99 Annex F."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import oracles
import pytest

F32, F64 = np.float32, np.float64
H = float.fromhex


def _bits_equal(got, want):
    got, want = np.asarray(got), np.asarray(want, dtype=got.dtype)
    return np.array_equal(got, want, equal_nan=True) and np.array_equal(
        np.signbit(got), np.signbit(want)
    )


def test_published_constants():
    assert oracles.correctly_rounded("exp", 1.0, dtype=F64) == math.e
    assert oracles.correctly_rounded("log", 2.0, dtype=F64) == H("0x1.62e42fefa39efp-1")
    assert oracles.correctly_rounded("atan2", 0.0, -1.0, dtype=F64) == math.pi
    assert oracles.correctly_rounded("atan2", 1.0, 1.0, dtype=F64) == math.pi / 4
    assert oracles.correctly_rounded("atan2", 0.0, -1.0, dtype=F32) == H("0x1.921fb6p+1")
    # the point where NumPy 2.4's AVX-512 float32 arctan2 is off by one ulp
    assert oracles.correctly_rounded("atan2", 0.5, 3.0, dtype=F32) == H("0x1.523978p-3")


@pytest.mark.parametrize(
    "fname,fn,lo,hi",
    [
        ("exp", math.exp, -80, 80),
        ("log", math.log, 1e-3, 1e3),
        ("sin", math.sin, -100, 100),
        ("tanh", math.tanh, -5, 5),
        ("atan2", math.atan2, -5, 5),
        ("pow", math.pow, 0.1, 8),
    ],
)
def test_float32_agrees_with_scalar_libm_in_float64(fname, fn, lo, hi):
    rng = np.random.default_rng(5)
    arity = 2 if fname in ("atan2", "pow") else 1
    args = [rng.uniform(lo, hi, 300).astype(F32) for _ in range(arity)]
    want = np.array([fn(*(float(a[i]) for a in args)) for i in range(300)]).astype(F32)
    assert _bits_equal(oracles.correctly_rounded(fname, *args, dtype=F32), want)


def test_rounding_ties_subnormals_and_overflow():
    u = Fraction(1, 2**24)  # half an ulp of 1 in float32
    f32_max = Fraction(np.finfo(F32).max.item())
    cases = [
        (1 + u, 1.0),  # tie: to even
        (1 + 3 * u, 1 + 4 * u),  # tie: to even, upwards
        (1 + u + Fraction(1, 2**80), 1 + 2 * u),  # just above the tie
        (Fraction(1, 2**150), 0.0),  # half the smallest subnormal: to even (zero)
        (Fraction(3, 2**150), 2.0**-148),
        (-Fraction(1, 2**151), -0.0),  # keeps the sign
        (f32_max + Fraction(2**103), math.inf),  # max + half an ulp: tie to even is inf
        (f32_max + Fraction(2**103) - 1, float(f32_max)),
    ]
    got = oracles.round_to(np.array([c for c, _ in cases], dtype=object), F32)
    assert _bits_equal(got, [w for _, w in cases])


INF, NAN = math.inf, math.nan
C99 = [  # (function, operands, result) from C99 Annex F
    ("pow", (NAN, 0.0), 1.0),
    ("pow", (1.0, NAN), 1.0),
    ("pow", (-1.0, INF), 1.0),
    ("pow", (-0.0, -3.0), -INF),
    ("pow", (-0.0, -2.0), INF),
    ("pow", (-0.0, 3.0), -0.0),
    ("pow", (-8.0, 1 / 3), NAN),
    ("pow", (0.5, -INF), INF),
    ("pow", (-INF, -3.0), -0.0),
    ("pow", (-2.0, 3.0), -8.0),
    ("atan2", (-0.0, -0.0), -math.pi),
    ("atan2", (0.0, -0.0), math.pi),
    ("atan2", (-0.0, 0.0), -0.0),
    ("atan2", (-INF, INF), -math.pi / 4),
    ("atan2", (1.0, 0.0), math.pi / 2),
    ("exp", (-INF,), 0.0),
    ("log", (-0.0,), -INF),
    ("log", (-1.0,), NAN),
    ("log1p", (-1.0,), -INF),
    ("expm1", (-0.0,), -0.0),
    ("tanh", (-INF,), -1.0),
    ("sin", (INF,), NAN),
    ("sqrt", (-0.0,), -0.0),
    ("div", (-1.0, 0.0), -INF),
    ("div", (0.0, -0.0), NAN),
    ("mul", (-0.0, 3.0), -0.0),
    ("add", (-0.0, -0.0), -0.0),
    ("sub", (1.0, 1.0), 0.0),
]


@pytest.mark.parametrize("fname,args,want", C99, ids=[f"{c[0]}{c[1]}" for c in C99])
def test_c99_special_values(fname, args, want):
    assert _bits_equal(oracles.correctly_rounded(fname, *args, dtype=F64), want)


def test_ulp_error():
    one = np.array([1.0], F32)
    exact = oracles.exact("exp", np.zeros(1))
    assert oracles.ulp_error(one, exact, F32)[0] == 0
    assert oracles.ulp_error(np.nextafter(one, F32(2)), exact, F32)[0] == 1
    assert oracles.ulp_error(np.nextafter(one, F32(0)), exact, F32)[0] == 0.5  # finer below 1
    zeros = oracles.exact("mul", [-0.0], [1.0])
    assert oracles.ulp_error(np.array([0.0], F32), zeros, F32)[0] == np.inf  # sign of zero
    assert oracles.ulp_error(np.array([np.nan], F32), exact, F32)[0] == np.inf
    # an exact value that rounds to zero is measured, not matched: 1/4 of the subnormal spacing
    tiny = np.array([Fraction(1, 2**151)], dtype=object)
    assert oracles.ulp_error(np.array([0.0], F32), tiny, F32)[0] == 0.25
    assert oracles.ulp_error(np.array([2.0**-149], F32), tiny, F32)[0] == 0.75


def test_assert_ulp_reports_the_worst_point():
    x = np.array([0.5, 1.0, 2.0], F32)
    got = oracles.correctly_rounded("exp", x, dtype=F32)
    got[1] = np.nextafter(got[1], F32(10))
    oracles.assert_ulp(got, "exp", [x], F32, 1.5)
    with pytest.raises(AssertionError, match=r"at \(1\.0 \(0x1\.0+p\+0\)\).*ulp"):
        oracles.assert_ulp(got, "exp", [x], F32, 0.6)
