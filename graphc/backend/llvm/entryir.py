"""The IR of the native entry ``graphc_entry`` (see entry.py), built with ``irtext.Func``.

The entry's code is the same for every signature: loops over constant tables that describe the
inputs and outputs (``%graphc_arg`` records). Why: unrolled per-argument checks made its code
grow with the number of arguments (with one release block per output holding every earlier
output: quadratic), and the gradient of a 1,000-leaf pytree spent minutes in LLVM on its entry.
``optnone``: optimizing this code buys nothing measurable per call (W1-sized calls 0.25-0.5 us
either way, NumPy's allocation of the outputs dominates) and costs ~0.3 ms of compile time.
"""

from __future__ import annotations

import numpy as np

from ...ir import TensorType
from .irtext import Func

# offsets in bytes (64-bit CPython, NumPy >= 1.20; verified by entry._probe())
_OB_TYPE = 8
_AR_DATA, _AR_ND, _AR_DIMS, _AR_DESCR, _AR_FLAGS = 16, 24, 32, 56, 64
_DESCR_BYTEORDER, _DESCR_TYPE_NUM = 26, 28
_CDATA_PTR = 16
_SCALAR_VALUE = 16  # offset of ``obval`` in NumPy's scalar objects (PyFloatScalarObject, ...)
_C_CONTIGUOUS, _ALIGNED = 0x1, 0x100


def _scalar_symbol(dtype) -> str:
    return f"graphc_rt_scalar_{np.dtype(dtype).name}"


_DECLS = """
%graphc_arg = type { i32, i32, i64, ptr } ; ndim, dtype number, offset in @graphc_dims, scalar type
@graphc_rt_PyArray_Type = external global i8
@graphc_rt_NotImplemented = external global i8
declare ptr @graphc_rt_PyArray_New(ptr, i32, ptr, i32, ptr, ptr, i32, i32, ptr)
declare ptr @graphc_rt_PyTuple_New(i64)
declare i32 @graphc_rt_PyTuple_SetItem(ptr, i64, ptr)
declare void @graphc_rt_Py_IncRef(ptr)
declare void @graphc_rt_Py_DecRef(ptr)
declare ptr @graphc_rt_SaveThread()
declare void @graphc_rt_RestoreThread(ptr)
declare ptr @graphc_rt_NoMemory()
declare void @graphc_rt_PyErr_SetString(ptr, ptr)
@graphc_rt_PyExc_MemoryError = external global ptr
@graphc_loop_oom = private unnamed_addr constant [113 x i8] c"graphc: out of memory saving a while loop's carries for its reverse pass (try gc.while_loop(..., checkpoints=K))\\00"
declare ptr @graphc_rt_aligned_alloc(i64, i64)
declare void @graphc_rt_free(ptr)
declare ptr @graphc_rt_Vectorcall(ptr, ptr, i64, ptr)
@graphc_rt_scalar_float32 = external global i8
@graphc_rt_scalar_float64 = external global i8
@graphc_rt_scalar_int32 = external global i8
@graphc_rt_scalar_int64 = external global i8
@graphc_rt_scalar_bool = external global i8
"""


def vectorcall_shim_ir() -> str:
    """A stand-in for ``PyObject_Vectorcall``: Python 3.10 keeps it in its headers only (a static
    inline function; 3.11 exports it). It does what that inline function does for any callable with
    a ``tp_call``: ``_PyObject_MakeTpCall`` (exported 3.9-3.13) packs the arguments and the keyword
    names into a tuple and a dict and checks the result. Why not a ctypes callback: an exception
    raised inside one is printed and swallowed, and the fallback's errors must reach the caller."""
    params = ["ptr %f", "ptr %args", "i64 %nargsf", "ptr %kwnames"]
    f = Func("graphc_rt_vectorcall_shim", params, linkage="", attrs="", ret="ptr")
    ts = f.op("call ptr @graphc_rt_ThreadState_Get()")
    n = f.op(f"and i64 %nargsf, {(1 << 63) - 1}")  # drop PY_VECTORCALL_ARGUMENTS_OFFSET
    args = f"ptr %f, ptr %args, i64 {n}, ptr %kwnames"
    f.ret(f.op(f"call ptr @graphc_rt_MakeTpCall(ptr {ts}, {args})"))
    decls = ["declare ptr @graphc_rt_ThreadState_Get()",
             "declare ptr @graphc_rt_MakeTpCall(ptr, ptr, ptr, i64, ptr)"]
    return "\n".join([*decls, f.text(), ""])


