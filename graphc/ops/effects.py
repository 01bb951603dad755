"""``debug_print``: the one effect, printing at run time (``graphc.debug.print``).

It has no results and is not ``pure``, so dead-code elimination, CSE, constant folding and loop
hoisting leave it where it was traced; the backends run the nodes of a graph in their order, so
prints come out in program order, once per execution (per iteration inside a loop). Its operands
are not differentiated (printing a value does not use it), so it has no derivative rules; in a
gradient graph it stays with the forward computation it was traced in. The LLVM backend calls
back into Python for it (``backend/llvm/hostcall.py``), like the factorizations.
"""

from __future__ import annotations

import sys

from ..core import define
from ..errors import GraphcError


def _infer(types, fmt, names):
    if len(names) > len(types):
        raise GraphcError(f"debug_print: {len(names)} keyword names for {len(types)} values")
    return []


def _impl(*arrays, fmt, names):
    """Python's ``str.format`` on the values (NumPy arrays; keyword fields by name)."""
    n = len(arrays) - len(names)
    print(fmt.format(*arrays[:n], **dict(zip(names, arrays[n:], strict=True))), file=sys.stdout,
          flush=True)
    return ()


debug_print = define(
    "debug_print", infer=_infer, impl=_impl, pure=False, nondifferentiable=True,
    multiple_results=True, family="effect", extra={"host_call": True},
    # gc.vmap: the batched values are printed as they are, once
    batch=lambda prim, args, batched, size, **attrs: prim(*args, **attrs),
)
