"""graphc.numpy: a jax.numpy-like namespace. Every function is composed from graphc primitives;
inside a traced function it adds nodes to the graph, outside one it computes with NumPy at once.

Where NumPy and this namespace differ, it says so in the function's docstring: bool ``subtract`` and
``negative`` are refused (as in NumPy), ``where`` needs three arguments, indices must be static.
"""

import sys

from . import linalg, methods
from .assembly import (
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    column_stack,
    cross,
    diag,
    diagonal,
    diff,
    dsplit,
    dstack,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    kron,
    meshgrid,
    pad,
    repeat,
    roll,
    rot90,
    row_stack,
    tile,
    trace,
    tril,
    triu,
    vsplit,
    vstack,
)
from .contract import dot, inner, matmul, outer, tensordot, vdot
from .einsum import einsum
from .creation import (
    arange,
    array,
    asarray,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    zeros,
    zeros_like,
)
from .elementwise import (
    abs,
    absolute,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    astype,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clip,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    greater,
    greater_equal,
    invert,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    positive,
    power,
    reciprocal,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    stop_gradient,
    subtract,
    tan,
    tanh,
    true_divide,
    where,
)
from .gathering import at, getitem, take, take_along_axis
from .sorting import argsort, searchsorted, select, sort
from .concatenators import argpartition, c_, partition, piecewise, r_
from .floats import (
    around,
    copysign,
    deg2rad,
    degrees,
    fabs,
    fmax,
    fmin,
    heaviside,
    isfinite,
    isinf,
    log10,
    nan_to_num,
    rad2deg,
    radians,
    rint,
    round,
    signbit,
    sinc,
    trunc,
)
from .mathfns import (
    arccosh,
    arcsinh,
    arctanh,
    cbrt,
    exp2,
    hypot,
    logaddexp,
    logaddexp2,
)
from .reductions import (
    all_ as all,
)
from .reductions import (
    amax,
    amin,
    argmax,
    argmin,
    cumsum,
    logsumexp,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from .reductions import (
    any_ as any,
)
from .rounding import ceil, floor, floor_divide, fmod, mod, remainder
from .rounding import divmod_ as divmod
from .shapes import (
    broadcast_arrays,
    broadcast_to,
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    reshape,
    split,
    squeeze,
    stack,
    swapaxes,
    transpose,
)

float32, float64, int32, int64 = "float32", "float64", "int32", "int64"
bool_ = "bool"
pi, e, inf, nan = 3.141592653589793, 2.718281828459045, float("inf"), float("nan")
ndim = lambda x: len(shape(x))


def shape(x):
    from ._core import shape_of

    return tuple(shape_of(x))


methods.install(sys.modules[__name__])  # the tracer's operators and methods are these functions