class _Entry:
    """Emits ``graphc_entry``'s blocks into one ``Func``; ``fail_from`` collects the (outputs made,
    block) pairs of the jumps to ``fail``."""

    def __init__(self, nin: int, nout: int, ws_bytes: int):
        self.nin, self.nout, self.ws_bytes = nin, nout, ws_bytes
        params = ["ptr %self", "ptr %args", "i64 %nargs", "ptr %kwnames"]
        self.f = Func("graphc_entry", params, linkage="", attrs="noinline optnone", ret="ptr")
        self.bufs = self.f.alloca(f"[{nin + nout + 1} x ptr]", align=8)
        self.outs = self.f.alloca(f"[{max(nout, 1)} x ptr]", align=8)
        self.fail_from: list[tuple[str, str]] = []
        self.wsp = "null"  # the workspace pointer in block ``run``

    def at(self, ty: str, base: str, index: str) -> str:
        return self.f.op(f"getelementptr {ty}, ptr {base}, i64 {index}")

    def byte_field(self, ty: str, base: str, offset: int) -> str:
        """The ``ty`` at byte ``offset`` of object ``base``."""
        return self.f.op(f"load {ty}, ptr {self.at('i8', base, str(offset))}")

    def record(self, ty: str, rec: str, k: int) -> str:
        """Field ``k`` of the ``%graphc_arg`` record at ``rec``."""
        f = self.f
        field = f.op(f"getelementptr %graphc_arg, ptr {rec}, i32 0, i32 {k}")
        return f.op(f"load {ty}, ptr {field}")

    def counted(self, label: str, start: str, pred: str, stop: str, done: str, body: str):
        """Open block ``label`` of a run-time loop: its counter (a ``Phi`` starting at ``start``
        from block ``pred``), leaving to ``done`` when it equals ``stop``, else to ``body``."""
        f = self.f
        f.start_block(label)
        i = f.phi("i64", [(start, pred)])
        f.branch(f.op(f"icmp eq i64 {i.name}, {stop}"), done, body)
        f.start_block(body)
        return i

    def step(self, i, label: str, delta: int = 1) -> None:
        """The loop counter's next value back to the loop head ``label``."""
        i.add(self.f.op(f"add i64 {i.name}, {delta}"), self.f.block)
        self.f.jump(label)

    def inputs(self) -> None:
        """Checks every input (``i`` over ``@graphc_ins``): an ndarray of exactly the recorded type,
        or for a 0-d input a NumPy scalar of exactly the dtype's type; its data pointer goes to
        ``bufs[i]``. Any mismatch jumps to ``fallback``, having touched nothing."""
        f = self.f
        i = self.counted("in", "0", "entry", str(self.nin), "out", "in.arg")
        a = f.op(f"load ptr, ptr {self.at('ptr', '%args', i.name)}")
        tp = self.byte_field("ptr", a, _OB_TYPE)
        want = self.at("%graphc_arg", "@graphc_ins", i.name)
        buf = self.at("ptr", self.bufs, i.name)
        f.branch(f.op(f"icmp eq ptr {tp}, @graphc_rt_PyArray_Type"), "in.array", "in.scalar")
        f.start_block("in.scalar")
        is_scalar = f.op(f"icmp eq ptr {tp}, {self.record('ptr', want, 3)}")
        f.do(f"store ptr {self.at('i8', a, str(_SCALAR_VALUE))}, ptr {buf}")
        f.branch(is_scalar, "in.next", "fallback")
        f.start_block("in.array")
        nd = self.array_header(a, want)
        self.dims(a, want, nd)
        f.do(f"store ptr {self.byte_field('ptr', a, _AR_DATA)}, ptr {buf}")
        f.jump("in.next")
        f.start_block("in.next")
        self.step(i, "in")

    def array_header(self, a: str, want: str) -> str:
        """``nd``, layout flags, type number and byte order of array ``a`` against record ``want``;
        returns ``nd`` (i32)."""
        f, layout = self.f, _C_CONTIGUOUS | _ALIGNED
        nd = self.byte_field("i32", a, _AR_ND)
        ok_nd = f.op(f"icmp eq i32 {nd}, {self.record('i32', want, 0)}")
        flags = f.op(f"and i32 {self.byte_field('i32', a, _AR_FLAGS)}, {layout}")
        ok_layout = f.op(f"icmp eq i32 {flags}, {layout}")
        descr = self.byte_field("ptr", a, _AR_DESCR)
        tn = self.byte_field("i32", descr, _DESCR_TYPE_NUM)
        ok_tn = f.op(f"icmp eq i32 {tn}, {self.record('i32', want, 1)}")
        ok_bo = f.op(f"icmp ne i8 {self.byte_field('i8', descr, _DESCR_BYTEORDER)}, {ord('>')}")
        first, second = f.op(f"and i1 {ok_nd}, {ok_layout}"), f.op(f"and i1 {ok_tn}, {ok_bo}")
        ok = f.op(f"and i1 {first}, {second}")
        f.branch(ok, "in.dims", "fallback")
        f.start_block("in.dims")
        return nd

    def dims(self, a: str, want: str, nd: str) -> None:
        """Each dimension of ``a`` equals the record's (``@graphc_dims`` from its offset)."""
        f = self.f
        got_dims = self.byte_field("ptr", a, _AR_DIMS)
        want_dims = self.at("i64", "@graphc_dims", self.record("i64", want, 2))
        n = f.op(f"zext i32 {nd} to i64")
        f.jump("in.dim")
        d = self.counted("in.dim", "0", "in.dims", n, "in.data", "in.dimcheck")
        got = f.op(f"load i64, ptr {self.at('i64', got_dims, d.name)}")
        exp = f.op(f"load i64, ptr {self.at('i64', want_dims, d.name)}")
        same = f.op(f"icmp eq i64 {got}, {exp}")
        d.add(f.op(f"add i64 {d.name}, 1"), f.block)
        f.branch(same, "in.dim", "fallback")
        f.start_block("in.data")

    def outputs(self) -> None:
        """Allocates every output (``k`` over ``@graphc_outs``) with ``PyArray_New`` into
        ``outs[k]``, its data pointer into ``bufs[nin + k]``; a failed allocation releases outputs
        0..k-1."""
        f = self.f
        after = "ws" if self.ws_bytes else "run"
        k = self.counted("out", "0", "in", str(self.nout), after, "out.new")
        desc = self.at("%graphc_arg", "@graphc_outs", k.name)
        nd, tn = self.record("i32", desc, 0), self.record("i32", desc, 1)
        dims = self.at("i64", "@graphc_dims", self.record("i64", desc, 2))
        o = f.op(f"call ptr @graphc_rt_PyArray_New(ptr @graphc_rt_PyArray_Type, i32 {nd}, "
                 f"ptr {dims}, i32 {tn}, ptr null, ptr null, i32 0, i32 0, ptr null)")
        self.fail_from.append((k.name, f.block))
        f.branch(f.op(f"icmp eq ptr {o}, null"), "fail", "out.made")
        f.start_block("out.made")
        f.do(f"store ptr {o}, ptr {self.at('ptr', self.outs, k.name)}")
        data = self.byte_field("ptr", o, _AR_DATA)
        slot = self.at("ptr", self.bufs, f.op(f"add i64 {k.name}, {self.nin}"))
        f.do(f"store ptr {data}, ptr {slot}")
        self.step(k, "out")

    def workspace(self) -> str:
        """Takes the cached workspace from ``self`` (an atomic exchange) or allocates one; returns
        the ``Context`` pointer (block ``run`` then has the buffer in ``self.wsp``)."""
        f = self.f
        f.start_block("ws")
        ctx = self.byte_field("ptr", "%self", _CDATA_PTR)
        cached = f.op(f"atomicrmw xchg ptr {ctx}, ptr null acq_rel")
        f.branch(f.op(f"icmp ne ptr {cached}, null"), "run", "ws.new")
        f.start_block("ws.new")
        fresh = f.op(f"call ptr @graphc_rt_aligned_alloc(i64 64, i64 {self.ws_bytes})")
        f.branch(f.op(f"icmp eq ptr {fresh}, null"), "ws.oom", "run")
        f.start_block("ws.oom")
        f.do("call ptr @graphc_rt_NoMemory()")
        self.fail_from.append((str(self.nout), f.block))
        f.jump("fail")
        f.start_block("run")
        self.wsp = f.phi("ptr", [(cached, "ws"), (fresh, "ws.new")]).name
        return ctx

    def run(self, release_gil: bool) -> None:
        """Stores the workspace pointer, calls ``graphc_main`` (without the GIL for large work),
        then returns the workspace to the slot (a compare-and-swap) or frees it when another
        thread's buffer got there first."""
        f = self.f
        ctx = self.workspace() if self.ws_bytes else None
        if ctx is None:
            f.start_block("run")
        wsp = self.wsp
        f.do(f"store ptr {wsp}, ptr {self.at('ptr', self.bufs, str(self.nin + self.nout))}")
        ts = f.op("call ptr @graphc_rt_SaveThread()") if release_gil else None
        self.status = f.op(f"call i32 @graphc_main(ptr {self.bufs})")
        if ts is not None:
            f.do(f"call void @graphc_rt_RestoreThread(ptr {ts})")
        if ctx is None:
            f.jump("result")
            return
        back = f.op(f"cmpxchg ptr {ctx}, ptr null, ptr {wsp} acq_rel monotonic")
        f.branch(f.op(f"extractvalue {{ ptr, i1 }} {back}, 1"), "result", "ws.free")
        f.start_block("ws.free")
        f.do(f"call void @graphc_rt_free(ptr {wsp})")
        f.jump("result")

    def result(self) -> None:
        """The one output, or a tuple of them."""
        f = self.f
        f.start_block("result")
        f.branch(f.op(f"icmp eq i32 {self.status}, 0"), "result.ok", "result.oom")
        f.start_block("result.oom")  # graphc_main ran out of memory (a while loop's saved carries)
        exc = f.op("load ptr, ptr @graphc_rt_PyExc_MemoryError, align 8")
        f.do(f"call void @graphc_rt_PyErr_SetString(ptr {exc}, ptr @graphc_loop_oom)")
        self.fail_from.append((str(self.nout), f.block))
        f.jump("fail")
        f.start_block("result.ok")
        if self.nout == 1:
            f.ret(f.op(f"load ptr, ptr {self.outs}"))
            return
        tup = f.op(f"call ptr @graphc_rt_PyTuple_New(i64 {self.nout})")
        self.fail_from.append((str(self.nout), f.block))
        f.branch(f.op(f"icmp eq ptr {tup}, null"), "fail", "fill")
        t = self.counted("fill", "0", "result.ok", str(self.nout), "fill.ret", "fill.item")
        item = f.op(f"load ptr, ptr {self.at('ptr', self.outs, t.name)}")
        f.do(f"call i32 @graphc_rt_PyTuple_SetItem(ptr {tup}, i64 {t.name}, ptr {item})")
        self.step(t, "fill")
        f.start_block("fill.ret")
        f.ret(tup)

    def fail(self) -> None:
        """Releases the outputs made so far and returns NULL with the exception set."""
        f = self.f
        f.start_block("fail")
        made = f.phi("i64", self.fail_from)
        f.jump("fail.loop")
        j = self.counted("fail.loop", made.name, "fail", "0", "fail.ret", "fail.release")
        prev = f.op(f"sub i64 {j.name}, 1")
        made_out = f.op(f"load ptr, ptr {self.at('ptr', self.outs, prev)}")
        f.do(f"call void @graphc_rt_Py_DecRef(ptr {made_out})")
        j.add(prev, f.block)
        f.jump("fail.loop")
        f.start_block("fail.ret")
        f.ret("null")

    def fallback(self) -> None:
        """Calls ``self.fallback(*args, **kwargs)`` if set, else returns NotImplemented."""
        f = self.f
        f.start_block("fallback")
        ctx = self.byte_field("ptr", "%self", _CDATA_PTR)
        fb = self.byte_field("ptr", ctx, 8)
        f.branch(f.op(f"icmp eq ptr {fb}, null"), "notimpl", "callfb")
        f.start_block("callfb")
        args = "ptr %args, i64 %nargs, ptr %kwnames"
        f.ret(f.op(f"call ptr @graphc_rt_Vectorcall(ptr {fb}, {args})"))
        f.start_block("notimpl")
        f.do("call void @graphc_rt_Py_IncRef(ptr @graphc_rt_NotImplemented)")
        f.ret("@graphc_rt_NotImplemented")


