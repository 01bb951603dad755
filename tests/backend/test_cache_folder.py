"""The cache folder: created private whatever the umask, refused when others could write it or it
is someone else's, and used through the descriptor checked once, so swapping the folder after the
check changes nothing. As root (who ignores permission bits) the checks that need a second user
are done by giving files away with chown; .ci/run also runs these files as an unprivileged user."""

import os
import stat
from contextlib import contextmanager

import numpy as np
import pytest

from graphc import config
from graphc.backend.llvm import cache, jit

from ._handir import axpy_ir

ROOT = os.geteuid() == 0


@contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """Point config.cache_dir somewhere and open it afresh (``_open`` caches per path)."""

    def use(path):
        monkeypatch.setattr(config, "cache_dir", str(path))
        cache._open.cache_clear()
        return cache.default_cache()

    yield use
    cache._open.cache_clear()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_every_folder_created_is_private_whatever_the_umask(tmp_path, configured, mask):
    folder = tmp_path / "a" / "b" / "graphc"
    with umask(mask):
        store = configured(folder)
    assert store is not None
    for p in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert _mode(p) == 0o700, (p, oct(_mode(p)))


def test_a_umask_removing_owner_write_still_gives_a_usable_folder(tmp_path, configured):
    folder = tmp_path / "graphc"
    with umask(0o277):  # mkdir(0o700) gives 0500: the fchmod on the descriptor restores 0700
        store = configured(folder)
    assert store is not None and _mode(folder) == 0o700
    text = axpy_ir(4, np.float64)
    cache.compile_cached(text, "m", store)
    assert cache.compile_cached(text, "m", store).from_cache


def test_an_existing_private_folder_keeps_its_mode(tmp_path, configured):
    folder = tmp_path / "mine"
    folder.mkdir(mode=0o700)
    folder.chmod(0o750)  # group may read: not a problem, and not graphc's to change
    assert configured(folder) is not None and _mode(folder) == 0o750


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o722, 0o702])
def test_folder_writable_by_others_is_refused(tmp_path, configured, mode):
    folder = tmp_path / f"open{mode:o}"
    folder.mkdir()
    folder.chmod(mode)
    with pytest.warns(cache.CacheFolderWarning, match="writable by group or others") as w:
        assert configured(folder) is None
    assert os.path.basename(w[0].filename) == "test_cache_folder.py"  # the user's line
    module = cache.compile_cached(axpy_ir(3, np.float64), "m")  # compiles without a cache
    assert module.object_code and not list(folder.iterdir())


def test_folder_owned_by_someone_else_is_refused(tmp_path, configured):
    if ROOT:
        folder = tmp_path / "theirs"
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, -1)
        owner = 65534
    else:  # a folder that exists and is root's
        folder, owner = "/", 0
    with pytest.warns(cache.CacheFolderWarning, match=f"owned by user id {owner}"):
        assert configured(folder) is None


def test_a_file_is_not_a_folder(tmp_path, configured):
    path = tmp_path / "plain"
    path.write_text("x")
    with pytest.warns(cache.CacheFolderWarning, match="Not a directory"):
        assert configured(path) is None


def test_a_folder_that_cannot_be_created_is_a_warning(tmp_path, configured):
    (tmp_path / "plain").write_text("x")
    with pytest.warns(cache.CacheFolderWarning, match="cannot create or open"):
        assert configured(tmp_path / "plain" / "graphc") is None


def test_a_symlinked_parent_is_followed(tmp_path, configured):
    """~/.cache is often a link to another disk: links above the folder are the user's choice."""
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert configured(tmp_path / "link" / "graphc") is not None
    assert _mode(tmp_path / "real" / "graphc") == 0o700


@pytest.mark.parametrize("replacement", ["folder", "symlink"])
def test_a_folder_swapped_after_the_check_is_never_used(tmp_path, configured, replacement):
    """The probe of issue 9: check the folder, then swap another in at its path (with a valid
    entry of another module under this module's name). Loads and stores still go to the folder
    that was checked, through its descriptor."""
    folder = tmp_path / "graphc"
    store = configured(folder)
    text, other = axpy_ir(5, np.float64), axpy_ir(6, np.float64)
    ours = jit.compile_ir(text, "m").object_code
    key = cache.cache_key(text)
    store.store(key, ours)
    os.rename(folder, tmp_path / "checked")
    swapped = tmp_path / "attacker"
    swapped.mkdir(mode=0o700)
    if replacement == "folder":
        folder.mkdir(mode=0o700)
        swapped = folder
    else:
        folder.symlink_to(swapped)
    planted = cache.encode(key, jit.compile_ir(other, "m").object_code)  # passes every check
    (swapped / (key.name + ".o")).write_bytes(planted)
    assert cache.default_cache() is store  # checked once per process
    assert store.load(key) == ours
    store.store(cache.cache_key(other), jit.compile_ir(other, "m").object_code)
    assert sorted(p.name for p in swapped.iterdir()) == [key.name + ".o"]
    assert (swapped / (key.name + ".o")).read_bytes() == planted
    assert len(list((tmp_path / "checked").iterdir())) == 2


def test_loads_never_follow_a_symlinked_entry(tmp_path, configured):
    store = configured(tmp_path / "graphc")
    text = axpy_ir(7, np.float64)
    key = cache.cache_key(text)
    blob = cache.encode(key, jit.compile_ir(text, "m").object_code)
    outside = tmp_path / "outside.o"
    outside.write_bytes(blob)
    outside.chmod(0o600)
    os.symlink(outside, key.name + ".o", dir_fd=store.fd)
    assert store.load(key) is None
    assert outside.read_bytes() == blob  # the link was removed, not what it points to
    assert not os.path.lexists(tmp_path / "graphc" / (key.name + ".o"))


@pytest.mark.skipif(ROOT, reason="root writes through permission bits: a 0500 folder is writable")
def test_a_read_only_folder_warns_once_and_still_loads(tmp_path, configured, monkeypatch):
    monkeypatch.setattr(cache, "_warned", set())
    folder = tmp_path / "graphc"
    store = configured(folder)
    text = axpy_ir(8, np.float64)
    cache.compile_cached(text, "m", store)
    folder.chmod(0o500)
    try:
        with pytest.warns(cache.CacheWriteWarning, match="Permission denied") as w:
            for n in (9, 10, 11):
                assert not cache.compile_cached(axpy_ir(n, np.float64), "m", store).from_cache
        assert len(w) == 1
        assert cache.compile_cached(text, "m", store).from_cache
    finally:
        folder.chmod(0o700)
    assert len(list(folder.iterdir())) == 1
