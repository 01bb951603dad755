"""The native Python entry point: a CPython ``METH_FASTCALL`` function emitted in LLVM IR.

``graphc_entry(self, args, nargs, kwnames)`` checks every argument against the signature by
reading the array struct directly (exact ``ndarray`` type, ``nd``, each dimension,
``descr->type_num``, native byte order, C-contiguous and aligned flags; for a 0-d input a NumPy
scalar of exactly the dtype's type is taken too), allocates the outputs with NumPy's
``PyArray_New``, takes a workspace, calls ``graphc_main`` and returns the output (one array) or a
tuple of outputs. When any check fails (or keywords are given) it touches nothing and calls
``self.fallback(*args, **kwargs)`` when set (``gc.function``'s generic path), else returns
``NotImplemented``: the Python side (``abi.py``) then converts or copies the arguments, or raises a
clear error, and calls again.

Why: a ctypes call costs ~0.5 us even with pointers extracted in advance, ~11 us when it takes them
per call (``arr.ctypes.data``); this whole entry costs ~0.33 us for W1, half of it NumPy allocating
the outputs (measurements in ``abi.py``).

Layout assumptions (PyObject header, ``PyArrayObject_fields``, ``PyArray_Descr``, the ctypes
``CDataObject`` buffer pointer, NumPy's C-API table index of ``PyArray_New``) are checked against
live objects once by ``available()``; when any fails (a debug or free-threaded CPython, an exotic
NumPy) the backend uses its ctypes path instead. Runtime functions are bound by name through
``llvm.add_symbol`` at link time, never baked into the IR as addresses, so the object code stays
valid for the disk cache across processes.

The workspace: ``self`` is a ctypes struct whose first field is a one-slot cache of a workspace
buffer. A call takes the buffer with an atomic exchange (or allocates one when another thread holds
it) and puts it back with a compare-and-swap (or frees it): one thread calling repeatedly never
allocates, concurrent threads never share a buffer.
"""

from __future__ import annotations

import ctypes
import functools
import sys

import numpy as np

from ...ir import TensorType
from . import jit

# offsets in bytes (64-bit CPython, NumPy >= 1.20; verified by _probe())
_OB_TYPE = 8
_AR_DATA, _AR_ND, _AR_DIMS, _AR_DESCR, _AR_FLAGS = 16, 24, 32, 56, 64
_DESCR_BYTEORDER, _DESCR_TYPE_NUM = 26, 28
_CDATA_PTR = 16
_SCALAR_VALUE = 16  # offset of ``obval`` in NumPy's scalar objects (PyFloatScalarObject, ...)
_SCALAR_TYPES = (np.float32, np.float64, np.int32, np.int64, np.bool_)
_C_CONTIGUOUS, _ALIGNED = 0x1, 0x100
_PYARRAY_NEW_INDEX = 93  # PyArray_New in NumPy's C-API table (stable ABI)
METH_FASTCALL, METH_KEYWORDS = 0x80, 0x2
#: Below this many bytes of inputs, outputs and workspace the GIL stays held (releasing it costs
#: ~0.1-0.2 us; above this the work takes tens of microseconds).
GIL_RELEASE_BYTES = 1 << 16


class Context(ctypes.Structure):
    """``self`` of the entry: the workspace slot and the fallback callable (a borrowed pointer: the
    Python attribute ``_fallback`` owns the reference; other attributes keep the code alive)."""

    _fields_ = [("workspace", ctypes.c_void_p), ("fallback", ctypes.c_void_p)]

    def set_fallback(self, fn) -> None:
        """On a mismatch, call ``fn(*args, **kwargs)`` instead of returning NotImplemented."""
        self._fallback = fn
        self.fallback = id(fn)

    def __del__(self):
        if free_workspace is not None:  # (None once the module is torn down at interpreter exit)
            free_workspace(self)


try:
    _libc = ctypes.CDLL(None)
    _libc.aligned_alloc.restype = ctypes.c_void_p
    _libc.aligned_alloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    _libc.free.argtypes = [ctypes.c_void_p]
