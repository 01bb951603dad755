"""The object-file checks run before LLVM sees cached code (graphc/backend/llvm/objfile.py): what
graphc compiles passes; every malformed part LLVM would abort on (or silently misuse) is named."""

import struct
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import graphc as gc
from graphc import config
from graphc.backend.llvm import cache, jit, objfile

from ._handir import axpy_ir

X86 = objfile.MACHINES["x86_64"]
pytestmark = pytest.mark.skipif(
    objfile.elf_machine(jit.host()["triple"]) != X86, reason="the sample objects are x86-64 ELF")


@pytest.fixture(scope="module")
def objects():
    """Object code graphc made: a hand-written loop (no relocations) and functions with math
    calls, constants, a matrix product and the native entry (relocations, unwind tables)."""
    saved = config.disk_cache
    config.disk_cache = False
    try:
        v, m = np.linspace(-1, 1, 37), np.linspace(-1, 1, 4 * 37).reshape(4, 37)
        programs = [
            (lambda x, y: (np.sin(x) * y).sum() + x @ np.ones((37, 37)) * 2.0, (v, v)),
            (lambda x: np.tanh(x).mean(axis=0), (m,)),
            (lambda x: gc.grad(lambda w: (np.exp(w) ** 2).sum())(x), (m,)),
        ]
        out = [jit.compile_ir(axpy_ir(20, np.float64), "m").object_code]
        for fn, args in programs:
            f = gc.function(fn)
            f(*args)
            out.append(f.concrete(*args).executable.module.object_code)
        return out
    finally:
        config.disk_cache = saved


def test_what_graphc_compiles_passes(objects):
    for obj in objects:
        assert objfile.problem(obj, X86) is None
    assert any(_relocations(obj) for obj in objects)  # the relocation checks were exercised


def test_host_machines():
    assert objfile.elf_machine("x86_64-unknown-linux-gnu") == 62
    assert objfile.elf_machine("aarch64-unknown-linux-gnu") == 183
    assert objfile.elf_machine("x86_64-unknown-freebsd14.0") == 62
    for triple in ("arm64-apple-darwin23.1.0", "x86_64-pc-windows-msvc", "riscv64-unknown-linux"):
        assert objfile.elf_machine(triple) is None, triple


def _sections(obj):
    shoff, shnum = struct.unpack_from("<Q", obj, 40)[0], struct.unpack_from("<H", obj, 60)[0]
    return [(shoff + 64 * i, struct.unpack_from("<IIQQQQIIQQ", obj, shoff + 64 * i))
            for i in range(shnum)]


def _relocations(obj):
    return [h for _, h in _sections(obj) if h[1] == 4]


def _header_of(obj, sh_type):
    return next(at for at, h in _sections(obj) if h[1] == sh_type)


def _set(obj, at, fmt, value):
    out = bytearray(obj)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def _first_rela(obj):
    return struct.unpack_from("<Q", obj, _header_of(obj, 4) + 24)[0]


def _rela_info(obj, kind=None, sym=None):
    at = _first_rela(obj) + 8
    info = struct.unpack_from("<Q", obj, at)[0]
    kind = info & 0xFFFFFFFF if kind is None else kind
    sym = info >> 32 if sym is None else sym
    return _set(obj, at, "<Q", (sym << 32) | kind)


def _symbol(obj, index, field_at, fmt, value):
    base = struct.unpack_from("<Q", obj, _header_of(obj, 2) + 24)[0]
    return _set(obj, base + 24 * index + field_at, fmt, value)


