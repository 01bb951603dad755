"""The on-disk code cache: keys, integrity, folder permissions, pruning, end-to-end reuse."""

import ctypes
import os
import stat

import numpy as np
import pytest

from graphc import config
from graphc.backend.llvm import cache, jit

from ._handir import axpy_ir


def _run(module, n):
    x, y = np.arange(n, dtype=np.float64), np.full(n, 0.5)
    out = np.empty(n)
    argv = (ctypes.c_void_p * 4)(x.ctypes.data, y.ctypes.data, out.ctypes.data, None)
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(module.address("graphc_main"))(argv)
    return np.array_equal(out, 2 * x + y)


def test_key_covers_ir_versions_target_and_levels(monkeypatch):
    text = axpy_ir(8, np.float32)
    base = cache.cache_key(text)
    assert base == cache.cache_key(text) and len(base) == 64
    assert cache.cache_key(axpy_ir(9, np.float32)) != base
    assert cache.cache_key(text, codegen_opt=0) != base
    monkeypatch.setattr(config, "llvm_opt_level", 3)
    assert cache.cache_key(text) != base
    monkeypatch.undo()
    for field in ("features", "cpu", "triple", "llvm", "llvmlite"):
        fake = dict(jit.host(), **{field: "other"})
        monkeypatch.setattr(jit, "host", lambda fake=fake: fake)
        assert cache.cache_key(text) != base, field
        monkeypatch.undo()
    monkeypatch.setattr("graphc.__version__", "9.9.9")
    assert cache.cache_key(text) != base


def test_second_compile_loads_object_code(tmp_path):
    store = cache.DiskCache(str(tmp_path))
    text = axpy_ir(20, np.float64)
    first = cache.compile_cached(text, "m", store)
    second = cache.compile_cached(text, "m", store)
    assert not first.from_cache and second.from_cache
    assert second.object_code == first.object_code
    assert _run(second, 20)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and stat.S_IMODE(files[0].stat().st_mode) & 0o077 == 0


def test_corrupted_or_foreign_files_are_dropped(tmp_path):
    store = cache.DiskCache(str(tmp_path))
    text = axpy_ir(5, np.float64)
    cache.compile_cached(text, "m", store)
    (path,) = tmp_path.iterdir()
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0xFF  # flip bits in the code
    path.write_bytes(bytes(blob))
    assert store.load(cache.cache_key(text)) is None and not path.exists()
    path.write_bytes(b"not a cache file")
    assert store.load(cache.cache_key(text)) is None
    module = cache.compile_cached(text, "m", store)
    assert not module.from_cache and _run(module, 5)


def test_folder_is_created_private(tmp_path, monkeypatch):
    folder = tmp_path / "fresh" / "graphc"
    monkeypatch.setattr(config, "cache_dir", str(folder))
    store = cache.default_cache()
    assert store is not None and stat.S_IMODE(folder.stat().st_mode) == 0o700
    monkeypatch.setattr(config, "disk_cache", False)
    assert cache.default_cache() is None


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722])
def test_folder_writable_by_others_is_refused(tmp_path, monkeypatch, mode):
    folder = tmp_path / f"open{mode:o}"
    folder.mkdir()
    folder.chmod(mode)
    monkeypatch.setattr(config, "cache_dir", str(folder))
    with pytest.warns(cache.CacheFolderWarning, match="writable by group or others"):
        assert cache.default_cache() is None
    module = cache.compile_cached(axpy_ir(3, np.float64), "m")  # compiles without a cache
    assert _run(module, 3) and not list(folder.iterdir())


def test_folder_owned_by_someone_else_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    try:
        os.chown(folder, os.getuid() + 1, -1)
    except (PermissionError, AttributeError):
        pytest.skip("cannot give a folder away without privileges")
    assert "owned by user id" in cache.folder_problem(str(folder))
    monkeypatch.setattr(config, "cache_dir", str(folder))
    with pytest.warns(cache.CacheFolderWarning, match="owned by user id"):
        assert cache.default_cache() is None


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "plain"
    path.write_text("x")
    assert "not a directory" in cache.folder_problem(str(path))


def test_prune_removes_oldest_first(tmp_path):
    store = cache.DiskCache(str(tmp_path))
    for i in range(4):
        store.store(f"k{i}", bytes(1000))
        os.utime(tmp_path / f"k{i}.o", (1000 + i, 1000 + i))
    store.prune(max_bytes=2 * 1100)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k2.o", "k3.o"]
    assert store.load("k3") == bytes(1000)


def test_cached_code_with_native_entry_runs_in_a_new_process(tmp_path):
    """Object code links the runtime (NumPy, CPython) by symbol, so another process (other
    addresses) can load it: compile in one process, load and run in a second."""
    import subprocess
    import sys

    code = """
import numpy as np, graphc as gc
f = gc.function(lambda x, y: (gc.numpy.sin(x) * y).sum() + x * 2.0)
x, y = np.linspace(-2, 2, 37), np.linspace(1, 3, 37)
got = f(x, y)
c = f.concrete(x, y)
assert np.allclose(got, (np.sin(x) * y).sum() + x * 2.0), got
print(c.stats()["from_disk_cache"], c.stats()["native_entry"])
"""
    env = dict(
        os.environ, GRAPHC_CACHE_DIR=str(tmp_path / "c"), GRAPHC_CACHE="1", GRAPHC_BACKEND="llvm"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        for _ in range(2)
    ]
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]
    assert runs[0].stdout.split() == ["False", "True"]
    assert runs[1].stdout.split() == ["True", "True"]
