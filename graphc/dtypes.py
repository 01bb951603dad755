"""The dtype table and NumPy 2 (NEP 50) promotion with weak Python scalars.

Supported dtypes are float32, float64, int32, int64 and bool. Values carry plain ``np.dtype``
objects. A *weak* value comes from a Python scalar: it adopts the dtype of the strong operand it
meets when that operand is of the same or a higher kind (``f32_array * 2.0`` stays float32), as
in NumPy 2.
"""

import numpy as np

from .errors import DTypeError

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

SUPPORTED = (float32, float64, int32, int64, bool_)
SHORT_NAMES = {float32: "f32", float64: "f64", int32: "i32", int64: "i64", bool_: "bool"}
FROM_SHORT = {v: k for k, v in SHORT_NAMES.items()}

_KIND_RANK = {"b": 0, "i": 1, "f": 2}
_DEFAULT_FOR_KIND = {"b": bool_, "i": int64, "f": float64}


def canonical(dtype, where="") -> np.dtype:
    """Return the supported np.dtype for ``dtype`` or raise DTypeError naming it."""
    try:
        d = np.dtype(dtype)
    except TypeError as e:
        raise DTypeError(f"{where}not a dtype: {dtype!r}") from e
    if d not in SHORT_NAMES:
        raise DTypeError(
            f"{where}unsupported dtype {d}; graphc supports float32, float64, int32, int64, bool"
        )
    return d


def is_float(d: np.dtype) -> bool:
    return d.kind == "f"


def is_int(d: np.dtype) -> bool:
    return d.kind == "i"


def is_bool(d: np.dtype) -> bool:
    return d.kind == "b"


def python_scalar_dtype(x) -> np.dtype:
    """Default dtype of a Python scalar (NumPy's: bool, int64, float64)."""
    if isinstance(x, bool):
        return bool_
    if isinstance(x, int):
        return int64
    if isinstance(x, float):
        return float64
    raise DTypeError(f"unsupported Python scalar {x!r} of type {type(x).__name__}")


def promote(*typed) -> tuple[np.dtype, bool]:
    """Promote ``(dtype, weak)`` pairs; returns the result dtype and whether it is still weak."""
    strong = [d for d, w in typed if not w]
    weak = [d for d, w in typed if w]
    if strong:
        result = strong[0]
        for d in strong[1:]:
            result = np.promote_types(result, d)
        for d in weak:
            if _KIND_RANK[d.kind] > _KIND_RANK[result.kind]:
                result = np.promote_types(result, _DEFAULT_FOR_KIND[d.kind])
        return result, False
    result = max(weak, key=lambda d: (_KIND_RANK[d.kind], d.itemsize))
    return _DEFAULT_FOR_KIND[result.kind], True


def float_of(d: np.dtype) -> np.dtype:
    """The floating dtype an operation like ``sqrt`` or ``mean`` gives for ``d`` (NumPy's rule)."""
    return d if is_float(d) else float64
