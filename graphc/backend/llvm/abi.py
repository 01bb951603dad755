"""The Executable: calling compiled code with NumPy arrays, safely and cheaply.

Two ways in, one contract (``graphc_main(args)``, args = inputs, outputs, workspace; C-contiguous
buffers of exactly the graph's types):
  - the **native entry** (``entry.py``): a ``METH_FASTCALL`` builtin that checks the arguments in
    machine code and returns ``NotImplemented`` when it cannot take them as they are;
  - the **ctypes path**, used when the entry's layout checks failed in this process: pointers from
    ``__array_interface__``, outputs from ``np.empty``, a workspace per thread.
``Executable.__call__`` first offers the arguments to the native entry untouched; on
``NotImplemented`` it normalizes them (``_prepare``: converts array-likes, copies non-contiguous,
Fortran-order, unaligned or byte-swapped arrays, raises a clear error for a wrong dtype or shape or
an object array) and calls again. Inputs are never written, so read-only arrays need no copy.

Per-call cost, W1 (value_and_grad of sum((x-y)**2), two f32[3] inputs, outputs f32[] and f32[3]),
timeit medians on the shared 2-core dev VM (Zen 2), quiet (load 0.9) / busy (load 3):
  ctypes call, pointers extracted and outputs allocated in advance ........  0.50 /  1.10 us
  ctypes call taking ``arr.ctypes.data`` and allocating outputs per call ..  11.2 / 22.7 us
  the native entry called directly ........................................  0.33 /  0.66 us
  ``gc.value_and_grad(f)(x, y)`` or ``gc.function(...)(x, y)`` (fastpath) .  0.41 /  0.88 us
  the generic ``Function.__call__`` path ..................................  14.6 / 30   us
  NumPy, hand-written value and gradient ..................................  4.6  /  9.3 us
About half of the entry's time is NumPy allocating the two output arrays (``PyArray_New``); the
rest is CPython's call protocol.
"""

from __future__ import annotations

import ctypes
import threading

import numpy as np

from ...errors import DTypeError, GraphcError, ShapeError
from ...ir import TensorType
from . import entry
from .shipping import ObjectCode


def prepare(x, t: TensorType, i: int) -> np.ndarray:
    """Argument ``i`` as a C-contiguous, aligned, native-order array of type ``t``, or an error.
    A dtype of the same kind and size (byte-swapped, or an alias such as ``longlong``) is
    converted; any other dtype is an error, not a silent cast."""
    a = x if type(x) is np.ndarray else np.asarray(x)
    same_dtype = a.dtype == t.dtype
    if not same_dtype:
        alike = a.dtype.kind == t.dtype.kind and a.dtype.itemsize == t.dtype.itemsize
        if not alike or a.dtype.kind not in "biuf":
            raise DTypeError(
                f"argument {i}: expected {t}, got an array of dtype {a.dtype} "
                f"(convert it with .astype({t.dtype.name!r}))"
            )
    if a.shape != t.shape:
        raise ShapeError(f"argument {i}: expected shape {t.shape} ({t}), got {a.shape}")
    if same_dtype and a.flags.c_contiguous and a.flags.aligned:
        return a
    out = np.empty(t.shape, t.dtype)
    out[...] = a
    return out


class _Workspace(threading.local):
    buf: np.ndarray | None = None


class Executable:
    """A compiled graph: ``exe(*arrays) -> list of fresh arrays`` (see the backend interface)."""

    #: Whether the object code came from a pickle (``ObjectCode.compile`` sets it): then this
    #: process neither compiled it nor read it from its disk cache.
    from_pickle = False

    def __init__(
        self, graph, lowered, module, *, entry_address=None, compile_ms=0.0, from_cache=False
    ):
        self.graph = graph
        self.lowered = lowered
        self.module = module
        self.in_types = [v.type for v in graph.inputs]
        self.out_types = [v.type for v in graph.outputs]
        self._entry_address = entry_address
        #: the native entry (``None`` when unavailable): args -> array / tuple, or NotImplemented
        self.entry = self.entry_with_fallback(None)
        self._ws = _Workspace()
        self.compile_ms = compile_ms
        self.from_cache = from_cache
        self._main = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(module.address("graphc_main"))

    def __call__(self, *arrays) -> list[np.ndarray]:
        fn = self.entry
        if fn is not None:
            res = fn(*arrays)
            if res is NotImplemented:
                res = fn(*self._prepare(arrays))
            if res is not NotImplemented:
                return [res] if len(self.out_types) == 1 else list(res)
        return self.call_ctypes(self._prepare(arrays))

    def entry_with_fallback(self, fallback):
        """A new builtin function running the native entry; on any argument mismatch it returns
        ``fallback(*args, **kwargs)`` (or NotImplemented when ``fallback`` is None)."""
        if self._entry_address is None:
            return None
        ctx = entry.Context()
        ctx.module = self.module  # the function holds ctx, ctx holds the machine code
        if fallback is not None:
            ctx.set_fallback(fallback)
        return entry.make_function(self._entry_address, ctx, self.graph.name)

    def _prepare(self, arrays) -> list[np.ndarray]:
        if len(arrays) != len(self.in_types):
            raise GraphcError(
                f"compiled function takes {len(self.in_types)} arrays, got {len(arrays)}"
            )
        return [
            prepare(x, t, i) for i, (x, t) in enumerate(zip(arrays, self.in_types, strict=True))
        ]

    def call_ctypes(self, arrays) -> list[np.ndarray]:
        """The portable path: arrays must already satisfy ``prepare``."""
        outs = [np.empty(t.shape, t.dtype) for t in self.out_types]
        ptrs = [a.__array_interface__["data"][0] for a in arrays]
        ptrs += [o.__array_interface__["data"][0] for o in outs]
        ptrs.append(self._workspace())
        argv = (ctypes.c_void_p * len(ptrs))(*ptrs)
        if self._main(argv):  # ctypes releases the GIL around the call
            raise MemoryError("graphc: out of memory saving a while loop's carries for its "
                              "reverse pass (try gc.while_loop(..., checkpoints=K))")
        return outs

    def _workspace(self) -> int | None:
        n = self.lowered.workspace_bytes
        if not n:
            return None
        if self._ws.buf is None:
            self._ws.buf = np.empty(n + 64, np.uint8)
        addr = self._ws.buf.__array_interface__["data"][0]
        return (addr + 63) // 64 * 64

    def shipped(self) -> ObjectCode:
        """What a pickle of this signature carries of its machine code (see ``shipping.py``)."""
        return ObjectCode.of(self)

    def text(self, stage: str) -> str:
        if stage in ("llvm", "llvm-unoptimized"):
            return self.module.ir_text if stage == "llvm-unoptimized" else self.module.llvm_ir
        if stage == "asm":
            return self.module.asm()
        raise GraphcError(
            f"the llvm backend has no stage {stage!r}; choose llvm, llvm-unoptimized or asm"
        )

    def stats(self) -> dict:
        return {
            "backend": "llvm",
            "workspace_bytes": self.lowered.workspace_bytes,
            "kernels": list(self.lowered.kernels),
            "llvm_compile_ms": self.compile_ms,
            # the backend's share of the first call, step by step (lowering to LLVM IR, then
            # compile_ir's parse / optimize / codegen / load; a cache hit skips two)
            "compile_phases_ms": {"lowering": getattr(self.lowered, "lowering_ms", None),
                                  **self.module.phases},
            "llvm_codegen_opt": self.module.codegen_opt,
            "from_disk_cache": self.from_cache and not self.from_pickle,
            "from_pickle": self.from_pickle,
            "native_entry": self.entry is not None,
        }
