"""Testing helpers: ``check_grads``, a numerical check of graphc's derivatives (like
``jax.test_util.check_grads``).

Forward mode is checked against central differences along a random direction ``u``:
``jvp(f, x, u) ~ (f(x + eps u) - f(x - eps u)) / (2 eps)``. Reverse mode is checked with the
adjoint identity ``<vjp(f, x)(v), u> ~ <v, J u>`` for a random cotangent ``v``, which covers the
whole Jacobian in one scalar. ``order=2`` checks the derivative functions themselves the same way
(the jvp along a fixed direction, the vjp with a fixed cotangent), and so on for higher orders.

All floating-point arguments are converted to float64 first, so the differences are accurate;
integer and bool arguments stay as they are and are not perturbed. By default the functions run on
the reference backend without optimization passes: the checker tests the derivative rules and the
differentiation itself, independent of the optimizer and the compiler (pass ``backend="llvm"`` and
``optimize=True`` to check compiled code).
"""

from __future__ import annotations

import numpy as np

from .trace import pytree
from .trace.function import Function


def _to_f64(x):
    if isinstance(x, (bool, int)) or (hasattr(x, "dtype") and np.dtype(x.dtype).kind in "biu"):
        return x
    return np.asarray(x, dtype=np.float64)


def _is_float(x) -> bool:
    return np.asarray(x).dtype.kind == "f"


def _random_like(tree, rng):
    """A random normal array for each floating leaf, zeros of the leaf's type for the others."""
    return pytree.tree_map(
        lambda x: rng.standard_normal(np.shape(x)) if _is_float(x) else np.zeros_like(x), tree
    )


def _axpy(a, u, x):
    return pytree.tree_map(lambda xi, ui: xi + a * ui if _is_float(xi) else xi, x, u)


def _inner(a, b) -> float:
    return float(
        sum(
            np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64))
            for x, y in zip(pytree.flatten(a)[0], pytree.flatten(b)[0], strict=True)
            if _is_float(x) and _is_float(y)
        )
    )


def _close(actual, expected, atol, rtol, what):
    for a, e in zip(pytree.flatten(actual)[0], pytree.flatten(expected)[0], strict=True):
        if not _is_float(e):
            continue
        np.testing.assert_allclose(
            np.asarray(a, np.float64), np.asarray(e, np.float64), atol=atol, rtol=rtol, err_msg=what
        )


class _Checker:
    def __init__(self, eps, atol, rtol, rng, backend, optimize):
        self.eps, self.atol, self.rtol, self.rng = eps, atol, rtol, rng
        self.backend, self.optimize = backend, optimize

    def compile(self, fn):
        def call(*args):  # any callable (a primitive, a partial), under a readable name
            return fn(*args)

        call.__name__ = getattr(fn, "__name__", type(fn).__name__)
        return Function(call, backend=self.backend, optimize=self.optimize)

    def numeric_jvp(self, f_c, args, u):
        plus = f_c(*_axpy(self.eps, u, args))
        minus = f_c(*_axpy(-self.eps, u, args))
        return pytree.tree_map(
            lambda p, m: (np.asarray(p, np.float64) - m) / (2 * self.eps) if _is_float(p) else p,
            plus,
            minus,
        )

    def check_jvp(self, f, args, u):
        from .autodiff import jvp

        f_c = self.compile(f)
        out, t_out = self.compile(lambda a, t: jvp(f, a, t))(args, u)
        _close(out, f_c(*args), self.atol, self.rtol, "jvp: primal output differs from f")
        _close(
            t_out,
            self.numeric_jvp(f_c, args, u),
            self.atol,
            self.rtol,
            "jvp differs from central differences",
        )

    def check_vjp(self, f, args, u):
        from .autodiff import vjp

        f_c = self.compile(f)
        out = f_c(*args)
        v = _random_like(out, self.rng)
        ct = self.compile(lambda a, v: vjp(f, *a)[1](v))(args, v)
        ip = _inner(ct, u)
        expected = _inner(v, self.numeric_jvp(f_c, args, u))
        np.testing.assert_allclose(
            ip,
            expected,
            atol=self.atol,
            rtol=self.rtol,
            err_msg="vjp fails the adjoint identity <vjp(v), u> = <v, J u>",
        )
        return v

    def check(self, f, args, order, modes):
        from .autodiff import jvp, vjp

        u = _random_like(args, self.rng)
        if "fwd" in modes:
            self.check_jvp(f, args, u)
            if order > 1:
                self.check(lambda *a: jvp(f, a, u)[1], args, order - 1, modes)
        if "rev" in modes:
            v = self.check_vjp(f, args, u)
            if order > 1:
                self.check(lambda *a: vjp(f, *a)[1](v), args, order - 1, modes)


def check_grads(
    f,
    args,
    order=1,
    modes=("fwd", "rev"),
    eps=1e-4,
    atol=1e-5,
    rtol=1e-5,
    seed=0,
    backend="reference",
    optimize=False,
):
    """Raise AssertionError unless ``f``'s derivatives up to ``order`` match numerical ones.

    ``f`` takes ``*args`` (arrays, Python scalars or pytrees of them) and returns arrays or a
    pytree of them; ``modes`` is a subset of ``("fwd", "rev")``.
    """
    bad = set(modes) - {"fwd", "rev"}
    if bad or order < 1:
        raise ValueError(
            f"check_grads: modes must be within ('fwd', 'rev') and order >= 1; got "
            f"modes={modes!r}, order={order!r}"
        )
    args = tuple(pytree.tree_map(_to_f64, a) for a in args)
    rng = np.random.default_rng(seed)
    _Checker(eps, atol, rtol, rng, backend, optimize).check(f, args, order, tuple(modes))


def central_difference(fn, args, direction, steps, f0=None):
    """Finite differences of ``fn`` (a list of arrays from a list of arrays) along
    ``direction``: for each step ``h`` a list, per output, of the central, forward and backward
    differences. The one-sided pair tells a kink or a jump (they disagree) from smooth behaviour;
    the random-program tests use it to call such points inconclusive instead of failing them."""
    f0 = fn(args) if f0 is None else f0
    out = []
    for h in steps:
        plus = fn([np.asarray(x, np.float64) + h * u for x, u in zip(args, direction)])
        minus = fn([np.asarray(x, np.float64) - h * u for x, u in zip(args, direction)])
        out.append([
            ((p - m) / (2 * h), (p - z) / h, (z - m) / h)
            for p, m, z in zip(plus, minus, (np.asarray(a, np.float64) for a in f0), strict=True)
        ])
    return out
