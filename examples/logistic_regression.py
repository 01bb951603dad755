"""Logistic regression, MindSpore style: ``forward(x, y, w, b)`` returns the binary cross-entropy
with logits (``graphc.nn.binary_cross_entropy_with_logits``, PyTorch's BCEWithLogitsLoss, with
MindSpore's all-ones ``weight`` and ``pos_weight``), and ``gc.grad(forward, argnums=(2, 3))``
(MindSpore's ``grad(function, grad_position=(2, 3))``) gives the gradients of the weight and the
bias. A compiled train step does gradient descent on a synthetic, linearly separable data set
(points closer than ``margin`` to the true boundary are dropped) until the training accuracy
reaches 100% (main returns it; the test asks for at least 99%).

    python examples/logistic_regression.py
"""

import numpy as np


def forward(x, y, w, b):
    import graphc.nn as nn

    z = x @ w + b
    ones = np.ones_like(z)
    return nn.binary_cross_entropy_with_logits(z, y, weight=ones, pos_weight=ones)


def data(n=200, d=2, margin=0.3, seed=0):
    """Points whose signed distance to the plane ``x @ w_true + b_true = 0`` is at least margin."""
    rng = np.random.default_rng(seed)
    w_true = rng.normal(size=d)
    w_true /= np.linalg.norm(w_true)
    b_true = 0.5
    x = rng.normal(size=(4 * n, d)) * 2
    dist = x @ w_true + b_true
    keep = np.abs(dist) >= margin
    x, dist = x[keep][:n], dist[keep][:n]
    return x, (dist > 0).astype(np.float64), (w_true, b_true)


def accuracy(x, y, w, b):
    return float(np.mean((x @ w + b > 0) == (y > 0.5)))


def main(n=200, d=2, steps=300, lr=1.0, seed=0):
    import graphc as gc

    x, y, _ = data(n, d, seed=seed)
    grad_fn = gc.grad(forward, argnums=(2, 3))  # d loss / d (w, b)

    @gc.jit
    def train_step(x, y, w, b):
        gw, gb = grad_fn(x, y, w, b)
        return w - lr * gw, b - lr * gb, forward(x, y, w, b)

    w, b = np.zeros(d), np.float64(0.0)
    losses = []
    for _ in range(steps):
        w, b, value = train_step(x, y, w, b)
        losses.append(float(value))
    acc = accuracy(x, y, w, b)
    print(f"BCE {losses[0]:.4f} -> {losses[-1]:.4f} in {steps} steps; "
          f"training accuracy {acc:.1%}; w = {np.round(w, 3)}, b = {float(b):.3f}")
    return losses, (w, b), (x, y), acc


if __name__ == "__main__":
    main()
