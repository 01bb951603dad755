"""Differential checks of one random program: compiled (LLVM) against the reference evaluator,
the value against NumPy's own in extended precision (numpy_oracle.py: graphc's composites are
shared by both backends), derivatives against central differences, jvp against vjp,
Hessian-vector products in both compositions, a second input, non-contiguous / Fortran-order
inputs, and a NaN input (its NaN must reach the same elements as in NumPy).

Cost: one ``gc.function`` per backend returns the value, the vjp, the jvp and both HVPs together
(``derivatives``); the numerical checks reuse the float64 reference of that same function.

Tolerance policy (compiled vs reference), condition-aware:
  - ``t``, the float64 reference at the same (float32-representable) inputs, stands in for the
    exact result. ``e``, per element, is how far rounding can move it at this input: the largest
    deviation of two float64 runs of the same graph with a random relative error at every
    rounding (rounding.py: ulp-sized at each operation, ``n`` ulp on each term of a sum of
    ``n``) of the program dtype's unit roundoff ``u``; for float32 programs also ``|r32 - t|``,
    NumPy's own float32 run.
  - ``|llvm - t| <= 8 e' + 4 k (n+1) u (|t| + mean|t|)`` with ``e' = e + max(e) / 4``
    (a normwise term: one lucky element hides nothing), ``n`` ops, ``k`` 1 for values, 3 for
    first derivatives and 6 for HVPs (their graphs are that much longer); ``|t|`` also gets a floor of 1/16 of the largest output element, as a
    derivative that is exactly 0 (softmax -> mean) comes out as rounding noise of the
    quantities it cancels.
  - Programs made only of IEEE-exact ops (shape ops, slicing, abs, max/min/clip/where, single
    + - * /, sqrt) must give bit-identical values; so must a non-contiguous or Fortran-order
    input against the contiguous one (the same native code runs on a copy).
  - A non-finite reference element must be matched by the same class (NaN, +inf, -inf).
Numerical derivatives (float64, reference backend): central differences at h = 1e-5 and 1e-8
along a random direction; an element passes when it matches either within 1e-5 (relative, plus
round-off), and is inconclusive (a kink or a jump: relu at 0, ties of max, where) when the
one-sided differences at 1e-8 disagree or the central ones at the two steps do not converge. The two HVP compositions and the two sides of the
adjoint identity (float64 graphs of the same math) may also differ by 8 ``e`` (scaled to
float64's unit roundoff) of each: the HVP of ``std`` over two elements is 0 in exact arithmetic, noise of 1/std terms.
"""

from __future__ import annotations

import dataclasses
import traceback

import numpy as np

import graphc as gc
import graphc.numpy as gnp
from graphc.testing import central_difference
from graphc.trace.function import Function

from . import numpy_oracle
from .rounding import perturbed_call

OUTPUTS = ("value", "vjp", "jvp", "hvp_fwd_over_rev", "hvp_rev_over_rev")
U = {"float32": 2.0 ** -24, "float64": 2.0 ** -53}
SAMPLES = 2  # perturbed runs per input: the largest deviation of two


@dataclasses.dataclass
class Outcome:
    status: str  # ok | mismatch | crash (raw exception, abort) | error (GraphcError) | inconclusive
    check: str = ""
    detail: str = ""

    @property
    def signature(self) -> str:
        """What "fails the same way" means to the minimizer."""
        return f"{self.status}:{self.check}:{_first_line(self.detail)[:60]}"


def _first_line(text):
    return text.strip().splitlines()[-1] if text.strip() else ""


