"""Correctly rounded math oracles for the tests, independent of NumPy's and graphc's math.

Why not NumPy: its float32/float64 functions take different SIMD paths on different CPUs (AVX2,
AVX-512/SVML) and differ from the correctly rounded result by up to a few ulps, differently on each
(float32 ``arctan2`` is 1.9 ulp off on AVX-512), so an expected value taken from NumPy at the same
precision makes a test depend on the machine. Here the exact value comes from mpmath at ``PREC``
bits (special values by the C99 Annex F rules, written out below), exact arithmetic from
``fractions.Fraction``, and rounding to the dtype is integer arithmetic (round half to even,
subnormals and overflow to inf included). Evaluations are cached per input bit pattern, so a few
thousand points cost well under a second.

Tolerances are stated once, as errors in ulps of the *exact* result (a correctly rounded function
has at most 0.5), and do not depend on the CPU: ``GRAPHC_ULP`` for graphc's compiled math library,
``NUMPY_ULP`` for NumPy's functions (what the reference backend and eager evaluation run),
``COMPOSITE_ULP`` for graphc.numpy functions composed from those on the reference backend.
"""

from __future__ import annotations

import functools
import math
import operator
from fractions import Fraction

import mpmath
import numpy as np

PREC = 200  # bits: far more than the 53 + ~70 the hardest float64 cases of exp/log/pow need
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
_INF, _NAN = math.inf, math.nan

# --------------------------------------------------------------------------------- tolerance tables
#: graphc/backend/llvm/mathlib.py (compiled backend): the maxima its docstring states plus a small
#: margin, for normal results. (float32, float64).
GRAPHC_ULP = {
    "exp": (0.55, 0.55),
    "expm1": (0.65, 0.65),
    "log": (0.9, 0.9),
    "log1p": (0.9, 0.9),
    "sin": (0.85, 0.85),
    "cos": (0.85, 0.85),
    "tanh": (1.1, 1.1),
    "atan2": (1.4, 1.4),
    "pow": (0.51, 0.6),
    "sqrt": (0.5, 0.5),  # llvm.sqrt: IEEE, correctly rounded
}
#: Subnormal results take two roundings (mathlib docstring: exp 0.75, f64 pow 0.76).
GRAPHC_SUBNORMAL_ULP = {"exp": (0.8, 0.8), "pow": (0.51, 0.8)}
#: NumPy's functions: the largest ulp error that NumPy's own validation data
#: (numpy/_core/tests/data/umath-validation-set-*.csv, which covers its SIMD paths) allows against
#: the correctly rounded result, plus 0.5 for measuring against the exact one. arctan2 and power are
#: not in that data: they get its largest bound (4 ulp), as does float64 where it states none.
NUMPY_ULP = {
    "exp": (3.5, 1.5),
    "expm1": (3.5, 1.5),
    "log": (4.5, 1.5),
    "log1p": (2.5, 1.5),
    "sin": (2.5, 1.5),
    "cos": (2.5, 1.5),
    "tanh": (2.5, 2.5),
    "atan2": (4.5, 4.5),
    "pow": (4.5, 4.5),
    "sqrt": (0.5, 0.5),  # IEEE operations: correctly rounded
    "div": (0.5, 0.5),
}


def _sum(*parts):
    return tuple(sum(p[i] for p in parts) for i in range(2))


