"""Random-program campaigns: ``python tools/fuzz.py N SEED [--jobs J] [--out DIR]``.

Programs SEED .. SEED+N-1 (tests/fuzz) are checked in worker processes, in batches; a worker that
dies (a segfault, an LLVM abort) is restarted after the program it was running, which is recorded
as an ``abort``. Every failure is classified (ok / mismatch / crash: a raw exception or an abort /
error: a GraphcError on a valid program), tagged when it matches a known open bug, and the first
program of each distinct failure is minimized and saved as a standalone reproducer DIR/*.py.
Design choice: workers talk JSON lines over stdout, announcing each seed before running it, so
the parent always knows which program killed a worker.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# open bugs of issue 8 that other engineers are fixing: (tag, regex over "check: detail")
KNOWN = (
    ("dot-const-plan", r"KeyError"),
    ("vector-math-abort", r"^abort"),
    ("vector-math", r"floating point constant invalid|VFABI|Broken function"),
)


def known_tag(outcome) -> str:
    text = f"{outcome['status']}: {outcome['detail']}"
    for tag, pattern in KNOWN:
        if re.search(pattern, text):
            return tag
    return ""


def worker(start, count):
    """Check programs start..start+count-1; one JSON line per event on stdout."""
    os.environ.setdefault("GRAPHC_CACHE", "0")
    from tests.fuzz.checks import ProgramCheck
    from tests.fuzz.generate import random_program

    crash_seed = int(os.environ.get("GRAPHC_FUZZ_ABORT_SEED", "-1"))  # tests: a worker death
    for seed in range(start, start + count):
        print(json.dumps({"start": seed}), flush=True)
        if seed == crash_seed:
            os.abort()
        prog, _ = random_program(seed)
        try:
            out = ProgramCheck(prog, seed).run()
            detail = out.detail if len(out.detail) < 600 else out.detail[:400] + " ... " + \
                out.detail[-150:]
            rec = {"status": out.status, "check": out.check, "detail": detail}
        except Exception as exc:  # noqa: BLE001 - a harness failure is recorded, not fatal
            rec = {"status": "harness", "check": "", "detail": repr(exc)[-400:]}
        rec.update(seed=seed, kinds=prog.kinds(), dtype=prog.dtype)
        print(json.dumps(rec), flush=True)


def worker_env():
    """What a worker runs under: no disk cache (every program is compiled), the IR verifier on
    after every pass (as in the test suite), LLVM's default pipeline (whatever the caller's
    GRAPHC_LLVM_OPT says: a campaign tests what users run)."""
    env = dict(os.environ, GRAPHC_CACHE="0", PYTHONHASHSEED="0", GRAPHC_VERIFY="1")
    for name in ("GRAPHC_LLVM_OPT", "GRAPHC_LLVM_CODEGEN_OPT", "GRAPHC_FAST_MATH"):
        env.pop(name, None)
    return env


def run_batch(start, count, results):
    """Run one batch in a worker process, restarting it after a program that kills it."""
    env = worker_env()
    end = start + count
    while start < end:
        proc = subprocess.run([sys.executable, __file__, "--worker", str(start), str(end - start)],
                              capture_output=True, text=True, env=env)
        last = None
        for line in proc.stdout.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if "start" in rec:
                last = rec["start"]
            else:
                results.put(rec)
                start = rec["seed"] + 1
        if proc.returncode != 0 or start < end:
            if last is None or last < start:  # died before announcing: count it at start
                last = start
            results.put({"seed": last, "status": "crash", "check": "abort",
                         "detail": f"abort: worker exit {proc.returncode}: "
                                   + proc.stderr.strip()[-300:], "kinds": [], "dtype": ""})
            start = last + 1


def minimize_to_file(rec, out_dir, budget_s):
    """Minimize one failure in a child process (it may abort) and write its reproducer."""
    code = (
        "import sys, json; sys.path.insert(0, %r)\n"
        "from tests.fuzz.generate import random_program\n"
        "from tests.fuzz.checks import Outcome\n"
        "from tests.fuzz.minimize import minimize, same_way\n"
        "rec = json.loads(sys.argv[1])\n"
        "prog, choices = random_program(rec['seed'])\n"
        "want = same_way(Outcome(rec['status'], rec['check'], rec['detail']))\n"
        "small = prog if rec['check'] == 'abort' else minimize(choices, want, rec['seed'], %r)\n"
        "print(small.reproducer(rec['check'], want + ' | ' + rec['detail']))\n"
    ) % (ROOT, budget_s)
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(rec)], capture_output=True,
                          text=True, env=worker_env())
    name = os.path.join(out_dir, f"seed{rec['seed']}_{rec['status']}.py")
    with open(name, "w") as fh:
        fh.write(proc.stdout if proc.returncode == 0 else
                 f"# minimization failed (exit {proc.returncode}); seed {rec['seed']}\n"
                 f"# {proc.stderr.strip()[-300:]}\n")
    return name


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default="fuzz-out")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--minimize-s", type=float, default=60.0, help="budget per failure")
    ap.add_argument("--max-repro", type=int, default=40)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    batches = queue.Queue()
    for s in range(args.seed, args.seed + args.n, args.batch):
        batches.put((s, min(args.batch, args.seed + args.n - s)))
    results = queue.Queue()

    def drain():
        while True:
            try:
                run_batch(*batches.get_nowait(), results)
            except queue.Empty:
                return

    t0 = time.monotonic()
    threads = [threading.Thread(target=drain) for _ in range(args.jobs)]
    for t in threads:
        t.start()
    counts, first = collections.Counter(), {}
    log = open(os.path.join(args.out, "results.jsonl"), "w")
    done = 0
    while any(t.is_alive() for t in threads) or not results.empty():
        try:
            rec = results.get(timeout=0.5)
        except queue.Empty:
            continue
        done += 1
        rec["known"] = known_tag(rec) if rec["status"] != "ok" else ""
        log.write(json.dumps(rec) + "\n")
        log.flush()
        label = rec["status"] + (f" (known: {rec['known']})" if rec["known"] else "")
        counts[label] += 1
        if rec["status"] not in ("ok", "inconclusive"):
            key = (rec["status"], re.sub(r"\[\d+\]", "", rec["check"]), rec["known"],
                   rec["detail"].split(":")[0] if rec["status"] != "mismatch" else "")
            first.setdefault(key, rec)
        if done % 500 == 0:
            print(f"{done} programs, {done / (time.monotonic() - t0):.1f}/s: {dict(counts)}",
                  flush=True)
    elapsed = time.monotonic() - t0
    print(f"\n{done} programs in {elapsed:.0f} s ({done / elapsed:.2f} programs/s)")
    for label, n in counts.most_common():
        print(f"  {label:40s} {n}")
    for key, rec in list(first.items())[: args.max_repro]:
        path = minimize_to_file(rec, args.out, args.minimize_s)
        print(f"  {key}: seed {rec['seed']} -> {path}")
    return 0 if set(counts) <= {"ok", "inconclusive"} else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit(main())