except (OSError, AttributeError, TypeError):  # no C library to bind (not a POSIX system)
    _libc = None
_api = ctypes.pythonapi
_api.PyCFunction_NewEx.restype = ctypes.py_object
_api.PyCFunction_NewEx.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]


def free_workspace(ctx: Context) -> None:
    if ctx.workspace and _libc is not None:  # (_libc is None during interpreter shutdown)
        _libc.free(ctx.workspace)
        ctx.workspace = None


def _read(addr: int, ctype):
    return ctype.from_address(addr).value


def _numpy_api_table() -> int:
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as mu
    cap = mu._ARRAY_API
    _api.PyCapsule_GetName.restype = ctypes.c_char_p
    _api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    _api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    _api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return _api.PyCapsule_GetPointer(cap, _api.PyCapsule_GetName(cap))


def _probe() -> bool:
    """Check every layout assumption against live objects (any mismatch disables the entry)."""
    if hasattr(sys, "gettotalrefcount") or not getattr(sys, "_is_gil_enabled", lambda: True)():
        return False
    if ctypes.sizeof(ctypes.c_void_p) != 8 or sys.byteorder != "little":
        return False
    a = np.zeros((2, 3), np.float32)[:, ::2]
    p = id(a)
    ok = _read(p + _OB_TYPE, ctypes.c_void_p) == id(np.ndarray)
    ok &= _read(p + _AR_DATA, ctypes.c_void_p) == a.__array_interface__["data"][0]
    ok &= _read(p + _AR_ND, ctypes.c_int) == 2
    dims = _read(p + _AR_DIMS, ctypes.c_void_p)
    ok &= [_read(dims + 8 * i, ctypes.c_int64) for i in range(2)] == [2, 2]
    descr = _read(p + _AR_DESCR, ctypes.c_void_p)
    ok &= descr == id(a.dtype) and _read(descr + _DESCR_TYPE_NUM, ctypes.c_int) == a.dtype.num
    ok &= _read(p + _AR_FLAGS, ctypes.c_int) & 0xFFFF == a.flags.num & 0xFFFF
    big = np.zeros(1, ">f4")
    ok &= (
        _read(_read(id(big) + _AR_DESCR, ctypes.c_void_p) + _DESCR_BYTEORDER, ctypes.c_char) == b">"
    )
    ctx = Context()
    ok &= _read(id(ctx) + _CDATA_PTR, ctypes.c_void_p) == ctypes.addressof(ctx)
    return bool(ok)


@functools.cache
def available() -> bool:
    """Whether the native entry can be used in this process (layouts verified, symbols bound).
    A failed probe or a missing C-API symbol means False (the ctypes path), never failing calls."""
    try:
        if not (_probe() and _probe_scalars()):
            return False
        table = _numpy_api_table()
        if _read(table + 8 * 2, ctypes.c_void_p) != id(np.ndarray):  # PyArray_Type is entry 2
            return False
        new = _read(table + 8 * _PYARRAY_NEW_INDEX, ctypes.c_void_p)
        if _libc is None or not _probe_array_new(new):
            return False
        symbols = {
            "graphc_rt_PyArray_Type": id(np.ndarray),
            "graphc_rt_NotImplemented": id(NotImplemented),
            "graphc_rt_PyArray_New": new,
            "graphc_rt_PyTuple_New": _addr(_api.PyTuple_New),
            "graphc_rt_PyTuple_SetItem": _addr(_api.PyTuple_SetItem),
            "graphc_rt_Py_IncRef": _addr(_api.Py_IncRef),
            "graphc_rt_Py_DecRef": _addr(_api.Py_DecRef),
            "graphc_rt_SaveThread": _addr(_api.PyEval_SaveThread),
            "graphc_rt_RestoreThread": _addr(_api.PyEval_RestoreThread),
            "graphc_rt_NoMemory": _addr(_api.PyErr_NoMemory),
            "graphc_rt_aligned_alloc": _addr(_libc.aligned_alloc),
            "graphc_rt_free": _addr(_libc.free),
            "graphc_rt_Vectorcall": _vectorcall(),
        }
    except (AttributeError, ImportError, OSError, ValueError, jit.LLVMCompileError):
        return False
    symbols.update({_scalar_symbol(st): id(st) for st in _SCALAR_TYPES})
    for name, address in symbols.items():
        jit.register_symbol(name, address)
    return True


