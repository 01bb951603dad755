"""Error classes. Every error graphc raises derives from GraphcError."""

import numpy as np


class GraphcError(Exception):
    """Base class of all graphc errors."""


class ShapeError(GraphcError, ValueError):
    """Operand shapes do not fit an operation."""


class DTypeError(GraphcError, TypeError):
    """Operand dtypes do not fit an operation, or a dtype is unsupported."""


class TracerBoolError(GraphcError, TypeError):
    """A traced value was used where Python needs a concrete bool, int or array."""


class UndefinedVariableError(GraphcError, NameError):
    """A variable AutoGraph's converted code uses is not assigned on the path taken (a NameError,
    as Python's own unbound-variable error is)."""


class LeakedTracerError(GraphcError):
    """A traced value escaped the function whose trace made it."""


class ArgumentError(GraphcError, TypeError):
    """The arguments of a call do not fit the function (or transformation) they are passed to."""


class AxisError(ShapeError, np.exceptions.AxisError):
    """An axis argument is out of range for the array's dimension. Also NumPy's ``AxisError`` (so
    an ``IndexError`` too), so code written to catch NumPy's error catches graphc's."""

    def __str__(self) -> str:  # NumPy's __str__ rebuilds its own message from axis/ndim
        return str(self.args[0]) if self.args else ""


class InternalError(GraphcError):
    """A failure inside graphc (a bug in a pass, the lowering or the JIT, not in the user's code):
    the message names the node and the user's line so the failure can be reported."""