def derivatives(f, n_args):
    """value, vjp(w), jvp(u) and the HVPs jvp(grad L)(u) and grad <grad L, u> of L = sum(f * w),
    as one function of ``(xs, us, w)``."""
    argnums = tuple(range(n_args))

    def F(xs, us, w):
        def loss(*a):
            return gnp.sum(f(*a) * w)

        out, pullback = gc.vjp(f, *xs)
        g = pullback(w)
        _, t = gc.jvp(f, tuple(xs), tuple(us))
        grad = gc.grad(loss, argnums=argnums)
        _, h1 = gc.jvp(lambda *a: grad(*a), tuple(xs), tuple(us))
        h2 = gc.grad(lambda *a: sum(gnp.sum(gi * ui) for gi, ui in zip(grad(*a), us)),
                     argnums=argnums)(*xs)
        return out, tuple(g), t, tuple(h1), tuple(h2)

    return F


def _flat(res):
    out, g, t, h1, h2 = res
    return {"value": [out], "vjp": list(g), "jvp": [t], "hvp_fwd_over_rev": list(h1),
            "hvp_rev_over_rev": list(h2)}


def _classify(exc) -> Outcome:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Outcome("error" if isinstance(exc, gc.GraphcError) else "crash", "", text)


class ProgramCheck:
    """All checks of one program; ``run()`` returns the first failing Outcome (or ok)."""

    def __init__(self, prog, seed=0):
        self.prog = prog
        self.dt = prog.dtype
        self.n = len(prog.ops)
        rng = np.random.default_rng(seed)
        args = prog.args
        out_shape = prog.ops[-1].shape if prog.ops else args[0].shape
        self.xs = prog.inputs()
        self.xs2 = prog.inputs(seed_offset=1)
        self.us = [rng.standard_normal(a.shape).astype(np.float32) for a in args]
        self.w = rng.standard_normal(out_shape).astype(np.float32)
        self.rng = np.random.default_rng(seed + 1)

    def cast(self, dtype, xs):
        return [np.asarray(x, dtype) for x in xs]

    def call(self, fn, dtype, xs):
        return _flat(fn(self.cast(dtype, xs), self.cast(dtype, self.us),
                        np.asarray(self.w, dtype)))

    def reference(self, ref, xs):
        """The reference in float64 and in the program's dtype, and ``spread``: the largest
        deviation from the float64 one of ``SAMPLES`` runs with modelled rounding errors
        (rounding.py), which measures how much rounding this program amplifies at this input."""
        r = {d: self.call(fn, d, xs) for d, fn in ref.items()}
        args = (self.cast(np.float64, xs), self.cast(np.float64, self.us),
                np.asarray(self.w, np.float64))
        spread = {k: [np.zeros(np.shape(a)) for a in v] for k, v in r["float64"].items()}
        for _ in range(SAMPLES):
            sample = _flat(perturbed_call(ref["float64"], self.rng, U[self.dt], *args))
            for k, v in sample.items():
                for s, a, t in zip(spread[k], v, r["float64"][k]):
                    np.fmax(s, np.abs(np.asarray(a, np.float64) - t), out=s)
        r["spread"] = spread
        return r

    def run(self) -> Outcome:
        stage = "build"
        try:
            fs = {d: self.prog.build(d) for d in ("float64", self.dt)}
            stage = "reference"
            # the oracles run the traced graph as is: no optimizer between them and the rules
            ref = {d: Function(derivatives(f, len(self.xs)), backend="reference", optimize=False)
                   for d, f in fs.items()}
            r = self.reference(ref, self.xs)
            stage = "llvm"
            llvm = gc.function(derivatives(fs[self.dt], len(self.xs)), backend="llvm")
            c = self.call(llvm, self.dt, self.xs)
        except Exception as exc:  # noqa: BLE001 - every failure is classified and reported
            out = _classify(exc)
            out.check = stage
            return out
        for check in (
            lambda: self.compare(c, r, "first call"),
            lambda: self.exact(c, r),
            lambda: self.against_numpy(c, r),
            lambda: self.adjoint(r["float64"], r["spread"]),
            lambda: self.numeric(ref["float64"], r["float64"], r["spread"]),
            lambda: self.second(llvm, ref),
            lambda: self.layouts(llvm, c),
            lambda: self.nan_input(llvm),
        ):
            try:
                out = check()
            except Exception as exc:  # noqa: BLE001
                out = _classify(exc)
                out.check = out.check or "later call"
            if out.status != "ok":
                return out
        return Outcome("ok")

    # --- compiled vs reference ----------------------------------------------------------------
    def compare(self, c, r, when, names=OUTPUTS, label="reference") -> Outcome:
        u = U[self.dt]
        # floor: every output's error is at least rounding of the largest quantity computed
        # (a derivative that is 0 in exact arithmetic comes out as noise of that size)
        top = max(np.max(np.abs(np.asarray(a, np.float64)), initial=0.0)
                  for v in r["float64"].values() for a in v)
        for name, depth in zip(OUTPUTS, (1, 3, 3, 6, 6)):  # derivative graphs hold more ops
            if name not in names:
                continue
            n = depth * (self.n + 1)
            for i, (got, same_dt, t, spread) in enumerate(zip(
                    c[name], r[self.dt][name], r["float64"][name], r["spread"][name])):
                got, same_dt, t = (np.asarray(a, np.float64) for a in (got, same_dt, t))
                bad = _nonfinite_mismatch(got, same_dt, label)
                if bad:
                    return Outcome("mismatch", f"{name}[{i}]", f"{when}: {bad}")
                fin = np.isfinite(same_dt) & np.isfinite(t)
                cond = np.where(fin, np.maximum(spread, np.abs(same_dt - t)), 0.0)
                cond = cond + 0.25 * np.max(cond, initial=0.0)  # a lucky element hides none
                scale = np.abs(t) + (np.mean(np.abs(t[fin])) if fin.any() else 0.0) + top / 16
                allowed = 8 * cond + 4 * n * u * scale
                err = np.where(fin, np.abs(got - t), 0.0)
                if (err > allowed).any():
                    k = np.unravel_index(np.argmax(err - allowed), err.shape)
                    return Outcome("mismatch", f"{name}[{i}]", (
                        f"{when}: llvm {got[k]!r} vs {label} {same_dt[k]!r} (float64 {t[k]!r}) "
                        f"at {k}: error {err[k]:.3g} > allowed {allowed[k]:.3g}"))
        return Outcome("ok")

    def against_numpy(self, c, r) -> Outcome:
        """The compiled value against NumPy's, in extended precision (numpy_oracle.py), under
        the same rounding model: checks what both backends share, graphc's composites."""
        oracle = {**r["float64"], "value": [numpy_oracle.value(self.prog, self.xs)]}
        # NumPy's float32 run stays a conditioning sample (compare takes it from ``same_dt``)
        own = np.abs(np.asarray(r[self.dt]["value"][0], np.float64) - r["float64"]["value"][0])
        spread = {**r["spread"], "value": [np.fmax(r["spread"]["value"][0], own)]}
        return self.compare(c, {"float64": oracle, self.dt: oracle, "spread": spread},
                            "first call", ("value",), "NumPy")

    def nan_input(self, llvm) -> Outcome:
        """A NaN in one element of the first argument: the compiled value must hold NaN (and
        infinities) exactly where NumPy's does."""
        xs = [np.array(x, self.dt) for x in self.xs]
        k = int(self.rng.integers(xs[0].size))
        xs[0].reshape(-1)[k] = np.nan  # (reshape(-1) of a contiguous array is a view)
        got = self.call(llvm, self.dt, xs)["value"][0]
        bad = _nonfinite_mismatch(np.asarray(got, np.float64),
                                  numpy_oracle.value(self.prog, xs), "NumPy")
        return Outcome("mismatch", "nan input", f"x0.flat[{k}] = NaN: {bad}") if bad else \
            Outcome("ok")

    def exact(self, c, r) -> Outcome:
        if not self.prog.exact:
            return Outcome("ok")
        got, want = c["value"][0], r[self.dt]["value"][0]
        if not np.array_equal(got, want, equal_nan=True):
            k = np.unravel_index(np.argmax(np.abs(got - want)), np.shape(got))
            return Outcome("mismatch", "exact value",
                           f"all ops exact, yet llvm {got[k]!r} != reference {want[k]!r} at {k}")
        return Outcome("ok")

    # --- derivatives against each other and against differences ------------------------------
    def adjoint(self, r64, spread) -> Outcome:
        w, us = np.asarray(self.w, np.float64), self.cast(np.float64, self.us)
        lhs = np.vdot(w, r64["jvp"][0])
        rhs = sum(np.vdot(g, u) for g, u in zip(r64["vjp"], us))
        size = abs(np.vdot(np.abs(w), np.abs(r64["jvp"][0]))) + \
            sum(np.vdot(np.abs(g), np.abs(u)) for g, u in zip(r64["vjp"], us))
        moved = np.vdot(np.abs(w), spread["jvp"][0]) + \
            sum(np.vdot(s, np.abs(u)) for s, u in zip(spread["vjp"], us))  # by rounding
        top = np.max(np.abs(r64["value"][0]), initial=0.0)
        allowed = 1e-10 * size + 1e-13 * (1.0 + top) + 8 * moved * (U["float64"] / U[self.dt])
        if not abs(lhs - rhs) <= allowed:
            return Outcome("mismatch", "adjoint",
                           f"<w, J u> = {lhs!r} but <J^T w, u> = {rhs!r}")
        return Outcome("ok")

    def numeric(self, ref64, r64, spread) -> Outcome:
        xs, us = self.cast(np.float64, self.xs), self.cast(np.float64, self.us)
        w = np.asarray(self.w, np.float64)

        def at(points):
            res = _flat(ref64(points, us, w))
            return [res["value"][0]] + res["vjp"]  # f and grad L

        base = [r64["value"][0]] + r64["vjp"]
        diffs = central_difference(at, xs, us, (1e-5, 1e-8), base)
        analytic = [r64["jvp"][0]] + r64["hvp_fwd_over_rev"]
        for j, (name, want) in enumerate([("jvp", analytic[0])] + [
                ("hvp_fwd_over_rev", a) for a in analytic[1:]]):
            bad = _fd_mismatch(want, diffs, j, base[j])
            if bad:
                return Outcome("mismatch", f"numeric {name}", bad)
        top = max(np.max(np.abs(a), initial=0.0) for a in r64["vjp"] + r64["hvp_fwd_over_rev"])
        # two float64 graphs of the same math: each is as far from it as rounding moves it
        for i, (h1, h2, s1, s2) in enumerate(zip(
                r64["hvp_fwd_over_rev"], r64["hvp_rev_over_rev"],
                spread["hvp_fwd_over_rev"], spread["hvp_rev_over_rev"])):
            tol = 1e-8 * (np.abs(h1) + np.mean(np.abs(h1))) + 1e-12 * (1.0 + top) + \
                8 * (s1 + s2) * (U["float64"] / U[self.dt])
            if (np.abs(h1 - h2) > tol).any():
                return Outcome("mismatch", f"hvp compositions [{i}]",
                               f"max |fwd-over-rev - rev-over-rev| = {np.max(np.abs(h1 - h2)):.3g}")
        return Outcome("ok")

    # --- other inputs of the same signature --------------------------------------------------
    def second(self, llvm, ref) -> Outcome:
        r = self.reference(ref, self.xs2)
        return self.compare(self.call(llvm, self.dt, self.xs2), r, "second input")

    def layouts(self, llvm, c) -> Outcome:
        for label, view in (("strided view", _strided), ("Fortran order", _fortran)):
            xs = [view(x) for x in self.cast(self.dt, self.xs)]
            got = self.call(llvm, self.dt, xs)
            for name in OUTPUTS:
                for a, b in zip(got[name], c[name]):
                    if not np.array_equal(a, b, equal_nan=True):
                        return Outcome("mismatch", f"layout {name}",
                                       f"{label} input gives other numbers than a contiguous one")
        return Outcome("ok")