#: Python 3.10 keeps ``PyObject_Vectorcall`` in its headers only (a static inline function; 3.11
#: exports it). This stand-in does what that inline function does for any callable with a
#: ``tp_call``: ``_PyObject_MakeTpCall`` (exported 3.9-3.13) packs the arguments and the keyword
#: names into a tuple and a dict and checks the result. Why not a ctypes callback: an exception
#: raised inside one is printed and swallowed, and the fallback's errors must reach the caller.
_VECTORCALL_SHIM = """
declare ptr @graphc_rt_ThreadState_Get()
declare ptr @graphc_rt_MakeTpCall(ptr, ptr, ptr, i64, ptr)
define ptr @graphc_rt_vectorcall_shim(ptr %f, ptr %args, i64 %nargsf, ptr %kwnames) {
  %ts = call ptr @graphc_rt_ThreadState_Get()
  %n = and i64 %nargsf, 9223372036854775807 ; drop PY_VECTORCALL_ARGUMENTS_OFFSET
  %r = call ptr @graphc_rt_MakeTpCall(ptr %ts, ptr %f, ptr %args, i64 %n, ptr %kwnames)
  ret ptr %r
}
"""


def _vectorcall() -> int:
    """Address of ``PyObject_Vectorcall``, or of the stand-in where it is not exported."""
    if hasattr(_api, "PyObject_Vectorcall"):
        return _addr(_api.PyObject_Vectorcall)
    return _vectorcall_shim().address("graphc_rt_vectorcall_shim")


@functools.cache
def _vectorcall_shim() -> jit.JitModule:
    """The stand-in, compiled once (AttributeError when this Python lacks what it calls). The
    cache holds the module, so its machine code lives as long as the process."""
    jit.register_symbol("graphc_rt_ThreadState_Get", _addr(_api.PyThreadState_Get))
    jit.register_symbol("graphc_rt_MakeTpCall", _addr(_api._PyObject_MakeTpCall))
    return jit.compile_ir(_VECTORCALL_SHIM, "graphc_vectorcall_shim")


def _probe_array_new(address: int) -> bool:
    """Call PyArray_New as the entry will (holding the GIL) and check what it made."""
    proto = ctypes.PYFUNCTYPE(
        ctypes.py_object,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
    )
    dims = (ctypes.c_int64 * 2)(3, 5)
    num = np.dtype(np.float64).num
    a = proto(address)(id(np.ndarray), 2, ctypes.addressof(dims), num, None, None, 0, 0, None)
    return (
        type(a) is np.ndarray
        and a.shape == (3, 5)
        and a.dtype == np.float64
        and a.flags.c_contiguous
        and a.flags.writeable
        and a.flags.owndata
    )


def _scalar_symbol(dtype) -> str:
    return f"graphc_rt_scalar_{np.dtype(dtype).name}"


def _probe_scalars() -> bool:
    for st in _SCALAR_TYPES:
        v = st(1)
        raw = ctypes.string_at(id(v) + _SCALAR_VALUE, np.dtype(st).itemsize)
        if raw != np.array(v).tobytes():
            return False
    return True


def _addr(cfunc) -> int:
    return ctypes.cast(cfunc, ctypes.c_void_p).value


