"""Every attack of tools/cache_attacks.py on the disk cache (a corrupted, truncated, swapped,
foreign or special file in place of the victim's entry) is refused: the victim, a fresh process
with a timeout, recompiles and gets the right numbers; nothing is loaded, crashes or hangs; the
entry is replaced by a good one; what a symlink pointed at is left alone."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import cache_attacks  # noqa: E402

ROOT = os.geteuid() == 0
BY_NAME = {a.name: a for a in cache_attacks.ATTACKS}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every attack's victim report, run a few at a time (each is its own process)."""
    work = tmp_path_factory.mktemp("attacks")
    primed = cache_attacks.prime(work)

    def run(i_attack):
        i, attack = i_attack
        if attack.needs_root and not ROOT:
            return attack.name, None
        workdir = work / f"attack{i}"
        workdir.mkdir()
        return attack.name, (cache_attacks.run_attack(attack, primed, workdir), workdir)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(run, enumerate(cache_attacks.ATTACKS)))


@pytest.mark.parametrize("name", list(BY_NAME))
def test_attack_is_refused(results, name):
    attack = BY_NAME[name]
    if results[name] is None:
        pytest.skip("needs root (a device node or another user's file)")
    report, workdir = results[name]
    assert report["changed"], "the attack left the entry as it was: it tests nothing"
    assert report["outcome"] == "recompiled", report
    assert "LLVM ERROR" not in report["stderr"], report["stderr"][-2000:]
    assert report["rewritten"] is attack.rewritable, report
    if not attack.rewritable:  # the write over a full directory fails, with one warning
        assert report["stderr"].count("CacheWriteWarning") == 1, report["stderr"]
    elsewhere = workdir / "scratch" / "elsewhere.o"
    if elsewhere.exists():  # the entry was moved away and something put in its place
        primed_entry = next((workdir.parent / "primed-f16").iterdir())
        assert elsewhere.read_bytes() == primed_entry.read_bytes()
