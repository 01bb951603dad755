"""Checks that object code from the disk cache is a well-formed ELF relocatable for this host
before LLVM sees it.

Why: LLVM's object reader and MCJIT's linker (RuntimeDyld) end the process with ``LLVM ERROR``
on a malformed object (a section table past the end of the file, a section name past its string
table, a bad section index, an unimplemented relocation type) and write wherever a relocation's
offset points, so a bad cache file could abort the process or scribble on memory. ``problem``
rejects every such file with a reason: the ELF header (magic, 64-bit, host byte order, version,
relocatable, machine), the section table and every section inside the file, of a type and with
flags graphc's objects have, string tables NUL-terminated and every name inside its table, section
links in range, symbols of plain kinds naming valid sections with values inside them, and
relocations of a type the linker implements, naming an existing symbol, patching bytes inside
their target section. (The kinds allowed come from LLVM's aborts found by mutating graphc's
objects: tests/backend/test_cache_objfile.py.)

Relocation types are the ones graphc's code (MCJIT's large code model) uses: on x86-64 only 64-bit
absolute and PC-relative fields, which cannot overflow. The aarch64 list is the large code model's
(absolute and MOVW fields, PC-relative data) and untested. Mach-O and COFF hosts get no disk cache
(``elf_machine`` is None): graphc does not load object files it cannot check.
"""

from __future__ import annotations

import struct
import sys

# ELF constants (System V gABI)
_EHDR = struct.Struct("<4sBBB9xHHIQQQIHHHHHH")  # the 64-byte ELF64 header
_SHDR = struct.Struct("<IIQQQQIIQQ")  # one 64-byte section header
_SYM = struct.Struct("<IBBHQQ")  # one 24-byte symbol
_RELA = struct.Struct("<QQq")  # one 24-byte relocation with addend
_ET_REL, _SHT_SYMTAB, _SHT_STRTAB, _SHT_RELA, _SHT_NOBITS = 1, 2, 3, 4, 8
_SHN_ABS, _SHN_COMMON = 0xFFF1, 0xFFF2
#: Section types and flags graphc's objects have (others, such as TLS or compressed sections,
#: groups or dynamic tables, make RuntimeDyld abort or are not expected): NULL, PROGBITS, SYMTAB,
#: STRTAB, RELA, NOTE, NOBITS, X86_64_UNWIND; WRITE, ALLOC, EXECINSTR, MERGE, STRINGS, INFO_LINK,
#: X86_64_LARGE.
_SECTION_TYPES = {0, 1, 2, 3, 4, 7, 8, 0x70000001}
_SECTION_FLAGS = 0x1 | 0x2 | 0x4 | 0x10 | 0x20 | 0x40 | 0x10000000
#: Symbol bindings (LOCAL, GLOBAL, WEAK) and types (NOTYPE, OBJECT, FUNC, SECTION, FILE) allowed:
#: a common, TLS or indirect-function symbol, or a FILE symbol that is not a local absolute one,
#: makes RuntimeDyld assert or abort.
_BINDINGS, _SYMBOL_TYPES, _STT_FILE = {0, 1, 2}, {0, 1, 2, 3, 4}, 4
_MAX_ALIGN = 1 << 16
_MAX_NOBITS = 1 << 28

#: ELF machine number of each architecture graphc can cache code for (the triple's first part).
MACHINES = {"x86_64": 62, "aarch64": 183}
#: Relocation type -> bytes it patches, per machine: R_X86_64_64, R_X86_64_PC64; R_AARCH64_ABS64,
#: PREL64, PREL32, MOVW_UABS_G0_NC .. G3.
RELOCATIONS = {
    62: {1: 8, 24: 8},
    183: {257: 8, 260: 8, 261: 4, 263: 4, 264: 4, 265: 4, 266: 4},
}


def elf_machine(triple: str) -> int | None:
    """The ELF machine number object code for ``triple`` has, or None when this host's objects
    are not little-endian ELF of a machine in ``MACHINES`` (then no disk cache)."""
    arch, _, rest = triple.partition("-")
    elf = any(os_name in rest for os_name in ("linux", "freebsd", "netbsd", "openbsd", "-elf"))
    return MACHINES.get(arch) if elf and sys.byteorder == "little" else None


def problem(obj: bytes, machine: int) -> str | None:
    """Why ``obj`` must not be handed to LLVM as an object file for ``machine``, or None."""
    try:
        return _sections_problem(obj, machine)
    except struct.error as e:  # a table runs past the bytes it was checked against
        return f"truncated table ({e})"


