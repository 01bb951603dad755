"""Static tensor types: every IR value has a fixed shape and dtype."""

import math
from dataclasses import dataclass

import numpy as np

from .. import dtypes


@dataclass(frozen=True, slots=True)
class TensorType:
    """The static type of a value: shapes and dtypes are known at trace time, never data."""

    shape: tuple[int, ...]
    dtype: np.dtype

    def __post_init__(self):
        # NOTE: types key caches and print by dtype name, so ``np.float32`` (a type) or a shape of
        # NumPy integers must not make a second, unequal-hashing spelling of the same type.
        if not isinstance(self.dtype, np.dtype):
            object.__setattr__(self, "dtype", dtypes.canonical(self.dtype))
        if type(self.shape) is not tuple or not all(type(n) is int for n in self.shape):
            object.__setattr__(self, "shape", tuple(int(n) for n in self.shape))

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
