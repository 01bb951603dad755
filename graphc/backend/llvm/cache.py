"""On-disk cache of compiled object code, so a new process skips LLVM optimization and codegen.

**On by default** (``GRAPHC_CACHE=0`` or ``graphc.config.disk_cache = False`` turns it off), as
torch.compile's and numba's ``cache=True`` caches are: first-call time is where graphc loses to
NumPy, and a hit costs only parsing (~0.4 ms for a small module instead of ~10 ms). Loading a cache
file is running its code, so a file is used only when every check below holds; anything else is
dropped and recompiled, never loaded, and no file can crash or hang the process:

  - **The content is bound to the key.** A file starts with its full key in readable lines (the
    sha256 of the IR text, graphc's, llvmlite's and LLVM's versions, the target triple, CPU and
    feature string, the optimization and codegen levels, and the native entry's ABI: the CPython
    and NumPy builds and the struct offsets it reads) and the sha256 and size of its payload; its
    name is the sha256 of the key lines. A load compares the stored key with the key looked up and
    the payload with its hash, so a file renamed or copied from another function or signature, a
    truncated or corrupted file, or one in another format is refused.
  - **The object code is checked in Python first** (``objfile.py``: ELF header, section, symbol and
    relocation tables), because LLVM aborts the process on a malformed object; a loaded module
    lacking an entry point its IR defines is dropped and recompiled. A host whose object files
    are not ELF (macOS, Windows) gets no disk cache rather than unchecked loads.
  - **Only a private regular file is read**: opened with ``O_NOFOLLOW | O_NONBLOCK`` (no symlinks;
    a FIFO cannot block the open) and checked with ``fstat`` on the opened descriptor: a regular
    file, owned by this user, not writable by group or others, between the header's size and
    ``MAX_FILE_BYTES``.
  - **The folder is checked once and then used through its descriptor.** ``config.cache_dir``
    (``$GRAPHC_CACHE_DIR``, else ``$XDG_CACHE_HOME/graphc``, else ``~/.cache/graphc``) is opened
    once per process and the descriptor checked (a directory owned by this user, not writable by
    group or others; otherwise refused with a ``CacheFolderWarning``); every later read, write,
    rename and listing is relative to that descriptor (``dir_fd``), so a folder swapped after the
    check is never used. Each missing folder on the path is created with mode 0700, and the cache
    folder itself, when created here, is set to 0700 with ``fchmod`` on its descriptor (a umask
    that removed owner bits would otherwise leave it unusable).
  - **Writes are atomic**: a temporary file (``O_EXCL``, mode 0600) renamed over the entry, so a
    concurrent reader sees the old file or the new one, never half of one. A write that fails (a
    full disk, a read-only mount, a folder without write permission, a file-size limit) leaves the
    compile correct and warns once per process and cause (``CacheWriteWarning``); a write a file
    size limit (``RLIMIT_FSIZE``) would refuse is not attempted, since crossing it raises SIGXFSZ,
    which kills a process that has not ignored it.
The folder is pruned to ``MAX_BYTES`` (oldest first) once per process. What the cache cannot
defend against is someone who can write the private folder (the user themselves, or root): such
a person can forge a file that passes every check.
"""

from __future__ import annotations

import contextvars
import errno
import functools
import hashlib
import logging
import os
import secrets
import stat
import sys
import threading
import time

from ... import config
from ...core.locations import warn_at_user
from . import entry, jit, objfile

MAGIC = b"graphc-obj-2\n"
#: The folder is pruned to this many bytes.
MAX_BYTES = 512 << 20
#: A larger file is neither written nor read.
MAX_FILE_BYTES = 256 << 20
_SUFFIX = ".o"
_TMP_SUFFIX = ".tmp"
_STALE_TMP_SECONDS = 3600  # a temporary file this old was left by a process that died mid-write
# (descriptors from os.open are close-on-exec already, PEP 446)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
log = logging.getLogger("graphc")


