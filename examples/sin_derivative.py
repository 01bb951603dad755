"""D2L's exercise: plot sin(x) and its derivative without computing the derivative by hand.
``gc.grad`` of ``sum(sin(x))`` gives every d/dx sin(x_i) at once (the sum's gradient is the
elementwise derivative, since each term depends on one x_i); it equals cos(x). Differentiating
again gives -sin(x). With matplotlib installed (the ``plot`` extra) the three curves are written
to a PNG; without it the values are still computed and returned.

    python examples/sin_derivative.py            # writes sin_derivative.png
    pip install 'graphc-compiler[plot]'          # for the PNG
"""

import numpy as np

INSTALL_HINT = ("matplotlib is not installed, so no PNG was written: "
                "pip install 'graphc-compiler[plot]'")


def total_sin(x):
    return np.sum(np.sin(x))


def plot(x, curves, path):
    """Write ``curves`` (label -> values at ``x``) to the PNG ``path``; None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        print(INSTALL_HINT)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, y in curves.items():
        ax.plot(x, y, label=label)
    ax.set_xlabel("x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.16), ncol=3, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")
    return str(path)


def main(n=200, png="sin_derivative.png"):
    import graphc as gc

    x = np.linspace(-2 * np.pi, 2 * np.pi, n)
    d_sin = gc.grad(total_sin)
    d2_sin = gc.grad(lambda x: np.sum(d_sin(x)))  # grad of grad: d^2/dx^2 sin = -sin
    y, dy, d2y = np.sin(x), d_sin(x), d2_sin(x)
    np.testing.assert_allclose(dy, np.cos(x), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(d2y, -np.sin(x), rtol=1e-12, atol=1e-12)
    print(f"{n} points: max |d/dx sin - cos| = {np.max(np.abs(dy - np.cos(x))):.2e}, "
          f"max |d2/dx2 sin + sin| = {np.max(np.abs(d2y + np.sin(x))):.2e}")
    path = None
    if png:
        path = plot(x, {"sin(x)": y, "d/dx sin(x)": dy, "d²/dx² sin(x)": d2y}, png)
    return x, y, dy, d2y, path


if __name__ == "__main__":
    main()
