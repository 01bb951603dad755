"""The pass manager: one explicit, ordered list of passes, run to a fixed point.

Every pass is a pure function ``pass(graph, options) -> graph`` that builds a new graph (sharing the
nodes it did not change) and returns the very graph it was given when it changed nothing. The order:

  fold      constant inputs -> constants (creates the 1s and 0s that simplify looks for)
  control   rewrites across control-flow nodes' interfaces: a cond with a constant predicate
            or identical branches inlined, unused results and operands dropped (``control.py``)
  simplify  algebraic identities and canonical forms (may expose new constants and twins)
  cse       merge nodes that compute the same thing (needs canonical forms to find them)
  dce       drop what the rewrites left unused

One round rarely reaches the fixed point (a simplification can make two nodes equal, a merge can
make a product's operands both negations, ...), so the list runs again, skipping each pass that
has already seen the current graph (or a graph changed since only in ways that cannot give it new
work, ``_ENABLES``), at most ``MAX_ROUNDS`` times. Each pass run is one walk of the graph; on the
benchmark gradient graphs the second round only confirms (fold and simplify change nothing: 6 pass
runs in all). A pass that changed the graph runs again too: one walk sees the
rewritten inputs of every node, but not the nodes its own rewrites made (``x + (-y)`` made by one
rewrite becomes ``x - y`` in the next walk); the tests check that optimize(optimize(g)) prints the
same as optimize(g). With ``graphc.config.verify_ir`` on (the tests turn it on) the IR verifier
runs after every pass, so a broken rewrite is caught at the pass that made it.

Around that loop, ``prepare`` runs the whole road from a traced graph to the one a backend compiles:
first the steps for after differentiation (``AFTER_DIFFERENTIATION``, every backend), then the
optimizer, then the backend's own passes (its ``PASSES``, e.g. the LLVM backend's fusion). Those
run once each, as ``pass(graph) -> graph``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import config
from ..errors import InternalError
from ..ir import Graph, verify
from ..ir.diagnostics import internal_error
from ..ops.call import inline_calls
from .control import control_flow
from .cse import cse
from .dce import dce
from .fold import fold
from .simplify import simplify

#: The pipeline, in order: (name, pass). ``graphc dump --after NAME`` uses these names.
PIPELINE = (
    ("fold", fold),
    ("control", control_flow),
    ("simplify", simplify),
    ("cse", cse),
    ("dce", dce),
)
#: Run once on every traced graph, before the optimizer, whatever the backend. Differentiation
#: happens while tracing, so it is over: the call nodes that only carried a custom rule through it
#: (``custom_vjp_call``) are replaced by their graphs, and the optimizer sees plain primitives
#: (``x + custom_sin(x)`` computes ``sin`` once).
AFTER_DIFFERENTIATION = (("inline", inline_calls),)
#: The passes whose work a change made by a pass can enable, where that is not every pass (a pass
#: missing here, or one in a replaced ``PIPELINE``, enables them all, itself included):
#:   - dce: removing unused nodes changes no live node's inputs, and every rewrite looks only at a
#:     node, the nodes making its inputs and live uses (``simplify.transposed_dot``);
#:   - cse: merging twins gives rewrites that ask whether two operands are one value new work
#:     (``select(p, a, a)``, ``a - a``), and may leave nothing dead but dce runs after it anyway;
#:     fold sees the same constants and producers as before (twins have the same primitive,
#:     attributes and inputs); and cse itself is idempotent: walking in order, a node whose inputs
#:     were merged is keyed with the merged inputs, so no two nodes it keeps have one key.
_ENABLES = {"dce": frozenset(), "cse": frozenset({"simplify", "dce"})}
#: At most this many runs of the whole pipeline (it stops earlier at a fixed point).
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Options:
    """What passes may assume. ``fast_math``: allow the rewrites that are not IEEE-exact (see
    ``graphc.passes.simplify``)."""

    fast_math: bool = False


def _options(fast_math) -> Options:
    return Options(fast_math=config.fast_math if fast_math is None else bool(fast_math))


def _run(graph: Graph, options: Options):
    """Yield ``(name, graph_after, stats)`` for every pass run. The passes run in ``PIPELINE``
    order, round after round; a pass is skipped when the graph has not changed (in a way that can
    matter to it) since it last ran, and the loop ends when every pass has seen the final graph, or
    after ``MAX_ROUNDS`` rounds."""
    stale = {name for name, _ in PIPELINE}  # passes that have not seen the current graph
    count = graph.count_nodes()
    for round_ in range(1, MAX_ROUNDS + 1):
        for name, pass_ in PIPELINE:
            if name not in stale:
                continue
            new, stats = _timed(name, lambda g: pass_(g, options), graph, count, round_)
            stale.discard(name)
            if new is not graph:
                stale |= _ENABLES.get(name, {other for other, _ in PIPELINE})
            graph, count = new, stats["nodes_after"]
            yield name, graph, stats
        if not stale:
            return


def _timed(name: str, run, graph: Graph, count: int, round_: int) -> tuple[Graph, dict]:
    """``run(graph)`` for pass ``name``, verified when it changed the graph (``config.verify_ir``),
    and its statistics; ``count`` is the node count of ``graph``. A pass bug is an internal error
    naming the node, never a raw KeyError."""
    t0 = time.perf_counter()
    try:
        new = run(graph)
    except InternalError:
        raise
    except Exception as e:
        raise internal_error(f"pass {name}", e) from e
    ms = (time.perf_counter() - t0) * 1e3
    after = count
    if new is not graph:
        if config.verify_ir:
            verify(new)
        after = new.count_nodes()
    stats = {"pass": name, "round": round_, "nodes_before": count, "nodes_after": after, "ms": ms}
    return new, stats


def _once(passes, graph: Graph):
    """Yield ``(name, graph_after, stats)`` for each of ``passes`` (``(name, pass(graph))``), run
    once each, in order."""
    count = graph.count_nodes()
    for name, pass_ in passes:
        graph, stats = _timed(name, pass_, graph, count, 1)
        count = stats["nodes_after"]
        yield name, graph, stats


def optimize(graph: Graph, fast_math: bool | None = None) -> tuple[Graph, list[dict]]:
    """Run the pipeline to its fixed point; returns the optimized graph and one statistics dict per
    pass run (``pass``, ``round``, ``nodes_before``, ``nodes_after``, ``ms``), which
    ``Concrete.stats()["passes"]`` reports. ``fast_math=None`` means ``graphc.config.fast_math``."""
    runs = list(_run(graph, _options(fast_math)))
    return (runs[-1][1] if runs else graph), [stats for _, _, stats in runs]


def optimize_stages(graph: Graph, fast_math: bool | None = None) -> list[tuple[str, Graph]]:
    """The graph after each pass run, in order, as ``(pass name, graph)`` (the optimizer's part of
    ``pipeline_stages``). A pass name repeats once per round of the fixed-point loop."""
    return [(name, g) for name, g, _ in _run(graph, _options(fast_math))]


def _to_backend(graph: Graph, optimizing: bool, options: Options):
    """Yield ``(name, graph_after, stats)`` for the steps every backend gets: those for after
    differentiation, then the optimizer (unless not ``optimizing``)."""
    for step in _once(AFTER_DIFFERENTIATION, graph):
        graph = step[1]
        yield step
    if optimizing:
        yield from _run(graph, options)


def prepare(graph: Graph, backend_passes=(), optimizing: bool = True,
            fast_math: bool | None = None) -> tuple[Graph, Graph, list[dict]]:
    """A traced graph made ready for a backend whose own passes are ``backend_passes``: returns
    the optimized graph (what ``Concrete.graph`` shows), the graph after the backend's passes
    (what its ``compile`` gets) and one statistics dict per pass run (see ``optimize``)."""
    steps = list(_to_backend(graph, optimizing, _options(fast_math)))
    optimized = steps[-1][1]
    steps += _once(backend_passes, optimized)
    return optimized, steps[-1][1], [stats for _, _, stats in steps]


def pipeline_stages(graph: Graph, backend_passes=(),
                    fast_math: bool | None = None) -> list[tuple[str, Graph]]:
    """The graph after each step of ``prepare``, in order, as ``(pass name, graph)`` (for
    ``graphc dump --stage all`` and ``--after PASS``); an optimizer pass name repeats once per
    round of its fixed-point loop."""
    steps = [(name, g) for name, g, _ in _to_backend(graph, True, _options(fast_math))]
    return steps + [(name, g) for name, g, _ in _once(backend_passes, steps[-1][1])]
