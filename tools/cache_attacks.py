"""Every attack on graphc's disk cache of compiled code, each against a fresh process:
``python tools/cache_attacks.py [--only TEXT]...``.

A victim process compiles ``f(x) = sin(x)*2 + 1`` on float64[16] through the cache. Its cache file
is first made by a clean run, then tampered with (corrupted, truncated, swapped for another
function's or signature's file, replaced by foreign bytes or by a consistent-checksum file with a
bad payload, or by a FIFO, symlink, device or directory), and the victim runs again in a new
process with a timeout. Outcome: ``recompiled`` (the file was refused and the numbers are right:
the only good outcome), ``loaded`` (the tampered file was used), ``wrong numbers``, ``crash`` (a
signal or LLVM abort), ``hang`` (the timeout) or ``error``. ``tests/backend/test_cache_attacks.py``
runs every attack as a test; this tool prints the table and a closing
``N cache attacks tried / M refused`` note. Attacks that need root (a device node, a file owned by
another user) are skipped without it. ``--mutants N`` adds a campaign of N random mutants of the
object code's headers and tables (consistent checksums): the victim runs on every mutant the
object checks accept, and a crash, hang or error while loading one is a gap in ``objfile.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAGIC = b"graphc-obj-2\n"
TIMEOUT_S = 60

#: The victim: compiles FUNCTION on float64[N] through the cache in GRAPHC_CACHE_DIR (saying so
#: on stderr before it runs the code), runs it and prints whether it loaded from the cache,
#: whether its numbers are right, and whether a valid entry is in the cache afterwards (the
#: refused file was replaced).
COMPILED = "victim: compiled"
VICTIM = f"COMPILED = {COMPILED!r}\n" + r"""
import json, sys
import numpy as np
import graphc as gc
from graphc.backend.llvm import cache
name, n = sys.argv[1], int(sys.argv[2])
funcs = {"f": (lambda x: np.sin(x) * 2.0 + 1.0), "g": (lambda x: np.cos(x) * 3.0 - 1.0)}
x = np.linspace(-2.0, 2.0, n)
fn = gc.function(funcs[name])
module = fn.concrete(x).executable.module  # compiles or loads, runs nothing
print(COMPILED, file=sys.stderr, flush=True)
got = fn(x)
key = cache.cache_key(module.ir_text, module.codegen_opt, module.llvm_opt)
print(json.dumps({
    "from_cache": module.from_cache,
    "right": bool(np.allclose(got, funcs[name](x), rtol=1e-12, atol=0)),
    "rewritten": cache.default_cache().load(key) is not None,
    "key": key.name,
}))
"""


def run_victim(folder: Path, name: str = "f", n: int = 16, timeout: float = TIMEOUT_S) -> dict:
    """Run the victim in a new process; its JSON report plus ``rc``, ``stderr`` and ``hung``."""
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(folder), GRAPHC_CACHE="1", GRAPHC_BACKEND="llvm")
    try:
        r = subprocess.run([sys.executable, "-c", VICTIM, name, str(n)], capture_output=True,
                           text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"hung": True, "rc": None, "stderr": ""}
    lines = r.stdout.strip().splitlines()
    report = json.loads(lines[-1]) if r.returncode == 0 and lines else {}
    return {**report, "hung": False, "rc": r.returncode, "stderr": r.stderr}


def outcome(report: dict) -> str:
    """How the victim fared: recompiled, loaded, wrong numbers, crash, hang or error."""
    if report["hung"]:
        return "hang"
    if report["rc"] != 0:
        return "crash" if report["rc"] < 0 or "LLVM ERROR" in report["stderr"] else "error"
    if not report["right"]:
        return "wrong numbers"
    return "loaded" if report["from_cache"] else "recompiled"


@dataclass
class Primed:
    """Clean cache folders of the victim (``f16``) and of its neighbours: ``g16`` (another
    function, same signature), ``f17`` (same function, another signature), ``g17`` (both)."""

    folders: dict[str, Path]

    def entry(self, which: str) -> Path:
        (path,) = self.folders[which].iterdir()
        return path


def prime(workdir: Path) -> Primed:
    folders = {}
    for which in ("f16", "g16", "f17", "g17"):
        folders[which] = workdir / f"primed-{which}"
        report = run_victim(folders[which], which[0], int(which[1:]))
        if outcome(report) != "recompiled" or len(list(folders[which].iterdir())) != 1:
            raise RuntimeError(f"priming {which} failed: {report}")
    return Primed(folders)


# ---- building tampered files -------------------------------------------------------------------


def split(blob: bytes) -> tuple[bytes, bytes]:
    """(magic + key lines, payload) of a cache file."""
    head_end = blob.index(b"\npayload ") + 1
    payload_start = blob.index(b"\n", head_end) + 1
    return blob[:head_end], blob[payload_start:]


def forge(blob: bytes, payload: bytes) -> bytes:
    """``blob``'s key with ``payload`` and a consistent payload hash: what someone who knows the
    format would write."""
    head, _ = split(blob)
    line = f"payload {hashlib.sha256(payload).hexdigest()} {len(payload)}\n"
    return head + line.encode() + payload


def sections(obj: bytes) -> list[tuple]:
    shoff, shnum = struct.unpack_from("<Q", obj, 40)[0], struct.unpack_from("<H", obj, 60)[0]
    return [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + 64 * i) for i in range(shnum)]


def section_header_offset(obj: bytes, sh_type: int) -> int:
    """Where the first section header of ``sh_type`` is."""
    shoff = struct.unpack_from("<Q", obj, 40)[0]
    return shoff + 64 * next(i for i, s in enumerate(sections(obj)) if s[1] == sh_type)


def patched(obj: bytes, offset: int, fmt: str, value) -> bytes:
    out = bytearray(obj)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def first_relocation(obj: bytes) -> int:
    return struct.unpack_from("<Q", obj, section_header_offset(obj, 4) + 24)[0]


def first_symbol(obj: bytes, index: int) -> int:
    return struct.unpack_from("<Q", obj, section_header_offset(obj, 2) + 24)[0] + 24 * index


def bad_relocation_type(obj):
    at = first_relocation(obj)
    info = struct.unpack_from("<Q", obj, at + 8)[0]
    return patched(obj, at + 8, "<Q", (info & ~0xFFFFFFFF) | 200)


def relocation_outside_section(obj):  # LLVM writes wherever r_offset points: no error at all
    return patched(obj, first_relocation(obj), "<Q", 1 << 40)


def relocation_symbol_out_of_range(obj):
    at = first_relocation(obj)
    info = struct.unpack_from("<Q", obj, at + 8)[0]
    return patched(obj, at + 8, "<Q", (5000 << 32) | (info & 0xFFFFFFFF))


def section_name_outside_table(obj):
    return patched(obj, section_header_offset(obj, 1), "<I", 90000)


def symbol_in_missing_section(obj):
    return patched(obj, first_symbol(obj, 2) + 6, "<H", 900)


def _write_payload(fn: Callable[[bytes], bytes]):
    """An attack that writes a forged file (consistent checksum) with ``fn(payload)`` as payload."""

    def attack(path: Path, primed: Primed, scratch: Path) -> None:
        blob = path.read_bytes()
        path.write_bytes(forge(blob, fn(split(blob)[1])))

    return attack


def _write(fn: Callable[[bytes], bytes]):
    def attack(path: Path, primed: Primed, scratch: Path) -> None:
        path.write_bytes(fn(path.read_bytes()))

    return attack


def _swap(which: str):
    def attack(path: Path, primed: Primed, scratch: Path) -> None:
        path.write_bytes(primed.entry(which).read_bytes())

    return attack


def _replace(make: Callable[[Path, Path], None]):
    """An attack that removes the file and makes something else at its name."""

    def attack(path: Path, primed: Primed, scratch: Path) -> None:
        good = scratch / "elsewhere.o"
        shutil.move(path, good)
        make(path, good)

    return attack


def _flip(at_fraction: float):
    def fn(blob: bytes) -> bytes:
        out = bytearray(blob)
        out[int(len(out) * at_fraction)] ^= 0xFF
        return bytes(out)

    return fn


def _key_flip(blob: bytes) -> bytes:
    out = bytearray(blob)
    out[len(MAGIC) + 2] ^= 0x01
    return bytes(out)


def _old_format(blob: bytes) -> bytes:
    payload = split(blob)[1]
    return b"graphc-obj-1\n" + hashlib.sha256(payload).digest() + payload


def _directory_with_file(path: Path, good: Path) -> None:
    path.mkdir()
    (path / "inside").write_text("x")


def _device(path: Path, good: Path) -> None:
    os.mknod(path, 0o600 | 0o020000, os.makedev(1, 5))  # a character device: /dev/zero's numbers


def _sparse_huge(path: Path, good: Path) -> None:
    with open(path, "wb") as f:
        f.truncate(300 << 20)
    path.chmod(0o600)


def _chmod(mode: int):
    def attack(path: Path, primed: Primed, scratch: Path) -> None:
        path.chmod(mode)

    return attack


def _chown(path: Path, primed: Primed, scratch: Path) -> None:
    os.chown(path, 65534, -1)


@dataclass(frozen=True)
class Attack:
    name: str
    group: str
    apply: Callable[[Path, Primed, Path], None]
    needs_root: bool = False
    #: Whether the victim can write a good entry afterwards (not over a full directory).
    rewritable: bool = True


ATTACKS = [
    Attack("bit flip in the code", "corrupted", _write(_flip(0.9))),
    Attack("bit flip in the key", "corrupted", _write(_key_flip)),
    Attack("bytes appended", "corrupted", _write(lambda b: b + b"\0" * 100)),
    Attack("cut in half", "truncated", _write(lambda b: b[: len(b) // 2])),
    Attack("header only", "truncated", _write(lambda b: split(b)[0])),
    Attack("one byte", "truncated", _write(lambda b: b[:1])),
    Attack("empty", "truncated", _write(lambda b: b"")),
    Attack("same signature, other function", "swapped", _swap("g16")),
    Attack("other signature, same function", "swapped", _swap("f17")),
    Attack("other signature and function", "swapped", _swap("g17")),
    Attack("graphc's previous format", "swapped", _write(_old_format)),
    Attack("random bytes", "foreign", _write(lambda b: os.urandom(len(b)))),
    Attack("random payload, consistent checksum", "foreign", _write_payload(
        lambda p: os.urandom(len(p)))),
    Attack("non-ELF payload, consistent checksum", "foreign", _write_payload(
        lambda p: b"#!/bin/sh\necho hello\n" * 40)),
    Attack("ELF for another machine (aarch64)", "foreign", _write_payload(
        lambda p: patched(p, 18, "<H", 183))),
    Attack("ELF section table past the end", "foreign", _write_payload(
        lambda p: patched(p, 40, "<Q", len(p) - 64))),
    Attack("half an object, consistent checksum", "foreign", _write_payload(
        lambda p: p[: len(p) // 2])),
    Attack("unknown relocation type", "foreign", _write_payload(bad_relocation_type)),
    Attack("relocation outside its section", "foreign", _write_payload(relocation_outside_section)),
    Attack("relocation of a missing symbol", "foreign", _write_payload(
        relocation_symbol_out_of_range)),
    Attack("section name outside its table", "foreign", _write_payload(section_name_outside_table)),
    Attack("symbol in a missing section", "foreign", _write_payload(symbol_in_missing_section)),
    Attack("FIFO", "special", _replace(lambda p, good: os.mkfifo(p, 0o600))),
    Attack("symlink to a valid entry", "special", _replace(lambda p, good: p.symlink_to(good))),
    Attack("symlink to /dev/zero", "special", _replace(lambda p, good: p.symlink_to("/dev/zero"))),
    Attack("dangling symlink", "special", _replace(
        lambda p, good: p.symlink_to(good.parent / "x"))),
    Attack("device node", "special", _replace(_device), needs_root=True),
    Attack("empty directory", "special", _replace(lambda p, good: p.mkdir())),
    Attack("directory with a file", "special", _replace(_directory_with_file), rewritable=False),
    Attack("sparse 300 MB file", "special", _replace(_sparse_huge)),
    Attack("file writable by others", "special", _chmod(0o666)),
    Attack("file owned by another user", "special", _chown, needs_root=True),
]


def fingerprint(path: Path) -> tuple:
    """What an attack may change about an entry: its type, mode, owner and bytes."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ()
    regular = stat.S_ISREG(st.st_mode)
    return st.st_mode, st.st_uid, st.st_size, path.read_bytes() if regular else b""


