"""Vectorizable transcendental functions, written as LLVM IR text.

Why: LLVM lowers ``llvm.exp``/``llvm.sin``/... to *scalar* libm calls, so a loop calling them never
vectorizes. The functions here are branch-free (``select`` instead of branches) and call only
intrinsics that have vector forms (``llvm.fma``, ``llvm.fabs``, ``llvm.rint``, ``llvm.floor``,
``llvm.copysign``), so once the caller's loop inlines them (they are ``alwaysinline``) the loop
vectorizer turns them into SIMD code.

Contract: ``definitions(names)`` returns IR text (LLVM >= 20 syntax) defining each requested
``@gc_<fn>_<f32|f64>`` once, as ``define internal <ty> @gc_<fn>_<sfx>(<ty> %a[, <ty> %b])
alwaysinline``; ``definition(name, lanes, ...)`` is one of them on ``<lanes x ty>`` vectors (the
same algorithm printed at that width: vecmath.py). pow(a, b) = a**b and atan2(a, b) = the angle of
(x=b, y=a) like np.arctan2. Each function is self-contained (no helper functions, no globals).
Intrinsics are not declared: LLVM's parser declares them on first use, so the text never clashes
with the caller's own declarations.
``NAMES`` lists what exists. sqrt is ``llvm.sqrt`` (correctly rounded); tan, sinh, cosh, arcsin,
arccos and arctan are composed from these in graphc.numpy.

Algorithms (own implementations; polynomial coefficients are weighted-minimax (Remez) fits made with
mpmath). The recurring trick is to carry a value as an unevaluated sum hi + lo (error-free TwoSum /
fma residuals) where one rounding would cost a visible fraction of an ulp, so most results are
rounded essentially once:
  exp    n = rint(x/ln2), x = n*ln2 + r1 + c (r1 exact by one fma), e^r - 1 = r1 + r1^2/2 (exact
         sum) + small, 1 + that rounded once, scaled by 2^floor(n/2) * 2^(n - floor(n/2)) (overflow
         edge, subnormals).
  expm1  same e^r - 1, then 2*(em*h + (h - 1/2)) with h = 2^(n-1), summed with TwoSum.
  log    x = 2^e (1+f), sqrt(1/2) <= 1+f < sqrt(2) (subnormals prescaled), s = f/(2+f),
         log(1+f) = f - (f^2/2 - s (f^2/2 + s^2 P(s^2))), plus e*ln2 with one fma.
  log1p  u = 1+x with its exact rounding error c (TwoSum); log(u) + c/u.
  sin/cos j = rint(x*2/pi), r = x - j*pi/2 with pi/2 in three parts (fma, TwoSum), odd/even
         polynomials on r + r_lo, quadrant by select.
  tanh   t = expm1(-2|x|) as hi + lo, copysign(-t/(t+2), x) with a corrected quotient.
  atan2  reduce to u in [-tan(pi/8), tan(pi/8)] (u = min/max or (n-d)/(n+d), quotient error kept),
         odd polynomial, angle m*pi/4 +- atan(u) (m in 0..4) summed with TwoSum.
  pow    f64: log|x| in double-double (~2^-66 relative), y*log|x| in double-double, exp of that with
         the low part folded into the reduced argument; f32: the same formula in float64 without
         double-double, rounded once. Special cases follow C99 Annex F (pow(x, 0) = pow(1, y) = 1
         even for NaN, 0**negative = inf, negative x with odd integer y keeps the sign, negative
         finite x with non-integer y is NaN, ...).

Special values follow C99: NaN in -> NaN out; exp(-inf) = 0, exp(+inf) = inf; log(0) = -inf,
log(x<0) = NaN; sin/tanh/expm1/log1p/atan2 keep the sign of zero; sin/cos(inf) = NaN; subnormals are
neither flushed nor lost.

Do not put fast-math flags on these instructions or let a pass reassociate them: the error-free
transformations (TwoSum, fma residuals) rely on IEEE rounding. Round-to-nearest and no flush-to-zero
are assumed.

Measured maximum error in ulps of the exact result (tests/backend/test_mathlib.py plus 2 x 2e6
random samples per range; f32 against NumPy float64, f64 against NumPy long double; the last ~0.5
ulp is the final rounding):
            f32    f64    where it holds
  exp       0.53   0.53   all normal results; 0.75 for subnormal results (two roundings there)
  expm1     0.59   0.60   whole range
  log       0.84   0.83   all positive x, subnormals included
  log1p     0.85   0.81   x > -1
  sin, cos  0.78   0.77   |x| <= 1e6 (f32), |x| <= 5e14 (f64), with the floats nearest k*pi/2
  tanh      1.00   1.00   whole range
  atan2     1.32   1.30   whole plane, subnormal and huge operands included
  pow       0.50   0.53   all x, y with a normal result; f64: 0.76 for subnormal results
Beyond the sin/cos range rint(x*2/pi) and the three-part pi/2 are no longer exact enough (no
Payne-Hanek reduction): results stay finite in [-1, 1] but are unrelated to sin(x) (f32 fails by |x|
~ 3e6, f64 by ~1e15). Special values are exact (tests compare signs of zeros, NaN and infinities
with NumPy/C99).

Throughput (1e6 elements, AVX2 Zen 2, 2 shared cores, elements/ns, median, graphc vs NumPy 2.4
(noisy machine)): exp f32 0.86 vs 0.56, f64 0.34 vs 0.18; sin f32 0.90 vs 0.50, f64 0.38 vs 0.05;
log f32 1.1 vs 0.49, f64 0.41 vs 0.21; tanh f32 0.53 vs 0.35, f64 0.19 vs 0.07. pow is the slow one
(~0.09 for both types).
"""

