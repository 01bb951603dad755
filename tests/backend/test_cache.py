"""The on-disk code cache: keys, the file format, integrity, pruning, end-to-end reuse.
(Attacks on cache files: test_cache_attacks.py; folders: test_cache_folder.py; write failures:
test_cache_writes.py; the object-file checks: test_cache_objfile.py.)"""

import ctypes
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from graphc import config
from graphc.backend.llvm import cache, jit

from ._handir import axpy_ir


def _run(module, n):
    x, y = np.arange(n, dtype=np.float64), np.full(n, 0.5)
    out = np.empty(n)
    argv = (ctypes.c_void_p * 4)(x.ctypes.data, y.ctypes.data, out.ctypes.data, None)
    assert ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)(module.address("graphc_main"))(argv) == 0
    return np.array_equal(out, 2 * x + y)


@pytest.fixture
def store(tmp_path):
    return cache.open_folder(str(tmp_path / "c"))


def test_key_covers_ir_versions_target_levels_and_entry_abi(monkeypatch):
    text = axpy_ir(8, np.float32)
    base = cache.cache_key(text)
    assert base == cache.cache_key(text) and len(base.name) == 64
    assert cache.cache_key(axpy_ir(9, np.float32)) != base
    assert cache.cache_key(text, codegen_opt=0) != base
    assert cache.cache_key(text, llvm_opt=0) != cache.cache_key(text, llvm_opt=2)
    monkeypatch.setattr(config, "llvm_opt_level", 3)
    assert cache.cache_key(text) != base
    monkeypatch.undo()
    for field in ("features", "cpu", "triple", "llvm", "llvmlite"):
        fake = dict(jit.host(), **{field: "other"})
        monkeypatch.setattr(jit, "host", lambda fake=fake: fake)
        assert cache.cache_key(text) != base, field
        monkeypatch.undo()
    monkeypatch.setattr(cache, "entry_abi", lambda: "native cpython-399 numpy-0.0 (0,)")
    assert cache.cache_key(text) != base
    monkeypatch.undo()
    monkeypatch.setattr("graphc.__version__", "9.9.9")
    assert cache.cache_key(text) != base


def test_key_text_is_readable_and_names_the_file():
    import hashlib

    text = axpy_ir(8, np.float32)
    key = cache.cache_key(text)
    lines = key.text.decode().splitlines()
    names = [line.split(" ", 1)[0] for line in lines]
    assert names == ["graphc", "llvmlite", "llvm", "triple", "cpu", "features", "levels",
                     "entry-abi", "ir-sha256"]
    assert f"ir-sha256 {hashlib.sha256(text.encode()).hexdigest()}" in lines
    assert f"triple {jit.host()['triple']}" in lines
    assert key.name == hashlib.sha256(key.text).hexdigest()
    with pytest.raises(ValueError, match="newline"):
        cache.Key({"cpu": "a\nb"})


def test_decode_checks_magic_key_hash_and_size():
    key, other = cache.cache_key(axpy_ir(3, np.float64)), cache.cache_key(axpy_ir(4, np.float64))
    blob = cache.encode(key, b"payload bytes")
    assert cache.decode(blob, key) == (b"payload bytes", "")
    assert cache.decode(blob, other)[1] == "stored for another key"
    assert "format" in cache.decode(b"graphc-obj-1\n" + blob[13:], key)[1]
    for bad in (blob[:-1], blob + b"x", blob[:-1] + b"X", blob[: len(blob) - 13]):
        assert cache.decode(bad, key) == (None, "payload does not match its hash and size")


def test_second_compile_loads_object_code(store, tmp_path):
    text = axpy_ir(20, np.float64)
    first = cache.compile_cached(text, "m", store)
    second = cache.compile_cached(text, "m", store)
    assert not first.from_cache and second.from_cache
    assert second.object_code == first.object_code
    assert _run(second, 20)
    (entry,) = (tmp_path / "c").iterdir()
    assert entry.name == cache.cache_key(text).name + ".o"
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry.read_bytes() == cache.encode(cache.cache_key(text), first.object_code)


def test_corrupted_or_foreign_files_are_dropped(store, tmp_path):
    text = axpy_ir(5, np.float64)
    cache.compile_cached(text, "m", store)
    (path,) = (tmp_path / "c").iterdir()
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0xFF  # flip bits in the code
    path.write_bytes(bytes(blob))
    assert store.load(cache.cache_key(text)) is None and not path.exists()
    path.write_bytes(b"not a cache file")
    assert store.load(cache.cache_key(text)) is None and not path.exists()
    module = cache.compile_cached(text, "m", store)
    assert not module.from_cache and _run(module, 5)
    assert store.load(cache.cache_key(text)) == module.object_code


def test_a_file_that_grows_while_read_is_refused(store, tmp_path, monkeypatch):
    text = axpy_ir(6, np.float64)
    cache.compile_cached(text, "m", store)
    (path,) = (tmp_path / "c").iterdir()
    real_fstat = os.fstat

    def fstat_then_append(fd):  # another writer appends between the fstat and the read
        st = real_fstat(fd)
        with open(path, "ab") as f:
            f.write(b"more")
        return st

    monkeypatch.setattr(cache.os, "fstat", fstat_then_append)
    assert store.load(cache.cache_key(text)) is None


