"""TensorFlow style: ``gc.GradientTape`` and ``gc.custom_gradient`` inside ``gc.function``.

- A tape over a dense layer: ``tape.gradient(loss, {"w": w, "b": b})`` returns a dict (sources
  may be any pytree), as ``tape.gradient(loss, [w, b])`` does in TensorFlow's guide.
- A persistent tape answers two ``gradient`` calls (dz/dx and dy/dx for y = x², z = y²);
  nested tapes give a second derivative.
- ``gc.custom_gradient``: TensorFlow's log1pexp. The naive ``log(1 + exp(x))`` overflows in
  float32 at x = 100: the value is inf and the gradient exp(x) / (1 + exp(x)) is inf / inf = NaN.
  The custom version computes the value as max(x, 0) + log1p(exp(-|x|)) and supplies the
  gradient sigmoid(x) written without overflow, so both stay finite for any x.

    python examples/tensorflow_style.py
"""

import numpy as np

import graphc as gc


@gc.function
def dense_layer_grads(w, b, x):
    with gc.GradientTape() as tape:
        tape.watch(w)
        tape.watch(b)
        y = x @ w + b
        loss = np.mean(y ** 2)
    return loss, tape.gradient(loss, {"w": w, "b": b})


@gc.function
def persistent_grads(x):
    with gc.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    return tape.gradient(z, x), tape.gradient(y, x)  # 4 x**3, 2 x


@gc.function
def second_derivative(x):
    with gc.GradientTape() as outer:
        outer.watch(x)
        with gc.GradientTape() as inner:
            inner.watch(x)
            y = x ** 3
        dy_dx = inner.gradient(y, x)
    return dy_dx, outer.gradient(dy_dx, x)  # 3 x**2, 6 x


def naive_log1pexp(x):
    return np.log(1 + np.exp(x))


@gc.custom_gradient
def log1pexp(x):
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows

    def grad_fn(dy):
        return dy * np.where(x >= 0, 1 / (1 + e), e / (1 + e))  # sigmoid(x)

    return np.maximum(x, 0) + np.log1p(e), grad_fn


def tape_value_and_grad(f):
    """``x -> (f(x), df/dx)`` through a tape, compiled."""

    @gc.function
    def run(x):
        with gc.GradientTape() as tape:
            tape.watch(x)
            y = f(x)
        return y, tape.gradient(y, x)

    return run


def main(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(3, 2)).astype(dtype)
    b = np.zeros(2, dtype)
    x = np.array([[1.0, 2.0, 3.0]], dtype)
    out = {"dense": ((w, b, x), dense_layer_grads(w, b, x))}
    out["persistent"] = persistent_grads(dtype(3.0))
    out["second"] = second_derivative(dtype(2.0))
    points = np.array([-100.0, -1.0, 0.0, 1.0, 100.0], dtype)
    out["naive"] = tape_value_and_grad(naive_log1pexp)(points)
    out["custom"] = tape_value_and_grad(log1pexp)(points)
    out["custom_grad"] = gc.grad(lambda x: np.sum(log1pexp(x)))(points)
    out["points"] = points
    loss, g = out["dense"][1]
    print(f"dense layer: loss {float(loss):.4f}, dl/dw shape {g['w'].shape}, dl/db {g['b']}")
    print(f"persistent tape at x = 3: dz/dx = {out['persistent'][0]}, dy/dx = "
          f"{out['persistent'][1]}; nested tapes at x = 2: d2(x^3)/dx2 = {out['second'][1]}")
    print(f"log1pexp at {points}:\n  naive  value {out['naive'][0]}, grad {out['naive'][1]}\n"
          f"  custom value {out['custom'][0]}, grad {out['custom'][1]}")
    return out


if __name__ == "__main__":
    main()
