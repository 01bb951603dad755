"""graphc.scipy: the parts of ``scipy.special`` and ``scipy.stats`` that model-fitting code calls,
mirroring ``jax.scipy`` (issue 12, item 7, in part): composites of graphc.numpy, so they trace,
compile and differentiate like the rest. SciPy itself is not needed."""

from . import special, stats

__all__ = ["special", "stats"]
