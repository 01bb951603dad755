"""Primitives, one module per family; importing this package registers them all."""

from ..core import REGISTRY, Primitive
from . import call, control, elementwise, factor, indexing, linalg, reduce, shape  # noqa: F401  (registration)

__all__ = ["REGISTRY", "Primitive"]
