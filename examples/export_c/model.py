"""Logistic regression whose compiled value and gradient run from C (see README.md here):
``graphc export`` writes them as a C library, ``main.c`` trains with it without Python.

``python examples/export_c/model.py`` trains the same way in Python and prints the same lines.
"""

import numpy as np

import graphc as gc
import graphc.nn as nn

N, D, STEPS, LR = 64, 3, 50, np.float32(0.5)


def loss(w, b, x, y):
    return nn.binary_cross_entropy_with_logits(x @ w + b, y)


def data():
    """The points main.c makes, with the same float32 operations (so the same bits)."""
    k = (np.arange(N)[:, None] * 7 + np.arange(D) * 3) % 11
    x = k.astype(np.float32) / np.float32(10) - np.float32(0.5)
    y = (x[:, 0] + np.float32(0.5) * x[:, 1] - x[:, 2] > 0).astype(np.float32)
    return x, y


def main(out=print):
    x, y = data()
    w, b = np.zeros(D, np.float32), np.float32(0)
    step = gc.value_and_grad(loss, argnums=(0, 1))
    for s in range(STEPS):
        value, (gw, gb) = step(w, b, x, y)
        if s % 10 == 0:
            out(f"step {s} loss {float(value):.9g}")
        w, b = w - LR * gw, b - LR * gb
    out(f"w {' '.join(f'{float(v):.9g}' for v in w)} b {float(b):.9g}")


if __name__ == "__main__":
    main()