def make_function(address: int, ctx: Context, name: str):
    """Wrap the native entry at ``address`` as a builtin function whose ``self`` is ``ctx``.

    The method definition is stored on ``ctx``; the function holds ``ctx``, so the definition (and
    whatever else the caller stores on ``ctx``, e.g. the JIT engine) lives as long as the function.
    """

    class MethodDef(ctypes.Structure):
        _fields_ = [
            ("name", ctypes.c_char_p),
            ("meth", ctypes.c_void_p),
            ("flags", ctypes.c_int),
            ("doc", ctypes.c_char_p),
        ]

    ctx._name = name.encode()
    ctx._def = MethodDef(ctx._name, address, METH_FASTCALL | METH_KEYWORDS, None)
    return _api.PyCFunction_NewEx(ctypes.addressof(ctx._def), ctx, None)


# --- IR generation --------------------------------------------------------------------------------
#
# The entry's code is the same for every signature: loops over constant tables that describe the
# inputs and outputs (``%graphc_arg`` records). Why: unrolled per-argument checks made its code
# grow with the number of arguments (with one release block per output holding every earlier
# output: quadratic), and the gradient of a 1,000-leaf pytree spent minutes in LLVM on its entry.
# ``optnone``: optimizing this code buys nothing measurable per call (W1-sized calls 0.25-0.5 us
# either way, NumPy's allocation of the outputs dominates) and costs ~0.3 ms of compile time.

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
declare ptr @graphc_rt_aligned_alloc(i64, i64)
declare void @graphc_rt_free(ptr)
declare ptr @graphc_rt_Vectorcall(ptr, ptr, i64, ptr)
@graphc_rt_scalar_float32 = external global i8
@graphc_rt_scalar_float64 = external global i8
@graphc_rt_scalar_int32 = external global i8
@graphc_rt_scalar_int64 = external global i8
@graphc_rt_scalar_bool = external global i8
"""

#: Checks every input (``%i`` over ``@graphc_ins``): an ndarray of exactly the recorded type
#: (``nd``, each dimension, ``descr->type_num``, native byte order, C-contiguous and aligned), or
#: for a 0-d input a NumPy scalar of exactly the dtype's type; its data pointer goes to ``bufs[i]``.
#: Any mismatch jumps to ``fallback``, having touched nothing.
_INPUTS = f"""
in:
  %i = phi i64 [ 0, %entry ], [ %i.next, %in.next ]
  %in.done = icmp eq i64 %i, {{nin}}
  br i1 %in.done, label %out, label %in.arg
in.arg:
  %a.slot = getelementptr ptr, ptr %args, i64 %i
  %a = load ptr, ptr %a.slot
  %a.tpp = getelementptr i8, ptr %a, i64 {_OB_TYPE}
  %a.tp = load ptr, ptr %a.tpp
  %want = getelementptr %graphc_arg, ptr @graphc_ins, i64 %i
  %buf = getelementptr ptr, ptr %bufs, i64 %i
  %isarr = icmp eq ptr %a.tp, @graphc_rt_PyArray_Type
  br i1 %isarr, label %in.array, label %in.scalar
in.scalar:
  %want.stp = getelementptr %graphc_arg, ptr %want, i32 0, i32 3
  %want.st = load ptr, ptr %want.stp
  %isscalar = icmp eq ptr %a.tp, %want.st
  %sdata = getelementptr i8, ptr %a, i64 {_SCALAR_VALUE}
  store ptr %sdata, ptr %buf
  br i1 %isscalar, label %in.next, label %fallback
