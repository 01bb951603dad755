"""Contractions of graphc.numpy: dot, matmul, tensordot, outer, vdot, inner (``einsum``: its
own module). All lower to the ``dot_general`` primitive."""

from __future__ import annotations

from ..core import located
from ..errors import DTypeError, ShapeError
from ..ops.broadcasting import broadcast_shapes
from ..ops.linalg import dot_general
from ._core import normalize_axis, promote, static_int, static_ints
from .elementwise import multiply
from .shapes import broadcast_to, ravel, reshape


def _operands(a, b, name):
    (a, b), _ = promote(a, b)
    if a.dtype.kind == "b":
        raise located(DTypeError, f"{name} of bool arrays: convert them first (.astype)")
    return a, b


def _contract(a, b, ca, cb, name):
    if any(a.shape[i] != b.shape[j] for i, j in zip(ca, cb, strict=True)):
        raise located(
            ShapeError,
            f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} not aligned "
            f"(axes {tuple(ca)} with {tuple(cb)})",
        )
    return dot_general(a, b, contracting=(tuple(ca), tuple(cb)), batch=((), ()))


def dot(a, b):
    a, b = _operands(a, b, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return _contract(a, b, (a.ndim - 1,), (max(b.ndim - 2, 0),), "dot")


def matmul(a, b):
    a, b = _operands(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise located(ShapeError, "matmul: input operand does not have enough dimensions (0-d)")
    b_dim = 0 if b.ndim == 1 else b.ndim - 2  # checked on the user's shapes, before 1-D promotion
    if a.shape[-1] != b.shape[b_dim]:
        raise located(
            ShapeError,
            f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} not aligned: "
            f"{a.shape[-1]} (dim {a.ndim - 1}) != {b.shape[b_dim]} (dim {b_dim})",
        )
    squeeze_a, squeeze_b = a.ndim == 1, b.ndim == 1
    if squeeze_a:
        a = reshape(a, (1, a.shape[0]))
    if squeeze_b:
        b = reshape(b, (b.shape[0], 1))
    if b.ndim == 2:  # (..., m, k) @ (k, n): one contraction, no batch broadcasting needed
        out = dot_general(a, b, contracting=((a.ndim - 1,), (0,)), batch=((), ()))
    else:
        try:
            batch = broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        except ShapeError:
            raise located(
                ShapeError,
                f"matmul: batch shapes of {tuple(a.shape)} and {tuple(b.shape)} do not broadcast",
            ) from None
        a = broadcast_to(a, batch + tuple(a.shape[-2:]))
        b = broadcast_to(b, batch + tuple(b.shape[-2:]))
        nb = len(batch)
        out = dot_general(
            a, b, contracting=((nb + 1,), (nb,)), batch=(tuple(range(nb)), tuple(range(nb)))
        )
    if squeeze_a or squeeze_b:
        shape = list(out.shape)
        if squeeze_b:
            shape.pop(-1)
        if squeeze_a:
            shape.pop(-1 if squeeze_b else -2)
        out = reshape(out, tuple(shape))
    return out


def tensordot(a, b, axes=2):
    a, b = _operands(a, b, "tensordot")
    if isinstance(axes, (tuple, list)) and len(axes) == 2:  # (axes of a, axes of b)
        xa, xb = (static_ints(x, "tensordot: axes") for x in axes)
        if len(xa) != len(xb):
            raise located(ShapeError, f"tensordot: axes {axes} pair {len(xa)} with {len(xb)} axes")
        ca = tuple(normalize_axis(i, a.ndim, "tensordot") for i in xa)
        cb = tuple(normalize_axis(i, b.ndim, "tensordot") for i in xb)
    else:  # the last n axes of a with the first n of b
        n = static_int(axes, "tensordot: axes")
        if not 0 <= n <= min(a.ndim, b.ndim):
            raise located(
                ShapeError, f"tensordot: axes={n} for shapes {tuple(a.shape)} and {tuple(b.shape)}"
            )
        ca, cb = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    return _contract(a, b, ca, cb, "tensordot")


def outer(a, b):
    a, b = _operands(a, b, "outer")
    a, b = ravel(a), ravel(b)
    return multiply(reshape(a, (a.shape[0], 1)), reshape(b, (1, b.shape[0])))


def inner(a, b):
    a, b = _operands(a, b, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return _contract(a, b, (a.ndim - 1,), (b.ndim - 1,), "inner")


def vdot(a, b):
    return dot(ravel(a), ravel(b))


# --- einsum ---------------------------------------------------------------------------------------
