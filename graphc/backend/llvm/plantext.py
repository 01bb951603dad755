"""A plan as text: one kernel a line (``graphc dump --stage plan``, golden tests).

    program: 2 kernels, workspace 4096 bytes, calls direct
      k0_fused  region (1024,)  in arg0 -> ws@0  lanes 16  math inline
      k1_fused  region (1024,)  in ws@0 -> arg1  lanes 16  threads 0-32,32-64
      loop 3 times, workspace at 64:
        ...
"""

from __future__ import annotations

from .plan import Cond, Kernel, Loop, Program


def format_plan(program: Program, indent: str = "") -> str:
    n = sum(isinstance(s, Kernel) for s in program.steps)
    head = f"{indent}program: {n} kernel{'s' * (n != 1)}, workspace {program.workspace} bytes"
    head += f", calls {program.calls}"
    if program.layout is not None:
        lay = program.layout
        head += f" ({len(lay.chunks)} chunks of {lay.block_vectors} vectors)"
    lines = [head]
    for step in program.steps:
        lines.append(_step(step, indent + "  "))
    return "\n".join(lines)


def _step(step, indent: str) -> str:
    if isinstance(step, Loop):
        return f"{indent}loop {step.count} times, workspace at {step.offset}:\n" + format_plan(
            step.body, indent + "  "
        )
    if isinstance(step, Cond):
        return "\n".join(
            [
                f"{indent}if {step.pred}, workspace at {step.offset}:",
                format_plan(step.then, indent + "  "),
                f"{indent}else:",
                format_plan(step.orelse, indent + "  "),
            ]
        )
    return indent + format_kernel(step)


def format_kernel(k: Kernel) -> str:
    """``name kind domain  in reads -> writes [temps]  lanes/scalar  math  split  [same code]``."""
    reads = " ".join(dict.fromkeys(str(b) for _, b in k.reads)) or "-"
    writes = " ".join(str(b) for _, b in k.writes)
    parts = [f"{k.name}  {k.kind} {k.domain}  in {reads} -> {writes}"]
    if k.temps:
        parts.append("temps " + " ".join(f"{b}+{b.nbytes}" for _, b in k.temps))
    parts.append(f"lanes {k.lanes}" if k.lanes else "scalar")
    if k.math != "none":
        parts.append(f"math {k.math}")
    sp = k.split
    if sp.threads > 1:
        parts.append("threads " + ",".join(f"{a}-{b}" for a, b in sp.chunks))  # a range each
    elif sp.ranged:
        parts.append(f"ranged blocks {sp.blocks}")
    if k.reuses:
        parts.append(f"same code as {k.reuses}")
    return "  ".join(parts)