_HALF, _ONE = (0.5, 0.5), (1.0, 1.0)
#: graphc.numpy composites on the reference backend: twice the sum of their parts' bounds (an error
#: of k ulps relative to one value is up to 2k ulps of another of the same relative error, when the
#: two sit at opposite ends of a binade) plus the extra roundings. Holds on well-conditioned inputs.
COMPOSITE_ULP = {
    "log2": _sum(NUMPY_ULP["log"], NUMPY_ULP["log"], _ONE, _HALF),  # log(x) * rounded 1/ln 2
    "log10": _sum(NUMPY_ULP["log"], NUMPY_ULP["log"], _ONE, _HALF),  # log(x) * rounded 1/ln 10
    "tan": _sum(NUMPY_ULP["sin"], NUMPY_ULP["cos"], NUMPY_ULP["sin"], NUMPY_ULP["cos"], _HALF),
    "sinh": _sum(NUMPY_ULP["expm1"], NUMPY_ULP["expm1"], _ONE, _HALF),  # (em(x) - em(-x)) / 2
    "cosh": _sum(NUMPY_ULP["exp"], NUMPY_ULP["exp"], _ONE, _HALF),
    "arctan": NUMPY_ULP["atan2"],  # atan2(x, 1)
    # atan2(x, sqrt((1 - x)(1 + x))) and atan2(sqrt(..), x): the root carries ~1.25 ulp
    "arcsin": _sum(NUMPY_ULP["atan2"], (2.5, 2.5), _HALF),
    "arccos": _sum(NUMPY_ULP["atan2"], (2.5, 2.5), _HALF),
    "reciprocal": _HALF,  # one IEEE division
    # graphc/numpy/mathfns.py: the part that sets the bound, plus the roundings around it
    "exp2": NUMPY_ULP["pow"],  # pow(2, x)
    "logaddexp": _sum(NUMPY_ULP["log1p"], NUMPY_ULP["exp"], _ONE),  # m + log1p(exp(-|d|))
    "logaddexp2": _sum(NUMPY_ULP["log1p"], NUMPY_ULP["pow"], _ONE, _HALF),
    "arcsinh": _sum(NUMPY_ULP["log1p"], (2.0, 2.0)),  # log1p(t + t*t / (1 + sqrt(1 + t*t)))
    "arccosh": _sum(NUMPY_ULP["log1p"], (2.0, 2.0)),
    "arctanh": _sum(NUMPY_ULP["log1p"], (2.0, 2.0)),
    "hypot": (2.0, 2.0),  # m * sqrt(1 + r*r): a division, a square root, 3 more roundings
    "cbrt": (1.5, 1.5),  # pow(t, 1/3) and one Newton step
    "int_pow": (1.5, 1.5),  # x ** -n as 1 / (x * ... * x): n - 1 multiplications and a division
}


def bound(table, fname, dtype) -> float:
    """The tolerance of ``fname`` in ``dtype`` from one of the tables above."""
    return table[fname][0 if np.dtype(dtype) == F32 else 1]


# ---------------------------------------------------------------------------- exact scalar values
def _mp(x):
    return mpmath.mpf(x)


def _odd_int(y: float) -> bool:
    return math.isfinite(y) and y == math.floor(y) and int(y) % 2 == 1


def _unary(fn, at_pos0, at_neg0, at_pinf, at_ninf, domain=None, huge=None):
    """An exact unary function: fn on mpf, its values at +-0 and +-inf (C99 Annex F; a float, or a
    function of nothing for values like pi/2), NaN outside ``domain``; ``huge``: (limit, value
    beyond +limit, value beyond -limit) to skip mpmath where the rounded result is known in every
    dtype (e.g. exp(1e5) = inf)."""

    def f(x):
        if math.isnan(x) or (domain is not None and not domain(x)):
            return _NAN
        if x == 0:
            v = at_neg0 if math.copysign(1.0, x) < 0 else at_pos0
        elif math.isinf(x):
            v = at_pinf if x > 0 else at_ninf
        elif huge is not None and abs(x) > huge[0]:
            v = huge[1] if x > 0 else huge[2]
        else:
            return fn(_mp(x))
        return v() if callable(v) else v

    return f


def _half_pi():
    return mpmath.pi / 2


def _minus_half_pi():
    return -mpmath.pi / 2


def _log(x):
    return _NAN if x < 0 else (-_INF if x == 0 else mpmath.log(x))


def _log1p(x):
    return -_INF if x == -1 else mpmath.log1p(x)


def _atan2(y, x):
    """C99 F.9.1.4 for zeros and infinities; mpmath's atan2 elsewhere (it keeps the sign)."""
    if math.isnan(y) or math.isnan(x):
        return _NAN
    sy = -1 if math.copysign(1.0, y) < 0 else 1
    if math.isinf(y):
        if math.isinf(x):
            return sy * (mpmath.pi / 4 if x > 0 else 3 * mpmath.pi / 4)
        return sy * _half_pi()
    if math.isinf(x) or y == 0:
        neg_x = x < 0 or (x == 0 and math.copysign(1.0, x) < 0)
        return sy * mpmath.pi if neg_x else math.copysign(0.0, y)
    if x == 0:
        return sy * _half_pi()
    return mpmath.atan2(_mp(y), _mp(x))


