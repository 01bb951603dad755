"""A plan as text: one kernel a line (``graphc dump --stage plan``, golden tests).

    program: 2 kernels, workspace 4096 bytes, calls direct
      k0_fused  region (1024,)  in arg0 -> ws@0  lanes 16  math inline
      k1_fused  region (1024,)  in ws@0 -> arg1  lanes 16  threads 2 chunks 0-32,32-64
      loop 3 times, workspace at 64:
        ...
"""

from __future__ import annotations

from .records import Cond, Kernel, Loop, Move, Program, Tape


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
    deeper = indent + "  "
    if isinstance(step, Loop):
        return "\n".join(_loop(step, indent))
    if isinstance(step, Cond):
        return "\n".join([f"{indent}if {step.pred}, workspace at {step.offset}:",
                          format_plan(step.then, deeper), f"{indent}else:",
                          format_plan(step.orelse, deeper)])
    if isinstance(step, Move):
        return indent + "move " + ", ".join(f"{s or 'zeros'} -> {d}" for s, d in step.pairs)
    if isinstance(step, Tape):
        how = (f"checkpointed: {step.checkpoints} slots at {step.slots}" if step.checkpoints
               else "saving " + (" ".join(map(str, step.saved)) or "nothing") + " per step")
        return "\n".join([f"{indent}tape ({how}):", *_loop(step.forward, deeper),
                          f"{indent}then backwards, once per step:", *_loop(step.backward, deeper)])
    return indent + format_kernel(step)


def _loop(step: Loop, indent: str) -> list[str]:
    if step.count is not None:
        head = f"loop {step.count} times" + (f" over {step.index}" if step.index else "")
        head += " (last first)" if step.reverse else ""
    elif step.cond is not None:
        head = f"while {step.pred}"
    else:
        head = "body"
    lines = [f"{indent}{head}, workspace at {step.offset}:"]
    if step.cond is not None:
        lines += [f"{indent}  condition:", format_plan(step.cond, indent + "    ")]
    lines.append(format_plan(step.body, indent + "  "))
    if step.moves:
        lines.append(f"{indent}  then " + _step(Move(step.moves), "").strip())
    return lines


def format_kernel(k: Kernel) -> str:
    """``name kind domain  in reads -> writes [temps]  lanes/scalar  math  split  [same code]``."""
    reads = " ".join(dict.fromkeys(str(b) for _, b in k.reads)) or "-"
    writes = " ".join(str(b) for _, b in k.writes)
    parts = [f"{k.name}  {k.kind} {k.domain}  in {reads} -> {writes}"]
    if k.temps:
        parts.append("temps " + " ".join(f"{b}+{b.nbytes}" for _, b in k.temps))
    if k.update:
        parts.append(f"update {dict(k.reads)[k.update[0]]} {k.update[1]:+g}*product")
    parts.append(f"lanes {k.lanes}" if k.lanes else "scalar")
    if k.math != "none":
        parts.append(f"math {k.math}")
    sp = k.split
    if sp.threads > 1:
        parts.append(f"threads {sp.threads} chunks " + ",".join(f"{a}-{b}" for a, b in sp.chunks))
    elif sp.ranged:
        parts.append(f"ranged blocks {sp.blocks}")
    if k.reuses:
        parts.append(f"same code as {k.reuses}")
    return "  ".join(parts)
