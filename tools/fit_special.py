"""Writes graphc/scipy/_chebyshev.py: Chebyshev series of the smooth parts of erf, erfc, gammaln
and digamma on fixed intervals, computed with mpmath at 200 bits from values at Chebyshev
points, kept up to the first coefficient below 2**-60 of the largest. graphc evaluates them with
Clenshaw's recurrence (graphc/scipy/series.py). Run: python tools/fit_special.py"""

from __future__ import annotations

import pathlib

import mpmath

mpmath.mp.prec = 200
X0 = mpmath.findroot(mpmath.digamma, 1.46)  # digamma's positive zero

#: name -> (function of x, interval, what it is)
FITS = {
    "erf_small": (lambda t: mpmath.erf(mpmath.sqrt(t)) / mpmath.sqrt(t) if t else 2 / mpmath.sqrt(mpmath.pi),
                  (0, 1), "erf(x) / x as a function of t = x**2, |x| <= 1"),
    "erfcx_1_2": (lambda x: mpmath.exp(x * x) * mpmath.erfc(x), (1, 2), "exp(x**2) erfc(x)"),
    "erfcx_2_4": (lambda x: mpmath.exp(x * x) * mpmath.erfc(x), (2, 4), "exp(x**2) erfc(x)"),
    "erfcx_4_8": (lambda x: mpmath.exp(x * x) * mpmath.erfc(x), (4, 8), "exp(x**2) erfc(x)"),
    "erfcx_8_28": (lambda x: mpmath.exp(x * x) * mpmath.erfc(x), (8, 28), "exp(x**2) erfc(x)"),
    "gammaln_1_3": (lambda x: mpmath.loggamma(x) / ((x - 1) * (x - 2)), (1, 3),
                    "gammaln(x) / ((x - 1)(x - 2))"),
    "gammaln_3_10": (mpmath.loggamma, (3, 10), "gammaln(x)"),
    "digamma_1_3": (lambda x: mpmath.digamma(x) / (x - X0), (1, 3), "digamma(x) / (x - x0)"),
    "digamma_3_10": (mpmath.digamma, (3, 10), "digamma(x)"),
}
NODES = 96  # even: no node at an interval's centre (gammaln_1_3's removable point x = 2)


def chebyshev(f, a, b, n=NODES):
    a, b = mpmath.mpf(a), mpmath.mpf(b)
    theta = [mpmath.pi * (k + mpmath.mpf(1) / 2) / n for k in range(n)]
    values = [f((a + b) / 2 + (b - a) / 2 * mpmath.cos(t)) for t in theta]
    coef = [2 * sum(v * mpmath.cos(j * t) for v, t in zip(values, theta)) / n for j in range(n)]
    coef[0] /= 2
    top = max(abs(c) for c in coef)
    keep = next((j for j, c in enumerate(coef) if all(abs(d) < top * mpmath.mpf(2) ** -60
                                                      for d in coef[j:])), n)
    return [float(c) for c in coef[:keep]]


def main():
    lines = ['"""Chebyshev series written by tools/fit_special.py (do not edit): name -> (interval,',
             'coefficients of T_0, T_1, ...), each described in that file."""', "",
             f"DIGAMMA_ZERO = ({float(X0)!r}, {float(X0 - float(X0))!r})  # hi + lo", "", "SERIES = {"]
    for name, (f, (a, b), what) in FITS.items():
        coef = chebyshev(f, a, b)
        lines.append(f"    # {what} on [{a}, {b}]: {len(coef)} terms")
        lines.append(f"    {name!r}: (({a}.0, {b}.0), (")
        lines += [f"        {c!r}," for c in coef]
        lines.append("    )),")
    lines.append("}")
    out = pathlib.Path(__file__).resolve().parents[1] / "graphc" / "scipy" / "_chebyshev.py"
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
