"""The ``graphc`` command line: ``graphc dump`` (a function's IR at any stage), ``viz``, ``run``,
``export`` (a function as a C shared library: ``backend/llvm/export.py``) and ``demo``.

``graphc dump FILE.py:FUNC --arg f32[2,3] --arg i32[] [--grad 0,2] [--stage STAGE] [--after PASS]``
loads FILE as a module, takes FUNC from it (a plain function or a ``gc.function``), and traces it on
arguments of the given shapes and dtypes. Stages: ``traced`` (default); ``optimized`` (after the
pass pipeline); ``plan`` (the LLVM backend's kernel plan: one kernel a line with its domain,
buffers, vector width, split and math mode); ``llvm`` and ``asm`` (the LLVM backend's module and
machine code); ``all`` (the graph after every pass with its node count, from inlining custom-rule
calls to the backend's own passes, such as fusion; ``--after PASS`` shows one pass).

Every failure ends the command with one line on stderr, ``graphc: error: ...``, naming the user's
file and line when the error comes from user code (``--verbose`` adds the traceback). Exit status
2: the command line is wrong (malformed, a bad spec, no such file or function); 1: loading,
tracing or compiling the function failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import re
import sys
import traceback

import numpy as np

from .core.locations import is_user_file
from .errors import GraphcError
from .trace.function import Function

STAGES = ("traced", "optimized", "plan", "llvm", "asm", "all")
_SPEC_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*\[\s*([0-9\s,]*)\]\s*$")


class UsageError(GraphcError):
    """The command line names something that does not exist or cannot be parsed (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line is one ``graphc: error:`` line (exit 2) too."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --- argument specs -------------------------------------------------------------------------------
def parse_spec(spec: str) -> np.ndarray:
    """``f32[2,3]`` -> a zero array of that dtype and shape (tracing only reads shape and dtype).

    Short names are graphc's (f32 f64 i32 i64 bool); NumPy's long names (float32, ...) work too.
    """
    from . import dtypes

    m = _SPEC_RE.match(spec)
    if m is None:
        raise UsageError(f"bad --arg spec {spec!r}: expected DTYPE[SHAPE], e.g. f32[2,3] or i64[]")
    name, dims = m.groups()
    dtype = dtypes.FROM_SHORT.get(name)
    if dtype is None:
        try:
            dtype = dtypes.canonical(name)
        except GraphcError:
            raise UsageError(
                f"bad --arg spec {spec!r}: unknown dtype {name!r}; "
                "use one of f32, f64, i32, i64, bool"
            ) from None
    parts = [p.strip() for p in dims.split(",")] if dims.strip() else []
    if any(not p.isdigit() for p in parts):
        raise UsageError(f"bad --arg spec {spec!r}: the shape must be sizes separated by commas")
    try:
        return np.zeros(tuple(int(p) for p in parts), dtype=dtype)
    except (ValueError, MemoryError) as e:  # more elements than an array can hold, or memory
        raise UsageError(f"bad --arg spec {spec!r}: {e}") from None


def parse_argnums(text: str) -> int | tuple[int, ...]:
    """``0`` -> 0 and ``0,2`` -> (0, 2), the ``argnums`` of ``gc.value_and_grad``."""
    try:
        nums = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise UsageError(
            f"bad --grad {text!r}: expected argument positions like 0 or 0,2"
        ) from None
    return nums[0] if len(nums) == 1 and "," not in text else nums


# --- loading the user's function ------------------------------------------------------------------
def load_target(target: str):
    """``path/to/file.py:func`` (or ``file.py:Class.method``) -> the callable it names.

    The file runs as a fresh module with its own folder on ``sys.path`` (as ``python file.py``
    would), so it can import its neighbours. A ``gc.function`` is unwrapped to the plain function:
    the CLI builds its own pipeline around it. A transformed function (``gc.jacobian(f)``, ...) is
    kept: its graph is the transformation's, not ``f``'s.
    """
    path, sep, attr = target.rpartition(":")
    if not sep or not path or not attr:
        raise UsageError(
            f"bad target {target!r}: expected FILE.py:FUNCTION, e.g. examples/loss.py:loss"
        )
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    module = _load_module(path)
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            defined = sorted(
                n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
            )
            raise UsageError(
                f"{path} has no function {attr!r} (it defines: {', '.join(defined) or 'none'})"
            )
        obj = getattr(obj, part)
    fun = obj.fun if isinstance(obj, Function) else obj
    if not callable(fun):
        raise UsageError(f"{path}:{attr} is a {type(fun).__name__}, not a function")
    return fun


def _load_module(path: str):
    folder = os.path.dirname(os.path.abspath(path))
    name = "_graphc_user_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, pickle and typing look their module up there
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise GraphcError(f"cannot load {path}: {_describe(e)}") from e
    finally:
        sys.path.remove(folder)
    return module


def _check_arity(fun, args) -> None:
    """Say ``loss(x, y) takes ...`` before tracing, rather than a TypeError from deep inside."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(*args)
    except TypeError as e:
        name = getattr(fun, "__name__", "function")
        raise UsageError(f"{name}{sig}: {len(args)} --arg given; {e}") from None


def _target(ns):
    """``(graphc, function, arguments)`` of FILE.py:FUNC, --arg and --grad (dump, viz, export)."""
    import graphc as gc

    fun = load_target(ns.target)
    args = [parse_spec(s) for s in ns.arg]
    _check_arity(fun, args)
    if ns.grad is not None:
        fun = _with_grad(gc, fun, parse_argnums(ns.grad), len(args))
    return gc, fun, args


# --- graphc dump ----------------------------------------------------------------------------------
def _dump(ns, out) -> None:
    gc, fun, args = _target(ns)
    stage = ns.stage or ("all" if ns.after else "traced")
    if ns.after and stage != "all":
        raise UsageError(
            f"--after shows one pass of the pipeline; it does not combine with --stage {stage}"
        )
    if stage == "traced":
        text = str(gc.make_graph(fun)(*args))
    elif stage == "all":
        text = _all_stages(gc.make_graph(fun)(*args), ns.after)
    elif stage == "optimized":
        text = gc.function(fun).concrete(*args).ir("optimized")
    elif stage == "plan":
        from .backend.llvm.plan import backend_plan

        text = str(backend_plan(gc.function(fun, backend="llvm").concrete(*args).graph))
    else:
        concrete = gc.function(fun, backend="llvm").concrete(*args)
        text = concrete.llvm_ir() if stage == "llvm" else concrete.asm()
    out.write(text.rstrip("\n") + "\n")


# --- graphc viz -----------------------------------------------------------------------------------
def _viz(ns, out) -> None:
    from . import viz

    gc, fun, args = _target(ns)
    graphs = viz.stages(gc.function(fun).concrete(*args))
    path = ns.output
    try:
        viz.write(path, graphs, ns.stage or "optimized", sources=[ns.target.rsplit(":", 1)[0]])
    except GraphcError as e:
        if os.path.splitext(path)[1].lower() in (".svg", ".png") and "Graphviz" in str(e):
            print(f"graphc: {e}", file=sys.stderr)
            out.write(f"wrote {os.path.splitext(path)[0]}.dot\n")
            return
        raise UsageError(str(e)) from None
    out.write(f"wrote {path}\n")


# --- graphc export --------------------------------------------------------------------------------
def _export(ns, out) -> None:
    """Export FUNC on the --arg types (with --grad: its value_and_grad) as a C library."""
    from .backend.llvm import export

    try:
        export.target(ns.cpu)  # a bad --target is a usage error, found before tracing
    except GraphcError as e:
        raise UsageError(str(e)) from None
    gc, fun, args = _target(ns)
    lib = gc.function(fun).concrete(*args).export(ns.output, target=ns.cpu, name=ns.name)
    out.write(f"wrote {lib} and {export.library_paths(ns.output)[1]}\n")


# --- graphc run -----------------------------------------------------------------------------------
def _run(ns, out) -> None:
    """Parse an IR file (``graphc dump``'s output), compile it as ``gc.function`` would, run it on
    the given values and print each output."""
    from .backend import backend_passes, get_backend
    from .ir import parse
    from .passes.manager import prepare

    try:
        with open(ns.file, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {ns.file}: {e.strerror}") from None
    graph = parse(text)
    if len(ns.arg) != len(graph.inputs):
        types = ", ".join(str(t) for t in graph.in_types)
        raise UsageError(f"graph {graph.name} takes {len(graph.inputs)} inputs ({types}); "
                         f"{len(ns.arg)} --arg given")
    args = [_value(a, t, i) for i, (a, t) in enumerate(zip(ns.arg, graph.in_types))]
    backend = get_backend(ns.backend)
    _, ready, _ = prepare(graph, backend_passes(backend))
    for i, o in enumerate(backend.compile(ready)(*args)):
        text = np.array2string(np.asarray(o), separator=", ", floatmode="unique")
        out.write(f"output {i}: {o.dtype}{list(o.shape)}\n{text}\n")  # a Python literal


def _value(text: str, want, i: int) -> np.ndarray:
    """One ``--arg``: a .npy file, or a Python literal (number or nested list), of input ``i``'s
    type ``want`` (a scalar fills the shape)."""
    import ast

    if text.endswith(".npy"):
        try:
            a = np.load(text)
        except (OSError, ValueError) as e:
            raise UsageError(f"--arg {i}: cannot read {text}: {e}") from None
    else:
        try:
            a = np.asarray(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            raise UsageError(f"--arg {i}: {text!r} is neither a .npy file nor a number or list "
                             "of numbers") from None
    if a.shape != tuple(want.shape):
        if a.ndim:
            raise UsageError(f"--arg {i}: shape {a.shape} given, the graph takes {want}")
        a = np.full(want.shape, a)
    if a.dtype != want.dtype and not np.can_cast(a.dtype, want.dtype, "same_kind"):
        raise UsageError(f"--arg {i}: {a.dtype} values given, the graph takes {want} (no "
                         "silent truncation)")
    return np.array(a, dtype=want.dtype, order="C")  # (ascontiguousarray makes 0-d 1-d)


def _with_grad(gc, fun, argnums, n_args):
    """``--grad`` differentiates with ``gc.value_and_grad``: the output is (value, gradients)."""
    for a in (argnums,) if isinstance(argnums, int) else argnums:
        if not -n_args <= a < n_args:
            raise UsageError(f"--grad {a}: the function has {n_args} argument(s)")
    return gc.value_and_grad(fun, argnums=argnums)


def _all_stages(graph, after: str | None) -> str:
    """The traced graph, then the graph after each pass with its node count (``--stage all``).

    The passes are those ``gc.function`` runs for the default backend, its own last (the LLVM
    backend's fusion), so the reader sees the loop nests (``fused`` nodes) the machine code is
    made of.
    """
    from . import config
    from .backend import backend_passes, get_backend
    from .passes.manager import pipeline_stages

    stages = pipeline_stages(graph, backend_passes(get_backend(config.default_backend)))
    blocks = [] if after else [(f"traced: {graph.count_nodes()} nodes", graph)]
    for i, (name, g) in enumerate(stages, start=1):
        if after is None or name == after:
            blocks.append((f"pass {i} ({name}): {g.count_nodes()} nodes", g))
    if after and not blocks:
        names = sorted({name for name, _ in stages})
        raise UsageError(f"--after {after!r}: no such pass; the pipeline runs {', '.join(names)}")
    return "\n\n".join(f"=== {title} ===\n{g}" for title, g in blocks)


# --- errors ---------------------------------------------------------------------------------------
def _describe(err: BaseException) -> str:
    """One line for an error: GraphcErrors already name the user's line; others get it added."""
    msg = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    if isinstance(err, GraphcError):
        return msg or type(err).__name__
    where = _user_frame(err)
    text = f"{type(err).__name__}: {msg}" if msg else type(err).__name__
    return f"{where}: {text}" if where else text


def _user_frame(err: BaseException) -> str | None:
    """``file.py:line`` of the innermost traceback frame of the user's code (outside graphc, NumPy
    and the stdlib: the rule node locations follow, ``core.locations.is_user_file``)."""
    if isinstance(err, SyntaxError) and err.filename:
        return f"{os.path.basename(err.filename)}:{err.lineno}"
    for fr in reversed(traceback.extract_tb(err.__traceback__)):
        if is_user_file(fr.filename):
            return f"{os.path.basename(fr.filename)}:{fr.lineno}"
    return None


# --- the parser and the entry point ---------------------------------------------------------------
def _positive(text: str) -> int:
    """An argparse type: a positive int (``--epochs 0`` or ``-5`` is refused with the reason)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {n}")
    return n


def _target_args(p) -> None:
    """FILE.py:FUNC, --arg and --grad, as dump, viz and export take them."""
    p.add_argument("target", metavar="FILE.py:FUNC", help="the function to trace")
    p.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="SPEC",
        help="one argument's dtype and shape, e.g. f32[2,3] or i64[]; repeat per argument",
    )
    p.add_argument(
        "--grad",
        metavar="ARGNUMS",
        help="differentiate w.r.t. these argument positions (e.g. 0 or 0,2) with gc.value_and_grad",
    )


def _viz_parser(sub) -> None:
    viz = sub.add_parser(
        "viz",
        help="draw a function's graph: DOT, SVG/PNG (with Graphviz) or an interactive HTML page",
        description="Trace FUNC from FILE on arguments of the given types and draw its graph: "
        ".dot (Graphviz text), .svg/.png (rendered by Graphviz's dot when installed), or .html "
        "(one self-contained page with every stage: pan, zoom, click a node, search).",
    )
    _target_args(viz)
    viz.add_argument("--stage", choices=("traced", "optimized", "plan"),
                     help="the stage to draw (HTML: shown first; default optimized)")
    viz.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="graph.dot, graph.svg, graph.png or graph.html")
    viz.add_argument("--verbose", "-v", action="store_true", help="show the traceback of an error")


def _export_parser(sub) -> None:
    export = sub.add_parser(
        "export",
        help="write a function as a C shared library and header (no Python at run time)",
        description="Trace FUNC from FILE on arguments of the given types and write OUT.so "
        "(OUT.dylib on macOS) and OUT.h: one C function taking input pointers, output pointers "
        "and a workspace (or NULL), with the shapes and dtypes in the header.",
    )
    _target_args(export)
    export.add_argument("--target", dest="cpu", default="native", metavar="CPU",
                        help="native (this machine, the default) or a portable x86-64 level: "
                        "x86-64, x86-64-v2, x86-64-v3, x86-64-v4")
    export.add_argument("--name", help="the C function's name (default: FUNC, with --grad "
                        "value_and_grad_FUNC)")
    export.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="the library and header's path without extension, e.g. build/libloss")
    export.add_argument("--verbose", "-v", action="store_true",
                        help="show the traceback of an error")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="graphc", description="graphc: a compiled static-graph autodiff compiler."
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"graphc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    dump = sub.add_parser(
        "dump",
        help="print the IR of a function at a stage of the pipeline",
        description="Trace FUNC from FILE on arguments of the given types and print its IR.",
    )
    _target_args(dump)
    dump.add_argument("--stage", choices=STAGES, help="which stage to print (default: traced)")
    dump.add_argument(
        "--after", metavar="PASS", help="print the graph after this optimization pass"
    )
    dump.add_argument("--verbose", "-v", action="store_true", help="show the traceback of an error")
    _viz_parser(sub)
    _export_parser(sub)
    run = sub.add_parser(
        "run", help="compile and run an IR file (graphc dump's text form)",
        description="Read FILE.ir (the text graphc dump prints), compile it as gc.function would "
        "and print its outputs for the given input values.",
    )
    run.add_argument("file", metavar="FILE.ir", help="the graph's text")
    run.add_argument("--arg", action="append", default=[], metavar="VALUE",
                     help="one input: a number, a nested list, or a .npy file; repeat per input")
    run.add_argument("--backend", choices=("llvm", "reference"), default="llvm",
                     help="where to run it (default llvm)")
    run.add_argument("--verbose", "-v", action="store_true", help="show the traceback of an error")
    demo = sub.add_parser(
        "demo", help="train a small MLP on the 8x8 digits with one compiled step, showing the IR",
        description="Train a 64-64-10 MLP on the handwritten digits shipped with graphc: one "
        "compiled train step (forward, gradient, Adam), a line per epoch, then the compile time, "
        "node counts, time per step against plain NumPy and the test accuracy.",
    )
    demo.add_argument("--epochs", type=_positive, default=20, help="epochs (default 20)")
    demo.add_argument("--seed", type=int, default=0, help="data split and initialization seed")
    demo.add_argument("--plot", metavar="PNG", help="write the training loss curve (matplotlib)")
    demo.add_argument("--viz", metavar="OUT", help="draw the train step's graphs (.html, .dot, "
                      ".svg, .png: as graphc viz)")
    demo.add_argument("--verbose", "-v", action="store_true", help="show the traceback of an error")
    return parser


def main(argv=None) -> int:
    """Run the ``graphc`` command; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv or "-v" in argv
    try:
        parser = _build_parser()
        ns = parser.parse_args(argv)
        if ns.command == "dump":
            _dump(ns, sys.stdout)
        elif ns.command == "viz":
            _viz(ns, sys.stdout)
        elif ns.command == "run":
            _run(ns, sys.stdout)
        elif ns.command == "export":
            _export(ns, sys.stdout)
        elif ns.command == "demo":
            from .examples.digits import run

            run(epochs=ns.epochs, seed=ns.seed, out=sys.stdout, plot=ns.plot, viz=ns.viz)
        else:
            parser.print_help(sys.stderr)
            return 2
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    except Exception as e:  # noqa: BLE001  (the CLI's job: any error becomes one clear line)
        if verbose:
            traceback.print_exc()
        print(f"graphc: error: {_describe(e)}", file=sys.stderr)
        return 2 if isinstance(e, UsageError) else 1
    return 0
