"""Per-element semantics of every elementwise primitive, as LLVM IR on registers.

Each rule is ``rule(cx, node, args) -> ssa`` where ``args`` are the operands' register values at one
element, or at ``cx.lanes`` consecutive elements: the rules are lane-wise and branch-free, and take
every type from the emitter (``cx.ty(dtype)``: ``float`` or ``<8 x float>``, booleans ``i1`` or
``<8 x i1>``; ``cx.lit(value, dtype)``: a literal or its splat; ``cx.intrinsic(name, dtype)``), so
one rule prints scalar or vector code. ``cx.f`` is the function being built and
``cx.math(fn, dtype, args)`` calls the math library. The semantics are NumPy's, bit for bit for
exact operations:
  - no fast-math flags (the loop vectorizer needs none for elementwise loops);
  - integers wrap in two's complement (no ``nsw``); ``abs(INT_MIN) == INT_MIN``;
  - ``max``/``min`` follow ``np.maximum``: ``a > b or isnan(a) ? a : b`` (NaN propagates; equal
    operands give the second, so ``maximum(-0.0, 0.0) == 0.0`` as NumPy's SIMD loops do);
  - comparisons are ordered except ``!=`` (NaN != NaN); ``sign(NaN) = NaN``, ``sign(-0.0) = 0.0``;
  - float -> int conversion truncates like a C cast; values outside the target range (and NaN),
    where C is undefined, give INT_MIN as x86's cvtt instructions (and so NumPy on x86) do -- never
    poison;
  - integer ``div`` truncates and ``rem`` takes the dividend's sign (C, lax); where C is undefined
    or traps, ``x / 0 == x % 0 == 0`` (NumPy's values) and ``INT_MIN / -1`` wraps: a select feeds
    ``sdiv``/``srem`` a safe divisor. Float ``rem`` is ``frem`` (fmod: exact, so bit for bit);
  - bool is an ``i1`` in registers.
"""

from __future__ import annotations

from ... import dtypes
from ...ops import elementwise as ew


def _arith(fop, iop, bop=None):
    def rule(cx, node, args):
        d = node.inputs[0].dtype
        opcode = fop if dtypes.is_float(d) else (bop if dtypes.is_bool(d) else iop)
        return cx.f.op(f"{opcode} {cx.ty(d)} {args[0]}, {args[1]}")

    return rule


def _neg(cx, node, args):
    d = node.inputs[0].dtype
    if dtypes.is_float(d):
        return cx.f.op(f"fneg {cx.ty(d)} {args[0]}")
    return cx.f.op(f"sub {cx.ty(d)} {cx.lit(0, d)}, {args[0]}")


def _abs(cx, node, args):
    d = node.inputs[0].dtype
    t = cx.ty(d)
    if dtypes.is_float(d):
        return cx.f.op(f"call {t} {cx.intrinsic('fabs', d)}({t} {args[0]})")
    return cx.f.op(f"call {t} {cx.intrinsic('abs', d)}({t} {args[0]}, i1 false)")


def _sign(cx, node, args):
    d = node.inputs[0].dtype
    t, x, f, zero = cx.ty(d), args[0], cx.f, cx.lit(0, d)
    if dtypes.is_float(d):
        pos = f.op(f"fcmp ogt {t} {x}, {zero}")
        neg = f.op(f"fcmp olt {t} {x}, {zero}")
        is_zero = f.op(f"fcmp oeq {t} {x}, {zero}")
        b = cx.ty(dtypes.bool_)
        z_or_nan = f.op(f"select {b} {is_zero}, {t} {zero}, {t} {x}")
        n_or = f.op(f"select {b} {neg}, {t} {cx.lit(-1, d)}, {t} {z_or_nan}")
        return f.op(f"select {b} {pos}, {t} {cx.lit(1, d)}, {t} {n_or}")
    pos = f.op(f"icmp sgt {t} {x}, {zero}")
    neg = f.op(f"icmp slt {t} {x}, {zero}")
    p = f.op(f"zext {cx.ty(dtypes.bool_)} {pos} to {t}")
    n = f.op(f"zext {cx.ty(dtypes.bool_)} {neg} to {t}")
    return f.op(f"sub {t} {p}, {n}")


