"""Graph-to-graph optimization passes and the pass manager (see ``manager.py`` for the pipeline)."""

from .manager import (
    AFTER_DIFFERENTIATION,
    PIPELINE,
    optimize,
    optimize_stages,
    pipeline_stages,
    prepare,
)

__all__ = [
    "AFTER_DIFFERENTIATION", "PIPELINE", "optimize", "optimize_stages", "pipeline_stages",
    "prepare",
]
