"""A character-level RNN language model in plain NumPy (embedding lookup by integer indexing,
``np.repeat``, ``np.hstack``, ``np.tanh``, a hand-written log-sum-exp), trained a few steps with
graphc's gradients: the NumPy code is traced unchanged.

    python examples/char_rnn.py
"""

import numpy as np

TEXT = "hello graphc, hello numpy. " * 4


def logsumexp(z):
    m = np.max(z, axis=-1, keepdims=True)
    return (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))[..., 0]


def nll(params, chars, targets):
    """Mean negative log-likelihood of ``targets`` after each prefix of ``chars``."""
    emb, w_xh, w_hh, b_h, w_hy, b_y = params
    batch = chars.shape[0]
    h = np.repeat(b_h[None, :] * 0.0, batch, axis=0)
    total = 0.0
    for t in range(chars.shape[1]):
        x = emb[chars[:, t]]
        h = np.tanh(np.hstack([x, h]) @ np.vstack([w_xh, w_hh]) + b_h)
        logits = h @ w_hy + b_y
        picked = np.take_along_axis(logits, targets[:, t : t + 1], axis=1)[:, 0]
        total = total + np.sum(logsumexp(logits) - picked)
    return total / (batch * chars.shape[1])


def init(vocab, hidden=16, embed=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(vocab, embed)) * 0.3, rng.normal(size=(embed, hidden)) * 0.3,
            rng.normal(size=(hidden, hidden)) * 0.3, np.zeros(hidden),
            rng.normal(size=(hidden, vocab)) * 0.3, np.zeros(vocab)]


def data(seq=8):
    vocab = sorted(set(TEXT))
    ids = np.array([vocab.index(c) for c in TEXT])
    starts = np.arange(0, len(ids) - seq - 1, seq)
    chars = np.stack([ids[s : s + seq] for s in starts])
    targets = np.stack([ids[s + 1 : s + seq + 1] for s in starts])
    return len(vocab), chars, targets


def main(steps=30, lr=0.5):
    import graphc as gc

    vocab, chars, targets = data()
    params = init(vocab)
    step = gc.function(gc.value_and_grad(nll))
    losses = []
    for _ in range(steps):
        value, grads = step(params, chars, targets)
        params = [p - lr * g for p, g in zip(params, grads)]
        losses.append(float(value))
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} in {steps} steps")
    return losses, params, (chars, targets)


if __name__ == "__main__":
    main()