from __future__ import annotations

import functools

from ...errors import GraphcError
from .irtext import Func
from .mathir import F32, F64, V, vector

_FUNCS = ("exp", "expm1", "log", "log1p", "sin", "cos", "tanh", "atan2", "pow")
_BINARY = {"atan2", "pow"}
NAMES = frozenset(f"gc_{fn}_{sfx}" for fn in _FUNCS for sfx in ("f32", "f64"))
#: Two-result functions: ``gc_sincos_<sfx>`` returns ``{sin, cos}`` bit-identical to gc_sin/gc_cos.
PAIRS = frozenset({"gc_sincos_f32", "gc_sincos_f64"})


_H = float.fromhex


def _coefs(*hexes: str) -> tuple[float, ...]:
    return tuple(_H(h) for h in hexes)


# Polynomial coefficients (lowest degree first), per type: see the module docstring for the forms.
# fmt: off
_EXP_P = {  # (e^r - 1 - r)/r^2 on |r| <= 1.02*ln2/2
    F32: _coefs("0x1p-1", "0x1.55555578110d2p-3", "0x1.5554e01e337b3p-5", "0x1.1110a3147e271p-7",
                "0x1.6d4f40107e8bfp-10", "0x1.a18c619321a23p-13"),
    F64: _coefs("0x1p-1", "0x1.5555555555557p-3", "0x1.5555555555558p-5", "0x1.111111110fe17p-7",
                "0x1.6c16c16c14d81p-10", "0x1.a01a01ad63811p-13", "0x1.a01a01ae9b231p-16",
                "0x1.71ddfd960c0d6p-19", "0x1.27e4c8f3a2c2cp-22", "0x1.af574fab9fbcfp-26",
                "0x1.1f91af8590a11p-29"),
}
_LOG_P = {  # (2 atanh(s)/s - 2)/s^2 as a polynomial in z = s^2, z <= 1.01*0.1716^2
    F32: _coefs("0x1.55555bc43aa6dp-1", "0x1.997b6b9dc50a3p-2", "0x1.2f06daa0bbcc3p-2"),
    F64: _coefs("0x1.5555555555558p-1", "0x1.9999999994db5p-2", "0x1.2492492e80824p-2",
                "0x1.c71c62327bb4bp-3", "0x1.7462e6bf26a25p-3", "0x1.39f7f8c72ccffp-3",
                "0x1.2ba66583ac4f5p-3"),
}
_POW_Q = _coefs(  # (2 atanh(s)/s - 2 - 2 s^2/3)/s^4 in z = s^2 (the double-double log of f64 pow)
    "0x1.999999999999ap-2", "0x1.249249249252dp-2", "0x1.c71c71c6e71bbp-3", "0x1.745d177da6018p-3",
    "0x1.3b13948ff7a94p-3", "0x1.11190b61cd8a9p-3", "0x1.df6ed7b23e30ap-4", "0x1.e0be8e7305485p-4")