def _tables(in_types, out_types) -> str:
    """The constant ``@graphc_ins``, ``@graphc_outs`` and ``@graphc_dims`` the loops read."""
    dims: list[int] = []

    def record(t: TensorType, scalar_ok: bool) -> str:
        scalar = f"@{_scalar_symbol(t.dtype)}" if scalar_ok and t.ndim == 0 else "null"
        num = np.dtype(t.dtype).num
        rec = f"%graphc_arg {{ i32 {t.ndim}, i32 {num}, i64 {len(dims)}, ptr {scalar} }}"
        dims.extend(t.shape)
        return rec

    def table(name: str, records: list[str]) -> str:
        body = f"[{', '.join(records)}]" if records else "zeroinitializer"
        return f"@{name} = private unnamed_addr constant [{len(records)} x %graphc_arg] {body}"

    ins = table("graphc_ins", [record(t, True) for t in in_types])
    outs = table("graphc_outs", [record(t, False) for t in out_types])
    pool = f"[{', '.join(f'i64 {d}' for d in dims)}]" if dims else "zeroinitializer"
    pool = f"@graphc_dims = private unnamed_addr constant [{len(dims)} x i64] {pool}"
    return "\n".join([ins, outs, pool])


def entry_ir(in_types, out_types, workspace_bytes: int, release_gil: bool) -> str:
    """IR text of ``graphc_entry`` for a ``graphc_main`` with these inputs, outputs and
    workspace."""
    e = _Entry(len(in_types), len(out_types), (workspace_bytes + 63) // 64 * 64)
    f = e.f
    nok = f.op(f"icmp eq i64 %nargs, {e.nin}")
    go = f.op(f"and i1 {nok}, {f.op('icmp eq ptr %kwnames, null')}")
    f.branch(go, "in", "fallback")
    e.inputs()
    e.outputs()
    e.run(release_gil)
    e.result()
    e.fail()
    e.fallback()
    return "\n".join([_DECLS, _tables(in_types, out_types), f.text(), ""])
