"""Accuracy (in ulps), special values and vectorization of graphc.backend.llvm.mathlib.

Each function runs compiled inside an O3-vectorized loop (the code users get). Every asserted error
is measured against the exact result (mpmath, tests/oracles.py), with the bounds of
``oracles.GRAPHC_ULP``. Large random samples are first screened with NumPy at higher precision
(float64 for float32, long double for float64: errors far below the margins); the worst points of
the screen and a random subset are then measured exactly, which also checks the screen.
"""

from __future__ import annotations

import platform
import re

import numpy as np
import oracles
import pytest
from oracles import GRAPHC_SUBNORMAL_ULP, GRAPHC_ULP

from graphc.backend.llvm import mathlib
from graphc.errors import GraphcError

try:  # tests/backend is a package when it has an __init__.py, a plain folder otherwise
    from ._mathlib_harness import Compiled
except ImportError:
    from _mathlib_harness import Compiled

F32, F64 = np.float32, np.float64
LONG_DOUBLE_OK = np.finfo(np.longdouble).nmant >= 63
N = 200_000
N_EXACT = 48  # points per sample measured exactly: the screen's worst, and as many at random
_SCREEN = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log1p": np.log1p,
    "sin": np.sin,
    "cos": np.cos,
    "tanh": np.tanh,
    "atan2": np.arctan2,
    "pow": np.power,
}


@pytest.fixture(scope="module")
def lib():
    return Compiled(mathlib.NAMES)


def _sfx(dt):
    return "f32" if dt is F32 else "f64"


def _call(lib, fn, dt, a, b=None):
    return lib.call(f"gc_{fn}_{_sfx(dt)}", a, b)


def _screen(fn, dt, args):
    """Errors against NumPy at higher precision, or None where long double is plain double."""
    if dt is F64 and not LONG_DOUBLE_OK:
        return None
    hp = np.float64 if dt is F32 else np.longdouble
    with np.errstate(all="ignore"):
        return _SCREEN[fn](*(a.astype(hp) for a in args))


def _max_ulp(lib, fn, dt, a, b=None):
    """The largest exact error over the screen's worst points and a random subset (all points
    when there is no screen), and where it is."""
    args = [np.asarray(a).astype(dt)] + ([] if b is None else [np.asarray(b).astype(dt)])
    got = _call(lib, fn, dt, *args)
    ref = _screen(fn, dt, args)
    rng = np.random.default_rng(99)
    if ref is None:
        idx = rng.choice(got.size, size=min(got.size, 40 * N_EXACT), replace=False)
    else:
        screened = oracles.ulp_error(got, ref, dt)
        worst = np.argpartition(screened, -N_EXACT)[-N_EXACT:]
        idx = np.unique(np.concatenate([worst, rng.choice(got.size, N_EXACT)]))
    sub = [x[idx] for x in args]
    want = oracles.exact(fn, *sub)
    err = oracles.ulp_error(got[idx], want, dt)
    if ref is not None:  # the screen is trustworthy: it agrees with the exact errors
        finite = np.isfinite(err)
        assert np.allclose(screened[idx][finite], err[finite], rtol=0, atol=5e-3), fn
    return float(err.max()), oracles.describe(got[idx], sub, want, dt, err)


def _rng():
    return np.random.default_rng(1234)


def _logspace(rng, lo, hi):
    """Positive samples spread evenly over the exponent range [e**lo, e**hi]."""
    return np.exp(rng.uniform(lo, hi, N))