_SIN_S = {  # (sin r - r)/r^3 in z = r^2, |r| <= 0.9 (pi/4 plus room for the rounding of x*2/pi)
    F32: _coefs("-0x1.5555555279d06p-3", "0x1.11110a007dbe4p-7", "-0x1.a00f16417001dp-13",
                "0x1.6c761d8f061b3p-19"),
    F64: _coefs("-0x1.5555555555555p-3", "0x1.111111111110cp-7", "-0x1.a01a01a01854cp-13",
                "0x1.71de3a5251e52p-19", "-0x1.ae6451052eb20p-26", "0x1.611f6aa4a5084p-33",
                "-0x1.aa086f82d0cfdp-41"),
}
_COS_C = {  # (cos r - 1 + r^2/2)/r^4 in z = r^2, |r| <= 0.9
    F32: _coefs("0x1.55555554610a7p-5", "-0x1.6c16bcb45b6a3p-10", "0x1.a012b759455d7p-16",
                "-0x1.244941ff21710p-22"),
    F64: _coefs("0x1.5555555555555p-5", "-0x1.6c16c16c16c14p-10", "0x1.a01a01a01942ep-16",
                "-0x1.27e4fb7628879p-22", "0x1.1eed8c8fe46e4p-29", "-0x1.9392e05ce828fp-37",
                "0x1.aa86e51886e41p-45"),
}
_ATAN_A = {  # (atan(u)/u - 1)/u^2 in z = u^2, |u| <= 1.01*tan(pi/8)
    F32: _coefs("-0x1.55555440adf86p-2", "0x1.99971e130d6b1p-3", "-0x1.241d0d6110bbdp-3",
                "0x1.b7c2d1e8dcf37p-4", "-0x1.072f2703e3a89p-4"),
    F64: _coefs("-0x1.5555555555555p-2", "0x1.9999999999278p-3", "-0x1.249249242aecep-3",
                "0x1.c71c717e01238p-4", "-0x1.745d09fc50978p-4", "0x1.3b124751451c1p-4",
                "-0x1.10f8ec71dbda2p-4", "0x1.dfcb3411cc75cp-5", "-0x1.a00adcd869bd1p-5",
                "0x1.3fc438f293e24p-5", "-0x1.3636cfef730ccp-6"),
}
# Constants split into a type-precision head and tail (the tail is what the head misses).
_LN2 = {F32: (_H("0x1.62e43p-1"), _H("-0x1.05c61p-29")),
        F64: (_H("0x1.62e42fefa39efp-1"), _H("0x1.abc9e3b39803fp-56"))}
_PIO2 = {F32: (_H("0x1.921fb6p+0"), _H("-0x1.777a5cp-25"), _H("-0x1.ee59dap-50")),
         F64: (_H("0x1.921fb54442d18p+0"), _H("0x1.1a62633145c07p-54"),
               _H("-0x1.f1976b7ed8fbcp-110"))}
_PIO4 = {F32: (_H("0x1.921fb6p-1"), _H("-0x1.777a5cp-26")),
         F64: (_H("0x1.921fb54442d18p-1"), _H("0x1.1a62633145c07p-55"))}
_TWO_THIRDS = (_H("0x1.5555555555555p-1"), _H("0x1.5555555555555p-55"))
_TWO_FIFTHS = (_H("0x1.999999999999ap-2"), _H("-0x1.999999999999ap-56"))
_LOG2E, _TWO_OVER_PI, _TAN_PI8 = 1.4426950408889634, 0.6366197723675814, 0.41421356237309503
_INF, _NAN = float("inf"), float("nan")
# fmt: on


# --------------------------------------------------------------------------------------- exp family


def _two_prod(v: V, a, b):
    """(p, err) with p + err == a * b exactly (fma residual)."""
    p = v.mul(a, b)
    return p, v.fma(a, b, v.neg(p))