in.array:
  %a.ndp = getelementptr i8, ptr %a, i64 {_AR_ND}
  %a.nd = load i32, ptr %a.ndp
  %want.ndp = getelementptr %graphc_arg, ptr %want, i32 0, i32 0
  %want.nd = load i32, ptr %want.ndp
  %ok.nd = icmp eq i32 %a.nd, %want.nd
  %a.flp = getelementptr i8, ptr %a, i64 {_AR_FLAGS}
  %a.fl = load i32, ptr %a.flp
  %a.layout = and i32 %a.fl, {_C_CONTIGUOUS | _ALIGNED}
  %ok.layout = icmp eq i32 %a.layout, {_C_CONTIGUOUS | _ALIGNED}
  %a.descrp = getelementptr i8, ptr %a, i64 {_AR_DESCR}
  %a.descr = load ptr, ptr %a.descrp
  %a.tnp = getelementptr i8, ptr %a.descr, i64 {_DESCR_TYPE_NUM}
  %a.tn = load i32, ptr %a.tnp
  %want.tnp = getelementptr %graphc_arg, ptr %want, i32 0, i32 1
  %want.tn = load i32, ptr %want.tnp
  %ok.tn = icmp eq i32 %a.tn, %want.tn
  %a.bop = getelementptr i8, ptr %a.descr, i64 {_DESCR_BYTEORDER}
  %a.bo = load i8, ptr %a.bop
  %ok.bo = icmp ne i8 %a.bo, {ord(">")}
  %ok.1 = and i1 %ok.nd, %ok.layout
  %ok.2 = and i1 %ok.tn, %ok.bo
  %ok = and i1 %ok.1, %ok.2
  br i1 %ok, label %in.dims, label %fallback
in.dims:
  %a.dimsp = getelementptr i8, ptr %a, i64 {_AR_DIMS}
  %a.dims = load ptr, ptr %a.dimsp
  %want.offp = getelementptr %graphc_arg, ptr %want, i32 0, i32 2
  %want.off = load i64, ptr %want.offp
  %want.dims = getelementptr i64, ptr @graphc_dims, i64 %want.off
  %nd = zext i32 %a.nd to i64
  br label %in.dim
in.dim:
  %d = phi i64 [ 0, %in.dims ], [ %d.next, %in.dimcheck ]
  %d.done = icmp eq i64 %d, %nd
  br i1 %d.done, label %in.data, label %in.dimcheck
in.dimcheck:
  %got.p = getelementptr i64, ptr %a.dims, i64 %d
  %got = load i64, ptr %got.p
  %exp.p = getelementptr i64, ptr %want.dims, i64 %d
  %exp = load i64, ptr %exp.p
  %same = icmp eq i64 %got, %exp
  %d.next = add i64 %d, 1
  br i1 %same, label %in.dim, label %fallback
in.data:
  %a.datap = getelementptr i8, ptr %a, i64 {_AR_DATA}
  %a.data = load ptr, ptr %a.datap
  store ptr %a.data, ptr %buf
  br label %in.next
in.next:
  %i.next = add i64 %i, 1
  br label %in
"""

#: Allocates every output (``%k`` over ``@graphc_outs``) with ``PyArray_New`` into ``outs[k]``,
#: its data pointer into ``bufs[nin + k]``; a failed allocation releases outputs 0..k-1.
_OUTPUTS = f"""
out:
  %k = phi i64 [ 0, %in ], [ %k.next, %out.made ]
  %out.done = icmp eq i64 %k, {{nout}}
  br i1 %out.done, label %{{after_outputs}}, label %out.new
out.new:
  %o.desc = getelementptr %graphc_arg, ptr @graphc_outs, i64 %k
  %o.ndp = getelementptr %graphc_arg, ptr %o.desc, i32 0, i32 0
  %o.nd = load i32, ptr %o.ndp
  %o.tnp = getelementptr %graphc_arg, ptr %o.desc, i32 0, i32 1
  %o.tn = load i32, ptr %o.tnp
  %o.offp = getelementptr %graphc_arg, ptr %o.desc, i32 0, i32 2
  %o.off = load i64, ptr %o.offp
  %o.dims = getelementptr i64, ptr @graphc_dims, i64 %o.off
  %o = call ptr @graphc_rt_PyArray_New(ptr @graphc_rt_PyArray_Type, i32 %o.nd, ptr %o.dims, i32 %o.tn, ptr null, ptr null, i32 0, i32 0, ptr null)
  %o.null = icmp eq ptr %o, null
  br i1 %o.null, label %fail, label %out.made
