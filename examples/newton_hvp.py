"""Hessian-vector products and Newton's method. graphc has no ``hvp`` function; the product is
forward-over-reverse, ``gc.jvp(gc.grad(f), (x,), (v,))[1]`` = H(x) v, at the cost of a few
gradients and without forming H. It is checked against ``gc.hessian(f)(x) @ v``. Newton-CG then
minimizes a smooth strictly convex function, f(x) = x^T A x / 2 + b^T x + logsumexp(C x) with A
positive definite: each Newton step solves H d = -g by conjugate gradients that only call the
HVP, and the gradient norm falls quadratically, below 1e-10 in a handful of steps.

    python examples/newton_hvp.py
"""

import numpy as np


def problem(n=5, m=8, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n, n))
    return {"A": q @ q.T / n + 0.5 * np.eye(n), "b": rng.normal(size=n),
            "C": rng.normal(size=(m, n))}


def objective(x, A, b, C):
    z = C @ x
    zmax = np.max(z)
    return 0.5 * x @ (A @ x) + b @ x + zmax + np.log(np.sum(np.exp(z - zmax)))


def hvp(f):
    """``(x, v, *args) -> H(x) v`` for the Hessian of ``f`` in its first argument."""
    import graphc as gc

    def product(x, v, *args):
        return gc.jvp(lambda y: gc.grad(f)(y, *args), (x,), (v,))[1]

    return product


def conjugate_gradient(matvec, rhs, iters, tol=1e-14):
    """Solve M d = rhs for a symmetric positive definite M given only ``matvec``."""
    d = np.zeros_like(rhs)
    r = rhs.copy()
    p = r.copy()
    for _ in range(iters):
        rr = r @ r
        if np.sqrt(rr) < tol:
            break
        mp = matvec(p)
        alpha = rr / (p @ mp)
        d, r = d + alpha * p, r - alpha * mp
        p = r + (r @ r) / rr * p
    return d


def newton_cg(x, args, steps=10, tol=1e-10):
    """Newton's method with the CG inner solve; returns x and the gradient norm at each step."""
    import graphc as gc

    grad = gc.jit(gc.grad(objective))
    product = gc.jit(hvp(objective))
    norms = []
    for _ in range(steps):
        g = grad(x, *args)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        x = x + conjugate_gradient(lambda v: product(x, v, *args), -g, iters=2 * x.size)
    return x, norms


def main(n=5, m=8, steps=10, seed=0):
    import graphc as gc

    p = problem(n, m, seed)
    args = (p["A"], p["b"], p["C"])
    rng = np.random.default_rng(seed + 1)
    x0, v = rng.normal(size=n), rng.normal(size=n)
    hv = gc.jit(hvp(objective))(x0, v, *args)
    hessian = gc.hessian(objective)(x0, *args)
    np.testing.assert_allclose(hv, hessian @ v, rtol=1e-10, atol=1e-12)
    x, norms = newton_cg(x0, args, steps)
    print(f"HVP at x0 matches hessian(f)(x0) @ v (max diff {np.max(np.abs(hv - hessian @ v)):.1e})")
    print("Newton-CG |grad f|: " + ", ".join(f"{g:.1e}" for g in norms))
    return {"problem": p, "x0": x0, "v": v, "hvp": hv, "hessian": hessian, "x": x,
            "grad_norms": norms}


if __name__ == "__main__":
    main()
