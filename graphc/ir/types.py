"""Static tensor types: every IR value has a fixed shape and dtype."""

from dataclasses import dataclass

import numpy as np

from .. import dtypes


@dataclass(frozen=True, slots=True)
class TensorType:
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __str__(self) -> str:
        return f"{dtypes.SHORT_NAMES[self.dtype]}[{','.join(map(str, self.shape))}]"

    @staticmethod
    def of(array) -> "TensorType":
        return TensorType(tuple(array.shape), np.dtype(array.dtype))
