"""Primitives, one module per family; importing this package registers them all."""

from ..core import REGISTRY, Primitive
from . import control, elementwise, linalg, reduce, shape  # noqa: F401  (registration)

__all__ = ["REGISTRY", "Primitive"]