class CacheFolderWarning(UserWarning):
    """The cache folder is unsafe (not a directory, owned by someone else or writable by others)
    or cannot be created or opened: not used."""


class CacheWriteWarning(UserWarning):
    """Compiled code could not be written to the cache folder (a full disk, a read-only mount,
    no write permission, a file-size limit): the code runs, but is not cached."""


class Key:
    """A cache key: its readable ``text`` (one ``name value`` line per part) and the file
    ``name`` it is stored under (the text's sha256)."""

    def __init__(self, parts: dict[str, str]):
        if any("\n" in str(v) for v in parts.values()):
            raise ValueError(f"a cache key part holds a newline: {parts}")
        self.text = "".join(f"{k} {v}\n" for k, v in parts.items()).encode()
        self.name = hashlib.sha256(self.text).hexdigest()

    def __eq__(self, other) -> bool:
        return isinstance(other, Key) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


@functools.cache
def entry_abi() -> str:
    """What object code calling the native entry's runtime assumes beyond its IR text: the
    CPython and NumPy builds it links against by symbol, and the struct offsets it reads
    (``entry.py``); "ctypes" when this process does not use the native entry."""
    if not entry.available():
        return "ctypes"
    import numpy as np

    offsets = (entry._OB_TYPE, entry._AR_DATA, entry._AR_ND, entry._AR_DIMS, entry._AR_DESCR,
               entry._AR_FLAGS, entry._DESCR_BYTEORDER, entry._DESCR_TYPE_NUM, entry._CDATA_PTR,
               entry._SCALAR_VALUE, entry._PYARRAY_NEW_INDEX)
    return f"native {sys.implementation.cache_tag} numpy-{np.__version__} {offsets}"


def cache_key(ir_text: str, codegen_opt: int | None = None, llvm_opt: int | None = None) -> Key:
    from ... import __version__

    h = jit.host()
    return Key({
        "graphc": __version__,
        "llvmlite": h["llvmlite"],
        "llvm": h["llvm"],
        "triple": h["triple"],
        "cpu": h["cpu"],
        "features": h["features"],
        "levels": f"O{jit.opt_level(llvm_opt)} CG{jit.codegen_level(codegen_opt)}",
        "entry-abi": entry_abi(),
        "ir-sha256": hashlib.sha256(ir_text.encode()).hexdigest(),
    })


def _payload_line(payload: bytes) -> bytes:
    return f"payload {hashlib.sha256(payload).hexdigest()} {len(payload)}\n".encode()


def encode(key: Key, payload: bytes) -> bytes:
    """A cache file: the magic, the key's lines, the payload's hash and size, the payload."""
    return MAGIC + key.text + _payload_line(payload) + payload


def decode(blob: bytes, key: Key) -> tuple[bytes | None, str]:
    """(the payload, "") when ``blob`` is a cache file for ``key``, else (None, why not)."""
    head = MAGIC + key.text
    if not blob.startswith(MAGIC):
        return None, "not a graphc cache file of this format"
    if not blob.startswith(head):
        return None, "stored for another key"
    end = blob.find(b"\n", len(head), len(head) + 200) + 1
    payload = blob[end:] if end else b""
    if not end or blob[len(head) : end] != _payload_line(payload):
        return None, "payload does not match its hash and size"
    return payload, ""


def _file_problem(st: os.stat_result) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_uid != os.getuid():
        return f"owned by user id {st.st_uid}"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "writable by group or others"
    if not len(MAGIC) < st.st_size <= MAX_FILE_BYTES:
        return f"size {st.st_size} out of bounds"
    return None


def folder_problem(st: os.stat_result) -> str | None:
    """Why a folder with status ``st`` must not be used as a code cache, or None when it is
    private to this user."""
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    if st.st_uid != os.getuid():
        return f"it is owned by user id {st.st_uid}, not by this user ({os.getuid()})"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


_warned: set = set()
_warned_lock = threading.Lock()


