"""Peak memory and time of a long while loop's reverse pass, saved against checkpointed (issue
11): the gradient of 100,000 steps of an update on a 1,000-element float64 state, each mode in a
fresh process (peak RSS from getrusage, less the process's peak before the call).

    python tools/loop_memory.py [--steps 100000] [--size 1000] [--checkpoints 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def child(steps: int, size: int, checkpoints: int | None) -> dict:
    import numpy as np

    import graphc as gc

    def loss(x, n):
        def body(c):
            v, i = c
            return v * 0.999 + 0.01 * np.sin(v) * v, i + 1

        v = gc.while_loop(lambda c: c[1] < n, body, (x, 0), checkpoints=checkpoints)[0]
        return (v ** 2).sum()

    f = gc.function(gc.grad(loss))
    x = np.linspace(-1.0, 1.0, size)
    f(x, np.int64(1))  # compile first: its memory is not the loop's
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    g = f(x, np.int64(steps))
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"checkpoints": checkpoints, "peak_rss_growth_mb": (after - before) / 1024,
            "seconds": seconds, "checksum": float(np.abs(g).sum())}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--size", type=int, default=1000)
    p.add_argument("--checkpoints", type=int, default=20)
    p.add_argument("--child", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child is not None:
        k = None if a.child == "none" else int(a.child)
        print(json.dumps(child(a.steps, a.size, k)))
        return
    saved_bytes = a.steps * (a.size * 8 + 8)
    print(f"{a.steps} steps of a {a.size}-element float64 carry: every carry is "
          f"{saved_bytes / 2**20:.0f} MB, {a.checkpoints} checkpoints "
          f"{a.checkpoints * (a.size * 8 + 8) / 2**10:.0f} KB")
    for mode in ("none", str(a.checkpoints)):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--steps", str(a.steps),
                              "--size", str(a.size)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(f"  checkpoints={r['checkpoints']}: peak RSS +{r['peak_rss_growth_mb']:.1f} MB, "
              f"{r['seconds'] * 1e3:.0f} ms, |grad|_1 = {r['checksum']:.6g}")


if __name__ == "__main__":
    main()
