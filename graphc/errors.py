"""Error classes. Every error graphc raises derives from GraphcError."""


class GraphcError(Exception):
    """Base class of all graphc errors."""


class ShapeError(GraphcError, ValueError):
    """Operand shapes do not fit an operation."""


class DTypeError(GraphcError, TypeError):
    """Operand dtypes do not fit an operation, or a dtype is unsupported."""


class TracerBoolError(GraphcError, TypeError):
    """A traced value was used where Python needs a concrete bool, int or array."""


class LeakedTracerError(GraphcError):
    """A traced value escaped the function whose trace made it."""


class ArgumentError(GraphcError, TypeError):
    """The arguments of a call do not fit the function (or transformation) they are passed to."""