def _float_intrinsic(name):
    def rule(cx, node, args):
        d = node.inputs[0].dtype
        t = cx.ty(d)
        return cx.f.op(f"call {t} {cx.intrinsic(name, d)}({t} {args[0]})")

    return rule


def _copysign(cx, node, args):
    d = node.inputs[0].dtype
    t = cx.ty(d)
    return cx.f.op(f"call {t} {cx.intrinsic('copysign', d)}({t} {args[0]}, {t} {args[1]})")


def _int_division(fop, iop):
    """Float ``fop``; integer ``iop`` on a divisor of 1 where it is 0 or -1, then ``x / -1 = -x``
    (wrapping) and ``x / 0 = 0``; ``x % 0`` and ``x % -1`` are already 0 on the safe divisor."""

    def rule(cx, node, args):
        d = node.inputs[0].dtype
        t, (x, y), f = cx.ty(d), args, cx.f
        if dtypes.is_float(d):
            return f.op(f"{fop} {t} {x}, {y}")
        b, zero = cx.ty(dtypes.bool_), cx.lit(0, d)
        is_zero = f.op(f"icmp eq {t} {y}, {zero}")
        minus_one = f.op(f"icmp eq {t} {y}, {cx.lit(-1, d)}")
        unsafe = f.op(f"or {b} {is_zero}, {minus_one}")
        safe = f.op(f"select {b} {unsafe}, {t} {cx.lit(1, d)}, {t} {y}")
        out = f.op(f"{iop} {t} {x}, {safe}")
        if iop == "srem":
            return out
        negated = f.op(f"sub {t} {zero}, {x}")
        out = f.op(f"select {b} {minus_one}, {t} {negated}, {t} {out}")
        return f.op(f"select {b} {is_zero}, {t} {zero}, {t} {out}")

    return rule


def _int_predicate(icmp: str, d) -> str:
    """``icmp``'s predicate for dtype ``d``: booleans (i1) order unsigned, since signed i1 reads
    True as -1, below False."""
    return "u" + icmp[1:] if dtypes.is_bool(d) and icmp[0] == "s" else icmp


def _extremum(fcmp, icmp):
    """np.maximum / np.minimum: ``a OP b or isnan(a) ? a : b``."""

    def rule(cx, node, args):
        d = node.inputs[0].dtype
        t, (a, b), f = cx.ty(d), args, cx.f
        if dtypes.is_float(d):
            better = f.op(f"fcmp {fcmp} {t} {a}, {b}")
            nan = f.op(f"fcmp uno {t} {a}, {cx.lit(0, d)}")
            better = f.op(f"or {cx.ty(dtypes.bool_)} {better}, {nan}")
        else:
            better = f.op(f"icmp {_int_predicate(icmp, d)} {t} {a}, {b}")
        return f.op(f"select {cx.ty(dtypes.bool_)} {better}, {t} {a}, {t} {b}")

    return rule


def _compare(fcmp, icmp):
    def rule(cx, node, args):
        d = node.inputs[0].dtype
        if dtypes.is_float(d):
            return cx.f.op(f"fcmp {fcmp} {cx.ty(d)} {args[0]}, {args[1]}")
        return cx.f.op(f"icmp {_int_predicate(icmp, d)} {cx.ty(d)} {args[0]}, {args[1]}")

    return rule


def _math(fn):
    def rule(cx, node, args):
        return cx.math(fn, node.outputs[0].dtype, args)

    return rule


def _not(cx, node, args):
    return cx.f.op(f"xor {cx.ty(dtypes.bool_)} {args[0]}, {cx.lit(True, dtypes.bool_)}")


