"""graphc: a compiled static-graph automatic-differentiation compiler for NumPy-style Python."""

from . import numpy  # noqa: F401
from .errors import (  # noqa: F401
    ArgumentError, DTypeError, GraphcError, LeakedTracerError, ShapeError, TracerBoolError,
    UndefinedVariableError,
)
from .trace.function import function, make_graph
from .autodiff import (  # noqa: F401  (differentiation API)
    GradientTape, custom_gradient, custom_vjp, grad, hessian, jacfwd, jacobian, jvp, stop_gradient,
    value_and_grad, vjp,
)
from .control import checkpoint, cond, fori_loop, scan, while_loop
from .vmap import vmap
from . import autograph  # noqa: F401  (installs the conversion gc.function traces through)
from . import scipy  # noqa: F401  (graphc.scipy.special, graphc.scipy.stats)
from . import debug, nn, optim  # noqa: F401  (gc.debug.print, gc.nn, gc.optim)
from .debug import print  # noqa: A004  (gc.print: jax.debug.print's behaviour)

jit = function

__version__ = "0.1.0"

__all__ = [
    "ArgumentError", "DTypeError", "GraphcError", "LeakedTracerError", "ShapeError",
    "TracerBoolError", "UndefinedVariableError", "checkpoint", "cond", "fori_loop", "function", "jit",
    "make_graph", "scan", "while_loop",
    "GradientTape", "custom_gradient", "custom_vjp", "grad", "hessian", "jacfwd", "jacobian", "jvp",
    "stop_gradient", "value_and_grad", "vjp", "debug", "nn", "optim", "print", "vmap",
]
