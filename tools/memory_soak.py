"""Memory under retracing: ``python tools/memory_soak.py [--scale S] [--only NAME ...]``.

Three workloads, each in a fresh process with the disk cache off (``GRAPHC_CACHE=0``), so every
trace compiles and nothing is shared between them:
  - ``retrace``: one ``gc.function`` called on 500 signatures (shapes ``(1,)`` .. ``(500,)``);
  - ``retrace-1``: the same with ``GRAPHC_MAX_TRACES=1``: what the process keeps of compiles
    that graphc no longer holds (LLVM's own leaks), to tell apart from what the cache holds;
  - ``functions``: 300 ``gc.function`` objects, each compiled once and dropped;
  - ``grad``: 1,200 one-shot ``gc.grad(f)(x)`` calls (a new transformation each time).
Each prints the resident set size (``/proc/self/statm``) after a warm-up compile (imports, LLVM
initialisation and the first engine excluded), after the loop, after dropping what the loop made
and ``gc.collect()``, and after glibc's ``malloc_trim(0)`` (memory freed but kept by the allocator
goes back to the system: what is left is still held or leaked), with the number of live JIT
engines (``jit._LIVE``). ``--scale 0.1`` runs a tenth of each loop. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS = {"retrace": 500, "retrace-1": 500, "functions": 300, "grad": 1200}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker(name: str, n: int) -> dict:
    """Run one workload in this process; the figures as a dict."""
    import gc

    import numpy as np

    import graphc
    from graphc.backend.llvm import jit

    def f(x):
        return np.sum(np.sin(x) * x)

    graphc.function(f)(np.ones(3))  # warm-up: imports, LLVM, first engine
    gc.collect()
    before, live_before = rss_mb(), len(jit._LIVE)
    held = []
    if name.startswith("retrace"):
        held.append(graphc.function(f))
        for k in range(1, n + 1):
            held[0](np.ones(k))
    elif name == "functions":
        for k in range(n):
            graphc.function(lambda x, k=k: np.sum(x * k))(np.ones(4))
    else:
        for _ in range(n):
            graphc.grad(f)(np.ones(4))
    gc.collect()
    during, live_during = rss_mb(), len(jit._LIVE)
    held.clear()
    gc.collect()
    dropped = rss_mb()
    ctypes.CDLL(None).malloc_trim(0)
    return {
        "workload": name, "n": n, "rss_before_mb": round(before, 1),
        "rss_after_loop_mb": round(during, 1), "rss_after_drop_mb": round(dropped, 1),
        "rss_after_trim_mb": round(rss_mb(), 1),
        "live_engines_before": live_before, "live_engines_after_loop": live_during,
        "live_engines_after_drop": len(jit._LIVE),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each loop to run")
    p.add_argument("--only", nargs="*", choices=sorted(WORKLOADS), help="workloads to run")
    p.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(_worker(a.worker[0], int(a.worker[1]))))
        return
    env = dict(os.environ, GRAPHC_CACHE="0", PYTHONPATH=ROOT)
    print(f"{'workload':<10} {'n':>5} {'RSS before':>11} {'after loop':>11} {'after drop':>11} "
          f"{'after trim':>11} {'growth/item':>12} {'engines':>14}")
    for name in a.only or WORKLOADS:
        n = max(1, round(WORKLOADS[name] * a.scale))
        limit = {"GRAPHC_MAX_TRACES": "1"} if name == "retrace-1" else {}
        out = subprocess.run([sys.executable, __file__, "--worker", name, str(n)], env=env | limit,
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        per = (r["rss_after_loop_mb"] - r["rss_before_mb"]) / n * 1024
        engines = (f"{r['live_engines_before']}->{r['live_engines_after_loop']}->"
                   f"{r['live_engines_after_drop']}")
        print(f"{name:<10} {n:>5} {r['rss_before_mb']:>8.1f} MB {r['rss_after_loop_mb']:>8.1f} MB "
              f"{r['rss_after_drop_mb']:>8.1f} MB {r['rss_after_trim_mb']:>8.1f} MB {per:>9.1f} KB "
              f"{engines:>14}", flush=True)


if __name__ == "__main__":
    main()
