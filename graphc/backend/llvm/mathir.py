"""A small typed builder of branch-free float IR, the language ``mathlib.py``'s functions are
written in: each method emits one instruction of one float type (``F32`` or ``F64``, scalar or a
vector of it) into an ``irtext.Func`` and returns its SSA name, and Python numbers become literals
of that type, so an algorithm reads as arithmetic and is written once for both types and for
every lane count."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ty:
    """One float type: the LLVM names and the IEEE layout constants the bit tricks need."""

    fty: str
    ity: str
    sfx: str
    mant: int
    bias: int
    np_type: type

    def lit(self, v: float) -> str:
        """A float literal (LLVM writes float constants as the hex of the equal double)."""
        v = float(self.np_type(v))
        return f"0x{struct.unpack('<Q', struct.pack('<d', v))[0]:016X}"

    def bits_of(self, value: float) -> int:
        """The unsigned integer with the bits of ``value`` rounded to this type."""
        return int(np.array(value, self.np_type).view(self.ity.replace("i", "uint")))

    def ilit(self, v: int) -> str:
        bits = 32 if self.ity == "i32" else 64
        return str(v - (1 << bits) if v >= 1 << (bits - 1) else v)


F32 = Ty("float", "i32", "f32", 23, 127, np.float32)
F64 = Ty("double", "i64", "f64", 52, 1023, np.float64)


def vector(ty: str, lanes: int | None) -> str:
    """``ty``, or the ``lanes``-wide vector of it."""
    return f"<{lanes} x {ty}>" if lanes else ty


class V:
    """Typed emitter into an ``irtext.Func``: float operands are SSA names (str) or Python numbers
    (literals of this type). With ``lanes`` every type is a ``<lanes x T>`` vector and literals are
    splats, so the same algorithm prints a function's scalar and vector variants (mathlib's
    functions are branch-free and lane-wise: each lane computes exactly the scalar result)."""

    def __init__(self, f, t: Ty, lanes: int | None = None):
        self.f, self.t, self.lanes = f, t, lanes
        self.fty, self.ity, self.bty = (vector(x, lanes) for x in (t.fty, t.ity, "i1"))
        self._sfx = f"v{lanes}{t.sfx}" if lanes else t.sfx

    def c(self, a) -> str:
        return a if isinstance(a, str) else self._splat(self.t.fty, self.t.lit(a))

    def i(self, a) -> str:
        return a if isinstance(a, str) else self._splat(self.t.ity, self.t.ilit(a))

    def _splat(self, ty: str, lit: str) -> str:
        return f"splat ({ty} {lit})" if self.lanes else lit

    def _e(self, rhs: str) -> str:
        return self.f.op(rhs)

    def _bin(self, op, a, b):
        return self._e(f"{op} {self.fty} {self.c(a)}, {self.c(b)}")

    def add(self, a, b):
        return self._bin("fadd", a, b)

    def sub(self, a, b):
        return self._bin("fsub", a, b)

    def mul(self, a, b):
        return self._bin("fmul", a, b)

    def div(self, a, b):
        return self._bin("fdiv", a, b)

    def neg(self, a):
        return self._e(f"fneg {self.fty} {self.c(a)}")

    def call(self, intrinsic, *args):
        ops = ", ".join(f"{self.fty} {self.c(a)}" for a in args)
        return self._e(f"call {self.fty} @llvm.{intrinsic}.{self._sfx}({ops})")

    def fma(self, a, b, c):
        return self.call("fma", a, b, c)

    def abs(self, a):
        return self.call("fabs", a)

    def cmp(self, pred, a, b):
        return self._bin(f"fcmp {pred}", a, b)

    def sel(self, cond, a, b):
        return self._e(f"select {self.bty} {cond}, {self.fty} {self.c(a)}, {self.fty} {self.c(b)}")

    def both(self, a, b):
        return self._e(f"and {self.bty} {a}, {b}")

    def either(self, a, b):
        return self._e(f"or {self.bty} {a}, {b}")

    def differ(self, a, b):
        return self._e(f"xor {self.bty} {a}, {b}")

    def bits(self, a):
        return self._e(f"bitcast {self.fty} {self.c(a)} to {self.ity}")

    def from_bits(self, a):
        return self._e(f"bitcast {self.ity} {self.i(a)} to {self.fty}")

    def iop(self, op, a, b):
        return self._e(f"{op} {self.ity} {self.i(a)}, {self.i(b)}")

    def icmp(self, pred, a, b):
        return self.iop(f"icmp {pred}", a, b)

    def poly(self, x, coefs):
        """Horner's rule with fma, lowest-degree coefficient first."""
        acc = coefs[-1]
        for c in reversed(coefs[:-1]):
            acc = self.fma(acc, x, c)
        return acc

    def signbit(self, a):
        return self.icmp("slt", self.bits(a), 0)

    def pow2(self, k):
        """2**k for an integral float k with a normal result, by building the exponent field (no
        int<->float conversion: those do not vectorize for 64-bit lanes on AVX2). k + 1.5*2^mant
        puts k in the low bits."""
        shifted = self.bits(self.add(k, 1.5 * 2.0**self.t.mant))
        return self.from_bits(self.iop("shl", self.iop("add", shifted, self.t.bias), self.t.mant))

    def two_sum(self, a, b):
        """(s, err) with s + err == a + b exactly."""
        s = self.add(a, b)
        bb = self.sub(s, a)
        return s, self.add(self.sub(a, self.sub(s, bb)), self.sub(b, bb))