MUTATIONS = [
    ("empty", lambda o: b"", "shorter than an ELF header"),
    ("not ELF", lambda o: b"\x7fELG" + o[4:], "not an ELF file"),
    ("32-bit", lambda o: _set(o, 4, "<B", 1), "not a 64-bit little-endian"),
    ("big-endian", lambda o: _set(o, 5, "<B", 2), "not a 64-bit little-endian"),
    ("shared object", lambda o: _set(o, 16, "<H", 3), "not a relocatable object"),
    ("aarch64", lambda o: _set(o, 18, "<H", 183), "ELF machine 183"),
    ("header size", lambda o: _set(o, 52, "<H", 60), "unexpected header sizes"),
    ("section table past the end", lambda o: _set(o, 40, "<Q", len(o) - 64),
     "section table is not inside"),
    ("no sections", lambda o: _set(o, 60, "<H", 0), "section table is not inside"),
    ("name table index", lambda o: _set(o, 62, "<H", 0xFFFF), "name table index"),
    ("half the file", lambda o: o[: len(o) // 2], "section table is not inside"),
    ("section past the end", lambda o: _set(o, _header_of(o, 4) + 32, "<Q", len(o)),
     "runs past the end"),
    ("huge zero section", lambda o: _set(_set(o, _header_of(o, 4) + 4, "<I", 8),
                                         _header_of(o, 4) + 32, "<Q", 1 << 40), "bytes of zeros"),
    ("bad link", lambda o: _set(o, _header_of(o, 4) + 40, "<I", 99), "bad link"),
    ("bad alignment", lambda o: _set(o, _header_of(o, 4) + 48, "<Q", 24), "alignment"),
    ("huge alignment", lambda o: _set(o, _header_of(o, 4) + 48, "<Q", 1 << 40), "alignment"),
    ("REL section", lambda o: _set(o, _header_of(o, 4) + 4, "<I", 9), "type 0x9"),
    ("group section", lambda o: _set(o, _header_of(o, 4) + 4, "<I", 17), "type 0x11"),
    ("TLS section", lambda o: _set(o, _header_of(o, 4) + 8, "<Q", 0x402), "flags 0x402"),
    ("compressed section", lambda o: _set(o, _header_of(o, 4) + 8, "<Q", 0x800), "flags 0x800"),
    ("two symbol tables", lambda o: _set(o, _header_of(o, 4) + 4, "<I", 2), "more than one"),
    ("section name outside", lambda o: _set(o, _header_of(o, 4), "<I", 90000),
     "section name lies outside"),
    ("name table not strings", lambda o: _set(o, 62, "<H", 2), "not a string table"),
    ("string table unterminated", lambda o: _set(
        o, sum(struct.unpack_from("<QQ", o, _header_of(o, 3) + 24)) - 1, "<B", 65),
     "not NUL-terminated"),
    ("symbol name outside", lambda o: _symbol(o, 1, 0, "<I", 90000), "symbol name lies outside"),
    ("common symbol", lambda o: _symbol(o, 2, 4, "<B", 0x15), "type 5"),
    ("common section", lambda o: _symbol(o, 2, 6, "<H", 0xFFF2), "section 0xfff2"),
    ("TLS symbol", lambda o: _symbol(o, 2, 4, "<B", 0x16), "type 6"),
    ("unknown binding", lambda o: _symbol(o, 2, 4, "<B", 0xA2), "binding 10"),
    ("global file symbol", lambda o: _symbol(o, 2, 4, "<B", 0x14), "file symbol"),
    ("symbol section missing", lambda o: _symbol(o, 2, 6, "<H", 900), "does not exist"),
    ("symbol outside its section", lambda o: _symbol(o, 2, 8, "<Q", 1 << 40),
     "symbol lies outside its section"),
    ("symbol table entry size", lambda o: _set(o, _header_of(o, 2) + 56, "<Q", 16),
     "truncated table"),
    ("first global index", lambda o: _set(o, _header_of(o, 2) + 44, "<I", 10**6),
     "first global symbol index"),
    ("relocation type", lambda o: _rela_info(o, kind=200), "relocation type 200"),
    ("32-bit relocation", lambda o: _rela_info(o, kind=2), "relocation type 2"),
    ("relocation symbol", lambda o: _rela_info(o, sym=5000), "names symbol 5000"),
    ("relocation offset", lambda o: _set(o, _first_rela(o), "<Q", 1 << 40), "outside section"),
    ("relocation target", lambda o: _set(o, _header_of(o, 4) + 44, "<I", 0), "has no contents"),
    ("relocation table", lambda o: _set(o, _header_of(o, 4) + 40, "<I", 1),
     "do not refer to the symbol table"),
]


@pytest.mark.parametrize("mutate, words", [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_malformed_objects_are_named(objects, mutate, words):
    obj = max(objects, key=len)
    why = objfile.problem(mutate(obj), X86)
    assert why is not None and words in why, why


@given(st.data())
def test_arbitrary_damage_is_an_answer_never_an_exception(objects, data):
    """Overwritten bytes anywhere in the headers and tables: a reason or None, never a raise."""
    obj = bytearray(objects[1])
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(obj) - 1))
        obj[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        obj = obj[: data.draw(st.integers(0, len(obj)))]
    why = objfile.problem(bytes(obj), X86)
    assert why is None or isinstance(why, str)


def test_an_object_failing_the_checks_is_not_stored(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "_warned", set())
    store = cache.open_folder(str(tmp_path / "c"))
    key = cache.cache_key(axpy_ir(3, np.float64))
    with pytest.warns(cache.CacheWriteWarning, match="fails graphc's checks"):
        store.store(key, b"\x7fELF not really")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process
        store.store(key, b"\x7fELF not really")
    assert not list((tmp_path / "c").iterdir())
