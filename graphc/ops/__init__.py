"""Primitives, one module per family; importing this package registers them all."""

from . import elementwise, linalg, reduce, shape  # noqa: F401  (registration)
from ..core import REGISTRY, Primitive

__all__ = ["REGISTRY", "Primitive"]