def _select(cx, node, args):
    t = cx.ty(node.outputs[0].dtype)
    return cx.f.op(f"select {cx.ty(dtypes.bool_)} {args[0]}, {t} {args[1]}, {t} {args[2]}")


def _float_to_int(cx, x, src, dst):
    """C truncation; out of range or NaN gives INT_MIN (x86 and NumPy on x86), never poison."""
    f, ts, td = cx.f, cx.ty(src), cx.ty(dst)
    bits = dst.itemsize * 8
    lo = f.op(f"fcmp oge {ts} {x}, {cx.lit(-(2.0 ** (bits - 1)), src)}")
    hi = f.op(f"fcmp olt {ts} {x}, {cx.lit(2.0 ** (bits - 1), src)}")
    ok = f.op(f"and {cx.ty(dtypes.bool_)} {lo}, {hi}")
    raw = f.op(f"fptosi {ts} {x} to {td}")
    safe = f.op(f"freeze {td} {raw}")
    int_min = cx.lit(-(2 ** (bits - 1)), dst)
    return f.op(f"select {cx.ty(dtypes.bool_)} {ok}, {td} {safe}, {td} {int_min}")


def convert_value(cx, x, src, dst) -> str:
    """Convert a register value from dtype ``src`` to ``dst`` as NumPy's ``astype`` does."""
    f, ts, td = cx.f, cx.ty(src), cx.ty(dst)
    if src == dst:
        return x
    if dtypes.is_bool(dst):
        if dtypes.is_float(src):
            return f.op(f"fcmp une {ts} {x}, {cx.lit(0, src)}")
        return f.op(f"icmp ne {ts} {x}, {cx.lit(0, src)}")
    if dtypes.is_float(dst):
        if dtypes.is_float(src):
            kind = "fpext" if dst.itemsize > src.itemsize else "fptrunc"
        else:
            kind = "uitofp" if dtypes.is_bool(src) else "sitofp"
        return f.op(f"{kind} {ts} {x} to {td}")
    if dtypes.is_float(src):
        return _float_to_int(cx, x, src, dst)
    if dtypes.is_bool(src):
        return f.op(f"zext {ts} {x} to {td}")
    kind = "sext" if dst.itemsize > src.itemsize else "trunc"
    return f.op(f"{kind} {ts} {x} to {td}")


def _convert(cx, node, args):
    return convert_value(cx, args[0], node.inputs[0].dtype, node.outputs[0].dtype)


#: The scalar rule of every elementwise primitive.
SCALAR = {
    ew.neg: _neg,
    ew.abs_: _abs,
    ew.sign: _sign,
    ew.exp: _math("exp"),
    ew.expm1: _math("expm1"),
    ew.log: _math("log"),
    ew.log1p: _math("log1p"),
    ew.sqrt: _math("sqrt"),
    ew.sin: _math("sin"),
    ew.cos: _math("cos"),
    ew.tanh: _math("tanh"),
    ew.logical_not: _not,
    ew.add: _arith("fadd", "add"),
    ew.sub: _arith("fsub", "sub"),
    ew.mul: _arith("fmul", "mul"),
    ew.div: _int_division("fdiv", "sdiv"),
    ew.rem: _int_division("frem", "srem"),
    ew.floor: _float_intrinsic("floor"),
    ew.ceil: _float_intrinsic("ceil"),
    ew.maximum: _extremum("ogt", "sgt"),
    ew.minimum: _extremum("olt", "slt"),
    ew.pow_: _math("pow"),
    ew.copysign: _copysign,
    ew.atan2: _math("atan2"),
    ew.equal: _compare("oeq", "eq"),
    ew.not_equal: _compare("une", "ne"),
    ew.less: _compare("olt", "slt"),
    ew.less_equal: _compare("ole", "sle"),
    ew.greater: _compare("ogt", "sgt"),
    ew.greater_equal: _compare("oge", "sge"),
    ew.logical_and: _arith(None, None, "and"),
    ew.logical_or: _arith(None, None, "or"),
    ew.select: _select,
    ew.convert: _convert,
}