out.made:
  %o.slot = getelementptr ptr, ptr %outs, i64 %k
  store ptr %o, ptr %o.slot
  %o.datap = getelementptr i8, ptr %o, i64 {_AR_DATA}
  %o.data = load ptr, ptr %o.datap
  %o.bufi = add i64 %k, {{nin}}
  %o.buf = getelementptr ptr, ptr %bufs, i64 %o.bufi
  store ptr %o.data, ptr %o.buf
  %k.next = add i64 %k, 1
  br label %out
"""

#: Takes the cached workspace from ``self`` (an atomic exchange) or allocates one into %ws.
_WORKSPACE = f"""
ws:
  %slot = getelementptr i8, ptr %self, i64 {_CDATA_PTR}
  %ctx = load ptr, ptr %slot
  %cached = atomicrmw xchg ptr %ctx, ptr null acq_rel
  %have = icmp ne ptr %cached, null
  br i1 %have, label %run, label %ws.new
ws.new:
  %fresh = call ptr @graphc_rt_aligned_alloc(i64 64, i64 {{ws_bytes}})
  %oom = icmp eq ptr %fresh, null
  br i1 %oom, label %ws.oom, label %run
ws.oom:
  call ptr @graphc_rt_NoMemory()
  br label %fail
"""

#: Returns the workspace to the slot after the run (a compare-and-swap), or frees it when another
#: thread's buffer got there first.
_WORKSPACE_BACK = """
  %back = cmpxchg ptr %ctx, ptr null, ptr %wsp acq_rel monotonic
  %stored = extractvalue { ptr, i1 } %back, 1
  br i1 %stored, label %result, label %ws.free
ws.free:
  call void @graphc_rt_free(ptr %wsp)
  br label %result
"""

#: The result: the one output, or a tuple of them; ``fail`` releases the outputs made so far
#: (``%made`` of them) and returns NULL with the exception set; ``fallback`` calls
#: ``self.fallback(*args, **kwargs)`` if set, else returns NotImplemented.
_RESULT = f"""
result:
  %tup = call ptr @graphc_rt_PyTuple_New(i64 {{nout}})
  %tup.null = icmp eq ptr %tup, null
  br i1 %tup.null, label %fail, label %fill
fill:
  %t = phi i64 [ 0, %result ], [ %t.next, %fill.item ]
  %fill.done = icmp eq i64 %t, {{nout}}
  br i1 %fill.done, label %fill.ret, label %fill.item
fill.item:
  %t.slot = getelementptr ptr, ptr %outs, i64 %t
  %t.o = load ptr, ptr %t.slot
  call i32 @graphc_rt_PyTuple_SetItem(ptr %tup, i64 %t, ptr %t.o)
  %t.next = add i64 %t, 1
  br label %fill
fill.ret:
  ret ptr %tup
fail:
  %made = phi i64 {{fail_sources}}
  br label %fail.loop
fail.loop:
  %j = phi i64 [ %made, %fail ], [ %j.prev, %fail.release ]
  %j.none = icmp eq i64 %j, 0
  br i1 %j.none, label %fail.ret, label %fail.release
fail.release:
  %j.prev = sub i64 %j, 1
  %j.slot = getelementptr ptr, ptr %outs, i64 %j.prev
  %j.o = load ptr, ptr %j.slot
  call void @graphc_rt_Py_DecRef(ptr %j.o)
  br label %fail.loop
fail.ret:
  ret ptr null
fallback:
  %fbslot = getelementptr i8, ptr %self, i64 {_CDATA_PTR}
  %fbctx = load ptr, ptr %fbslot
  %fbp = getelementptr i8, ptr %fbctx, i64 8
  %fb = load ptr, ptr %fbp
  %nofb = icmp eq ptr %fb, null
  br i1 %nofb, label %notimpl, label %callfb
callfb:
  %r = call ptr @graphc_rt_Vectorcall(ptr %fb, ptr %args, i64 %nargs, ptr %kwnames)
  ret ptr %r
notimpl:
  call void @graphc_rt_Py_IncRef(ptr @graphc_rt_NotImplemented)
  ret ptr @graphc_rt_NotImplemented
