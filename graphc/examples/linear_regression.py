"""``graphc demo``: the whole pipeline on one small problem a newcomer can read in a minute.

It fits a linear model ``w*x + b`` to noisy synthetic data by gradient descent. The loss is traced
to graphc IR and printed; ``gc.value_and_grad`` appends the gradient graph (its nodes marked
``bwd``); the whole training step (loss, gradient, SGD update) is one ``gc.function``, compiled once
and then called every step. Data and parameters are float32 and the learning rate a Python float,
which stays weak (NEP 50), so the step computes in float32 throughout.
"""

from __future__ import annotations

import sys

import numpy as np

import graphc as gc

TRUE_W, TRUE_B = 3.0, -2.0
LEARNING_RATE = 0.1


def loss_fn(params, x, y):
    """Mean squared error of the linear model ``params["w"] * x + params["b"]``."""
    pred = params["w"] * x + params["b"]
    return np.mean((pred - y) ** 2)


@gc.function
def train_step(params, x, y):
    """One SGD step: returns the new parameters and the loss before the step."""
    loss, grads = gc.value_and_grad(loss_fn)(params, x, y)
    new_params = {k: params[k] - LEARNING_RATE * grads[k] for k in params}
    return new_params, loss


def make_data(n: int = 256, seed: int = 0):
    """``y = 3x - 2`` plus a little noise, as float32."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n).astype(np.float32)
    y = (TRUE_W * x + TRUE_B + 0.05 * rng.standard_normal(n)).astype(np.float32)
    return x, y


def run(steps: int = 100, out=None) -> dict:
    """Print the IR and train for ``steps`` steps; returns the losses and the learned parameters."""
    out = out or sys.stdout
    x, y = make_data()
    params = {"w": np.zeros((), np.float32), "b": np.zeros((), np.float32)}
    say = lambda *a: print(*a, file=out)

    say(f"graphc demo: fit y = w*x + b to {x.size} noisy points (true w={TRUE_W}, b={TRUE_B})\n")
    say("1. The loss, traced to graphc's typed IR (one primitive per line, types on every line):\n")
    say(gc.make_graph(loss_fn)(params, x, y))
    concrete = train_step.concrete(params, x, y)
    stats = concrete.stats()
    say("\n2. One training step: the loss, its gradient (nodes marked 'bwd') and the SGD update,")
    say(
        f"   {stats['nodes']['traced']} nodes traced, "
        f"{stats['nodes']['optimized']} after optimization,"
        f" compiled by the {stats.get('backend', '?')!r} backend:\n"
    )
    say(concrete.ir("optimized"))
    say(f"\n3. Training with the compiled step (learning rate {LEARNING_RATE}):\n")
    losses = []
    for step in range(steps):
        params, loss = train_step(params, x, y)
        losses.append(float(loss))
        if step % max(1, steps // 10) == 0 or step == steps - 1:
            say(f"   step {step:4d}   loss {losses[-1]:.6f}")
    w, b = float(params["w"]), float(params["b"])
    say(f"\nlearned w = {w:.4f} (true {TRUE_W}), b = {b:.4f} (true {TRUE_B})")
    return {"losses": losses, "w": w, "b": b}
