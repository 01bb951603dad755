"""graphc.nn: neural-network functions composed from graphc.numpy (no new primitives).

Design choices:
- NaN in, NaN out (NumPy's rule): no select may turn a NaN into a number (``relu`` tests
  ``x <= 0``, which is false for NaN, rather than ``x > 0``).
- Branches are chosen by ``x >= 0`` with formulas that are smooth across 0 on the chosen side,
  never through ``abs``/``maximum`` (whose derivative at 0 is 0 or split), so ``sigmoid'(0)``,
  ``softplus'(0)`` and every higher derivative at 0 are the true ones. Each branch only sees
  ``exp`` of a value <= 0, so nothing overflows and no unselected branch sends 0 * inf = NaN
  into a gradient.
- ``softmax``/``log_softmax`` follow JAX: a row holding +inf, or only -inf, is NaN throughout
  (the limit is not defined or not what the caller meant); ``logsumexp`` gives +-inf (SciPy/JAX).
- Log-likelihood losses take ``0 * log p`` as 0 where ``p == 0`` (the entropy convention, SciPy's
  ``xlogy``), so a label of 0 ignores a logit of -inf (masking) instead of giving NaN.

``tanh`` and ``logsumexp`` are graphc.numpy's functions under their graphc.nn names::

    >>> import numpy as np
    >>> import graphc as gc
    >>> print(gc.nn.tanh(np.array([0.0])), gc.nn.tanh is gc.numpy.tanh)
    [0.] True
    >>> print(np.round(gc.nn.logsumexp(np.array([[0.0, 0.0], [1.0, 1.0]]), axis=1), 4))
    [0.6931 1.6931]
"""

from __future__ import annotations

from typing import Any

from . import numpy as gnp
from .core import Tracer, located
from .errors import ArgumentError, GraphcError
from .numpy import logsumexp
from .numpy._core import as_float, cast, lift, static_real

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


def relu(x: Any) -> Any:
    """max(x, 0) with NaN kept; the gradient at 0 is 0 (as in JAX and PyTorch).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(gc.nn.relu(np.array([-1.0, 0.0, 2.0, np.nan])))
        [ 0.  0.  2. nan]
        >>> print(gc.grad(lambda x: np.sum(gc.nn.relu(x)))(np.array([-1.0, 0.0, 2.0])))
        [0. 0. 1.]
    """
    x = as_float(x)
    return gnp.where(gnp.less_equal(x, 0), cast(0, x.dtype), x)


def _neg_abs(x):
    """-|x| whose derivative at 0 is the right-hand one (-1), not abs'(0) = 0: the formulas below
    are smooth across 0 on the ``x >= 0`` side, so they keep their true derivatives there."""
    return gnp.where(gnp.greater_equal(x, 0), gnp.negative(x), x)


def sigmoid(x: Any) -> Any:
    """1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) below, as one division by 1 + e with
    e = exp(-|x|): a few ulp everywhere, down to the underflow of exp(x) (0.5*tanh(x/2) + 0.5 lost
    all digits below about -17 in float32).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(np.round(gc.nn.sigmoid(np.array([-1.0, 0.0, 1.0])), 4))
        [0.2689 0.5    0.7311]
        >>> print(gc.grad(gc.nn.sigmoid)(0.0))
        0.25
    """
    x = as_float(x)
    e = gnp.exp(_neg_abs(x))
    top = gnp.where(gnp.greater_equal(x, 0), cast(1, x.dtype), e)
    return gnp.divide(top, gnp.add(e, 1))


