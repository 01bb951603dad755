"""Linear regression with dict parameters, JAX style: ``params = {"w": ..., "b": ...}`` is a
pytree, ``gc.jit(gc.value_and_grad(loss))`` returns the loss and a gradient dict with the same
keys, shapes and dtypes, and a plain Python loop does gradient descent. The fit approaches the
least-squares solution (``np.linalg.lstsq``) and the true weights the data were drawn from.

    python examples/linear_regression_dict.py
"""

import numpy as np


def predict(params, x):
    return x @ params["w"] + params["b"]


def loss(params, x, y):
    """Mean squared error of the linear model ``x @ w + b``."""
    return np.mean((predict(params, x) - y) ** 2)


def data(n=64, d=3, noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    true = {"w": rng.normal(size=d), "b": np.float64(rng.normal())}
    x = rng.normal(size=(n, d))
    y = predict(true, x) + noise * rng.normal(size=n)
    return x, y, true


def main(n=64, d=3, steps=200, lr=0.1, seed=0):
    import graphc as gc

    x, y, true = data(n, d, seed=seed)
    params = {"w": np.zeros(d), "b": np.float64(0.0)}
    step = gc.jit(gc.value_and_grad(loss))
    losses = []
    for _ in range(steps):
        value, grads = step(params, x, y)  # grads is a dict: {"w": (d,), "b": ()}
        losses.append(float(value))
        params = {k: params[k] - lr * grads[k] for k in params}
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} in {steps} steps; "
          f"w = {np.round(params['w'], 3)} (true {np.round(true['w'], 3)}), "
          f"b = {float(params['b']):.3f} (true {float(true['b']):.3f})")
    return losses, params, (x, y), true


if __name__ == "__main__":
    main()