def run_attack(attack: Attack, primed: Primed, workdir: Path) -> dict:
    """Apply ``attack`` to a copy of the victim's clean folder and run the victim: its report,
    with ``outcome`` and ``changed`` (whether the attack changed the entry at all)."""
    folder, scratch = workdir / "cache", workdir / "scratch"
    shutil.copytree(primed.folders["f16"], folder)
    scratch.mkdir()
    (entry,) = folder.iterdir()
    clean = fingerprint(entry)
    attack.apply(entry, primed, scratch)
    changed = fingerprint(entry) != clean
    report = run_victim(folder)
    return {**report, "outcome": outcome(report), "changed": changed}


def mutants(payload: bytes, count: int, seed: int) -> list[bytes]:
    """``count`` copies of ``payload`` with 1-3 random bytes of its ELF header, section table,
    symbol table or relocations overwritten."""
    shoff = struct.unpack_from("<Q", payload, 40)[0]
    regions = [(0, 64), (shoff, shoff + 64 * len(sections(payload)))]
    regions += [(s[4], s[4] + s[5]) for s in sections(payload) if s[1] in (2, 4) and s[5]]
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        m = bytearray(payload)
        for _ in range(rng.randint(1, 3)):
            lo, hi = rng.choice(regions)
            m[rng.randrange(lo, hi)] = rng.randrange(256)
        out.append(bytes(m))
    return out




