"""NumPy broadcasting for elementwise primitives, and its transpose (``unbroadcast``)."""

from __future__ import annotations

from ..errors import ShapeError


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's broadcast of ``shapes`` or a ShapeError listing them."""
    if len(shapes) == 2:  # the common cases (equal shapes, a scalar) without the per-axis walk
        a, b = shapes
        if a == b or not b:
            return tuple(a)
        if not a:
            return tuple(b)
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        sizes = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            shown = " and ".join(str(tuple(s)) for s in shapes)
            raise ShapeError(f"shapes {shown} do not broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def unbroadcast(g, shape: tuple[int, ...]):
    """Sum the cotangent ``g`` back to an operand's ``shape`` (the transpose of broadcasting)."""
    if g is None:
        return g
    g_shape = g.shape
    if g_shape == shape or tuple(g_shape) == tuple(shape):
        return g
    from .reduce import reduce_sum
    from .shape import reshape

    lead = len(g.shape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = reduce_sum(g, axes=axes)
    if tuple(g.shape) != tuple(shape):
        g = reshape(g, shape=tuple(shape))
    return g
