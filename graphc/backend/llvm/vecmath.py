"""Math functions as calls the loop vectorizer widens, instead of inlined bodies it must vectorize.

Inlining mathlib's branch-free functions into every loop makes each loop body ~40 instructions per
transcendental, and LLVM's vectorizer time grows faster than linearly with body size (W6 at n=100:
3.5 s). Instead each function is emitted three times per module:
  - ``@gc_sin_f32`` (mathlib's scalar definition, always inlined into the wrapper below);
  - ``@gc_sin_f32_s``: a ``noinline memory(none)`` scalar wrapper that loops call, carrying the
    call-site attribute
    ``"vector-function-abi-variant"="_ZGV_LLVM_N8v_gc_sin_f32_s(gc_sin_f32_v8)"``;
  - ``@gc_sin_f32_v8``: the same function on ``<8 x float>``, which mathlib emits at that lane
    count (its algorithms are branch-free and lane-wise, so each lane computes exactly the scalar
    result).
The loop vectorizer then calls ``@gc_sin_f32_v8`` once per vector (kept alive through
``@llvm.compiler.used`` until it runs); remainder iterations call the scalar wrapper. Each body is
compiled once per module, however many loops use it.
"""

from __future__ import annotations

from .irtext import Func


def lanes(vector_bits: int, itemsize: int) -> int:
    """Lanes of the vector variants: two native vectors (the loops calling them are forced to this
    width, so each call works on two independent vectors and hides the polynomials' latency)."""
    return max(2, 2 * vector_bits // (8 * itemsize))


def vector_name(scalar: str, n: int) -> str:
    return f"{scalar}_v{n}"


def wrapper_name(scalar: str) -> str:
    return f"{scalar}_s"


def wrapper(name: str, ty: str, arity: int) -> str:
    """The out-of-line scalar function loops call (see the module docstring)."""
    params = [f"{ty} %a{i}" for i in range(arity)]
    attrs = "noinline nounwind willreturn nosync nofree memory(none)"
    f = Func(wrapper_name(name), params, attrs=attrs, ret=ty)
    f.ret(f.op(f"call {ty} @{name}({', '.join(params)})"))
    return f.text() + "\n"


def variant_attribute(name: str, n: int, arity: int) -> str:
    return (
        f'"vector-function-abi-variant"="_ZGV_LLVM_N{n}{"v" * arity}_{wrapper_name(name)}'
        f'({vector_name(name, n)})"'
    )