"""

#: The single-output result replaces the tuple's first block.
_ONE_RESULT = """
result:
  %one.o = load ptr, ptr %outs
  ret ptr %one.o
"""


def _tables(in_types, out_types) -> str:
    """The constant ``@graphc_ins``, ``@graphc_outs`` and ``@graphc_dims`` the loops read."""
    dims: list[int] = []

    def record(t: TensorType, scalar_ok: bool) -> str:
        scalar = f"@{_scalar_symbol(t.dtype)}" if scalar_ok and t.ndim == 0 else "null"
        rec = f"%graphc_arg {{ i32 {t.ndim}, i32 {np.dtype(t.dtype).num}, i64 {len(dims)}, ptr {scalar} }}"
        dims.extend(t.shape)
        return rec

    def table(name: str, records: list[str]) -> str:
        body = f"[{', '.join(records)}]" if records else "zeroinitializer"
        return f"@{name} = private unnamed_addr constant [{len(records)} x %graphc_arg] {body}"

    ins = table("graphc_ins", [record(t, True) for t in in_types])
    outs = table("graphc_outs", [record(t, False) for t in out_types])
    pool = f"[{', '.join(f'i64 {d}' for d in dims)}]" if dims else "zeroinitializer"
    return "\n".join([ins, outs, f"@graphc_dims = private unnamed_addr constant [{len(dims)} x i64] {pool}"])


def entry_ir(in_types, out_types, workspace_bytes: int, release_gil: bool) -> str:
    """IR text of ``graphc_entry`` for a ``graphc_main`` with these inputs, outputs and
    workspace."""
    nin, nout = len(in_types), len(out_types)
    nbuf = nin + nout + 1
    fmt = {"nin": nin, "nout": nout, "ws_bytes": (workspace_bytes + 63) // 64 * 64,
           "after_outputs": "ws" if workspace_bytes else "run"}
    fail_sources = ["[ %k, %out.new ]"]
    if workspace_bytes:
        fail_sources.append(f"[ {nout}, %ws.oom ]")
    if nout != 1:
        fail_sources.append(f"[ {nout}, %result ]")
    fmt["fail_sources"] = ", ".join(fail_sources)
    lines = [
        "define ptr @graphc_entry(ptr %self, ptr %args, i64 %nargs, ptr %kwnames) noinline optnone {",
        "entry:",
        f"  %bufs = alloca [{nbuf} x ptr]",
        f"  %outs = alloca [{max(nout, 1)} x ptr]",
        f"  %nok = icmp eq i64 %nargs, {nin}",
        "  %nokw = icmp eq ptr %kwnames, null",
        "  %go = and i1 %nok, %nokw",
        "  br i1 %go, label %in, label %fallback",
        _INPUTS.format(**fmt),
        _OUTPUTS.format(**fmt),
        _WORKSPACE.format(**fmt) if workspace_bytes else "",
        "run:",
    ]
    if workspace_bytes:
        lines.append("  %wsp = phi ptr [ %cached, %ws ], [ %fresh, %ws.new ]")
    lines.append(f"  %ws.slot = getelementptr ptr, ptr %bufs, i64 {nbuf - 1}")
    lines.append(f"  store ptr {'%wsp' if workspace_bytes else 'null'}, ptr %ws.slot")
    call = ["  call void @graphc_main(ptr %bufs)"]
    if release_gil:  # the work is large enough that other threads should run meanwhile
        call = ["  %ts = call ptr @graphc_rt_SaveThread()", *call,
                "  call void @graphc_rt_RestoreThread(ptr %ts)"]
    lines += call
    lines.append(_WORKSPACE_BACK if workspace_bytes else "  br label %result")
    result = _RESULT.format(**fmt)
    if nout == 1:  # no tuple: the result block returns the array (the fill blocks stay unused)
        result = _ONE_RESULT + result[result.index("fail:"):]
    lines += [result, "}", ""]
    return "\n".join([_DECLS, _tables(in_types, out_types), *lines])