def _reduce_ln2(v: V, x, lims, lo=None):
    """Clamp x to lims (NaN goes to the upper limit; callers restore it) and split x (+ lo) = n*ln2
    + r1 + c: n integral, r1 = x - n*ln2_hi exact (one fma), c the small rest. Keeping r1 and c
    apart is what makes the results below 0.6 ulp instead of 1."""
    t = v.t
    xc = v.sel(v.cmp("olt", x, lims[1]), x, lims[1])
    xc = v.sel(v.cmp("ogt", xc, lims[0]), xc, lims[0])
    n = v.call("rint", v.mul(xc, _LOG2E))
    r1 = v.fma(v.neg(n), _LN2[t][0], xc)
    c = v.mul(v.neg(n), _LN2[t][1])
    if lo is not None:
        c = v.add(c, v.sel(v.cmp("oeq", xc, x), lo, 0.0))
    return n, r1, c


def _expm1_small(v: V, r1, c):
    """e**(r1 + c) - 1 as an unevaluated sum (hi, lo), |r1 + c| <= ln2/2, |c| << |r1| (r1 exact).
    r1 + r1^2/2 is summed exactly (the r^2/2 term is too big to round alone); the rest is small."""
    r = v.add(r1, c)
    sq, sq_lo = _two_prod(v, r1, r1)
    half = v.mul(sq, 0.5)
    small = v.fma(
        v.mul(v.mul(r, r), r), v.poly(r, _EXP_P[v.t][1:]), v.fma(r1, c, v.fma(sq_lo, 0.5, c))
    )
    s = v.add(r1, half)
    t = v.add(v.sub(half, v.sub(s, r1)), small)
    hi = v.add(s, t)
    return hi, v.sub(t, v.sub(hi, s))


def _exp(v: V, x, lo=None):
    """e**(x + lo); lo is an optional low-order part (|lo| << ulp(x)) used by pow."""
    lims = (-104.0, 89.0) if v.t is F32 else (-746.0, 710.0)
    n, r1, c = _reduce_ln2(v, x, lims, lo)
    hi, lo = _expm1_small(v, r1, c)
    s = v.add(hi, 1.0)
    p = v.add(s, v.add(v.add(v.sub(1.0, s), hi), lo))  # 1 + hi + lo, rounded once
    n1 = v.call("floor", v.mul(n, 0.5))
    res = v.mul(v.mul(p, v.pow2(n1)), v.pow2(v.sub(n, n1)))
    return v.sel(v.cmp("uno", x, x), x, res)


def _expm1_dd(v: V, x):
    """expm1(x) as (hi, lo): 2**n (1 + em) - 1 = 2 (em h + (h - 1/2)) with h = 2**(n-1), summed
    exactly."""
    lims = (-18.0, 89.0) if v.t is F32 else (-40.0, 710.0)
    n, r1, c = _reduce_ln2(v, x, lims)
    em, em_lo = _expm1_small(v, r1, c)
    h = v.pow2(v.sub(n, 1.0))
    b, b_lo = v.two_sum(h, -0.5)  # h - 1/2 is inexact once n exceeds the precision
    s, err = v.two_sum(v.mul(em, h), b)
    return v.mul(s, 2.0), v.mul(v.fma(em_lo, h, v.add(err, b_lo)), 2.0)


def _expm1(v: V, x):
    hi, lo = _expm1_dd(v, x)
    # expm1(x) rounds to x (keeps -0, passes NaN)
    tiny = v.cmp("ult", v.abs(x), 2.0 ** -(v.t.mant + 2))
    return v.sel(tiny, x, v.add(hi, lo))


def _tanh(v: V, x):
    """tanh|x| = -t/(t+2) with t = expm1(-2|x|) in double-double and a corrected quotient."""
    t, t_lo = _expm1_dd(v, v.mul(v.abs(x), -2.0))
    d = v.add(t, 2.0)
    d_lo = v.add(v.sub(2.0, d), t)
    q = v.div(v.neg(t), d)
    q_lo = v.div(v.sub(v.sub(v.fma(v.neg(q), d, v.neg(t)), t_lo), v.mul(q, d_lo)), d)
    res = v.call("copysign", v.add(q, q_lo), x)
    return v.sel(v.cmp("uno", x, x), x, res)


