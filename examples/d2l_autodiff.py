"""D2L's automatic-differentiation walkthrough (section 2.5) with graphc in place of
``requires_grad`` / ``backward()``:

- ``y = 2 * dot(x, x)``: ``gc.grad`` gives 4x;
- ``y = x.sum()``: the gradient is all ones;
- a non-scalar ``y = x * x``: PyTorch's ``y.backward(gradient=v)`` is ``gc.vjp``'s pullback
  applied to v, here ``2 x * v``; the full Jacobian (``gc.jacobian``) is diag(2x);
- detaching: ``u = gc.stop_gradient(y)`` (``y.detach()`` inside a traced function) makes
  ``z = u * x`` differentiate to ``u``, while ``y`` itself still differentiates to 2x;
- Python control flow: the ``while``/``if`` function ``f`` of examples/d2l_control_flow.py (that
  file explains the AutoGraph conversion) run with a random scalar, as in the book, and with a
  random vector (the book's exercise), whose vjp with ones is ``f(a) / a`` elementwise.

    python examples/d2l_autodiff.py
"""

import importlib.util
import pathlib

import numpy as np


def two_dot(x):
    return 2 * np.dot(x, x)


def total(x):
    return x.sum()


def square(x):
    return x * x


def detached_product(x):
    """z = u * x with u = x * x detached: dz/dx = u (not 3 x**2)."""
    y = x * x
    u = y.detach()  # the same as gc.stop_gradient(y)
    return (u * x).sum()


def control_flow_f():
    """``f`` from examples/d2l_control_flow.py, loaded by path (examples/ is no package)."""
    path = pathlib.Path(__file__).with_name("d2l_control_flow.py")
    spec = importlib.util.spec_from_file_location("d2l_control_flow", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def main(n=4, seed=0):
    import graphc as gc

    x = np.arange(float(n))
    out = {"x": x, "grad_two_dot": gc.grad(two_dot)(x), "grad_sum": gc.grad(total)(x)}
    y, pullback = gc.vjp(square, x)
    out["vjp_square"] = pullback(np.ones_like(y))[0]  # y.backward(torch.ones(n))
    out["jacobian_square"] = gc.jacobian(square)(x)
    out["grad_detached"] = gc.grad(detached_product)(x)
    out["grad_stop_gradient"] = gc.grad(lambda x: (gc.stop_gradient(x * x) * x).sum())(x)
    out["grad_undetached"] = gc.grad(lambda x: (x * x).sum())(x)

    f = control_flow_f()
    rng = np.random.default_rng(seed)
    a = np.float64(rng.normal())
    out["control_scalar"] = (a, gc.jit(f)(a), gc.grad(f)(a))
    av = rng.normal(size=n)
    d, pullback = gc.vjp(f, av)
    out["control_vector"] = (av, d, pullback(np.ones_like(d))[0])

    print(f"x = {x}: grad 2*dot(x, x) = {out['grad_two_dot']}, grad sum = {out['grad_sum']}")
    print(f"vjp of x*x with ones = {out['vjp_square']}; with u = (x*x).detach(), "
          f"grad sum(u*x) = {out['grad_detached']}")
    _, fa, ga = out["control_scalar"]
    print(f"control flow: a = {a:.4f}, f(a) = {fa:.4g}, grad = {ga:.4g}, f(a)/a = {fa / a:.4g}")
    return out


if __name__ == "__main__":
    main()
