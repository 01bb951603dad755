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

_DECLS = """
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


class _Emitter:
    def __init__(self):
        self.lines: list[str] = []
        self.n = 0

    def tmp(self) -> str:
        self.n += 1
        return f"%t{self.n}"

    def __call__(self, text: str) -> None:
        self.lines.append(("" if text.endswith(":") else "  ") + text)

    def load(self, ty: str, base: str, offset: int) -> str:
        p, v = self.tmp(), self.tmp()
        self(f"{p} = getelementptr i8, ptr {base}, i64 {offset}")
        self(f"{v} = load {ty}, ptr {p}")
        return v


def _check_input(e: _Emitter, i: int, t: TensorType, nxt: str) -> None:
    """Blocks ``in{i}``..: jump to ``fallback`` unless args[i] is an ndarray exactly of type
    ``t``."""
    e(f"in{i}:")
    slot = e.tmp()
    e(f"{slot} = getelementptr ptr, ptr %args, i64 {i}")
    e(f"%a{i} = load ptr, ptr {slot}")
    tp = e.load("ptr", f"%a{i}", _OB_TYPE)
    isarr = e.tmp()
    e(f"{isarr} = icmp eq ptr {tp}, @graphc_rt_PyArray_Type")
    if t.ndim == 0:
        e(f"br i1 {isarr}, label %in{i}.b, label %in{i}.s")
        _scalar_input(e, i, t, tp, nxt)
    else:
        e(f"br i1 {isarr}, label %in{i}.b, label %fallback")
    e(f"in{i}.b:")
    conds = []
    nd = e.load("i32", f"%a{i}", _AR_ND)
    conds.append(("i32", nd, t.ndim))
    flags = e.load("i32", f"%a{i}", _AR_FLAGS)
    fl = e.tmp()
    e(f"{fl} = and i32 {flags}, {_C_CONTIGUOUS | _ALIGNED}")
    conds.append(("i32", fl, _C_CONTIGUOUS | _ALIGNED))
    descr = e.load("ptr", f"%a{i}", _AR_DESCR)
    conds.append(("i32", e.load("i32", descr, _DESCR_TYPE_NUM), np.dtype(t.dtype).num))
    bo = e.load("i8", descr, _DESCR_BYTEORDER)
    bad_order = e.tmp()
    e(f"{bad_order} = icmp eq i8 {bo}, {ord('>')}")
    acc = e.tmp()
    e(f"{acc} = xor i1 {bad_order}, true")
    for ty, v, want in conds:
        c, a2 = e.tmp(), e.tmp()
        e(f"{c} = icmp eq {ty} {v}, {want}")
        e(f"{a2} = and i1 {acc}, {c}")
        acc = a2
    e(f"br i1 {acc}, label %in{i}.c, label %fallback")
    e(f"in{i}.c:")  # nd is known now: the dims are safe to read
    acc = "true"
    if t.ndim:
        dims = e.load("ptr", f"%a{i}", _AR_DIMS)
        for d, size in enumerate(t.shape):
            c, a2 = e.tmp(), e.tmp()
            e(f"{c} = icmp eq i64 {e.load('i64', dims, 8 * d)}, {size}")
            e(f"{a2} = and i1 {acc}, {c}")
            acc = a2
    data = e.load("ptr", f"%a{i}", _AR_DATA)
    e(f"store ptr {data}, ptr %buf{i}")
    e(f"br i1 {acc}, label %{nxt}, label %fallback")


def _scalar_input(e: _Emitter, i: int, t: TensorType, tp: str, nxt: str) -> None:
    """Block ``in{i}.s``: a NumPy scalar of exactly the dtype's type holds its value at a fixed
    offset (a 0-d input only)."""
    e(f"in{i}.s:")
    isscalar, sdata = e.tmp(), e.tmp()
    e(f"{isscalar} = icmp eq ptr {tp}, @{_scalar_symbol(t.dtype)}")
    e(f"{sdata} = getelementptr i8, ptr %a{i}, i64 {_SCALAR_VALUE}")
    e(f"store ptr {sdata}, ptr %buf{i}")
    e(f"br i1 {isscalar}, label %{nxt}, label %fallback")


def _alloc_output(e: _Emitter, k: int, t: TensorType, nin: int, nxt: str) -> list[str]:
    """Block ``out{k}``: allocate output k (on failure release outputs 0..k-1 and return NULL)."""
    e(f"out{k}:")
    dims = f"@graphc_dims{k}" if t.ndim else "null"
    e(
        f"%o{k} = call ptr @graphc_rt_PyArray_New(ptr @graphc_rt_PyArray_Type, i32 {t.ndim}, "
        f"ptr {dims}, i32 {np.dtype(t.dtype).num}, ptr null, ptr null, i32 0, i32 0, ptr null)"
    )
    null = e.tmp()
    e(f"{null} = icmp eq ptr %o{k}, null")
    e(f"br i1 {null}, label %fail{k}, label %out{k}.b")
    e(f"out{k}.b:")
    e(f"store ptr {e.load('ptr', f'%o{k}', _AR_DATA)}, ptr %buf{nin + k}")
    e(f"br label %{nxt}")
    if not t.ndim:
        return []
    vals = ", ".join(f"i64 {s}" for s in t.shape)
    return [f"@graphc_dims{k} = private unnamed_addr constant [{t.ndim} x i64] [{vals}]"]


def _fail_blocks(e: _Emitter, nout: int) -> None:
    """``fail{k}``: outputs 0..k-1 exist; release them and return NULL (the exception is set)."""
    for k in range(nout + 1):
        e(f"fail{k}:")
        for j in range(k):
            e(f"call void @graphc_rt_Py_DecRef(ptr %o{j})")
        e("ret ptr null")


def _workspace(e: _Emitter, nbytes: int) -> None:
    """Block ``ws``: take the cached workspace from ``self`` or allocate one into %ws."""
    e("ws:")
    e(f"%slot = getelementptr i8, ptr %self, i64 {_CDATA_PTR}")
    e("%ctx = load ptr, ptr %slot")
    e("%cached = atomicrmw xchg ptr %ctx, ptr null acq_rel")
    e("%have = icmp ne ptr %cached, null")
    e("br i1 %have, label %run, label %ws.new")
    e("ws.new:")
    size = (nbytes + 63) // 64 * 64
    e(f"%fresh = call ptr @graphc_rt_aligned_alloc(i64 64, i64 {size})")
    e("%oom = icmp eq ptr %fresh, null")
    e("br i1 %oom, label %ws.oom, label %run")
    e("ws.oom:")
    e("call ptr @graphc_rt_NoMemory()")
    e("br label %failall")


def entry_ir(in_types, out_types, workspace_bytes: int, release_gil: bool) -> str:
    """IR text of ``graphc_entry`` for a ``graphc_main`` with these inputs, outputs and
    workspace."""
    nin, nout = len(in_types), len(out_types)
    nbuf = nin + nout + 1
    e = _Emitter()
    e("entry:")
    for i in range(nbuf):
        e(f"%buf{i} = getelementptr [{nbuf} x ptr], ptr %bufs, i64 0, i64 {i}")
    e(f"%nok = icmp eq i64 %nargs, {nin}")
    e("%nokw = icmp eq ptr %kwnames, null")
    e("%go = and i1 %nok, %nokw")
    e(f"br i1 %go, label %{'in0' if nin else 'out0'}, label %fallback")
    for i, t in enumerate(in_types):
        _check_input(e, i, t, f"in{i + 1}" if i + 1 < nin else "out0")
    consts: list[str] = []
    ws_label = "ws" if workspace_bytes else "run"
    for k, t in enumerate(out_types):
        consts += _alloc_output(e, k, t, nin, f"out{k + 1}" if k + 1 < nout else ws_label)
    if not out_types:
        e("out0:")
        e(f"br label %{ws_label}")
    if workspace_bytes:
        _workspace(e, workspace_bytes)
    _run(e, workspace_bytes, release_gil, nbuf)
    _result(e, nout)
    _fail_blocks(e, nout)
    e("failall:")
    e(f"br label %fail{nout}")
    _fallback(e)
    # optnone: the entry is straight-line checks and calls, which O2 barely improves, but its many
    # blocks doubled the module's optimize + codegen time (W1: 17 -> 8 ms each without it); the
    # unoptimized entry measured no slower per call (allocation dominates).
    head = (
        "define ptr @graphc_entry(ptr %self, ptr %args, i64 %nargs, ptr %kwnames) "
        "noinline optnone {"
    )
    body = "\n".join(e.lines).replace("entry:\n", f"entry:\n  %bufs = alloca [{nbuf} x ptr]\n", 1)
    return "\n".join([_DECLS, *consts, head, body, "}", ""])


def _run(e: _Emitter, workspace_bytes: int, release_gil: bool, nbuf: int) -> None:
    """Block ``run``: call graphc_main (without the GIL when asked), then return the workspace to
    the slot (or free it when another thread's buffer got there first)."""
    e("run:")
    if workspace_bytes:
        e("%wsp = phi ptr [%cached, %ws], [%fresh, %ws.new]")
    e(f"store ptr {'%wsp' if workspace_bytes else 'null'}, ptr %buf{nbuf - 1}")
    if release_gil:
        e("%ts = call ptr @graphc_rt_SaveThread()")
    e("call void @graphc_main(ptr %bufs)")
    if release_gil:
        e("call void @graphc_rt_RestoreThread(ptr %ts)")
    if not workspace_bytes:
        e("br label %result")
        return
    e("%back = cmpxchg ptr %ctx, ptr null, ptr %wsp acq_rel monotonic")
    e("%stored = extractvalue { ptr, i1 } %back, 1")
    e("br i1 %stored, label %result, label %ws.free")
    e("ws.free:")
    e("call void @graphc_rt_free(ptr %wsp)")
    e("br label %result")


def _fallback(e: _Emitter) -> None:
    """Block ``fallback``: call ``self.fallback(*args, **kwargs)`` if set, else return
    NotImplemented."""
    e("fallback:")
    e(f"%fbslot = getelementptr i8, ptr %self, i64 {_CDATA_PTR}")
    e("%fbctx = load ptr, ptr %fbslot")
    e("%fbp = getelementptr i8, ptr %fbctx, i64 8")
    e("%fb = load ptr, ptr %fbp")
    e("%nofb = icmp eq ptr %fb, null")
    e("br i1 %nofb, label %notimpl, label %callfb")
    e("callfb:")
    e("%r = call ptr @graphc_rt_Vectorcall(ptr %fb, ptr %args, i64 %nargs, ptr %kwnames)")
    e("ret ptr %r")
    e("notimpl:")
    e("call void @graphc_rt_Py_IncRef(ptr @graphc_rt_NotImplemented)")
    e("ret ptr @graphc_rt_NotImplemented")


def _result(e: _Emitter, nout: int) -> None:
    e("result:")
    if nout == 1:
        e("ret ptr %o0")
        return
    e(f"%tup = call ptr @graphc_rt_PyTuple_New(i64 {nout})")
    e("%tnull = icmp eq ptr %tup, null")
    e(f"br i1 %tnull, label %fail{nout}, label %fill")
    e("fill:")
    for k in range(nout):
        e(f"call i32 @graphc_rt_PyTuple_SetItem(ptr %tup, i64 {k}, ptr %o{k})")
    e("ret ptr %tup")