# --------------------------------------------------------------------------------------- log family


def _log_parts(v: V, x):
    """(e, f) with x = 2**e * (1 + f), sqrt(1/2) <= 1 + f < sqrt(2), for positive finite x
    (subnormals too)."""
    t = v.t
    sub = v.cmp("olt", x, 2.0 ** (1 - t.bias))
    xs = v.sel(sub, v.mul(x, 2.0 ** (t.mant + 2)), x)
    sqrt_half = t.bits_of(0.7071067811865476)
    u = v.iop("add", v.bits(xs), t.bits_of(1.0) - sqrt_half)
    m = v.from_bits(v.iop("add", v.iop("and", u, (1 << t.mant) - 1), sqrt_half))
    eb = v.iop("lshr", u, t.mant)  # biased exponent, 0..2*bias+1: exact as a float (2^mant trick)
    e = v.sub(v.from_bits(v.iop("or", eb, t.bits_of(2.0**t.mant))), 2.0**t.mant + t.bias)
    e = v.sub(e, v.sel(sub, float(t.mant + 2), 0.0))
    return e, v.sub(m, 1.0)


def _log1pf(v: V, e, f, corr=None):
    """e*ln2 + log(1 + f) (+ corr, a tiny additive correction)."""
    t = v.t
    s = v.div(f, v.add(f, 2.0))
    z = v.mul(s, s)
    hfsq = v.mul(v.mul(f, f), 0.5)
    tail = v.mul(s, v.fma(z, v.poly(z, _LOG_P[t]), hfsq))
    tail = v.fma(e, _LN2[t][1], tail if corr is None else v.add(tail, corr))
    return v.fma(e, _LN2[t][0], v.sub(f, v.sub(hfsq, tail)))


def _log_specials(v: V, x, res, zero_at):
    """inf -> inf, zero_at -> -inf, below zero_at -> NaN, NaN -> NaN."""
    res = v.sel(v.cmp("oeq", x, _INF), _INF, res)
    res = v.sel(v.cmp("oeq", x, zero_at), -_INF, res)
    res = v.sel(v.cmp("olt", x, zero_at), _NAN, res)
    return v.sel(v.cmp("uno", x, x), x, res)


def _log(v: V, x):
    e, f = _log_parts(v, x)
    return _log_specials(v, x, _log1pf(v, e, f), 0.0)


def _log1p(v: V, x):
    u, c = v.two_sum(1.0, x)
    e, f = _log_parts(v, u)
    res = _log_specials(v, x, _log1pf(v, e, f, v.div(c, u)), -1.0)
    tiny = v.cmp("olt", v.abs(x), 2.0 ** -(v.t.mant + 2))
    return v.sel(tiny, x, res)


# ------------------------------------------------------------------------------------ trigonometric


def _reduce_pio2(v: V, x):
    """(j, r, r_lo): x = j*pi/2 + r + r_lo, with pi/2 in three parts (Cody-Waite with fma: the first
    step is exact, the second's rounding error is recovered exactly)."""
    p1, p2, p3 = _PIO2[v.t]
    j = v.call("rint", v.mul(x, _TWO_OVER_PI))
    nj = v.neg(j)
    r1 = v.fma(nj, p1, x)
    t2 = v.mul(nj, p2)
    r, r_lo = v.two_sum(r1, t2)
    r_lo = v.add(r_lo, v.fma(nj, p3, v.fma(nj, p2, v.neg(t2))))
    # beyond the accurate range r is garbage: keep it where the polynomials stay bounded
    wild = v.cmp("ogt", v.abs(r), 0.9)
    return j, v.sel(wild, v.call("copysign", 0.9, r), r), v.sel(wild, 0.0, r_lo)


