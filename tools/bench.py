"""Runs the BENCHMARKS.md workloads: graphc against the NumPy hand-gradient baseline (and JAX and
PyTorch when installed), printing medians, ratios and first-call times, and writing JSON.

    python tools/bench.py                       # every workload but W6-10000 (see --w6-scaling)
    python tools/bench.py --only W1,W2 --json bench.json
    python tools/bench.py --load --threads 1,2  # quiet and loaded; graphc at 1 and 2 threads
    python tools/bench.py --torch-compile       # adds torch.compile (seconds of compiling each)
    python tools/bench.py --only= --w6-scaling  # only W6's first call at n = 10 ... 10,000

Steady-state time: median over samples of many calls after warm-up. With --load every steady-state
figure is taken twice, quiet and beside a competing busy process (on no core in particular): on a
2-core machine two-thread code collapses when a core is taken (BENCHMARKS.md). graphc reads
GRAPHC_THREADS at import, so with --threads its steady state runs in a child process per thread
count; without, in this process at its own setting. JAX and torch always run in this process with
their own threading (torch eager: 2 threads), so their figures are the same whatever --threads.

First call: trace + differentiate + optimize + compile + run, in fresh processes (imports excluded
and reported separately), the median of --first-call-runs processes, with peak RSS. graphc's is
taken cold (an empty GRAPHC_CACHE_DIR) and warm (a second process on the cache the cold one
filled), with the compiled signature's breakdown: trace, graph passes, compile and its phases.
JAX's and torch's are cold; torch.compile's starts from an empty inductor cache and gets
--torch-compile-timeout seconds (running out is reported, and skips its steady state).

Every system's result is checked against the hand-derived NumPy gradient before it is timed.
PyTorch eager runs with 2 threads and torch.autograd.grad (torch.func for W7's grad of grad);
torch.compile compiles torch.func transforms (not W6: n=10 did not compile in 240 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CHILD_TIMEOUT_S = 600  # a child process (torch.compile's first call: --torch-compile-timeout)
W6_SCALING = (10, 100, 1000, 10000)  # --w6-scaling's n
# not in a plain run: its steady state would double the run (--w6-scaling times its first call)
OPT_IN = ("W6-10000",)


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


def timed(wl, name, fn, expected):
    """``fn`` (``name``'s version of ``wl``) checked against the NumPy result, ready to time."""
    system = SYSTEMS[name]
    check_agree(f"{wl.name} ({system.label})", fn(*wl.args), expected)
    return (lambda *a, fn=fn: _block(fn(*a))) if system.block else fn


def _block(x):
    from graphc.trace.pytree import flatten

    for leaf in flatten(x)[0]:
        getattr(leaf, "block_until_ready", lambda: None)()
    return x


# --- quiet and loaded ---------------------------------------------------------------------------
# spins like ``while True: pass``, and also ends when its parent does: a child killed at its
# time-out never runs the finally that would kill its busy process
_BUSY = ("import os\nparent = os.getppid()\nprint(flush=True)\n"
         "while os.getppid() == parent:\n    for _ in range(1_000_000): pass")


@contextlib.contextmanager
def busy_process():
    """A competing process spinning on one core (whichever the OS gives it) while the block runs,
    as on a laptop or shared server; killed on the way out, errors included."""
    proc = subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()  # spinning from here on
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def steady(fns, args, steps, load):
    """Median seconds per step of each callable: ``quiet``, and with ``load`` also ``loaded``."""

    def medians():
        return {name: median_time(fn, args) / steps for name, fn in fns.items()}

    result = {"quiet": medians()}
    if load:
        with busy_process():
            result["loaded"] = medians()
    return result


# --- child processes ----------------------------------------------------------------------------
def _child_env(**extra):
    """This process's environment with ``extra``, for a child. Children may cache bytecode even
    where PYTHONDONTWRITEBYTECODE is set (as on the development machines): otherwise each one
    recompiles every module it imports."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def _run_child(argv, env, timeout):
    """The JSON line a ``bench.py`` child prints last, or ``{"error": why}``."""
    try:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), *argv], check=False,
                             capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if out.returncode < 0:  # JAX's W6 at n=10,000 dies of SIGSEGV, saying nothing
        return {"error": f"killed by {signal.Signals(-out.returncode).name}"}
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_fields(results):
    """The field-by-field median of child results, nested dicts too; a field that is not a number
    is kept where the results agree, else listed."""
    first = results[0]
    if isinstance(first, dict):
        return {key: median_fields([r[key] for r in results]) for key in first}
    if all(isinstance(r, int | float) and not isinstance(r, bool) for r in results):
        return float(np.median(results))
    return first if all(r == first for r in results) else results


BREAKDOWN = ("trace_ms", "optimize_ms", "compile_ms", "compile_phases_ms", "from_disk_cache")


def graphc_breakdown(fn, args):
    """Where a graphc first call went: its compiled signature's ``stats()``."""
    fn = getattr(fn, "step", fn)  # W4's loop: its compiled step
    # gc.grad and the other transformations compile themselves into a gc.function they do not
    # hand out: read their attribute
    function = getattr(fn, "_function", None) or fn
    stats = function.concrete(*args).stats()
    return {key: stats[key] for key in BREAKDOWN}


def first_call_child(workload_id, system):
    """Runs in a fresh process: first-call time and peak RSS, and graphc's breakdown."""
    t_import = time.perf_counter()
    from workloads import all_workloads

    wl = all_workloads()[workload_id]()
    for module in SYSTEMS[system].modules:  # imports are not part of a first call
        __import__(module)
    import_s = time.perf_counter() - t_import
    t0 = time.perf_counter()
    fn = SYSTEMS[system].make(wl)
    fn(*wl.args)
    result = {"first_call_s": time.perf_counter() - t0, "rss_mb": _peak_rss_mb(),
              "import_s": import_s}
    if system == "graphc":
        result["breakdown"] = graphc_breakdown(fn, wl.args)
    print(json.dumps(result))


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


def first_calls(workload_id, system, runs, timeout, warm):
    """The median over ``runs`` fresh processes of a ``cold`` first call (empty caches) and, with
    ``warm``, of a second process on the cache the cold one filled; or the first error (no more
    runs after it: a compile that timed out would time out again)."""
    found = {"cold": [], "warm": []} if warm else {"cold": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:  # torch.compile would reuse the parent's kernels
            env = _child_env(GRAPHC_CACHE="1", GRAPHC_CACHE_DIR=cache, TORCHINDUCTOR_CACHE_DIR=cache)
            for results in found.values():
                result = _run_child(["--first-call-child", workload_id, system], env, timeout)
                if "error" in result:
                    return result
                results.append(result)
    return {kind: median_fields(results) for kind, results in found.items()}


def steady_child(workload_id, load):
    """Runs in a child with GRAPHC_THREADS set: graphc's steady state."""
    from workloads import all_workloads

    wl = all_workloads()[workload_id]()
    fn = timed(wl, "graphc", SYSTEMS["graphc"].make(wl), wl.numpy(*wl.args))
    print(json.dumps(steady({"graphc": fn}, wl.args, wl.steps, load)))


def graphc_threads(workload_id, threads, load):
    """graphc's steady state at each thread count, one child each: {condition: {column: s}}."""
    found = {}
    for n in threads:
        result = _run_child(["--steady-child", workload_id] + ["--load"] * load,
                            _child_env(GRAPHC_THREADS=str(n)), CHILD_TIMEOUT_S)
        if "error" in result:
            raise RuntimeError(f"{workload_id} at GRAPHC_THREADS={n}: {result['error']}")
        for condition, medians in result.items():
            found.setdefault(condition, {})[f"graphc_{n}t"] = medians["graphc"]
    return found


# --- the run --------------------------------------------------------------------------------------
def _have(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def systems(torch_compile=False):
    """The systems to run: graphc, then each installed framework (torch.compile only on request:
    it compiles for seconds per workload)."""
    names = ["graphc"] + [n for n in ("jax", "torch") if _have(n)]
    return names + (["torch_compile"] if torch_compile and _have("torch") else [])


def bench_workload(wid, names, opts):
    """One workload's row: first calls, then steady state of the systems whose first call worked."""
    from workloads import all_workloads

    wl = all_workloads()[wid]()
    made = {name: fn for name in names if (fn := SYSTEMS[name].make(wl)) is not None}
    row = {"workload": wl.name}
    if not opts.no_first_call:
        row["first_call"] = {
            name: first_calls(wid, name, opts.first_call_runs, _first_call_timeout(name, opts),
                              warm=name == "graphc")
            for name in made}
    failed = {name for name, result in row.get("first_call", {}).items() if "error" in result}
    # graphc's children first and NumPy last: the threads of JAX's pool and of NumPy's OpenBLAS
    # spin-wait after their work, which took a core from whatever ran next (graphc's W2 on two
    # threads in a child started after JAX's run: 2.06 ms, against 1.05 ms; JAX's W3 right after
    # NumPy's: 2.87-3.07 ms, against 2.48 ms alone)
    children = graphc_threads(wid, opts.threads, opts.load)
    expected = wl.numpy(*wl.args)
    in_process = {
        name: timed(wl, name, fn, expected) for name, fn in made.items()
        if name not in failed and not (name == "graphc" and opts.threads)} | {"numpy": wl.numpy}
    row["steady"] = steady(in_process, wl.args, wl.steps, opts.load)
    for condition, medians in children.items():
        row["steady"][condition] |= medians
    return row


def _first_call_timeout(name, opts):
    return opts.torch_compile_timeout if name == "torch_compile" else CHILD_TIMEOUT_S


def run(ids, names, opts):
    """Each workload's row, printed as it comes: steady state per condition, then first calls."""
    graphc_cols = [f"graphc_{n}t" for n in opts.threads] or ["graphc"]
    others = ["numpy"] + names[1:]
    table = {}
    print(_format_header(graphc_cols, others), flush=True)
    for wid in ids:
        row = table[wid] = bench_workload(wid, names, opts)
        for condition, medians in row["steady"].items():
            print(_format_steady(row["workload"], condition, medians, graphc_cols, others))
        if "first_call" in row:
            print(_format_first_calls(row["first_call"], opts.first_call_runs))
        sys.stdout.flush()
    return table


def w6_scaling(runs):
    """graphc's (and JAX's) cold first call of W6 against n: does compile time grow linearly?"""
    names = ["graphc"] + (["jax"] if _have("jax") else [])
    print(f"\nW6 cold first call against n (median of {runs} fresh processes):")
    print(f"{'n':>7} {'graphc':>10} {'trace':>10} {'passes':>10} {'compile':>10} {'jax':>10}")
    table = []
    for n in W6_SCALING:
        entry = {"n": n} | {name: first_calls(f"W6-{n}", name, runs, CHILD_TIMEOUT_S, warm=False)
                            for name in names}
        table.append(entry)
        print(f"{n:>7} " + " ".join(f"{c:>10}" for c in _scaling_cells(entry)), flush=True)
    return table


def _scaling_cells(entry):
    """graphc's first call and its trace, passes and compile; JAX's first call (or the errors)."""
    graphc, jax = entry["graphc"], entry.get("jax")
    if "error" in graphc:
        cells = [graphc["error"], "", "", ""]
    else:
        breakdown = graphc["cold"]["breakdown"]
        cells = [_fmt_s(graphc["cold"]["first_call_s"])]
        cells += [_fmt_s(breakdown[key] / 1e3) for key in BREAKDOWN[:3]]
    if jax is not None:
        cells.append(jax.get("error") or _fmt_s(jax["cold"]["first_call_s"]))
    return cells


# --- printing -------------------------------------------------------------------------------------
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
    return SYSTEMS[name].label if name in SYSTEMS else name.replace("_", " ")


def _format_header(graphc_cols, others):
    cells = [f"{_label(n):>10}" for n in graphc_cols] + [f"{_label(n):>{_CELL}}" for n in others]
    return (f"{'':<19} " + " ".join(cells)
            + f"   (median per call; ratio: {_label(graphc_cols[-1])}/x; Nt: GRAPHC_THREADS=N)")


def _format_steady(workload, condition, medians, graphc_cols, others):
    """One line of steady-state medians, with graphc's (last column's) ratio to each system."""
    base = medians.get(graphc_cols[-1])
    cells = [f"{workload:<11} {condition:<7}"] + [f"{_fmt_s(medians.get(c)):>10}" for c in graphc_cols]
    for name in others:
        s = medians.get(name)
        ratio = f"{base / s:8.3g}x" if base is not None and s is not None else ""
        cells.append(f"{_fmt_s(s):>10} {ratio:>9}".rjust(_CELL))
    return " ".join(cells)


def _format_first_calls(first, runs):
    lines = [f"{'':4}first call, median of {runs} fresh processes, peak RSS:"]
    for name, result in first.items():
        if "error" in result:
            lines.append(f"{'':6}{_label(name):<19} {result['error']}")
            continue
        for kind, r in result.items():
            lines.append(f"{'':6}{_label(name) + ' ' + kind:<19} {_fmt_s(r['first_call_s']):>10} "
                         f"{r['rss_mb']:5.0f} MB" + _format_breakdown(r.get("breakdown")))
    return "\n".join(lines)


def _format_breakdown(b):
    if b is None:
        return ""
    phases = ", ".join(f"{k} {_ms(v)}" for k, v in b["compile_phases_ms"].items() if v is not None)
    cache = b["from_disk_cache"]  # a list where the runs disagreed
    note = "" if cache is False else ", from disk cache" if cache is True else f", from disk: {cache}"
    return (f"   trace {_ms(b['trace_ms'])} + passes {_ms(b['optimize_ms'])} + compile "
            f"{_ms(b['compile_ms'])} ms ({phases}){note}")


def _ms(v):
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def _import_time(runs=5):
    """Median wall time of ``import graphc`` in fresh processes."""
    code = "import time; t = time.perf_counter(); import graphc; print(time.perf_counter() - t)"
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True, env=_child_env()).stdout) for _ in range(runs)]
    return float(np.median(times))