def _pow(x, y):
    """C99 F.9.4.4: pow(x, +-0) = pow(1, y) = 1 even for NaN; zeros and infinities by the sign and
    oddness of y; NaN for negative finite x with non-integer y."""
    if y == 0 or x == 1:
        return 1.0
    if math.isnan(x) or math.isnan(y):
        return _NAN
    odd = _odd_int(y)
    if x == 0:
        mag = _INF if y < 0 else 0.0
        return math.copysign(mag, x) if odd else mag
    if math.isinf(y):
        return 1.0 if x == -1 else (_INF if (abs(x) < 1) == (y < 0) else 0.0)
    if math.isinf(x):
        mag = _INF if y > 0 else 0.0
        return -mag if x < 0 and odd else mag
    if x < 0 and y != math.floor(y):
        return _NAN
    sign = -1 if x < 0 and odd else 1
    log2 = y * math.log2(abs(x))  # far outside every dtype's range: skip mpmath's huge powers
    if abs(log2) > 4000:
        return math.copysign(_INF if log2 > 0 else 0.0, sign)
    return sign * mpmath.power(_mp(abs(x)), _mp(y))


def _log_add(a, b, exp, log):
    """log(exp(a) + exp(b)) in the given base: NaN in, NaN out; a -inf operand is the other."""
    if math.isnan(a) or math.isnan(b):
        return _NAN
    if a == -_INF or b == -_INF:
        return b if a == -_INF else a
    if _INF in (a, b):
        return _INF
    m = max(a, b)  # exact, in high precision: no overflow for any float operands
    return _mp(m) + log(1 + exp(_mp(min(a, b)) - _mp(m)))


def _hypot(x, y):
    """C99 F.9.4.3: an infinite operand gives +inf even with a NaN."""
    if math.isinf(x) or math.isinf(y):
        return _INF
    if math.isnan(x) or math.isnan(y):
        return _NAN
    return mpmath.sqrt(_mp(x) ** 2 + _mp(y) ** 2)


def _arith(op):
    """IEEE +, -, *, / of two floats, exactly (Fraction); infinities, NaN, division by zero and the
    sign of an exact zero follow IEEE 754, taken from Python's own float arithmetic on the
    operands (which is IEEE double, and exact there because the result is a special value)."""

    def f(a, b):
        if op is operator.truediv and b == 0:
            return _NAN if a == 0 or math.isnan(a) else math.copysign(_INF, a) * math.copysign(1, b)
        if not (math.isfinite(a) and math.isfinite(b)):
            return op(a, b)
        r = op(Fraction(a), Fraction(b))
        return r if r != 0 else op(a, b)

    return f


_HUGE_EXP = 1e5  # |x| beyond this: exp, expm1, sinh, cosh and tanh are known in every dtype
EXACT = {
    "exp": _unary(mpmath.exp, 1.0, 1.0, _INF, 0.0, huge=(_HUGE_EXP, _INF, 0.0)),
    "expm1": _unary(mpmath.expm1, 0.0, -0.0, _INF, -1.0, huge=(_HUGE_EXP, _INF, -1.0)),
    "log": _unary(_log, -_INF, -_INF, _INF, _NAN),
    "log2": _unary(lambda x: _log(x) / mpmath.log(2), -_INF, -_INF, _INF, _NAN, lambda x: x >= 0),
    "log10": _unary(lambda x: _log(x) / mpmath.log(10), -_INF, -_INF, _INF, _NAN,
                    lambda x: x >= 0),
    "log1p": _unary(_log1p, 0.0, -0.0, _INF, _NAN, lambda x: x >= -1),
    "sqrt": _unary(mpmath.sqrt, 0.0, -0.0, _INF, _NAN, lambda x: x >= 0),
    "sin": _unary(mpmath.sin, 0.0, -0.0, _NAN, _NAN),
    "cos": _unary(mpmath.cos, 1.0, 1.0, _NAN, _NAN),
    "tan": _unary(mpmath.tan, 0.0, -0.0, _NAN, _NAN),
    "tanh": _unary(mpmath.tanh, 0.0, -0.0, 1.0, -1.0, huge=(1e3, 1.0, -1.0)),
    "sinh": _unary(mpmath.sinh, 0.0, -0.0, _INF, -_INF, huge=(_HUGE_EXP, _INF, -_INF)),
    "cosh": _unary(mpmath.cosh, 1.0, 1.0, _INF, _INF, huge=(_HUGE_EXP, _INF, _INF)),
    "arcsin": _unary(mpmath.asin, 0.0, -0.0, _NAN, _NAN, lambda x: abs(x) <= 1),
    "arccos": _unary(mpmath.acos, _half_pi, _half_pi, _NAN, _NAN, lambda x: abs(x) <= 1),
    "arctan": _unary(mpmath.atan, 0.0, -0.0, _half_pi, _minus_half_pi),
    "reciprocal": lambda x: _arith(operator.truediv)(1.0, x),
    "exp2": _unary(lambda x: mpmath.power(2, x), 1.0, 1.0, _INF, 0.0, huge=(2e3, _INF, 0.0)),
    "arcsinh": _unary(mpmath.asinh, 0.0, -0.0, _INF, -_INF),
    "arccosh": _unary(mpmath.acosh, _NAN, _NAN, _INF, _NAN, lambda x: x >= 1),
    "arctanh": _unary(lambda x: _INF if x == 1 else -_INF if x == -1 else mpmath.atanh(x), 0.0,
                      -0.0, _NAN, _NAN, lambda x: abs(x) <= 1),
    "cbrt": _unary(lambda x: mpmath.sign(x) * mpmath.cbrt(abs(x)), 0.0, -0.0, _INF, -_INF),
    "logaddexp": lambda a, b: _log_add(a, b, mpmath.exp, mpmath.log),
    "logaddexp2": lambda a, b: _log_add(a, b, lambda v: mpmath.power(2, v),
                                        lambda v: mpmath.log(v) / mpmath.log(2)),
    "hypot": _hypot,
    "atan2": _atan2,
    "pow": _pow,
    "add": _arith(operator.add),
    "sub": _arith(operator.sub),
    "mul": _arith(operator.mul),
    "div": _arith(operator.truediv),
}