# (function, label, sampler[, bound table]): samplers return (a,) or (a, b); the bound is
# oracles.GRAPHC_ULP's, or the table named (GRAPHC_SUBNORMAL_ULP where results include subnormals).
EXP_LIM = {F32: 88.7, F64: 709.7}
LOG_LIM = {F32: 87.0, F64: 708.0}
TRIG_LIM = {F32: 1e6, F64: 5e14}
SUB = GRAPHC_SUBNORMAL_ULP
# fmt: off
CASES = [
    ("exp", "normal results", lambda r, d: (r.uniform(-LOG_LIM[d], EXP_LIM[d], N),)),
    ("exp", "[-1, 1]", lambda r, d: (r.uniform(-1, 1, N),)),
    ("exp", "subnormal results", lambda r, d: (r.uniform(-EXP_LIM[d] - 36, -LOG_LIM[d] - 1, N),),
     SUB),
    ("expm1", "whole range", lambda r, d: (r.uniform(-30, EXP_LIM[d], N),)),
    ("expm1", "[-1, 1]", lambda r, d: (r.uniform(-1, 1, N),)),
    ("expm1", "tiny +-", lambda r, d: (_logspace(r, -60, 0) * r.choice([-1, 1], N),)),
    ("log", "all positive", lambda r, d: (_logspace(r, -LOG_LIM[d] - 15, LOG_LIM[d]),)),
    ("log", "[0.5, 2]", lambda r, d: (r.uniform(0.5, 2, N),)),
    ("log1p", "(-1, 3]", lambda r, d: (r.uniform(-1, 3, N),)),
    ("log1p", "tiny to huge", lambda r, d: (_logspace(r, -60, LOG_LIM[d]),)),
    ("log1p", "(-1, 0)", lambda r, d: (-_logspace(r, -60, 0),)),
    ("sin", "|x| <= 4", lambda r, d: (r.uniform(-4, 4, N),)),
    ("sin", "large", lambda r, d: (r.uniform(-TRIG_LIM[d], TRIG_LIM[d], N),)),
    ("sin", "tiny", lambda r, d: (_logspace(r, -80, 0),)),
    ("cos", "|x| <= 4", lambda r, d: (r.uniform(-4, 4, N),)),
    ("cos", "large", lambda r, d: (r.uniform(-TRIG_LIM[d], TRIG_LIM[d], N),)),
    ("tanh", "|x| <= 10", lambda r, d: (r.uniform(-10, 10, N),)),
    ("tanh", "|x| <= 1", lambda r, d: (r.uniform(-1, 1, N),)),
    ("tanh", "tiny", lambda r, d: (_logspace(r, -60, 0) * r.choice([-1, 1], N),)),
    ("atan2", "normal", lambda r, d: (r.standard_normal(N), r.standard_normal(N))),
    ("atan2", "wide magnitudes", lambda r, d: (r.standard_normal(N) * _logspace(r, -40, 40),
                                               r.standard_normal(N) * _logspace(r, -40, 40))),
    ("pow", "x in [e^-5, e^5], |y| < 50",
     lambda r, d: (_logspace(r, -5, 5), r.uniform(-50, 50, N))),
    ("pow", "results over the whole range", lambda r, d: _wide_pow(r, d), SUB),
    ("pow", "negative x, integer y",
     lambda r, d: (-np.floor(r.uniform(1, 30, N)), np.floor(r.uniform(-20, 20, N)))),
]
# fmt: on


def _wide_pow(rng, dt):
    x = _logspace(rng, -3, 3)
    target = rng.uniform(
        -LOG_LIM[dt] - 10, EXP_LIM[dt], N
    )  # log of the result, subnormal to near-overflow
    return x, target / np.log(x)


@pytest.mark.parametrize("dt", [F32, F64], ids=_sfx)
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_accuracy(lib, case, dt):
    fn, label, sampler, table = (*case, GRAPHC_ULP)[:4]
    err, where = _max_ulp(lib, fn, dt, *sampler(_rng(), dt))
    assert err <= oracles.bound(table, fn, dt), f"{fn} {label}: {err:.3f} ulp {where}"


@pytest.mark.parametrize("dt", [F32, F64])
@pytest.mark.parametrize("fn", ["sin", "cos"])
def test_trig_near_multiples_of_half_pi(lib, fn, dt):
    """The floats closest to k*pi/2 are where argument reduction cancels most."""
    rng = _rng()
    kmax = TRIG_LIM[dt] / (np.pi / 2)
    k = np.arange(1, int(kmax)) if dt is F32 else np.floor(rng.uniform(1, kmax, N))
    half_pi = np.longdouble("1.57079632679489661923132169163975144")
    x = (k.astype(np.longdouble) * half_pi).astype(dt)
    x = np.concatenate([x, np.nextafter(x, dt(np.inf)), np.nextafter(x, dt(0)), -x])
    err, where = _max_ulp(lib, fn, dt, x)
    assert err <= oracles.bound(GRAPHC_ULP, fn, dt), f"{fn}: {err:.3f} ulp {where}"