def _strided(x):
    if x.ndim == 0:
        return x
    big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
    big[..., ::2] = x
    return big[..., ::2]


def _fortran(x):
    return np.asfortranarray(x) if x.ndim else x  # (asfortranarray makes a 0-d array 1-d)


def _nonfinite_mismatch(got, want, label="reference"):
    for kind, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        if not np.array_equal(test(got), test(want)):
            return (f"{kind} pattern differs: llvm {got.ravel()[:4]} vs {label} "
                    f"{want.ravel()[:4]}")
    return ""


def _fd_mismatch(analytic, diffs, j, f0):
    """Compare one analytic directional derivative with the central differences ``diffs``
    (per step: a list over outputs of (central, forward, backward)); "" when it agrees."""
    (c1, _, _), (c2, fwd, bwd) = diffs[0][j], diffs[1][j]
    a = np.asarray(analytic, np.float64)
    fscale = np.max(np.abs(f0)) if np.size(f0) else 0.0
    scale = np.abs(c1) + np.mean(np.abs(c1))
    # relative 1e-5, plus round-off of the differences: intermediates are O(1..1e4) by
    # construction, so a floor of 1e-7 (h=1e-5) and 1e-6 (h=1e-8) absolute
    tol1 = 1e-5 * scale + 1e-11 * fscale / 1e-5 + 1e-7
    tol2 = 1e-5 * scale + 1e-13 * fscale / 1e-8 + 1e-6
    ok = (np.abs(a - c1) <= tol1) | (np.abs(a - c2) <= tol2)
    # not smooth here: the one-sided differences disagree (a kink), or the central ones do not
    # converge (a jump, or a kink whose subgradient is the midpoint: max ties, abs'(0) = 0)
    rough = (np.abs(fwd - bwd) > tol2) | (np.abs(c1 - c2) > tol1 + tol2)
    bad = ~ok & ~rough
    if bad.any():
        k = np.unravel_index(np.argmax(np.where(bad, np.abs(a - c1), 0)), np.shape(a))
        return (f"analytic {a[k]!r} vs central differences {c1[k]!r} (h=1e-5), {c2[k]!r} "
                f"(h=1e-8) at {k}")
    return ""