@functools.lru_cache(maxsize=1 << 17)
def _exact_scalar(fname: str, *hex_args: str):
    """Cached on the operands' exact bit patterns (float.hex keeps -0.0 apart from 0.0)."""
    args = [float.fromhex(h) for h in hex_args]
    with mpmath.workprec(PREC):
        value = EXACT[fname](*args)
        return +value if isinstance(value, mpmath.mpf) else value  # round to PREC once


def _as_floats(*args):
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in args))
    return [a.astype(np.float64) for a in arrays]  # exact for every float32 and small integer


def exact(fname: str, *args) -> np.ndarray:
    """The exact values of ``fname`` at the (broadcast) operands: an object array of ``mpf`` (to
    ``PREC`` bits), ``Fraction`` (exact arithmetic) or ``float`` (exactly representable results:
    signed zeros, infinities, NaN, 1, ...)."""
    arrays = _as_floats(*args)
    shape = arrays[0].shape
    flat = [a.ravel() for a in arrays]
    out = np.empty(shape, dtype=object)
    out_flat = out.reshape(-1)
    for i in range(out_flat.size):
        out_flat[i] = _exact_scalar(fname, *(float(a[i]).hex() for a in flat))
    return out


# ------------------------------------------------------------------------------------- rounding
def _fmt(dtype):
    info = np.finfo(dtype)
    return info.nmant + 1, int(info.minexp), int(info.maxexp) - 1  # precision, emin, emax


def _to_fraction(v) -> Fraction:
    if isinstance(v, mpmath.mpf):
        man, exp = mpmath.libmp.to_man_exp(v._mpf_, signed=True)
        return Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return Fraction(v)


def _binade(q: Fraction) -> int:
    """floor(log2 |q|) for q != 0."""
    n, d = abs(q.numerator), q.denominator
    e = n.bit_length() - d.bit_length()
    return e if (n >= d << e if e >= 0 else n << -e >= d) else e - 1


def _magnitude(v) -> int:
    """floor(log2 |v|) for v != 0, cheap even for an mpf with a huge exponent."""
    if isinstance(v, mpmath.mpf):
        _, _, exp, bc = v._mpf_
        return exp + bc - 1
    return _binade(Fraction(v))


def _round_scalar(v, dtype) -> float:
    """v rounded to ``dtype`` (round half to even), as a Python float (exact in float64)."""
    if isinstance(v, float):
        return float(np.asarray(v).astype(dtype))  # already exact: ±0, ±inf, NaN, small values
    if v == 0:
        return 0.0
    p, emin, emax = _fmt(dtype)
    neg = v < 0
    mag = _magnitude(v)
    if mag > emax + 1:
        return -_INF if neg else _INF
    if mag < emin - p - 1:
        return -0.0 if neg else 0.0
    q = abs(_to_fraction(v))
    quantum = max(_binade(q), emin) - (p - 1)
    m = round(q / Fraction(2) ** quantum)  # Fraction's round() is half to even
    overflow = m * Fraction(2) ** quantum >= Fraction(2) ** (emax + 1)
    out = _INF if overflow else math.ldexp(m, quantum)
    return -out if neg else out


def round_to(values, dtype) -> np.ndarray:
    """Exact values (from ``exact``) rounded to ``dtype``."""
    values = np.asarray(values, dtype=object)
    out = np.array([_round_scalar(v, dtype) for v in values.ravel()], dtype=np.float64)
    return out.astype(dtype).reshape(values.shape)


