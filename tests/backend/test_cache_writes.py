"""Writes to the cache that fail (a full disk, a read-only mount, a file-size limit, any OSError)
leave every compile correct, leave no temporary file behind, and warn once per process and cause,
at the user's line. (A folder without write permission: test_cache_folder.py.)"""

import errno
import os
import subprocess
import sys
import textwrap
from contextlib import contextmanager

import numpy as np
import pytest

from graphc.backend.llvm import cache

from ._handir import axpy_ir
from .test_cache import _run


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(cache, "_warned", set())


def _compile_all(store, sizes):
    """Compile one axpy module per size through ``store``; every one runs right."""
    for n in sizes:
        module = cache.compile_cached(axpy_ir(n, np.float64), "m", store)
        assert not module.from_cache and _run(module, n)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO])
def test_a_failing_write_warns_once_and_leaves_nothing(tmp_path, monkeypatch, code):
    store = cache.open_folder(str(tmp_path / "c"))

    def fail(fd, data):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(cache, "_write_all", fail)
    with pytest.warns(cache.CacheWriteWarning, match=os.strerror(code)) as w:
        _compile_all(store, (3, 4, 5))
    assert len(w) == 1 and os.path.basename(w[0].filename) == "test_cache_writes.py"
    assert not list((tmp_path / "c").iterdir())  # the temporary files were removed


def test_each_cause_warns_once(tmp_path, monkeypatch):
    store = cache.open_folder(str(tmp_path / "c"))
    codes = iter([errno.ENOSPC, errno.ENOSPC, errno.EROFS, errno.ENOSPC, errno.EROFS])

    def fail(fd, data):
        code = next(codes)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(cache, "_write_all", fail)
    with pytest.warns(cache.CacheWriteWarning) as w:
        _compile_all(store, (3, 4, 5, 6, 7))
    messages = [str(x.message) for x in w]
    assert len(messages) == 2, messages
    assert os.strerror(errno.ENOSPC) in messages[0] and os.strerror(errno.EROFS) in messages[1]


@contextmanager
def _tmpfs(path, options):
    """A small tmpfs mounted at ``path`` (root only; skips where mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small or read-only file system needs root")
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                       capture_output=True, text=True, check=False)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def _fill(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk(tmp_path):
    with _tmpfs(tmp_path / "small", "size=64k,mode=0700") as mnt:
        store = cache.open_folder(str(mnt / "c"))
        try:
            _fill(mnt / "filler")
            with pytest.warns(cache.CacheWriteWarning, match="No space left") as w:
                _compile_all(store, (3, 4))
            assert len(w) == 1 and not list((mnt / "c").iterdir())
        finally:
            store.close()  # (a mount cannot be unmounted while a descriptor in it is open)


def test_a_read_only_mount(tmp_path):
    with _tmpfs(tmp_path / "ro", "size=1m,mode=0700") as mnt:
        store = cache.open_folder(str(mnt / "c"))
        try:
            _compile_all(store, (3,))  # written while it could be
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
            with pytest.warns(cache.CacheWriteWarning, match="Read-only file system") as w:
                _compile_all(store, (4, 5))
            assert len(w) == 1
            assert cache.compile_cached(axpy_ir(3, np.float64), "m", store).from_cache
        finally:
            store.close()


@pytest.mark.parametrize("sigxfsz", ["default", "ignored"])
def test_a_file_size_limit_is_not_crossed(tmp_path, sigxfsz):
    """Under ``ulimit -f`` a write past the limit raises SIGXFSZ, which kills a process that has
    not ignored it (CPython ignores it; an embedding program may not): graphc does not write."""
    code = textwrap.dedent(f"""
        import resource, signal, warnings
        import numpy as np, graphc as gc
        signal.signal(signal.SIGXFSZ, signal.SIG_{"DFL" if sigxfsz == "default" else "IGN"})
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, resource.RLIM_INFINITY))
        x = np.linspace(0, 1, 9)
        for f in (lambda x: np.sin(x) + 1, lambda x: np.exp(x) * 2):
            assert np.allclose(gc.function(f)(x), f(x))
        print("ok")
    """)
    env = dict(os.environ, GRAPHC_CACHE_DIR=str(tmp_path / "c"), GRAPHC_CACHE="1",
               GRAPHC_BACKEND="llvm")
    r = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True,
                       env=env, timeout=300, check=False)
    assert r.returncode == 0 and r.stdout.split() == ["ok"], (r.returncode, r.stderr[-2000:])
    assert r.stderr.count("CacheWriteWarning") == 1 and "file-size limit" in r.stderr, r.stderr
    assert not list((tmp_path / "c").iterdir())
