"""On-disk cache of compiled object code, so a new process skips LLVM optimization and codegen.

**On by default** (``GRAPHC_CACHE=0`` or ``graphc.config.disk_cache = False`` turns it off), as
torch.compile's and numba's ``cache=True`` caches are: first-call time is where graphc loses to
NumPy, and a hit costs only parsing (~0.4 ms for a small module instead of ~10 ms). This is safe to
default because
  - the key is the sha256 of everything the object code depends on: the IR text (which includes the
    native entry), graphc's version, llvmlite's and LLVM's versions, the target triple, CPU name and
    feature string, and the optimization and codegen levels;
  - each file stores the sha256 of its payload, checked before use (a truncated or corrupted file
    is dropped, never loaded);
  - the folder (``config.cache_dir``: ``$GRAPHC_CACHE_DIR``, else ``$XDG_CACHE_HOME/graphc``, else
    ``~/.cache/graphc``) is created with mode 0700, and a folder not owned by this user or writable
    by group or others is refused with a warning: loading cached code is running it.
Files are written to a temporary name and renamed, so concurrent processes never see half a file.
The folder is pruned to ``MAX_BYTES`` (oldest first) once per process.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import tempfile
import warnings

from ... import config
from . import jit

MAGIC = b"graphc-obj-1\n"
MAX_BYTES = 512 << 20
_SUFFIX = ".o"


class CacheFolderWarning(UserWarning):
    """The cache folder is unsafe (owned by someone else or writable by others): not used."""


def cache_key(ir_text: str, codegen_opt: int | None = None) -> str:
    from ... import __version__

    h = jit.host()
    levels = f"O{config.llvm_opt_level} CG{jit.codegen_level(codegen_opt)}"
    parts = [__version__, h["llvmlite"], h["llvm"], h["triple"], h["cpu"], h["features"], levels]
    digest = hashlib.sha256("\0".join(parts).encode())
    digest.update(b"\0")
    digest.update(ir_text.encode())
    return digest.hexdigest()


def folder_problem(path: str) -> str | None:
    """Why ``path`` must not be used as a code cache, or None when it is private to this user."""
    try:
        st = os.stat(path)
    except OSError as e:
        return f"cannot stat it ({e.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"it is owned by user id {st.st_uid}, not by this user ({os.getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


class DiskCache:
    """A folder of ``<key>.o`` files; every method fails soft (a cache must never break a
    compile)."""

    def __init__(self, path: str):
        self.path = path
        self._pruned = False

    def _file(self, key: str) -> str:
        return os.path.join(self.path, key + _SUFFIX)

    def load(self, key: str) -> bytes | None:
        try:
            with open(self._file(key), "rb") as f:
                blob = f.read()
        except OSError:
            return None
        head = len(MAGIC) + 32
        payload = blob[head:]
        if (
            blob[: len(MAGIC)] != MAGIC
            or hashlib.sha256(payload).digest() != blob[len(MAGIC) : head]
        ):
            self._remove(key)
            return None
        return payload

    def store(self, key: str, obj: bytes) -> None:
        if not obj:
            return
        blob = MAGIC + hashlib.sha256(obj).digest() + obj
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self._file(key))
        except OSError:
            return
        if not self._pruned:
            self._pruned = True
            self.prune()

    def _remove(self, key: str) -> None:
        try:
            os.remove(self._file(key))
        except OSError:
            pass

    def prune(self, max_bytes: int = MAX_BYTES) -> None:
        """Delete the oldest entries until the folder holds at most ``max_bytes``."""
        try:
            entries = [e for e in os.scandir(self.path) if e.name.endswith(_SUFFIX)]
            files = sorted((e.stat().st_mtime, e.stat().st_size, e.path) for e in entries)
        except OSError:
            return
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= max_bytes:
                break
            try:
                os.remove(path)
                total -= size
            except OSError:
                pass


@functools.lru_cache(maxsize=8)
def _open(path: str) -> DiskCache | None:
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as e:
        warnings.warn(
            f"graphc: cannot create the code cache folder {path} ({e.strerror}); "
            "compiling without a disk cache",
            CacheFolderWarning,
            stacklevel=4,
        )
        return None
    problem = folder_problem(path)
    if problem:
        warnings.warn(
            f"graphc: not using the code cache folder {path}: {problem}. Loading cached "
            "code means running it, so the folder must be private to you (chmod 700 it, "
            "or set GRAPHC_CACHE_DIR); compiling without a disk cache",
            CacheFolderWarning,
            stacklevel=4,
        )
        return None
    return DiskCache(path)


def default_cache() -> DiskCache | None:
    """The configured cache, or None when disabled or refused (the warning is given once)."""
    return _open(os.path.abspath(config.cache_dir)) if config.disk_cache else None


def compile_cached(
    ir_text: str, name: str, cache: DiskCache | None = None, codegen_opt: int | None = None
) -> jit.JitModule:
    """``jit.compile_ir`` through the disk cache (``default_cache()`` unless one is given)."""
    cache = cache if cache is not None else default_cache()
    if cache is None:
        return jit.compile_ir(ir_text, name, codegen_opt=codegen_opt)
    key = cache_key(ir_text, codegen_opt)
    obj = cache.load(key)
    if obj is not None:
        return jit.compile_ir(ir_text, name, cached_object=obj, codegen_opt=codegen_opt)
    module = jit.compile_ir(ir_text, name, codegen_opt=codegen_opt)
    cache.store(key, module.object_code)
    return module
