"""``Concrete``: what ``gc.function`` makes for one input signature: the traced and optimized
graphs, the backend's executable and the statistics, callable on arguments of exactly that
signature."""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

import numpy as np

from .. import config
from ..backend import backend_passes, get_backend
from ..core import located
from ..errors import GraphcError
from ..ir import Graph, verify
from ..passes import prepare
from . import pytree

if TYPE_CHECKING:
    from .function import Function


class Concrete:
    """The compiled artefact for one signature: graphs of each stage, the executable, statistics."""

    def __init__(self, function: Function, key, traced: Graph, optimized: Graph, executable,
                 out_tree, stats):
        # the argument rules, not the function: nothing compiled may point back at the function
        self._arguments, self._key = function._arguments, key
        self._function = weakref.ref(function)
        self.sigs = key[1]  # (shape, dtype, weak) per argument leaf
        self.traced = traced
        self.graph = optimized
        self.executable = executable
        self.out_tree = out_tree
        self._stats = stats

    @classmethod
    def build(cls, function: Function, args, kwargs, key) -> Concrete:
        t0 = time.perf_counter()
        traced, out_tree = function.trace(args, kwargs, key)
        t1 = time.perf_counter()
        if config.verify_ir:
            verify(traced)
        backend = get_backend(function.backend)
        passes = backend_passes(backend)
        optimized, compiled, pass_stats = prepare(traced, passes, function.optimize)
        t2 = time.perf_counter()
        executable = backend.compile(compiled)
        t3 = time.perf_counter()
        stats = {
            "nodes": {"traced": traced.count_nodes(), "optimized": optimized.count_nodes()},
            "passes": pass_stats,
            "trace_ms": (t1 - t0) * 1e3,
            "optimize_ms": (t2 - t1) * 1e3,
            "compile_ms": (t3 - t2) * 1e3,
        }
        return cls(function, key, traced, optimized, executable, out_tree, stats)

    def run(self, leaves):
        """Execute on the flat argument leaves of this signature; returns the output pytree.
        Python scalars and NumPy scalars become arrays of the dtype the trace gave them."""
        arrays = []
        for x, (_, d, _) in zip(leaves, self.sigs, strict=True):
            arrays.append(x if type(x) is np.ndarray else np.asarray(x, dtype=d))
        outs = self.executable(*arrays)
        return pytree.unflatten(self.out_tree, outs)

    def __call__(self, *args, **kwargs):
        """Run on arguments of exactly this signature (static arguments included); anything else
        is refused with the reason, since compiled code for other shapes could not run safely."""
        arguments = self._arguments
        key, leaves = arguments.signature(args, kwargs)
        if key != self._key:
            why = arguments.describe_change(self._key, key)
            raise located(GraphcError, f"{arguments.name}: this compiled function does not "
                          f"fit these arguments: {why}; call the gc.function itself to retrace")
        return self.run(leaves)

    def __reduce__(self):
        """As its signature's graphs and machine code (``pickling.py``)."""
        from . import pickling

        return pickling.reduce_concrete(self)

    def ir(self, stage: str = "optimized") -> str:
        if stage == "traced":
            return str(self.traced)
        if stage == "optimized":
            return str(self.graph)
        return self.executable.text(stage)

    def viz(self, path: str, stage: str = "optimized") -> str:
        """Draw this signature's graphs to ``path`` (``.dot``, ``.svg``, ``.png`` or ``.html``:
        see ``graphc.viz.write``); ``stage``: traced, optimized or plan. Returns the path."""
        from .. import viz

        return viz.write(path, viz.stages(self), stage)

    def export(self, path: str, target: str = "native", name: str | None = None) -> str:
        """Write ``path.so`` (``.dylib`` on macOS) and ``path.h``: this signature as a C function
        ``name`` (default: the function's name) that runs without Python, for ``target``
        (``native`` or an x86-64 level such as ``x86-64-v3``). The C ABI is in the header and in
        ``graphc/backend/llvm/export.py``. Returns the library's path."""
        from ..backend.llvm import export
        from .signature import leaf_paths

        ins = [self._arguments.arg_name(p) for p in leaf_paths(self._key[0])]
        outs = ["result" + p for p in leaf_paths(self.out_tree)]
        name = name or export.c_name(self._arguments.name)
        return export.export(self.graph, path, name, target, ins, outs)

    def llvm_ir(self) -> str:
        return self.executable.text("llvm")

    def asm(self) -> str:
        return self.executable.text("asm")

    def stats(self) -> dict:
        """Node counts, timings, the backend's figures and ``cache``: the signature cache of the
        function that built this (``Function.stats``), or None once that function is gone."""
        function = self._function()
        cache = function.stats() if function is not None else None
        return {**self._stats, **self.executable.stats(), "cache": cache}