def correctly_rounded(fname: str, *args, dtype) -> np.ndarray:
    """``fname`` at the (broadcast) operands, correctly rounded to ``dtype``."""
    return round_to(exact(fname, *args), dtype)


# ------------------------------------------------------------------------------------- ulp error
def _ulp_exact(g: float, v, r: float, dtype) -> float:
    """Error of g against the exact v (which rounds to r), in ulps of dtype at v."""
    if math.isnan(g) or math.isnan(r):
        return 0.0 if math.isnan(g) and math.isnan(r) else _INF
    if math.isinf(g) or math.isinf(r):
        return 0.0 if g == r else _INF
    if g == 0 and r == 0 and math.copysign(1.0, g) != math.copysign(1.0, r):
        return _INF  # the sign of zero is part of the result (C99 Annex F)
    p, emin, _ = _fmt(dtype)
    q = _to_fraction(v)
    ulp_exp = (max(_binade(q), emin) if q else emin) - (p - 1)
    return float(abs(Fraction(g) - q) / Fraction(2) ** ulp_exp)


def _ulp_float(got, ref, dtype) -> np.ndarray:
    """Vectorized error of got against a float reference of higher precision (or the rounded
    result), in ulps of dtype at ref. Both NaN, or equal, count 0; a NaN/inf mismatch counts inf;
    below the smallest normal the ulp is the subnormal spacing."""
    info = np.finfo(dtype)
    ref = np.asarray(ref, dtype=np.longdouble)
    with np.errstate(over="ignore"):  # beyond the type's range the correct result is +-inf
        ref = np.where(np.isinf(ref.astype(dtype)), ref.astype(dtype), ref)
    got = np.asarray(got, dtype=np.longdouble)
    mag = np.maximum(np.abs(ref), np.longdouble(info.smallest_normal))
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        exp = np.floor(np.log2(mag.astype(np.float64)))
        # log2 in float64 may round up at exact powers of two; fix with an exact comparison
        exp = np.where(np.ldexp(np.longdouble(1), exp.astype(int)) > mag, exp - 1, exp)
        ulp = np.ldexp(np.longdouble(1), (exp - info.nmant).astype(int))
        err = np.abs(got - ref) / ulp
    same = (np.isnan(got) & np.isnan(ref)) | (got == ref)
    err = np.where(same, 0.0, err)
    bad = np.isnan(err) | (np.isinf(got) != np.isinf(ref)) & ~same
    return np.where(bad, np.inf, err).astype(np.float64)


def ulp_error(got, exact_values, dtype) -> np.ndarray:
    """|got - exact| in ulps of ``dtype`` at the exact value, elementwise.

    ``exact_values``: an object array from ``exact`` (the oracle), or a float array that is either
    of higher precision than ``dtype`` (a fast screen for large samples) or the correctly rounded
    result. NaN matches only NaN; infinities and signed zeros must match exactly (inf otherwise,
    C99 Annex F); an exact value beyond the dtype's range is +-inf."""
    got = np.asarray(got)
    exact_values = np.asarray(exact_values)
    if exact_values.dtype != object:
        return _ulp_float(got, exact_values, dtype)
    g, v = np.broadcast_arrays(got, exact_values)
    errs = [
        _ulp_exact(float(gi), vi, _round_scalar(vi, dtype), dtype)
        for gi, vi in zip(g.ravel(), v.ravel(), strict=True)
    ]
    return np.array(errs, dtype=np.float64).reshape(g.shape)


def describe(got, args, exact_values, dtype, err) -> str:
    """The worst point, for assertion messages: operands (and their bits), got, expected, ulps."""
    i = int(np.argmax(err))
    ops = ", ".join(f"{float(np.ravel(a)[i])!r} ({float(np.ravel(a)[i]).hex()})" for a in args)
    want = _round_scalar(np.ravel(exact_values)[i], dtype)
    got_i = float(np.ravel(got)[i])
    return f"at ({ops}): got {got_i!r}, correctly rounded {want!r}, {err[i]:.3f} ulp"


def assert_ulp(got, fname, args, dtype, tol, what=""):
    """``got`` is ``fname(*args)`` within ``tol`` ulps of the exact result, special values exact."""
    args = np.broadcast_arrays(*(np.asarray(a) for a in args))
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype} != {np.dtype(dtype)}"
    want = exact(fname, *args)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    err = ulp_error(got, want, dtype)
    if err.size:
        assert err.max() <= tol, f"{what} {fname} {np.dtype(dtype)}: " + describe(
            got, args, want, dtype, err.ravel()
        )
