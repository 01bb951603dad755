"""Graph-to-graph optimization passes and the pass manager (see ``manager.py`` for the pipeline)."""

from .manager import PIPELINE, optimize, optimize_stages

__all__ = ["PIPELINE", "optimize", "optimize_stages"]