def _entries(store, n):
    """n distinct valid entries (their keys), stored with increasing modification times."""
    keys = []
    for i in range(n):
        text = axpy_ir(10 + i, np.float64)
        key = cache.cache_key(text)
        store.store(key, jit.compile_ir(text, "m").object_code)
        os.utime(key.name + ".o", (1000 + i, 1000 + i), dir_fd=store.fd)
        keys.append(key)
    return keys


def test_prune_removes_oldest_first(store, tmp_path):
    keys = _entries(store, 4)
    sizes = [os.stat(k.name + ".o", dir_fd=store.fd).st_size for k in keys]
    store.prune(max_bytes=sizes[2] + sizes[3])
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted(
        k.name + ".o" for k in keys[2:])
    assert store.load(keys[3]) is not None and store.load(keys[0]) is None


def test_prune_removes_stale_temporary_files_only(store, tmp_path):
    folder = tmp_path / "c"
    (folder / ".a.o.1.x.tmp").write_bytes(b"left by a crash")
    os.utime(folder / ".a.o.1.x.tmp", (1000, 1000))
    (folder / ".b.o.2.y.tmp").write_bytes(b"being written now")
    (folder / "notes.txt").write_bytes(b"not ours")
    store.prune()
    assert sorted(p.name for p in folder.iterdir()) == [".b.o.2.y.tmp", "notes.txt"]


def test_no_temporary_file_is_left_after_a_store(store, tmp_path):
    _entries(store, 2)
    assert all(p.name.endswith(".o") for p in (tmp_path / "c").iterdir())


def test_hosts_without_checkable_object_files_get_no_disk_cache(tmp_path, monkeypatch):
    fake = dict(jit.host(), triple="arm64-apple-darwin23.1.0")
    monkeypatch.setattr(jit, "host", lambda: fake)
    monkeypatch.setattr(config, "cache_dir", str(tmp_path / "mac"))
    cache._open.cache_clear()
    assert not cache.supported() and cache.default_cache() is None
    assert not (tmp_path / "mac").exists()
    cache._open.cache_clear()


def test_cached_code_with_native_entry_runs_in_a_new_process(tmp_path):
    """Object code links the runtime (NumPy, CPython) by symbol, so another process (other
    addresses) can load it: compile in one process, load and run in a second."""
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


LACKING_ENTRY = """
import sys
import numpy as np
from graphc.backend.llvm import cache, jit
from tests.backend._handir import axpy_ir
store = cache.open_folder(sys.argv[1])
text = axpy_ir(4099, np.float64)
key = cache.cache_key(text)
if sys.argv[2] == "forge":
    other = jit.compile_ir("define void @not_main(ptr %p) {\\n  ret void\\n}\\n", "o")
    with open(sys.argv[1] + "/" + key.name + ".o", "wb") as f:
        f.write(cache.encode(key, other.object_code))
    assert store.load(key) == other.object_code  # it passes the file checks
module = cache.compile_cached(text, "m", store)
print(module.from_cache, module.address("graphc_main") != 0)
"""


def test_an_entry_lacking_the_entry_point_is_recompiled(tmp_path):
    """A file that passes every check but whose code does not define ``graphc_main`` (forged from
    another module) is dropped and recompiled, and the next process loads the good entry. In new
    processes: a process that loaded bad object code must not share it with other tests (an
    in-process memo of object code once did, jit.py)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folder = str(tmp_path / "c")
    runs = [subprocess.run([sys.executable, "-c", LACKING_ENTRY, folder, step], cwd=root,
                           capture_output=True, text=True, timeout=300, check=False)
            for step in ("forge", "again")]
    for r in runs:
        assert r.returncode == 0, r.stderr[-2000:]
    assert [r.stdout.split() for r in runs] == [["False", "True"], ["True", "True"]]


def test_a_reader_never_sees_half_a_file(store):
    """Writers replace the entry over and over while a reader loads it: once an entry is there,
    every load returns the whole object (a half-written file would be refused: None)."""
    import threading

    text = axpy_ir(40, np.float64)
    key, obj = cache.cache_key(text), jit.compile_ir(text, "m").object_code
    store.store(key, obj)
    stop, seen = threading.Event(), []

    def write():
        while not stop.is_set():
            store.store(key, obj)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for t in writers:
        t.start()
    try:
        seen = [store.load(key) for _ in range(300)]
    finally:
        stop.set()
        for t in writers:
            t.join()
    assert all(s == obj for s in seen), sum(s is None for s in seen)



def test_a_cached_object_llvm_refuses_with_an_error_is_recompiled(store, monkeypatch):
    text = axpy_ir(20, np.float64)
    assert not cache.compile_cached(text, "m", store).from_cache
    real = jit.compile_ir

    def refuse_cached(ir_text, name, *, cached_object=None, **levels):
        if cached_object is not None:
            raise RuntimeError("LLVM refused the object")
        return real(ir_text, name, **levels)

    monkeypatch.setattr(jit, "compile_ir", refuse_cached)
    again = cache.compile_cached(text, "m", store)
    assert not again.from_cache and _run(again, 20)