def _assert_special(lib, fn, dt, a, b=None, table=GRAPHC_ULP):
    """Every point against the exact result: NaN, infinities and signed zeros exactly (C99 Annex
    F), within the table's bound elsewhere."""
    args = [np.asarray(a, dtype=dt)] + ([] if b is None else [np.asarray(b, dtype=dt)])
    got = _call(lib, fn, dt, *args)
    oracles.assert_ulp(got, fn, args, dt, oracles.bound(table, fn, dt), what="mathlib")


def _specials(dt):
    fi = np.finfo(dt)
    v = [0.0, 1.0, 0.5, 2.0, 3.0, np.inf, 1e-30, 1e30]
    v += [fi.smallest_subnormal, fi.smallest_normal, fi.max]
    return np.array([s * x for x in v for s in (1, -1)] + [np.nan], dtype=dt)


@pytest.mark.parametrize("dt", [F32, F64])
@pytest.mark.parametrize("fn", ["exp", "expm1", "log", "log1p", "sin", "cos", "tanh"])
def test_special_values(lib, fn, dt):
    x = _specials(dt)
    if fn in ("sin", "cos"):  # beyond the reduction's range: documented as bounded, not accurate
        huge = np.abs(x) > TRIG_LIM[dt]
        got = lib.call(f"gc_{fn}_{_sfx(dt)}", x[huge & np.isfinite(x)])
        assert np.all(np.abs(got) <= 1.0), got
        x = x[~huge | ~np.isfinite(x)]
    _assert_special(lib, fn, dt, x)


def _around(values, dt, steps=3):
    """Each value and its `steps` neighbouring floats on both sides."""
    out = []
    for v in np.asarray(values, dtype=dt):
        lo = hi = v
        out.append(v)
        for _ in range(steps):
            with np.errstate(over="ignore"):  # the neighbour of max is inf: kept on purpose
                lo, hi = np.nextafter(lo, dt(-np.inf)), np.nextafter(hi, dt(np.inf))
            out += [lo, hi]
    return np.array(out, dtype=dt)


@pytest.mark.parametrize("dt", [F32, F64])
def test_exp_overflow_underflow_edges(lib, dt):
    """ln(max) (last finite result), ln(smallest normal), ln(smallest subnormal) and half of it
    (rounds to 0)."""
    fi = np.finfo(dt)
    edges = [
        np.log(float(fi.max)),
        np.log(float(fi.smallest_normal)),
        np.log(float(fi.smallest_subnormal)),
        np.log(float(fi.smallest_subnormal)) - np.log(2.0),
        88.72283 if dt is F32 else 709.782712893384,
        -103.97208 if dt is F32 else -745.1332191019412,
    ]
    x = _around(edges, dt, steps=20)
    _assert_special(lib, "exp", dt, x, table=SUB)
    _assert_special(lib, "expm1", dt, _around([np.log(float(fi.max))], dt, steps=20))


@pytest.mark.parametrize("dt", [F32, F64])
def test_log_edges(lib, dt):
    fi = np.finfo(dt)
    x = _around(
        [fi.smallest_subnormal, fi.smallest_normal, 1.0, fi.max, np.sqrt(0.5), np.sqrt(2.0)], dt
    )
    x = x[x > 0]
    _assert_special(lib, "log", dt, x)
    _assert_special(lib, "log1p", dt, np.concatenate([x, -x[x < 1]]))


@pytest.mark.parametrize("dt", [F32, F64])
def test_atan2_c99_table(lib, dt):
    """Every pairing of signed zeros, infinities, NaN, subnormals, huge and ordinary values."""
    v = _specials(dt)
    y, x = np.meshgrid(v, v)
    _assert_special(lib, "atan2", dt, y.ravel(), x.ravel())


