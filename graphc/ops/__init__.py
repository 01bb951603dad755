"""Primitives, one module per family; importing this package registers them all."""

from ..core import REGISTRY, Primitive
from . import (  # noqa: F401  (registration)
    call, control, effects, elementwise, factor, indexing, linalg, reduce, shape,
)

__all__ = ["REGISTRY", "Primitive"]
