"""Accuracy (in ulps), special values and vectorization of graphc.backend.llvm.mathlib.

Each function runs compiled inside an O3-vectorized loop (the code users get). References: float32
results against NumPy in float64 (exact to far below an f32 ulp); float64 results against NumPy in
long double (x87, 64-bit mantissa). The bounds asserted are the measured maxima (module docstring)
plus a small margin.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from graphc.backend.llvm import mathlib
from graphc.errors import GraphcError

try:  # tests/backend is a package when it has an __init__.py, a plain folder otherwise
    from ._mathlib_harness import Compiled, ulp_error
except ImportError:
    from _mathlib_harness import Compiled, ulp_error

F32, F64 = np.float32, np.float64
LONG_DOUBLE_OK = np.finfo(np.longdouble).nmant >= 63
N = 200_000
_NP = {
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


def _reference(fn, dt, a, b=None):
    if dt is F64 and not LONG_DOUBLE_OK:
        pytest.skip("needs an 80-bit long double for float64 references")
    hp = np.float64 if dt is F32 else np.longdouble
    with np.errstate(all="ignore"):
        args = (a.astype(hp),) if b is None else (a.astype(hp), b.astype(hp))
        return _NP[fn](*args)


def _max_ulp(lib, fn, dt, a, b=None):
    a = np.asarray(a).astype(dt)
    b = None if b is None else np.asarray(b).astype(dt)
    got = lib.call(f"gc_{fn}_{_sfx(dt)}", a, b)
    err = ulp_error(got, _reference(fn, dt, a, b), dt)
    worst = int(np.argmax(err))
    where = f"a={a[worst]!r}" + ("" if b is None else f", b={b[worst]!r}") + f" -> {got[worst]!r}"
    return float(err[worst]), where


def _rng():
    return np.random.default_rng(1234)


def _logspace(rng, lo, hi):
    """Positive samples spread evenly over the exponent range [e**lo, e**hi]."""
    return np.exp(rng.uniform(lo, hi, N))


# (function, dtype, label, sampler, bound in ulps). Samplers return (a,) or (a, b).
EXP_LIM = {F32: 88.7, F64: 709.7}
LOG_LIM = {F32: 87.0, F64: 708.0}
TRIG_LIM = {F32: 1e6, F64: 5e14}
CASES = []
# fmt: off
for _dt in (F32, F64):
    _pow_bound = 0.51 if _dt is F32 else 0.6
    CASES += [
        ("exp", _dt, "normal results", lambda r, d: (r.uniform(-LOG_LIM[d], EXP_LIM[d], N),), 0.55),
        ("exp", _dt, "[-1, 1]", lambda r, d: (r.uniform(-1, 1, N),), 0.55),
        ("exp", _dt, "subnormal results",
         lambda r, d: (r.uniform(-EXP_LIM[d] - 36, -LOG_LIM[d] - 1, N),), 1.0),
        ("expm1", _dt, "whole range", lambda r, d: (r.uniform(-30, EXP_LIM[d], N),), 0.65),
        ("expm1", _dt, "[-1, 1]", lambda r, d: (r.uniform(-1, 1, N),), 0.65),
        ("expm1", _dt, "tiny +-",
         lambda r, d: (_logspace(r, -60, 0) * r.choice([-1, 1], N),), 0.65),
        ("log", _dt, "all positive",
         lambda r, d: (_logspace(r, -LOG_LIM[d] - 15, LOG_LIM[d]),), 0.9),
        ("log", _dt, "[0.5, 2]", lambda r, d: (r.uniform(0.5, 2, N),), 0.9),
        ("log1p", _dt, "(-1, 3]", lambda r, d: (r.uniform(-1, 3, N),), 0.9),
        ("log1p", _dt, "tiny to huge", lambda r, d: (_logspace(r, -60, LOG_LIM[d]),), 0.9),
        ("log1p", _dt, "(-1, 0)", lambda r, d: (-_logspace(r, -60, 0),), 0.9),
        ("sin", _dt, "|x| <= 4", lambda r, d: (r.uniform(-4, 4, N),), 0.85),
        ("sin", _dt, "large", lambda r, d: (r.uniform(-TRIG_LIM[d], TRIG_LIM[d], N),), 0.85),
        ("sin", _dt, "tiny", lambda r, d: (_logspace(r, -80, 0),), 0.85),
        ("cos", _dt, "|x| <= 4", lambda r, d: (r.uniform(-4, 4, N),), 0.85),
        ("cos", _dt, "large", lambda r, d: (r.uniform(-TRIG_LIM[d], TRIG_LIM[d], N),), 0.85),
        ("tanh", _dt, "|x| <= 10", lambda r, d: (r.uniform(-10, 10, N),), 1.1),
        ("tanh", _dt, "|x| <= 1", lambda r, d: (r.uniform(-1, 1, N),), 1.1),
        ("tanh", _dt, "tiny", lambda r, d: (_logspace(r, -60, 0) * r.choice([-1, 1], N),), 1.1),
        ("atan2", _dt, "normal", lambda r, d: (r.standard_normal(N), r.standard_normal(N)), 1.4),
        ("atan2", _dt, "wide magnitudes",
         lambda r, d: (r.standard_normal(N) * _logspace(r, -40, 40),
                       r.standard_normal(N) * _logspace(r, -40, 40)), 1.4),
        ("pow", _dt, "x in [e^-5, e^5], |y| < 50",
         lambda r, d: (_logspace(r, -5, 5), r.uniform(-50, 50, N)), _pow_bound),
        ("pow", _dt, "results over the whole range",
         lambda r, d: _wide_pow(r, d), 0.51 if _dt is F32 else 1.3),
        ("pow", _dt, "negative x, integer y",
         lambda r, d: (-np.floor(r.uniform(1, 30, N)), np.floor(r.uniform(-20, 20, N))),
         _pow_bound),
    ]
# fmt: on


def _wide_pow(rng, dt):
    x = _logspace(rng, -3, 3)
    target = rng.uniform(
        -LOG_LIM[dt] - 10, EXP_LIM[dt], N
    )  # log of the result, subnormal to near-overflow
    return x, target / np.log(x)


@pytest.mark.parametrize(
    "fn,dt,label,sampler,bound", CASES, ids=[f"{c[0]}-{_sfx(c[1])}-{c[2]}" for c in CASES]
)
def test_accuracy(lib, fn, dt, label, sampler, bound):
    err, where = _max_ulp(lib, fn, dt, *sampler(_rng(), dt))
    assert err <= bound, f"{fn} {label}: {err:.3f} ulp at {where}"


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
    assert err <= 0.85, f"{fn}: {err:.3f} ulp at {where}"


def _assert_special(lib, fn, dt, a, b=None, tol=1.0):
    """Exact agreement on NaN, infinities and signed zeros; within tol ulp elsewhere."""
    a = np.asarray(a, dtype=dt)
    b = None if b is None else np.asarray(b, dtype=dt)
    got = lib.call(f"gc_{fn}_{_sfx(dt)}", a, b)
    with np.errstate(all="ignore"):
        want = _NP[fn](a) if b is None else _NP[fn](a, b)
    for i in range(a.size):
        g, w = got.flat[i], want.flat[i]
        args = f"{fn}({a.flat[i]!r}" + ("" if b is None else f", {b.flat[i]!r}") + ")"
        if np.isnan(w) or np.isinf(w) or w == 0:
            ok = (np.isnan(g) and np.isnan(w)) or (g == w and np.signbit(g) == np.signbit(w))
        else:
            ok = ulp_error(np.array([g]), np.array([w], dtype=np.longdouble), dt)[0] <= tol
        assert ok, f"{args}: got {g!r}, want {w!r}"


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
    err, where = _max_ulp(lib, "exp", dt, x)
    assert err <= 1.0, f"exp edge: {err:.3f} ulp at {where}"
    _assert_special(lib, "exp", dt, x)
    err, where = _max_ulp(lib, "expm1", dt, _around([np.log(float(fi.max))], dt, steps=20))
    assert err <= 0.65, f"expm1 edge: {err:.3f} ulp at {where}"


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
    _assert_special(lib, "atan2", dt, y.ravel(), x.ravel(), tol=1.5)


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
    _assert_special(lib, "pow", dt, x.ravel(), y.ravel())


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