@pytest.mark.parametrize("dt", [F32, F64])
def test_pow_c99_table(lib, dt):
    """C99 Annex F: pow(x, +-0) = 1 and pow(1, y) = 1 even for NaN, signed zeros and infinities with
    odd and even integer exponents, negative x with non-integer y is NaN, pow(-1, +-inf) = 1, ..."""
    fi = np.finfo(dt)
    xs = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -8.0, np.inf, -np.inf, np.nan]
    xs += [fi.smallest_subnormal, -fi.smallest_subnormal, fi.max, -fi.max]
    xs += [1.0 + fi.eps, 1.0 - fi.epsneg]
    ys = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 1 / 3, np.inf, -np.inf, np.nan]
    ys += [1e10, -1e10, 2.0**60 + 2.0**10, 2.0**24 + 1, -(2.0**24 + 1), 0.1]
    y, x = np.meshgrid(ys, xs)
    _assert_special(lib, "pow", dt, x.ravel(), y.ravel(), table=SUB)


@pytest.mark.parametrize("fn", ["sin", "tanh", "expm1", "log1p", "atan2"])
@pytest.mark.parametrize("dt", [F32, F64])
def test_signed_zero_and_subnormal_pass_through(lib, fn, dt):
    """f(x) = x for odd functions with f'(0) = 1, down to the smallest subnormal (no flush to
    zero)."""
    fi = np.finfo(dt)
    x = np.array(
        [0.0, -0.0, fi.smallest_subnormal, -fi.smallest_subnormal, fi.smallest_normal], dtype=dt
    )
    got = lib.call(f"gc_{fn}_{_sfx(dt)}", x, np.ones_like(x) if fn == "atan2" else None)
    assert np.array_equal(got, x) and np.array_equal(np.signbit(got), np.signbit(x))


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 CPU names")
def test_results_do_not_depend_on_the_cpu(lib):
    """The same bits for AVX2 (haswell) and baseline x86-64 (SSE2, llvm.fma through libm) code as
    for the host's (AVX-512 here): no tolerance needs to know the machine."""
    rng = _rng()
    a, b = rng.standard_normal(4099) * 30, rng.standard_normal(4099) * 3
    for cpu in ("haswell", "x86-64"):
        other = Compiled(mathlib.NAMES, cpu=cpu)
        for name in sorted(mathlib.NAMES):
            dt = F32 if name.endswith("f32") else F64
            x, y = (np.abs(a) if "pow" in name or "log" in name else a).astype(dt), b.astype(dt)
            want, got = lib.call(name, x, y), other.call(name, x, y)
            assert np.array_equal(got.view(f"u{dt().itemsize}"), want.view(f"u{dt().itemsize}")), (
                f"{name} on {cpu}"
            )


def test_vectorized_and_call_free(lib):
    """After inlining, every kernel body is SIMD code with no calls other than LLVM intrinsics."""
    for name in sorted(mathlib.NAMES):
        ir = lib.kernel_ir(name)
        widths = {int(w) for w in re.findall(r"<(\d+) x (?:float|double)>", ir)}
        assert widths and max(widths) >= 2, f"{name} did not vectorize"
        calls = set(re.findall(r"call [^@]*@([\w.]+)", ir))
        assert all(c.startswith("llvm.") for c in calls), f"{name} calls {calls}"


def test_definitions_contract():
    import llvmlite.binding as llvm

    text = mathlib.definitions(["gc_exp_f32", "gc_exp_f32", "gc_pow_f64"])
    assert text.count("define internal float @gc_exp_f32(float %a)") == 1
    assert "define internal double @gc_pow_f64(double %a, double %b)" in text
    assert (
        "declare" not in text
    )  # intrinsics are declared by the parser: no clash with the caller's
    assert re.search(r"\bbr\b|\bphi\b", text) is None  # branch-free
    llvm.parse_assembly(text + "declare float @llvm.fma.f32(float, float, float)\n").verify()
    assert {"gc_exp_f32", "gc_atan2_f64", "gc_pow_f32"} <= mathlib.NAMES and len(
        mathlib.NAMES
    ) == 18
    with pytest.raises(GraphcError, match="gc_exp_f16"):
        mathlib.definitions(["gc_exp_f16"])
