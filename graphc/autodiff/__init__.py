"""Differentiation as graph-to-graph transformations (reverse and forward mode) and the user API.

``reverse.py``/``forward.py`` hold the graph transformations, ``api.py``/``jacobians.py`` the
``jax``-style wrappers, ``custom.py`` user-defined rules, ``tape.py`` TensorFlow's GradientTape.
"""

from . import control, loops  # noqa: F401  (attach the control primitives' derivative rules)
from .api import grad, jvp, stop_gradient, value_and_grad, vjp
from .custom import custom_gradient, custom_vjp, inline_custom_calls
from .jacobians import hessian, jacfwd, jacobian, jacrev
from .reverse import DifferentiationError
from .tape import GradientTape, TapeError

__all__ = [
    "DifferentiationError",
    "GradientTape",
    "TapeError",
    "custom_gradient",
    "custom_vjp",
    "grad",
    "hessian",
    "inline_custom_calls",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "stop_gradient",
    "value_and_grad",
    "vjp",
]
