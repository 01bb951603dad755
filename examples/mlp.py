"""A one-hidden-layer MLP regression loss: matmul, broadcasting bias, tanh, mean.

    graphc dump examples/mlp.py:mlp_loss --arg f32[4,8] --arg f32[8] --arg f32[8,1] --arg f32[1] \
        --arg f32[16,4] --arg f32[16,1] --grad 0,1,2,3
"""

import numpy as np


def mlp_loss(w1, b1, w2, b2, x, y):
    hidden = np.tanh(x @ w1 + b1)
    pred = hidden @ w2 + b2
    return np.mean((pred - y) ** 2)


if __name__ == "__main__":
    import graphc as gc

    rng = np.random.default_rng(0)
    shapes = [(4, 8), (8,), (8, 1), (1,), (16, 4), (16, 1)]
    args = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    print(gc.make_graph(mlp_loss)(*args))
    print("loss =", gc.function(mlp_loss)(*args), " numpy:", mlp_loss(*args))
