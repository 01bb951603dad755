"""A small convolution layer written in plain NumPy (``np.pad``, slicing, ``np.stack`` and
``np.einsum``), compiled and differentiated by graphc unchanged: graphc traces the NumPy calls.

    python examples/conv2d.py
"""

import numpy as np


def conv2d(x, w, b):
    """``x``: (channels, height, width); ``w``: (out, channels, k, k); a 'same' convolution
    (zero padding) plus a bias, then ReLU."""
    k = w.shape[-1]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p)))
    h, wd = x.shape[1], x.shape[2]
    patches = np.stack([xp[:, i : i + h, j : j + wd] for i in range(k) for j in range(k)])
    patches = patches.reshape(k, k, x.shape[0], h, wd)
    out = np.einsum("ijchw,ocij->ohw", patches, w) + b[:, None, None]
    return np.maximum(out, 0.0)


def loss(w, b, x, target):
    return np.mean((conv2d(x, w, b) - target) ** 2)


def main(size=8, seed=0):
    import graphc as gc

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(3, size, size))
    w, b = rng.normal(size=(4, 3, 3, 3)) * 0.3, rng.normal(size=4) * 0.1
    target = rng.normal(size=(4, size, size))
    value, grads = gc.value_and_grad(loss, argnums=(0, 1))(w, b, x, target)
    print(f"loss {value:.6f}; |dL/dw| {np.abs(grads[0]).sum():.6f}; |dL/db| {np.abs(grads[1]).sum():.6f}")
    return (w, b, x, target), value, grads


if __name__ == "__main__":
    main()
