"""Runs the BENCHMARKS.md workloads: graphc against the NumPy hand-gradient baseline (and JAX when
installed), printing medians, ratios and first-call times, and writing JSON.

    python tools/bench.py                      # all workloads
    python tools/bench.py --only W1,W2 --json bench.json

Steady-state time: median over samples of many calls after warm-up. First call: trace +
differentiate + optimize + compile + run, measured in a fresh process (imports excluded and
reported separately), with that process's peak RSS. Every graphc result is checked against the
hand-derived NumPy gradient before it is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

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


def child(workload_id, system):
    """Runs in a fresh process: first-call time and peak RSS."""
    t_import = time.perf_counter()
    from workloads import all_workloads

    wl = all_workloads()[workload_id]()
    # imports are not part of a first call: the framework's, and graphc's backend (llvmlite)
    __import__("graphc.backend.llvm" if system == "graphc" else system)
    import_s = time.perf_counter() - t_import
    t0 = time.perf_counter()
    if system == "graphc":
        fn = wl.graphc()
    else:
        fn = getattr(wl, system)()
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
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", workload_id, system],
                         capture_output=True, text=True, timeout=600, env=env)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _have(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def run(ids, with_first_call=True):
    from workloads import all_workloads

    table = {}
    for wid in ids:
        wl = all_workloads()[wid]()
        row = {"workload": wl.name}
        fn = wl.graphc()
        expected = wl.numpy(*wl.args)
        check_agree(wl.name, fn(*wl.args), expected)
        row["graphc_s"] = median_time(fn, wl.args) / wl.steps
        row["numpy_s"] = median_time(wl.numpy, wl.args) / wl.steps
        if wl.jax is not None and _have("jax"):
            jfn = wl.jax()
            check_agree(wl.name + " (jax)", jfn(*wl.args), expected)
            row["jax_s"] = median_time(lambda *a: _block(jfn(*a)), wl.args) / wl.steps
        if with_first_call:
            row["graphc_first"] = first_call(wid, "graphc")
            if "jax_s" in row:
                row["jax_first"] = first_call(wid, "jax")
        table[wid] = row
        print(_format_row(row), flush=True)
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


def _format_row(row):
    first = row.get("graphc_first", {})
    parts = [
        f"{row['workload']:<11}",
        f"graphc {_fmt_s(row['graphc_s']):>10}",
        f"numpy {_fmt_s(row['numpy_s']):>10}",
        f"graphc/numpy {row['graphc_s'] / row['numpy_s']:6.2f}x",
    ]
    if "jax_s" in row:
        parts.append(f"jax {_fmt_s(row['jax_s']):>10}  graphc/jax {row['graphc_s'] / row['jax_s']:6.2f}x")
    if "first_call_s" in first:
        parts.append(f"first call {_fmt_s(first['first_call_s'])}  rss {first['rss_mb']:.0f} MB")
    elif "error" in first:
        parts.append(f"first call failed: {first['error']}")
    if "jax_first" in row and "first_call_s" in row["jax_first"]:
        jf = row["jax_first"]
        parts.append(f"jax first {_fmt_s(jf['first_call_s'])}  rss {jf['rss_mb']:.0f} MB")
    return " | ".join(parts)


def _import_time(runs=5):
    """Median wall time of ``import graphc`` in fresh processes."""
    code = "import time; t = time.perf_counter(); import graphc; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env=env).stdout) for _ in range(runs)]
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workload ids (W1,W2,W3,W4,W5,W6-10,W6-100,W6-1000,W7)")
    parser.add_argument("--json", default="bench-results.json", help="where to write the results")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-process first calls")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    from workloads import all_workloads

    ids = args.only.split(",") if args.only else list(all_workloads())
    import_s = _import_time()
    print(f"import graphc: {_fmt_s(import_s)}")
    table = run(ids, with_first_call=not args.no_first_call)
    with open(args.json, "w") as f:
        json.dump({"import_graphc_s": import_s, "rows": table}, f, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