def softplus(x: Any) -> Any:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), with softplus'(0) = 1/2 (see the module
    docstring; relu'(0) = abs'(0) = 0 made it 0).

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(np.round(gc.nn.softplus(np.array([0.0, 1.0, 100.0])), 4))
        [  0.6931   1.3133 100.    ]
        >>> print(gc.grad(gc.nn.softplus)(0.0))
        0.5
    """
    x = as_float(x)
    pos = gnp.where(gnp.greater_equal(x, 0), x, cast(0, x.dtype))
    return gnp.add(pos, gnp.log1p(gnp.exp(_neg_abs(x))))


def _log_sigmoid(x):
    """log sigmoid(x) = -softplus(-x): accurate for every x, with no log of an underflowed 0."""
    return gnp.negative(softplus(gnp.negative(x)))


def _xlogp(w, logp):
    """w * logp, taken as 0 where w == 0 and logp == -inf (0 log 0 = 0); NaN still propagates."""
    ignore = gnp.logical_and(gnp.equal(w, 0), gnp.equal(logp, -float("inf")))
    return gnp.multiply(w, gnp.where(ignore, cast(0, lift(logp).dtype), logp))


def log_softmax(x: Any, axis: int = -1) -> Any:
    """(x - m) - log(sum(exp(x - m))) with m the gradient-stopped maximum of the slice (JAX's
    formula): stable for large logits; a slice holding +inf or only -inf is all NaN.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(np.round(gc.nn.log_softmax(np.array([0.0, 0.0, 1000.0])), 4))
        [-1000. -1000.     0.]
    """
    x = as_float(x)
    shifted = gnp.subtract(x, gnp.stop_gradient(gnp.max(x, axis=axis, keepdims=True)))
    total = gnp.sum(gnp.exp(shifted), axis=axis, keepdims=True)
    return gnp.subtract(shifted, gnp.log(total))


def softmax(x: Any, axis: int = -1) -> Any:
    """exp(log_softmax(x)): no overflow, and rows sum to 1 up to rounding.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(np.round(gc.nn.softmax(np.array([[0.0, np.log(3.0)], [5.0, 5.0]])), 4))
        [[0.25 0.75]
         [0.5  0.5 ]]
    """
    return gnp.exp(log_softmax(x, axis=axis))


def mse(pred: Any, target: Any) -> Any:
    """Mean squared error over all elements.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(gc.nn.mse(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
        2.5
        >>> print(gc.grad(gc.nn.mse)(np.array([1.0, 2.0]), np.array([0.0, 0.0])))
        [1. 2.]
    """
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
    logits: Any, labels: Any, weight: Any = None, pos_weight: Any = None, reduction: str = "mean"
) -> Any:
    """PyTorch's BCEWithLogitsLoss: -w*[p*y*log σ(x) + (1-y)*log σ(-x)], accurate for any logit;
    a logit of +-inf with the matching label costs 0 (the limit), not NaN.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> logits, labels = np.array([0.0, np.inf, -np.inf]), np.array([1.0, 1.0, 0.0])
        >>> loss = gc.nn.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        >>> print(np.round(loss, 4) + 0.0)  # + 0.0: the limits' -0.0 printed as 0.0
        [0.6931 0.     0.    ]
        >>> print(np.round(gc.nn.binary_cross_entropy_with_logits(logits, labels), 4))
        0.231
    """
    x = as_float(logits)
    y = cast(labels, x.dtype)
    pos = _xlogp(y, _log_sigmoid(x))
    if pos_weight is not None:
        pos = gnp.multiply(pos, pos_weight)
    neg = _xlogp(gnp.subtract(1, y), _log_sigmoid(gnp.negative(x)))
    loss = gnp.negative(gnp.add(pos, neg))
    if weight is not None:
        loss = gnp.multiply(loss, weight)
    return _reduce(loss, reduction)


def softmax_cross_entropy(logits: Any, labels_onehot: Any) -> Any:
    """Mean over the batch of -sum(labels * log_softmax(logits), axis=-1); a logit of -inf
    (a masked class) with label 0 adds nothing.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> logits = np.array([[0.0, 0.0], [0.0, -np.inf]])
        >>> labels = np.array([[1.0, 0.0], [1.0, 0.0]])
        >>> print(np.round(gc.nn.softmax_cross_entropy(logits, labels), 4))  # (log 2 + 0) / 2
        0.3466
    """
    logp = log_softmax(logits, axis=-1)
    per_example = gnp.negative(gnp.sum(_xlogp(labels_onehot, logp), axis=-1))
    return gnp.mean(per_example)


def clip_by_value(x: Any, clip_value_min: Any, clip_value_max: Any) -> Any:
    """TensorFlow's name for ``clip``; at the bounds the gradient is split as in JAX.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> print(gc.nn.clip_by_value(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0))
        [-1.   0.5  1. ]
    """
    return gnp.clip(x, clip_value_min, clip_value_max)


def clip_by_global_norm(tree: Any, max_norm: Any) -> Any:
    """Scale every leaf of ``tree`` by min(1, max_norm / global_norm) (TensorFlow's and optax's
    rule); returns the clipped tree (the global norm is not returned, unlike tf.clip_by_global_norm,
    to keep the pytree in, pytree out shape of graphc.optim). An infinite or NaN global norm makes
    every entry NaN, as TensorFlow documents (optax would zero the finite entries: an overflow
    would pass silently as a zero update). ``max_norm`` is a positive number or a traced value.

    Example::

        >>> import numpy as np
        >>> import graphc as gc
        >>> tree = {"a": np.array([3.0]), "b": np.array([4.0])}  # global norm 5
        >>> clipped = gc.nn.clip_by_global_norm(tree, 2.5)
        >>> print(clipped["a"], clipped["b"])
        [1.5] [2.]
        >>> print(gc.nn.clip_by_global_norm(tree, 10.0)["b"])  # under the bound: unchanged
        [4.]
    """
    from .trace.pytree import flatten, unflatten

    if not isinstance(max_norm, Tracer):  # a bound known now: a negative one would flip signs
        m = static_real(max_norm, "clip_by_global_norm: max_norm")
        if not m > 0:
            raise located(ArgumentError, f"clip_by_global_norm: max_norm must be positive, "
                          f"got {m}")
    leaves, treedef = flatten(tree)
    if not leaves:
        return tree
    total = None
    for leaf in leaves:
        s = gnp.sum(gnp.multiply(leaf, leaf))
        total = s if total is None else gnp.add(total, s)
    norm = gnp.linalg.safe_sqrt(total)
    small = gnp.less_equal(norm, max_norm)  # False for NaN, which then scales everything to NaN
    scale = gnp.where(small, 1.0, gnp.divide(max_norm, gnp.where(small, 1.0, norm)))
    scale = gnp.where(gnp.equal(norm, float("inf")), float("nan"), scale)
    return unflatten(
        treedef, [gnp.multiply(leaf, cast(scale, lift(leaf).dtype)) for leaf in leaves]
    )
