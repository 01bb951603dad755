"""Runs the BENCHMARKS.md workloads: graphc against the NumPy hand-gradient baseline (and JAX and
PyTorch when installed), printing medians, ratios and first-call times, and writing JSON.

    python tools/bench.py                      # all workloads
    python tools/bench.py --only W1,W2 --json bench.json
    python tools/bench.py --torch-compile      # adds torch.compile (seconds of compiling per workload)

Steady-state time: median over samples of many calls after warm-up. First call: trace +
differentiate + optimize + compile + run, measured in a fresh process (imports excluded and
reported separately), with that process's peak RSS. Every system's result is checked against the
hand-derived NumPy gradient before it is timed. PyTorch eager runs with 2 threads and
torch.autograd.grad (torch.func for W7's grad of grad); torch.compile compiles torch.func
transforms (not W6: n=10 did not compile in 240 s) and its first call starts from an empty
inductor cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def median_time(fn, args, min_sample_s=0.005, samples=15):
    """Median seconds per call."""
    fn(*args)
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        t = time.perf_counter() - t0
        if t >= min_sample_s:
            break
        n *= 4 if t < min_sample_s / 8 else 2
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        times.append((time.perf_counter() - t0) / n)
    return float(np.median(times))


def _leaves(x):
    from graphc.trace.pytree import flatten

    return [np.asarray(v, dtype=np.float64) for v in flatten(x)[0]]


def check_agree(name, got, expected):
    g, e = _leaves(got), _leaves(expected)
    assert len(g) == len(e), f"{name}: {len(g)} results vs {len(e)} expected"
    for a, b in zip(g, e, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-3, atol=2e-4, err_msg=f"{name} disagrees with NumPy")


@dataclass(frozen=True)
class System:
    label: str
    modules: tuple  # imported before a first call's clock starts: the lazy imports too
    make: Callable  # Workload -> callable, or None where the system has no version of it
    block: bool = True  # wait for asynchronous results (JAX's) before the clock stops


SYSTEMS = {
    # graphc's backend imports llvmlite; torch.func imports torch._dynamo (1.1 s) on first use,
    # torch.compile also torch._inductor (1.0 s)
    "graphc": System("graphc", ("graphc.backend.llvm",), lambda wl: wl.graphc(), block=False),
    "jax": System("jax", ("jax",), lambda wl: wl.jax and wl.jax()),
    "torch": System("torch", ("torch", "torch._dynamo"), lambda wl: wl.torch and wl.torch(False)),
    "torch_compile": System("torch.compile", ("torch", "torch._dynamo", "torch._inductor.compile_fx"),
                            lambda wl: wl.torch(True) if wl.torch and wl.torch_compiles else None),
}


def child(workload_id, system):
    """Runs in a fresh process: first-call time and peak RSS."""
    t_import = time.perf_counter()
    from workloads import all_workloads

    wl = all_workloads()[workload_id]()
    for module in SYSTEMS[system].modules:  # imports are not part of a first call
        __import__(module)
    import_s = time.perf_counter() - t_import
    t0 = time.perf_counter()
    fn = SYSTEMS[system].make(wl)
    fn(*wl.args)
    first = time.perf_counter() - t0
    rss_mb = _peak_rss_mb()
    print(json.dumps({"first_call_s": first, "rss_mb": rss_mb, "import_s": import_s}))


def _peak_rss_mb():
    """This process's peak RSS. VmHWM, not getrusage: Linux carries ru_maxrss over from the parent
    across fork and exec, so a child started by a large parent would report the parent's peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def first_call(workload_id, system):
    # NOTE: children may cache bytecode even where PYTHONDONTWRITEBYTECODE is set (as on the
    # development machines): otherwise each one recompiles every module it imports
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cold:  # torch.compile would reuse the parent's kernels
        env["TORCHINDUCTOR_CACHE_DIR"] = cold
        try:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", workload_id,
                                  system], check=False, capture_output=True, text=True, timeout=600,
                                 env=env)
        except subprocess.TimeoutExpired:
            return {"error": "timed out after 600 s"}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _have(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def systems(torch_compile=False):
    """The systems to run: graphc, then each installed framework (torch.compile only on request:
    it compiles for seconds per workload)."""
    names = ["graphc"] + [n for n in ("jax", "torch") if _have(n)]
    return names + (["torch_compile"] if torch_compile and _have("torch") else [])


def run(ids, names, with_first_call=True):
    from workloads import all_workloads

    table = {}
    print(_format_header(names), flush=True)
    for wid in ids:
        wl = all_workloads()[wid]()
        expected = wl.numpy(*wl.args)
        row = {"workload": wl.name, "numpy_s": median_time(wl.numpy, wl.args) / wl.steps}
        for name in names:
            system = SYSTEMS[name]
            fn = system.make(wl)
            if fn is None:
                continue
            check_agree(f"{wl.name} ({system.label})", fn(*wl.args), expected)
            timed = (lambda *a, fn=fn: _block(fn(*a))) if system.block else fn
            row[f"{name}_s"] = median_time(timed, wl.args) / wl.steps
            if with_first_call:
                row[f"{name}_first"] = first_call(wid, name)
        table[wid] = row
        print(_format_row(row, names), flush=True)
    return table


def _block(x):
    from graphc.trace.pytree import flatten

    for leaf in flatten(x)[0]:
        getattr(leaf, "block_until_ready", lambda: None)()
    return x


def _fmt_s(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


_CELL = 22


def _label(name):
    return SYSTEMS[name].label if name in SYSTEMS else name


def _format_header(names):
    cols = [f"{_label(n):>{_CELL}}" for n in ["numpy"] + names[1:]]
    return f"{'':<11} {'graphc':>10} " + " ".join(cols) + "   (median per call, graphc/x)"


def _format_row(row, names):
    """Steady-state medians with graphc's ratio to each system; below, first calls and peak RSS."""
    cells = [f"{row['workload']:<11}", f"{_fmt_s(row['graphc_s']):>10}"]
    for name in ["numpy"] + names[1:]:
        s = row.get(f"{name}_s")
        cells.append(f"{'-':>{_CELL}}" if s is None else
                     f"{_fmt_s(s):>10} {row['graphc_s'] / s:8.3g}x".rjust(_CELL))
    firsts = []
    for name in names:
        first = row.get(f"{name}_first")
        if first is not None:
            firsts.append(f"{_label(name)} {_fmt_s(first['first_call_s'])} {first['rss_mb']:.0f} MB"
                          if "first_call_s" in first else f"{_label(name)} failed: {first['error']}")
    return " ".join(cells) + ("\n" + " " * 12 + "first call, peak RSS: " + ", ".join(firsts)
                              if firsts else "")


def _import_time(runs=5):
    """Median wall time of ``import graphc`` in fresh processes."""
    code = "import time; t = time.perf_counter(); import graphc; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env=env).stdout) for _ in range(runs)]
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workload ids (W1,W2,W3,W4,W5,W6-10,W6-100,W6-1000,W7,P1000)")
    parser.add_argument("--json", default="bench-results.json", help="where to write the results")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-process first calls")
    parser.add_argument("--torch-compile", action="store_true",
                        help="add a torch.compile column (seconds of compiling per workload; not W6)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    from workloads import all_workloads

    ids = args.only.split(",") if args.only else list(all_workloads())
    import_s = _import_time()
    print(f"import graphc: {_fmt_s(import_s)}")
    table = run(ids, systems(args.torch_compile), with_first_call=not args.no_first_call)
    with open(args.json, "w") as f:
        json.dump({"import_graphc_s": import_s, "rows": table}, f, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
