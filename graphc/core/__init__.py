"""The low core every other layer builds on (as JAX's ``core.py``): primitives and their registry,
traces, tracers and ``bind``, source locations, and the reference evaluator.

It imports only the IR, dtypes and errors. The primitive families (``ops/``) import only this
core; tracing (``trace/``) and the NumPy namespace (``numpy/``) sit above both, and
``graphc.numpy`` gives the tracer its operators (``numpy/methods.py``), so no import, at module
level or inside a function, goes from ops to trace or numpy, or from trace to numpy
(``tests/test_imports.py`` checks it).
"""

from .evaluate import evaluate
from .primitive import REGISTRY, Primitive, define, register
from .tracing import (
    Trace,
    Tracer,
    as_array,
    bind,
    collector_paused,
    current_trace,
    located,
    new_trace,
    user_location,
)

__all__ = [
    "REGISTRY", "Primitive", "Trace", "Tracer", "as_array", "bind", "collector_paused",
    "current_trace", "define", "evaluate", "located", "new_trace", "register", "user_location",
]