def _ints(text):
    return [int(v) for v in text.split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workload ids (W1,W2,W3,W4,W5,W6-10,W6-100,"
                        "W6-1000,W6-10000,W7,W8,W9,P1000,L1; default: all but W6-10000)")
    parser.add_argument("--json", default="bench-results.json", help="where to write the results")
    parser.add_argument("--no-first-call", action="store_true", help="skip the fresh-process first calls")
    parser.add_argument("--first-call-runs", type=int, default=3,
                        help="fresh processes per first call, their median reported (default 3)")
    parser.add_argument("--load", action="store_true",
                        help="take every steady state twice: quiet, and beside a busy process")
    parser.add_argument("--threads", type=_ints, default=[],
                        help="comma-separated GRAPHC_THREADS values for graphc's steady state, one "
                        "child process each (default: this process's setting, in this process)")
    parser.add_argument("--torch-compile", action="store_true",
                        help="add a torch.compile column (seconds of compiling per workload; not W6)")
    parser.add_argument("--torch-compile-timeout", type=float, default=120,
                        help="seconds torch.compile's first call may take (default 120)")
    parser.add_argument("--w6-scaling", action="store_true",
                        help="also a table of W6's cold first call at n = 10, 100, 1000, 10000")
    parser.add_argument("--first-call-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--steady-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_call_child:
        first_call_child(*args.first_call_child)
        return 0
    if args.steady_child:
        steady_child(args.steady_child, args.load)
        return 0
    from workloads import all_workloads

    known = all_workloads()
    ids = ([i for i in args.only.split(",") if i] if args.only is not None
           else [i for i in known if i not in OPT_IN])
    if unknown := [i for i in ids if i not in known]:
        parser.error(f"unknown workload ids: {','.join(unknown)}")
    import_s = _import_time()
    print(f"import graphc: {_fmt_s(import_s)}")
    results = {"import_graphc_s": import_s, "first_call_runs": args.first_call_runs,
               "load": args.load, "threads": args.threads}
    if ids:
        results["rows"] = run(ids, systems(args.torch_compile), args)
    if args.w6_scaling:
        results["w6_scaling"] = w6_scaling(args.first_call_runs)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
