"""graphc.nn: neural-network functions composed from graphc.numpy (no new primitives).

Each is numerically stable in forward and backward: softmax/log_softmax/logsumexp shift by the
gradient-stopped maximum, softplus and the logistic losses use log1p(exp(-|x|)), sigmoid is
0.5*tanh(0.5*x)+0.5 (no overflow for large |x|).
"""

from __future__ import annotations

from . import numpy as gnp
from .errors import GraphcError
from .numpy import logsumexp
from .numpy._core import as_float, cast, lift
from .trace.tracer import located

__all__ = [
    "relu",
    "sigmoid",
    "softplus",
    "tanh",
    "softmax",
    "log_softmax",
    "logsumexp",
    "mse",
    "binary_cross_entropy_with_logits",
    "softmax_cross_entropy",
    "clip_by_value",
    "clip_by_global_norm",
]

tanh = gnp.tanh


def relu(x):
    """max(x, 0); the gradient at 0 is 0 (as in JAX and PyTorch)."""
    x = as_float(x)
    return gnp.where(x > 0, x, cast(0, x.dtype))


def sigmoid(x):
    """1 / (1 + exp(-x)) as 0.5*tanh(0.5*x) + 0.5: no overflow for large |x|."""
    x = as_float(x)
    return gnp.add(gnp.multiply(gnp.tanh(gnp.multiply(x, 0.5)), 0.5), 0.5)


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""
    x = as_float(x)
    return gnp.add(relu(x), gnp.log1p(gnp.exp(gnp.negative(gnp.abs(x)))))


def log_softmax(x, axis=-1):
    """x - logsumexp(x): stable for large logits (the shift is by the stopped maximum)."""
    x = as_float(x)
    return gnp.subtract(x, logsumexp(x, axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """exp(log_softmax(x)): no overflow, and rows sum to 1 up to rounding."""
    return gnp.exp(log_softmax(x, axis=axis))


def mse(pred, target):
    """Mean squared error over all elements."""
    d = gnp.subtract(pred, target)
    return gnp.mean(gnp.multiply(d, d))


def _reduce(loss, reduction):
    if reduction == "mean":
        return gnp.mean(loss)
    if reduction == "sum":
        return gnp.sum(loss)
    if reduction == "none":
        return loss
    raise located(GraphcError, f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def binary_cross_entropy_with_logits(
    logits, labels, weight=None, pos_weight=None, reduction="mean"
):
    """PyTorch's BCEWithLogitsLoss: -w*[p*y*log σ(x) + (1-y)*log(1-σ(x))], stable for any logit."""
    x = as_float(logits)
    y = cast(labels, x.dtype)
    log_sig = gnp.negative(softplus(gnp.negative(x)))  # log σ(x)
    log_one_minus = gnp.negative(softplus(x))  # log(1 - σ(x))
    pos = gnp.multiply(y, log_sig)
    if pos_weight is not None:
        pos = gnp.multiply(pos, pos_weight)
    loss = gnp.negative(gnp.add(pos, gnp.multiply(gnp.subtract(1, y), log_one_minus)))
    if weight is not None:
        loss = gnp.multiply(loss, weight)
    return _reduce(loss, reduction)


def softmax_cross_entropy(logits, labels_onehot):
    """Mean over the batch of -sum(labels * log_softmax(logits), axis=-1)."""
    logp = log_softmax(logits, axis=-1)
    per_example = gnp.negative(gnp.sum(gnp.multiply(labels_onehot, logp), axis=-1))
    return gnp.mean(per_example)


def clip_by_value(x, clip_value_min, clip_value_max):
    """TensorFlow's name for ``clip``; at the bounds the gradient is split as in JAX."""
    return gnp.clip(x, clip_value_min, clip_value_max)


def clip_by_global_norm(tree, max_norm):
    """Scale every leaf of ``tree`` by min(1, max_norm / global_norm) (TensorFlow's and optax's
    rule); returns the clipped tree (the global norm is not returned, unlike tf.clip_by_global_norm,
    to keep the pytree in, pytree out shape of graphc.optim)."""
    from .trace.pytree import flatten, unflatten

    leaves, treedef = flatten(tree)
    total = None
    for leaf in leaves:
        s = gnp.sum(gnp.multiply(leaf, leaf))
        total = s if total is None else gnp.add(total, s)
    norm = gnp.linalg.safe_sqrt(total)
    scale = gnp.minimum(1.0, gnp.divide(max_norm, gnp.maximum(norm, 1e-30)))
    return unflatten(
        treedef, [gnp.multiply(leaf, cast(scale, lift(leaf).dtype)) for leaf in leaves]
    )
