"""Math functions as calls the loop vectorizer widens, instead of inlined bodies it must vectorize.

Inlining mathlib's branch-free functions into every loop makes each loop body ~40 instructions per
transcendental, and LLVM's vectorizer time grows faster than linearly with body size (W6 at n=100:
3.5 s). Instead each function is emitted three times per module:
  - ``@gc_sin_f32`` (mathlib's scalar definition, always inlined into the wrapper below);
  - ``@gc_sin_f32_s``: a ``noinline memory(none)`` scalar wrapper that loops call, carrying the
    call-site attribute
    ``"vector-function-abi-variant"="_ZGV_LLVM_N8v_gc_sin_f32_s(gc_sin_f32_v8)"``;
  - ``@gc_sin_f32_v8``: the same function on ``<8 x float>``, made from the scalar text by
    substituting vector types and splat constants (mathlib is branch-free and lane-wise, so the
    lane-wise vector function computes exactly the scalar results).
The loop vectorizer then calls ``@gc_sin_f32_v8`` once per vector (kept alive through
``@llvm.compiler.used`` until it runs); remainder iterations call the scalar wrapper. Each body is
compiled once per module, however many loops use it.
"""

from __future__ import annotations

import re

_SCALAR_TYPES = re.compile(r"\b(float|double|i1|i32|i64)\b")
_INTRINSIC = re.compile(r"@llvm\.(\w+)\.f(32|64)\(")
_LIT = r"(0x[0-9A-Fa-f]+|-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|true|false)"
_TYPED_LIT = re.compile(r"<(\d+) x (\w+)> " + _LIT + r"(?=[,)\s]|$)")
#: ``op <n x T> a, LIT``: the second operand's type is implied; ``a`` may be a splat made just
#: before (both operands literals, e.g. ``maximum`` of a constant in a region never folded).
_UNTYPED_SECOND = re.compile(
    r"^(\s*%\S+ = [a-z]+(?: [a-z]+)*) <(\d+) x (\w+)> (splat \(\w+ \S+\)|\S+), " + _LIT + "$"
)


def lanes(vector_bits: int, itemsize: int) -> int:
    """Lanes of the vector variants: two native vectors (the loops calling them are forced to this
    width, so each call works on two independent vectors and hides the polynomials' latency)."""
    return max(2, 2 * vector_bits // (8 * itemsize))


def vector_name(scalar: str, n: int) -> str:
    return f"{scalar}_v{n}"


def wrapper_name(scalar: str) -> str:
    return f"{scalar}_s"


def vector_line(line: str, n: int) -> str:
    """One scalar IR line with ``n``-lane vector types and splat constants."""
    line = _SCALAR_TYPES.sub(lambda m: f"<{n} x {m.group(1)}>", line)
    line = _INTRINSIC.sub(lambda m: f"@llvm.{m.group(1)}.v{n}f{m.group(2)}(", line)
    line = _TYPED_LIT.sub(r"<\1 x \2> splat (\2 \3)", line)
    m = _UNTYPED_SECOND.match(line)
    if m and not line.split(" = ", 1)[1].startswith(("select", "call")):
        head, lanes, ty, first, second = m.groups()
        line = f"{head} <{lanes} x {ty}> {first}, splat ({ty} {second})"
    return line


def vector_definition(scalar_text: str, name: str, n: int, suffix: str = "") -> str:
    """The ``n``-lane version of mathlib's definition of ``name`` (see the module docstring), named
    ``vector_name(name, n) + suffix``, with no inlining attribute."""
    out = []
    for line in scalar_text.splitlines():
        if line.startswith("define"):
            line = line.replace(f"@{name}(", f"@{vector_name(name, n)}{suffix}(").replace(
                "alwaysinline ", ""
            )
        out.append(vector_line(line, n))
    return "\n".join(out)


def wrapper(name: str, ty: str, arity: int) -> str:
    params = ", ".join(f"{ty} %a{i}" for i in range(arity))
    return (
        f"define internal {ty} @{wrapper_name(name)}({params}) noinline nounwind willreturn "
        f"nosync nofree memory(none) {{\n  %r = call {ty} @{name}({params})\n  ret {ty} %r\n}}\n"
    )


def variant_attribute(name: str, n: int, arity: int) -> str:
    return (
        f'"vector-function-abi-variant"="_ZGV_LLVM_N{n}{"v" * arity}_{wrapper_name(name)}'
        f'({vector_name(name, n)})"'
    )


def split_definitions(text: str) -> dict[str, str]:
    """mathlib's ``definitions`` text cut into {function name: its definition}."""
    parts = re.split(r"(?m)^(?=define )", text)
    found = {}
    for part in parts:
        m = re.match(r"define [^@]*@([\w.]+)\(", part)
        if m:
            found[m.group(1)] = part
    return found
