"""Graph-to-graph optimization passes and the pass manager."""

from .manager import optimize

__all__ = ["optimize"]