def _warn_once(cause: str, message: str, category) -> None:
    with _warned_lock:
        if cause in _warned:
            return
        _warned.add(cause)
    warn_at_user(message, category)


class DiskCache:
    """The cache folder, through its open descriptor ``fd`` (see the module docstring); every
    method fails soft: a cache must never break a compile."""

    def __init__(self, fd: int, path: str, machine: int):
        self.fd, self.path, self.machine = fd, path, machine
        self._pruned = False

    def close(self) -> None:
        """Close the folder's descriptor (a cache ``default_cache`` returned lives as long as the
        process; tests and tools close theirs)."""
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self):
        try:
            self.close()
        except (OSError, AttributeError):  # (AttributeError: at interpreter shutdown)
            pass

    def load(self, key: Key) -> bytes | None:
        """The object code stored for ``key``, or None (a bad entry is removed)."""
        name = key.name + _SUFFIX
        try:
            blob, why = self._read(name)
        except FileNotFoundError:
            return None
        except OSError as e:
            blob, why = None, f"cannot read it ({e.strerror})"
        if blob is not None:
            blob, why = decode(blob, key)
        if blob is not None:
            why = objfile.problem(blob, self.machine) or ""
        if why:
            log.debug("graphc: cache entry %s refused: %s", name, why)
            self.discard(name)
            return None
        return blob

    def _read(self, name: str) -> tuple[bytes | None, str]:
        # lstat first so a FIFO or device is never even opened; fstat on the descriptor decides
        why = _file_problem(os.stat(name, dir_fd=self.fd, follow_symlinks=False))
        if why:
            return None, why
        fd = os.open(name, _READ_FLAGS, dir_fd=self.fd)
        try:
            st = os.fstat(fd)
            why = _file_problem(st)
            if why:
                return None, why
            chunks, left = [], st.st_size + 1  # one byte more: a file that grew is refused
            while left > 0:
                chunk = os.read(fd, left)
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
        blob = b"".join(chunks)
        return (blob, "") if len(blob) == st.st_size else (None, "its size changed while read")

    def store(self, key: Key, obj: bytes) -> None:
        why = objfile.problem(obj, self.machine) if obj else "no object code"
        if why:  # an object graphc could not load again is not worth writing
            _warn_once("invalid", f"graphc: compiled object code fails graphc's checks ({why}); "
                       "it is not cached (please report this)", CacheWriteWarning)
            return
        blob = encode(key, obj)
        if len(blob) > MAX_FILE_BYTES:
            log.debug("graphc: %d bytes of object code: too large to cache", len(blob))
            return
        if len(blob) > _file_size_limit():  # writing would raise SIGXFSZ
            _warn_once("RLIMIT_FSIZE", f"graphc: cannot write {len(blob)} bytes to the code "
                       f"cache folder {self.path}: over the file-size limit (ulimit -f); "
                       "compiled code is not cached", CacheWriteWarning)
            return
        try:
            self._write_atomic(key.name + _SUFFIX, blob)
        except OSError as e:
            cause = errno.errorcode.get(e.errno, str(e.errno))
            _warn_once(cause, f"graphc: cannot write to the code cache folder {self.path} "
                       f"({e.strerror or e}); compiled code is not cached", CacheWriteWarning)
            return
        if not self._pruned:
            self._pruned = True
            self.prune()

    def _write_atomic(self, name: str, blob: bytes) -> None:
        tmp = f".{name}.{os.getpid()}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600, dir_fd=self.fd)
        try:
            try:
                _write_all(fd, blob)
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError:
            self.discard(tmp)
            raise

    def discard(self, name: str) -> None:
        """Remove the entry or temporary file ``name`` if it can be (a link, never its target)."""
        try:
            os.unlink(name, dir_fd=self.fd)
        except IsADirectoryError:  # (an empty one: a full one stays, and writes there fail)
            try:
                os.rmdir(name, dir_fd=self.fd)
            except OSError:
                pass
        except OSError:
            pass

    def prune(self, max_bytes: int = MAX_BYTES) -> None:
        """Delete the oldest entries until the folder holds at most ``max_bytes``, and temporary
        files left by processes that died mid-write."""
        now = time.time()
        try:
            files = []
            with os.scandir(self.fd) as it:
                for e in it:
                    st = e.stat(follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    if e.name.endswith(_SUFFIX):
                        files.append((st.st_mtime, st.st_size, e.name))
                    elif e.name.endswith(_TMP_SUFFIX) and now - st.st_mtime > _STALE_TMP_SECONDS:
                        self.discard(e.name)
        except OSError:
            return
        total = sum(size for _, size, _ in files)
        for _, size, name in sorted(files):
            if total <= max_bytes:
                break
            self.discard(name)
            total -= size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _file_size_limit() -> float:
    """The soft RLIMIT_FSIZE in bytes (inf when unlimited or unknown)."""
    try:
        import resource
    except ImportError:
        return float("inf")
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return float("inf") if soft == resource.RLIM_INFINITY else soft


class UnsafeFolder(Exception):
    """The folder exists but is not private to this user (the message says why)."""


def supported() -> bool:
    """Whether this host can have a disk cache: ELF object files ``objfile`` can check, and
    ``dir_fd`` operations."""
    machine = objfile.elf_machine(jit.host()["triple"])
    return machine is not None and os.open in os.supports_dir_fd and hasattr(os, "getuid")


def open_folder(path: str) -> DiskCache:
    """Create ``path`` if missing (every new folder 0700), open it and check the descriptor.
    Raises OSError when it cannot be created or opened, UnsafeFolder when it is not private."""
    created = _make_folders(path)
    fd = os.open(path, _DIR_FLAGS)
    try:
        if created:
            os.fchmod(fd, 0o700)
        why = folder_problem(os.fstat(fd))
    except OSError:
        os.close(fd)
        raise
    if why:
        os.close(fd)
        raise UnsafeFolder(why)
    return DiskCache(fd, path, objfile.elf_machine(jit.host()["triple"]))


def _make_folders(path: str) -> bool:
    """Create every missing folder of ``path`` with mode 0700 (``os.makedirs`` gives the folders
    above the last one the umask's mode, 0777 under umask 000); whether the last one was made."""
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    made = False
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
            made = True
        except FileExistsError:  # another process made it: checked like any existing folder
            made = False
    return made


@functools.lru_cache(maxsize=8)
def _open(path: str) -> DiskCache | None:
    if not supported():
        log.debug("graphc: no disk cache on %s (object files graphc cannot check)",
                  jit.host()["triple"])
        return None
    try:
        return open_folder(path)
    except UnsafeFolder as e:
        message = (f"graphc: not using the code cache folder {path}: {e}. Loading cached code "
                   "means running it, so the folder must be private to you (chmod 700 it, or "
                   "set GRAPHC_CACHE_DIR); compiling without a disk cache")
    except OSError as e:
        message = (f"graphc: cannot create or open the code cache folder {path} ({e.strerror}); "
                   "compiling without a disk cache")
    warn_at_user(message, CacheFolderWarning)
    return None


#: The functions graphc looks up in a compiled module (when its IR defines them).
ENTRY_POINTS = ("graphc_main", "graphc_entry")


def _entry_points_resolve(module: jit.JitModule, ir_text: str) -> bool:
    """Whether cached object code defines the entry points its IR does (an object that passed
    every check can lack them: found by mutating symbol tables)."""
    try:
        for symbol in ENTRY_POINTS:
            if f"@{symbol}(" in ir_text:
                module.address(symbol)
    except jit.LLVMCompileError:
        log.debug("graphc: cached object code for %s lacks an entry point", module.name)
        return False
    return True


def default_cache() -> DiskCache | None:
    """The configured cache, or None when disabled or refused (the warning is given once)."""
    return _open(os.path.abspath(config.cache_dir)) if config.disk_cache else None


def _load(ir_text: str, name: str, obj: bytes, levels: dict) -> jit.JitModule | None:
    """A module from object code that passed ``objfile.problem`` (compiled before from
    ``ir_text``), or None when LLVM refuses it with an error (not an abort) or it lacks an entry
    point its IR defines."""
    try:
        module = jit.compile_ir(ir_text, name, cached_object=obj, **levels)
    except (RuntimeError, jit.LLVMCompileError):
        return None
    return module if _entry_points_resolve(module, ir_text) else None


_OFFER: contextvars.ContextVar = contextvars.ContextVar("graphc_offered_object", default=None)


class Offer:
    """Object code from outside this process (a pickled function's: ``shipping.py``), offered to
    the compiles inside ``with offer:``. ``compile_cached`` loads it in place of a compile only
    for a module whose key is the very key it was recorded under (same IR text, triple, CPU,
    features, versions, levels and entry ABI: code built for another CPU is never loaded) and
    only after the checks a cache file's code gets: it is untrusted bytes, like a cache file.
    ``taken`` says whether a compile used it; why not is logged at debug level."""

    def __init__(self, key_text: bytes, obj: bytes):
        self.key_text, self.obj, self.taken = key_text, obj, False
        self._token = None

    def __enter__(self) -> Offer:
        self._token = _OFFER.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _OFFER.reset(self._token)

    def load(self, ir_text: str, name: str, levels: dict) -> jit.JitModule | None:
        key = cache_key(ir_text, **levels)
        why = _key_difference(self.key_text, key.text) or self._object_problem()
        module = None if why else _load(ir_text, name, self.obj, levels)
        if module is None:
            log.debug("graphc: object code offered for %s not used (%s): compiling", name,
                      why or "LLVM refused it")
            return None
        self.taken = True
        return module

    def _object_problem(self) -> str | None:
        machine = objfile.elf_machine(jit.host()["triple"])
        if machine is None:
            return "this host's object files are not ELF, which graphc can check"
        if not isinstance(self.obj, bytes) or len(self.obj) > MAX_FILE_BYTES:
            return "not object code of a size graphc loads"
        return objfile.problem(self.obj, machine)


def _key_difference(recorded: bytes, wanted: bytes) -> str | None:
    """How a recorded key differs from this compile's (``recorded for cpu a, this process has
    b``), or None when they are one key."""
    if recorded == wanted:
        return None

    def parts(text) -> dict:
        lines = text.decode(errors="replace").splitlines() if isinstance(text, bytes) else []
        return dict(line.partition(" ")[::2] for line in lines)

    old, new = parts(recorded), parts(wanted)
    changed = [k for k in new if old.get(k) != new[k]] or ["format"]
    return ", ".join(f"recorded for {k} {old.get(k, '(none)')}, this process has {new.get(k)}"
                     for k in changed)


def compile_cached(
    ir_text: str, name: str, cache: DiskCache | None = None, codegen_opt: int | None = None,
    llvm_opt: int | None = None,
) -> jit.JitModule:
    """``jit.compile_ir`` through the object code offered in this context (``Offer``), then the
    disk cache (``default_cache()`` unless one is given)."""
    levels = {"codegen_opt": codegen_opt, "llvm_opt": llvm_opt}
    offer = _OFFER.get()
    module = offer.load(ir_text, name, levels) if offer is not None else None
    if module is not None:
        return module
    cache = cache if cache is not None else default_cache()
    if cache is None:
        return jit.compile_ir(ir_text, name, **levels)
    key = cache_key(ir_text, codegen_opt, llvm_opt)
    obj = cache.load(key)
    if obj is not None:
        module = _load(ir_text, name, obj, levels)
        if module is not None:
            return module
        cache.discard(key.name + _SUFFIX)
    module = jit.compile_ir(ir_text, name, **levels)
    cache.store(key, module.object_code)
    return module
