"""Every supported CPython gets the native entry, and a missing C-API symbol degrades to the ctypes
path instead of breaking every compiled call (Python 3.10 exports no ``PyObject_Vectorcall``)."""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest

import graphc as gc
from graphc.backend.llvm import entry

STANDARD_CPYTHON = sys.implementation.name == "cpython" and not hasattr(sys, "gettotalrefcount")


@pytest.mark.skipif(not STANDARD_CPYTHON, reason="the entry needs a release build of CPython")
def test_native_entry_is_available_on_every_supported_python():
    assert entry.available(), f"native entry unavailable on Python {sys.version}"


@pytest.mark.skipif(
    not hasattr(ctypes.pythonapi, "_PyObject_MakeTpCall"), reason="no _PyObject_MakeTpCall"
)
def test_vectorcall_shim_passes_keywords_and_exceptions():
    """The stand-in used where ``PyObject_Vectorcall`` is not exported, tested on every Python."""
    call = ctypes.PYFUNCTYPE(
        ctypes.py_object, ctypes.py_object, ctypes.c_void_p, ctypes.c_int64, ctypes.py_object
    )(entry._vectorcall_shim().address("graphc_rt_vectorcall_shim"))
    args = (ctypes.py_object * 3)(1, 2, 3)
    got = call(lambda *a, **k: (a, k), ctypes.addressof(args), 2 | 1 << 63, ("c",))
    assert got == ((1, 2), {"c": 3})

    def boom(*_):
        raise KeyError("from the fallback")

    with pytest.raises(KeyError, match="from the fallback"):
        call(boom, ctypes.addressof(args), 1, None)


class _ApiWithout:
    """``ctypes.pythonapi`` as a Python lacking some symbols sees it."""

    def __init__(self, *missing):
        self._missing = missing

    def __getattr__(self, name):
        if name in self._missing:
            raise AttributeError(name)
        return getattr(ctypes.pythonapi, name)


def test_missing_symbol_means_unavailable_not_an_error(monkeypatch):
    monkeypatch.setattr(entry, "_api", _ApiWithout("PyObject_Vectorcall", "_PyObject_MakeTpCall"))
    monkeypatch.setattr(entry, "_vectorcall_shim", entry._vectorcall_shim.__wrapped__)  # uncached
    assert entry.available.__wrapped__() is False


def test_compiled_calls_through_the_fallback_with_keywords():
    """Keywords and a second signature go through the entry's fallback (the vectorcall)."""
    f = gc.function(lambda x, y: x * y)
    a, b = np.arange(3.0), np.float32([1, 2, 3])
    np.testing.assert_array_equal(f(a, a), a * a)
    np.testing.assert_array_equal(f(x=a, y=a), a * a)
    np.testing.assert_array_equal(f(b, b), b * b)
    with pytest.raises(TypeError):
        f(a, a, a)