# The tail of every reproducer: the same derivatives function, both backends, the differences.
REPRO_HARNESS = '''

def F(xs, us, w):
    argnums = tuple(range(len(xs)))
    loss = lambda *a: gnp.sum(f(*a) * w)
    out, pullback = gc.vjp(f, *xs)
    _, t = gc.jvp(f, tuple(xs), tuple(us))
    grad = gc.grad(loss, argnums=argnums)
    _, h1 = gc.jvp(lambda *a: grad(*a), tuple(xs), tuple(us))
    h2 = gc.grad(lambda *a: sum(gnp.sum(g * u) for g, u in zip(grad(*a), us)), argnums=argnums)(*xs)
    return out, pullback(w), t, h1, h2


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    US = [rng.standard_normal(np.shape(a)).astype(np.float32).astype(DT) for a in ARGS]
    out_shape = np.shape(gc.function(f, backend="reference")(*ARGS))
    W = rng.standard_normal(out_shape).astype(np.float32).astype(DT)
    print("value only, llvm:", gc.function(f)(*ARGS))  # crashes here are in the forward graph
    want = gc.function(F, backend="reference")(ARGS, US, W)
    got = gc.function(F)(ARGS, US, W)
    names = ("value", "vjp", "jvp", "hvp_fwd_over_rev", "hvp_rev_over_rev")
    for name, a, b in zip(names, got, want):
        for x, y in zip(np.atleast_1d(np.asarray(a, object)) if name != "value" else [a],
                        np.atleast_1d(np.asarray(b, object)) if name != "value" else [b]):
            x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
            print(f"{name:18s} max |llvm - reference| = {np.max(np.abs(x - y), initial=0):.3g}")
'''
