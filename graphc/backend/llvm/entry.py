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
Its IR is built in ``entryir.py``; this module holds the runtime side (layout probes, symbols,
the ``Context`` record).

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

from . import jit
from .entryir import (  # noqa: F401  (entry_ir and the layout are this module's interface)
    _AR_DATA,
    _AR_DESCR,
    _AR_DIMS,
    _AR_FLAGS,
    _AR_ND,
    _CDATA_PTR,
    _DESCR_BYTEORDER,
    _DESCR_TYPE_NUM,
    _OB_TYPE,
    _SCALAR_VALUE,
    _scalar_symbol,
    entry_ir,
    vectorcall_shim_ir,
)

_SCALAR_TYPES = (np.float32, np.float64, np.int32, np.int64, np.bool_)
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
            "graphc_rt_PyErr_SetString": _addr(_api.PyErr_SetString),
            "graphc_rt_PyExc_MemoryError": ctypes.addressof(
                ctypes.c_void_p.in_dll(_api, "PyExc_MemoryError")),
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
    return jit.compile_ir(vectorcall_shim_ir(), "graphc_vectorcall_shim")


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
