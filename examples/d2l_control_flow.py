"""D2L's control-flow autodiff example, run as written: a ``while`` whose trip count depends on
the input and an ``if`` on a traced value. AutoGraph (``gc.function``'s default) turns them into
``gc.while_loop`` and ``gc.cond``; ``gc.grad`` differentiates through both in reverse mode, so
the gradient of ``f`` at ``a`` is ``f(a) / a`` (``f`` is linear in ``a`` piece by piece).

    python examples/d2l_control_flow.py
    graphc dump examples/d2l_control_flow.py:f --arg f64[]
"""

import numpy as np


def f(a):
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def main(values=(0.7, -0.7, 1e-6), dtype=np.float64):
    import graphc as gc

    compiled, grad = gc.function(f), gc.grad(f)
    rows = []
    for v in values:
        a = dtype(v)
        c, g = compiled(a), grad(a)
        rows.append((a, c, g, c / a))
        print(f"a = {a: .3g}: f(a) = {c: .6g}, grad = {g: .6g}, f(a)/a = {c / a: .6g}")
    return rows


if __name__ == "__main__":
    main()
