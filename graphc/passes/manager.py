"""The pass manager: one explicit, ordered list of passes, run to a fixed point.

Every pass is a pure function ``pass(graph, options) -> graph`` that builds a new graph (sharing the
nodes it did not change) and returns the very graph it was given when it changed nothing. The order:

  fold      constant inputs -> constants (creates the 1s and 0s that simplify looks for)
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
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .. import config
from ..errors import InternalError
from ..ir import Graph, verify
from ..ir.diagnostics import internal_error
from .cse import cse
from .dce import dce
from .fold import fold
from .simplify import simplify

#: The pipeline, in order: (name, pass). ``graphc dump --after NAME`` uses these names.
PIPELINE = (
    ("fold", fold),
    ("simplify", simplify),
    ("cse", cse),
    ("dce", dce),
)
#: The passes whose work a change made by a pass can enable, where that is not every pass (a pass
#: missing here, or one in a replaced ``PIPELINE``, enables them all, itself included):
#:   - dce: removing unused nodes changes no live node's inputs, and every rewrite looks only at a
#:     node and the nodes making its inputs;
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
            t0 = time.perf_counter()
            try:
                new = pass_(graph, options)
            except InternalError:
                raise
            except Exception as e:  # a pass bug: report the node, never a raw KeyError
                raise internal_error(f"pass {name}", e) from e
            ms = (time.perf_counter() - t0) * 1e3
            stale.discard(name)
            before = count
            if new is not graph:
                if config.verify_ir:
                    verify(new)
                count = new.count_nodes()
                stale |= _ENABLES.get(name, {other for other, _ in PIPELINE})
            graph = new
            yield (
                name,
                graph,
                {
                    "pass": name,
                    "round": round_,
                    "nodes_before": before,
                    "nodes_after": count,
                    "ms": ms,
                },
            )
        if not stale:
            return


def optimize(graph: Graph, fast_math: bool | None = None) -> tuple[Graph, list[dict]]:
    """Run the pipeline to its fixed point; returns the optimized graph and one statistics dict per
    pass run (``pass``, ``round``, ``nodes_before``, ``nodes_after``, ``ms``), which
    ``Concrete.stats()["passes"]`` reports. ``fast_math=None`` means ``graphc.config.fast_math``."""
    runs = list(_run(graph, _options(fast_math)))
    return (runs[-1][1] if runs else graph), [stats for _, _, stats in runs]


def optimize_stages(graph: Graph, fast_math: bool | None = None) -> list[tuple[str, Graph]]:
    """The graph after each pass run, in order, as ``(pass name, graph)`` (for ``graphc dump --stage
    all`` and ``--after PASS``). A pass name repeats once per round of the fixed-point loop."""
    return [(name, g) for name, g, _ in _run(graph, _options(fast_math))]
