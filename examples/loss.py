"""A squared-error loss written with plain NumPy: graphc traces it through NumPy's dispatch.

graphc dump examples/loss.py:loss --arg f32[2,3] --arg f32[2,3]
graphc dump examples/loss.py:loss --arg f32[2,3] --arg f32[2,3] --grad 0
"""

import numpy as np


def loss(x, y):
    return np.sum((x - y) ** 2)


if __name__ == "__main__":
    import graphc as gc

    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = np.ones((2, 3), dtype=np.float32)
    print(gc.make_graph(loss)(x, y))
    print("loss =", gc.function(loss)(x, y))