def mutation_campaign(primed: Primed, workdir: Path, count: int, seed: int) -> int:
    """Forge ``count`` mutants of the victim's object (consistent checksums) and run the victim on
    each one the object checks accept (those they refuse are never handed to LLVM): prints the
    outcomes; returns how many crashed, hung or erred while compiling (loading: a gap in
    ``objfile.py``). An accepted mutant may still run wrong code (a relocation moved to another
    valid symbol) and crash when called: no check of an object's form can see that, which is why
    only files bound to the key, with their payload hash, are loaded."""
    from graphc.backend.llvm import jit, objfile

    clean = primed.entry("f16").read_bytes()
    machine = objfile.elf_machine(jit.host()["triple"])
    accepted = [m for m in mutants(split(clean)[1], count, seed) if not objfile.problem(m, machine)]
    outcomes: dict[str, int] = {}
    for i, m in enumerate(accepted):
        folder = workdir / f"mutant{i}"
        shutil.copytree(primed.folders["f16"], folder)
        next(folder.iterdir()).write_bytes(forge(clean, m))
        report = run_victim(folder)
        result = outcome(report)
        if result not in ("loaded", "recompiled"):
            ran = COMPILED in report["stderr"]
            result += " running the forged code" if ran else " while loading"
        outcomes[result] = outcomes.get(result, 0) + 1
        shutil.rmtree(folder)
    print(f"\n{count} mutants of the object code (seed {seed}): {count - len(accepted)} refused "
          f"by the object checks, {len(accepted)} accepted and loaded: {outcomes}")
    return sum(n for k, n in outcomes.items() if k.endswith("while loading"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="TEXT",
                        help="run the attacks whose name holds TEXT (repeatable)")
    parser.add_argument("--mutants", type=int, default=0, metavar="N",
                        help="also forge N random mutants of the object's headers and tables")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    chosen = [a for a in ATTACKS if not args.only or any(t in a.name for t in args.only)]
    root = os.geteuid() == 0
    tried = refused = 0
    with tempfile.TemporaryDirectory() as tmp:
        primed = prime(Path(tmp))
        print(f"{'attack':<40} {'group':<10} {'refused':<8} outcome")
        for i, attack in enumerate(chosen):
            if attack.needs_root and not root:
                print(f"{attack.name:<40} {attack.group:<10} {'-':<8} skipped (needs root)")
                continue
            workdir = Path(tmp) / f"attack{i}"
            workdir.mkdir()
            result = run_attack(attack, primed, workdir)
            ok = result["outcome"] == "recompiled"
            tried, refused = tried + 1, refused + ok
            print(f"{attack.name:<40} {attack.group:<10} {'yes' if ok else 'no':<8} "
                  f"{result['outcome']}", flush=True)
        print(f"\n{tried} cache attacks tried / {refused} refused (recompiled, right numbers; "
              "never loaded, never a crash or hang)")
        failed = 0
        if args.mutants:
            failed = mutation_campaign(primed, Path(tmp), args.mutants, args.seed)
    return 0 if tried == refused and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