def _header(obj: bytes, machine: int):
    """(problem, section headers, index of the section name table)."""
    if len(obj) < _EHDR.size:
        return "shorter than an ELF header", [], 0
    (magic, cls, data, version, e_type, e_machine, _, _, _, shoff, _, ehsize, _, _, shentsize,
     shnum, shstrndx) = _EHDR.unpack_from(obj)
    facts = [
        (magic == b"\x7fELF", "not an ELF file"),
        (cls == 2 and data == 1 and version == 1, "not a 64-bit little-endian ELF (version 1)"),
        (e_type == _ET_REL, f"ELF type {e_type}, not a relocatable object"),
        (e_machine == machine, f"ELF machine {e_machine}, not this host's ({machine})"),
        (ehsize == _EHDR.size and shentsize == _SHDR.size, "unexpected header sizes"),
        (shnum > 0 and shoff >= _EHDR.size and shoff + shnum * _SHDR.size <= len(obj),
         "the section table is not inside the file"),
        (0 < shstrndx < shnum, f"section name table index {shstrndx} out of range"),
    ]
    for ok, why in facts:
        if not ok:
            return why, [], 0
    return None, [_SHDR.unpack_from(obj, shoff + i * _SHDR.size) for i in range(shnum)], shstrndx


def _sections_problem(obj: bytes, machine: int) -> str | None:
    why, sections, shstrndx = _header(obj, machine)
    if why:
        return why
    shnum = len(sections)
    if [s[1] for s in sections].count(_SHT_SYMTAB) > 1:
        return "more than one symbol table"
    for i, (_, sh_type, flags, _, offset, size, link, _, align, _) in enumerate(sections):
        if sh_type not in _SECTION_TYPES or flags & ~_SECTION_FLAGS:
            return f"section {i} has type {sh_type:#x} and flags {flags:#x}, not expected"
        if sh_type != _SHT_NOBITS and offset + size > len(obj):
            return f"section {i} runs past the end of the file"
        if sh_type == _SHT_NOBITS and size > _MAX_NOBITS:
            return f"section {i} asks for {size} bytes of zeros"
        if link >= shnum or align > _MAX_ALIGN or align & (align - 1):
            return f"section {i} has a bad link ({link}) or alignment ({align})"
        if sh_type == _SHT_STRTAB and (size == 0 or obj[offset + size - 1] != 0):
            return f"string table {i} is not NUL-terminated"
    names = sections[shstrndx]
    if names[1] != _SHT_STRTAB:
        return "the section name table is not a string table"
    if any(s[0] >= names[5] for s in sections):
        return "a section name lies outside the section name table"
    for i, s in enumerate(sections):
        if s[1] == _SHT_SYMTAB:
            why = _symbols_problem(obj, sections, s)
        elif s[1] == _SHT_RELA:
            why = _relocations_problem(obj, sections, s, RELOCATIONS.get(machine, {}))
        else:
            continue
        if why:
            return f"section {i}: {why}"
    return None


def _table(obj: bytes, section, entry: struct.Struct):
    """The entries of a symbol or relocation section (struct.error when its size is not a
    multiple of the entry size)."""
    offset, size, entsize = section[4], section[5], section[9]
    if entsize != entry.size or size % entry.size:
        raise struct.error(f"entry size {entsize}, table size {size}")
    return list(entry.iter_unpack(obj[offset : offset + size]))


def _symbols_problem(obj: bytes, sections, symtab) -> str | None:
    strtab = sections[symtab[6]]
    if strtab[1] != _SHT_STRTAB:
        return "the symbol table's names are not a string table"
    symbols = _table(obj, symtab, _SYM)
    if symtab[7] > len(symbols):
        return "first global symbol index out of range"
    for name, info, _, shndx, value, size in symbols:
        if name >= strtab[5]:
            return "a symbol name lies outside its string table"
        bind, kind = info >> 4, info & 0xF
        if bind not in _BINDINGS or kind not in _SYMBOL_TYPES or shndx == _SHN_COMMON:
            return f"a symbol of binding {bind}, type {kind}, section {shndx:#x}"
        if kind == _STT_FILE and (bind != 0 or shndx != _SHN_ABS):
            return "a file symbol that is not local and absolute"
        if shndx in (0, _SHN_ABS):
            continue
        if shndx >= len(sections):
            return f"a symbol names section {shndx}, which does not exist"
        if value + size > sections[shndx][5]:
            return "a symbol lies outside its section"
    return None


def _relocations_problem(obj: bytes, sections, rela, widths: dict) -> str | None:
    symtab, target = sections[rela[6]], rela[7]
    if symtab[1] != _SHT_SYMTAB:
        return "relocations that do not refer to the symbol table"
    if not 0 < target < len(sections) or sections[target][1] == _SHT_NOBITS:
        return f"relocations for section {target}, which has no contents"
    nsymbols, room = symtab[5] // _SYM.size, sections[target][5]
    for r_offset, r_info, _ in _table(obj, rela, _RELA):
        kind, sym = r_info & 0xFFFFFFFF, r_info >> 32
        width = widths.get(kind)
        if width is None:
            return f"relocation type {kind} is not one graphc's code uses"
        if sym >= nsymbols:
            return f"a relocation names symbol {sym} of {nsymbols}"
        if r_offset + width > room:
            return f"a relocation patches bytes outside section {target}"
    return None
