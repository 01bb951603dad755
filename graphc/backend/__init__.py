"""Backends turn an optimized graph into something callable.

The interface every backend implements:
    PASSES: ((name, pass), ...)   its own passes, run once each after the optimizer (the pipeline
                                  runs them: ``passes.manager.prepare``); a backend without any
                                  may leave it out (``backend_passes``)
    compile(graph) -> Executable  for the graph after those passes
    Executable(*arrays) -> list of NumPy arrays (fresh, owned by the caller)
    Executable.text(stage) -> str   for the stages the backend has (e.g. "llvm", "asm")
    Executable.stats() -> dict
    Executable.shipped() -> object  what a pickle of the signature carries beside its graphs
                                  (``graphc/trace/pickling.py``): None, or an object whose
                                  ``compile(graph)`` makes the Executable again in the receiver
Backends are looked up by name so a new one (a GPU backend, an ahead-of-time exporter) is one entry.
"""

from __future__ import annotations

from ..errors import GraphcError

_BACKENDS = {
    "reference": "graphc.backend.reference",
    "llvm": "graphc.backend.llvm",
}


def get_backend(name: str):
    """The backend module called ``name``, imported on first use (only ``llvm`` needs llvmlite)."""
    import importlib

    try:
        return importlib.import_module(_BACKENDS[name])
    except KeyError:
        raise GraphcError(f"unknown backend {name!r}; choose one of {sorted(_BACKENDS)}") from None


def backend_passes(backend) -> tuple:
    """The ``PASSES`` of a backend module: what ``gc.function``, ``stats()["passes"]`` and
    ``graphc dump --stage all`` run after the optimizer for it."""
    return tuple(getattr(backend, "PASSES", ()))