def _sincos_parts(v: V, x):
    """(sin r, cos r, quadrant bits): the work sin and cos share."""
    t = v.t
    j, r, r_lo = _reduce_pio2(v, x)
    quadrant = v.bits(v.add(j, 1.5 * 2.0**t.mant))  # low bits hold j (two's complement)
    z = v.mul(r, r)
    hz = v.mul(z, 0.5)
    sin_r = v.add(r, v.fma(v.mul(r, z), v.poly(z, _SIN_S[t]), v.fma(v.neg(hz), r_lo, r_lo)))
    w = v.sub(1.0, hz)  # cos r = w + ((1 - w) - hz + z^2 C(z)), keeping 1 - z/2's rounding error
    cos_tail = v.fma(v.mul(z, z), v.poly(z, _COS_C[t]), v.mul(v.neg(r), r_lo))
    cos_r = v.add(w, v.add(v.sub(v.sub(1.0, w), hz), cos_tail))
    return sin_r, cos_r, quadrant


def _sincos_finish(v: V, x, parts, is_cos: bool):
    sin_r, cos_r, quadrant = parts
    odd = v.icmp("ne", v.iop("and", quadrant, 1), 0)
    val = v.sel(odd, sin_r, cos_r) if is_cos else v.sel(odd, cos_r, sin_r)
    if is_cos:  # cos(r + j pi/2) is negative for j = 1, 2 (mod 4)
        quadrant = v.iop("add", quadrant, 1)
    negate = v.icmp("ne", v.iop("and", quadrant, 2), 0)
    res = v.sel(negate, v.neg(val), val)
    return res if is_cos else v.sel(v.cmp("oeq", x, 0.0), x, res)


def _sincos(v: V, x, is_cos: bool):
    return _sincos_finish(v, x, _sincos_parts(v, x), is_cos)


def _sincos_pair(v: V, x):
    """(sin x, cos x) for little more than one of them, bit-identical to each."""
    parts = _sincos_parts(v, x)
    return _sincos_finish(v, x, parts, False), _sincos_finish(v, x, parts, True)


def _atan_reduced(v: V, num, den):
    """For 0 <= num <= den: (m, u, u_tail) with atan(num/den) = m*pi/4 + u + u_tail, m in {0, 1}.
    u = num/den, or (num-den)/(num+den) above tan(pi/8); the quotient's rounding error is carried in
    u_tail."""
    big = v.both(v.cmp("oge", num, v.mul(den, _TAN_PI8)), v.cmp("ogt", num, 0.0))
    s = v.add(num, den)
    s_lo = v.sub(num, v.sub(s, den))
    n, d, d_lo = v.sel(big, v.sub(num, den), num), v.sel(big, s, den), v.sel(big, s_lo, 0.0)
    u = v.div(n, d)
    u_lo = v.div(v.sub(v.fma(v.neg(u), d, n), v.mul(u, d_lo)), d)
    u = v.sel(v.cmp("uno", u, u), 0.0, u)  # 0/0 and inf/inf: the angle is then m*pi/4 exactly
    u_lo = v.sel(v.cmp("uno", u_lo, u_lo), 0.0, u_lo)
    z = v.mul(u, u)
    tail = v.fma(v.mul(u, z), v.poly(z, _ATAN_A[v.t]), v.fma(v.neg(z), u_lo, u_lo))
    return v.sel(big, 1.0, 0.0), u, tail


