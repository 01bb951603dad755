"""Static tensor types: every IR value has a fixed shape and dtype."""

import math
import operator
from dataclasses import dataclass

import numpy as np

from .. import dtypes
from ..errors import ShapeError

#: The most bytes one value may span. The LLVM backend indexes arrays and computes byte offsets
#: in signed 64-bit integers (a loop over 2**64 elements would run 0 times), and NumPy refuses
#: larger arrays too; values that are never stored (a broadcast product being summed) count
#: alike, since their loops use the same indices.
MAX_BYTES = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TensorType:
    """The static type of a value: shapes and dtypes are known at trace time, never data. Every
    type is checked as it is made (each shape rule makes one), so a negative, non-integer or
    too-big shape is a ShapeError there, named by the op's node, never a wrong loop later."""

    shape: tuple[int, ...]
    dtype: np.dtype

    def __post_init__(self):
        # NOTE: types key caches and print by dtype name, so ``np.float32`` (a type) or a shape of
        # NumPy integers must not make a second, unequal-hashing spelling of the same type.
        if not isinstance(self.dtype, np.dtype):
            object.__setattr__(self, "dtype", dtypes.canonical(self.dtype))
        shape = self.shape
        if type(shape) is not tuple or not all(type(n) is int and n >= 0 for n in shape):
            shape = _dims(shape)
            object.__setattr__(self, "shape", shape)
        if not 0 < math.prod(shape) * self.dtype.itemsize <= MAX_BYTES:  # (0: an empty array)
            _check_size(shape, self.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # (exact Python ints, and ~20x faster than np.prod)

    def __str__(self) -> str:
        return f"{dtypes.SHORT_NAMES[self.dtype]}[{','.join(map(str, self.shape))}]"

    @staticmethod
    def of(array) -> "TensorType":
        return TensorType(tuple(array.shape), np.dtype(array.dtype))


def _dims(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative Python ints (NumPy integers are ints; floats and
    bools are not), or a ShapeError."""
    try:
        dims = tuple(shape)
        if any(isinstance(n, (bool, np.bool_)) for n in dims):
            raise TypeError("a bool is not a dimension")
        dims = tuple(operator.index(n) for n in dims)
    except TypeError as e:
        raise ShapeError(f"shape {shape!r} must be a tuple of ints ({e})") from None
    if any(n < 0 for n in dims):
        raise ShapeError(f"negative dimensions are not allowed, got shape {dims}")
    return dims


def _check_size(shape: tuple[int, ...], dtype: np.dtype) -> None:
    """The slow path of the size check: a ShapeError for a shape whose non-zero dimensions span
    more than ``MAX_BYTES`` (zero-size arrays count their other dimensions too, as NumPy does:
    each becomes an index bound in the generated code)."""
    elements = math.prod(n for n in shape if n)
    if elements * dtype.itemsize > MAX_BYTES:
        raise ShapeError(
            f"shape {shape} of {dtype} is too big: {elements} elements of {dtype.itemsize} "
            f"bytes exceed the {MAX_BYTES} bytes (2**63 - 1) one array can span"
        )
