"""Shrink a failing program while it fails the same way (same status, check and exception type).

Two stages, cheapest meaning first: shrink the generator's choice list (fewer ops, smaller
choices: smaller dimensions, simpler spellings) and regenerate, as hypothesis does; then replace
single ops of the resulting program by fresh arguments of their shape.
"""

from __future__ import annotations

import re
import time

from .checks import ProgramCheck
from .generate import replay_program


def same_way(outcome) -> str:
    """The part of an outcome a smaller program must reproduce."""
    check = re.sub(r"\[\d+\]", "", outcome.check)
    kind = outcome.detail.split(":", 1)[0] if outcome.status in ("crash", "error") else ""
    return f"{outcome.status}:{check}:{kind}"


def _fails(prog, want, seed):
    try:
        return same_way(ProgramCheck(prog, seed).run()) == want
    except Exception:  # noqa: BLE001 - a candidate the generator cannot build is not a failure
        return False


def minimize(choices, want, seed=0, budget_s=60.0):
    """The smallest program found within ``budget_s`` that still fails as ``want``."""
    deadline = time.monotonic() + budget_s
    best = list(choices)
    prog = replay_program(best)
    improved = True
    while improved and time.monotonic() < deadline:
        improved = False
        for i in range(len(best)):
            if time.monotonic() > deadline:
                break
            for value in (0, best[i] // 2):
                if value >= best[i]:
                    continue
                cand = best[:i] + [value] + best[i + 1:]
                p = replay_program(cand)
                if _fails(p, want, seed):
                    best, prog, improved = cand, p, True
                    break
    i = 0
    while i < len(prog.ops) - 1 and time.monotonic() < deadline:
        cand = prog.replace_op_by_argument(i)
        if _fails(cand, want, seed):
            prog = cand
        else:
            i += 1
    return prog