def _atan2(v: V, y, x):
    """atan2(y, x) = copysign(K +- atan(min/max), y), K = m*pi/4 (m = 0..4), summed with one
    rounding."""
    t = v.t
    ay, ax = v.abs(y), v.abs(x)
    swap = v.cmp("ogt", ay, ax)
    num, den = v.sel(swap, ax, ay), v.sel(swap, ay, ax)
    # scaling keeps num + den finite and subnormal quotients exact; it does not change num/den
    scale = v.sel(v.cmp("olt", den, 2.0 ** -(t.bias // 2)), 2.0 ** (t.bias // 2), 1.0)
    scale = v.sel(v.cmp("ogt", den, 2.0 ** (t.bias - 2)), 0.25, scale)
    m, u, tail = _atan_reduced(v, v.mul(num, scale), v.mul(den, scale))
    xneg = v.signbit(x)
    m = v.sel(swap, v.sub(2.0, m), m)
    m = v.sel(xneg, v.sub(4.0, m), m)
    flip = v.differ(swap, xneg)
    u, tail = v.sel(flip, v.neg(u), u), v.sel(flip, v.neg(tail), tail)
    k = v.mul(m, _PIO4[t][0])
    k_lo = v.fma(m, _PIO4[t][1], v.fma(m, _PIO4[t][0], v.neg(k)))
    hi, err = v.two_sum(k, u)
    theta = v.add(hi, v.add(err, v.add(k_lo, tail)))
    res = v.call("copysign", theta, y)
    return v.sel(v.cmp("uno", x, y), v.add(x, y), res)


# ---------------------------------------------------------------------------------------------- pow


def _dd_times_const(v: V, a, a_lo, const):
    """(a + a_lo) * (c + c_lo) as a double-double, for a constant split in two doubles."""
    p, p_lo = _two_prod(v, a, const[0])
    return p, v.add(p_lo, v.fma(a_lo, const[0], v.mul(a, const[1])))


def _log_dd(v: V, x):
    """log(x) as (hi, lo) with about 2^-65 relative error, for positive finite x (float64 only)."""
    e, f = _log_parts(v, x)
    d = v.add(f, 2.0)
    d_lo = v.add(v.sub(2.0, d), f)
    s = v.div(f, d)
    s_lo = v.div(v.sub(v.fma(v.neg(s), d, f), v.mul(s, d_lo)), d)
    z, z_lo = _two_prod(v, s, s)
    z_lo = v.fma(v.mul(s, 2.0), s_lo, z_lo)
    w, w_lo = _dd_times_const(v, z, z_lo, _TWO_THIRDS)  # w = (2/3) z + (2/5) z^2 + z^3 Q'(z)
    z2, z2_lo = _two_prod(v, z, z)
    q, q_lo = _dd_times_const(v, z2, v.fma(v.mul(z, 2.0), z_lo, z2_lo), _TWO_FIFTHS)
    w, err = v.add(w, q), w
    err = v.sub(q, v.sub(w, err))
    w_lo = v.add(v.add(w_lo, q_lo), err)
    w_lo = v.fma(v.mul(z2, z), v.poly(z, _POW_Q[1:]), w_lo)
    p, p_lo = _two_prod(v, s, w)  # log(1+f) = 2 s + s w
    p_lo = v.fma(s_lo, w, v.fma(s, w_lo, p_lo))
    hi, lo = v.two_sum(v.mul(s, 2.0), p)
    lo = v.add(lo, v.fma(s_lo, 2.0, p_lo))
    eh, el = _two_prod(v, e, _LN2[F64][0])
    el = v.fma(e, _LN2[F64][1], el)
    hi, err = v.two_sum(eh, hi)
    lo = v.add(err, v.add(lo, el))
    return v.add(hi, lo), v.sub(lo, v.sub(v.add(hi, lo), hi))


def _pow_main(v: V, ax, y, precise: bool):
    """|x|**y for finite positive ax and finite y (both already sanitized)."""
    if not precise:
        return _exp(v, v.mul(y, _log1pf(v, *_log_parts(v, ax))))
    hi, lo = _log_dd(v, ax)
    ph, pl = _two_prod(v, y, hi)
    return _exp(v, ph, v.fma(y, lo, pl))


def _pow(v: V, x, y, precise=True):
    """C99 pow. The generic path runs on sanitized inputs; selects then apply the special cases."""
    ax, ay = v.abs(x), v.abs(y)
    regular_x = v.both(v.cmp("ogt", ax, 0.0), v.cmp("olt", ax, _INF))
    finite_y = v.cmp("olt", ay, _INF)
    res = _pow_main(v, v.sel(regular_x, ax, 1.0), v.sel(finite_y, y, 0.0), precise)
    y_neg = v.cmp("olt", y, 0.0)
    edge = v.sel(v.differ(v.cmp("oeq", ax, _INF), y_neg), _INF, 0.0)  # x = +-0 or +-inf
    res = v.sel(regular_x, res, edge)
    floor_y, half = v.call("floor", y), v.mul(y, 0.5)
    y_odd = v.both(v.cmp("oeq", floor_y, y), v.cmp("one", v.call("floor", half), half))
    res = v.sel(
        v.both(v.signbit(x), y_odd), v.neg(res), res
    )  # odd powers keep the sign (zeros, infs too)
    neg_finite = v.both(v.cmp("olt", x, 0.0), v.cmp("olt", ax, _INF))
    res = v.sel(v.both(neg_finite, v.both(finite_y, v.cmp("une", floor_y, y))), _NAN, res)
    inf_y = v.sel(v.differ(v.cmp("olt", ax, 1.0), y_neg), 0.0, _INF)
    inf_y = v.sel(v.cmp("oeq", ax, 1.0), 1.0, inf_y)
    res = v.sel(v.cmp("oeq", ay, _INF), inf_y, res)
    res = v.sel(v.cmp("uno", x, y), v.add(x, y), res)
    return v.sel(v.either(v.cmp("oeq", y, 0.0), v.cmp("oeq", x, 1.0)), 1.0, res)


def _pow_f32(v: V, x, y):
    """float32 pow: fpext, the float64 formula without double-double (its error ~2^-45 is far below
    f32's half ulp), one final rounding."""
    d = V(v.f, F64, v.lanes)
    xd = v._e(f"fpext {v.fty} {x} to {d.fty}")
    yd = v._e(f"fpext {v.fty} {y} to {d.fty}")
    return v._e(f"fptrunc {d.fty} {_pow(d, xd, yd, precise=False)} to {v.fty}")


_BUILDERS = {
    "exp": _exp,
    "expm1": _expm1,
    "log": _log,
    "log1p": _log1p,
    "tanh": _tanh,
    "atan2": _atan2,
    "pow": lambda v, x, y: (_pow_f32 if v.t is F32 else _pow)(v, x, y),
    "sin": lambda v, x: _sincos(v, x, False),
    "cos": lambda v, x: _sincos(v, x, True),
}
_PURE = "nounwind willreturn nosync nofree memory(none)"


@functools.cache
def definition(name: str, lanes: int | None = None, symbol: str | None = None,
               inlining: str = "alwaysinline", legal_bits: int | None = None) -> str:
    """The text of function ``name`` (in ``NAMES`` or ``PAIRS``) on scalars, or on ``lanes``-wide
    vectors (the loop vectorizer's variants, vecmath.py), defined as ``symbol`` (default ``name``)
    with the inlining attribute ``inlining`` ("alwaysinline", "noinline" or ""). ``legal_bits``:
    the callers' ``min-legal-vector-width``, which a vector function called out of line must share
    (x86 passes ``<16 x double>`` in two zmm or four ymm registers by it: a mismatch reads half the
    lanes from the wrong registers, as on AVX-512 CPUs preferring 256-bit vectors)."""
    if name not in NAMES and name not in PAIRS:
        raise GraphcError(f"mathlib has no function {name!r}; available: {sorted(NAMES | PAIRS)}")
    _, fn, sfx = name.split("_")
    t = F32 if sfx == "f32" else F64
    ty = vector(t.fty, lanes)
    args = ["%a", "%b"] if fn in _BINARY else ["%a"]  # pow(a, b) = a**b, atan2(a, b) = atan(a/b)
    ret = f"{{{ty}, {ty}}}" if name in PAIRS else ty
    attrs = f"{inlining} {_PURE}" if inlining else _PURE
    if legal_bits:
        attrs += f' "min-legal-vector-width"="{legal_bits}"'
    f = Func(symbol or name, [f"{ty} {a}" for a in args], attrs=attrs, ret=ret)
    v = V(f, t, lanes)
    if name in PAIRS:  # sin and cos of one argument, bit-identical to gc_sin/gc_cos
        sin, cos = _sincos_pair(v, "%a")
        one = f.op(f"insertvalue {ret} poison, {ty} {sin}, 0")
        f.ret(f.op(f"insertvalue {ret} {one}, {ty} {cos}, 1"))
    else:
        f.ret(_BUILDERS[fn](v, *args))
    return f.text() + "\n"


def definitions(names) -> str:
    """IR text defining each requested scalar function once (order-independent, duplicates
    ignored); ``PAIRS`` (two results) may be asked for too."""
    return "\n".join(definition(n) for n in sorted(set(names)))
