"""Object code as a pickled signature carries it (``graphc/trace/pickling.py``): the bytes a
compile made and the disk cache's key they were made under (``cache.cache_key``: the sha256 of
the module's LLVM IR text, the target triple, CPU and feature string, graphc's, llvmlite's and
LLVM's versions, the optimization and code generation levels, the native entry's ABI).

The receiving process does not trust the sender's LLVM IR: it runs fusion and the lowering on the
optimized graph itself and offers the object code to that compile (``cache.Offer``), which loads
it only when the module it lowered has the recorded key and the object passes the checks a cache
file's does. Otherwise (another CPU or version, another ``GRAPHC_CPU`` or tuning, bytes changed
in transit) it compiles as it would have anyway, through its own disk cache.
"""

from __future__ import annotations

from . import cache


class ObjectCode:
    """One signature's machine code, as it travels: ``key`` (the cache key's text) and ``object``
    (the ELF object's bytes)."""

    def __init__(self, key: bytes, obj: bytes):
        self.key, self.object = key, obj

    @classmethod
    def of(cls, executable) -> ObjectCode:
        module = executable.module
        key = cache.cache_key(module.ir_text, module.codegen_opt, module.llvm_opt)
        return cls(key.text, module.object_code)

    def compile(self, graph):
        """``graph`` (after this backend's passes) compiled as ``llvm.compile`` does, loading
        this object code instead when it was made for the very module this process lowers;
        ``Executable.from_pickle`` says which happened."""
        from . import compile as compile_graph  # (the package imports abi, which imports this)

        with cache.Offer(self.key, self.object) as offer:
            executable = compile_graph(graph)
        executable.from_pickle = offer.taken
        return executable
