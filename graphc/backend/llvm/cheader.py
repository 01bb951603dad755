"""The C header of an exported library (``export.py``): the ABI in a comment, the dtype codes,
each array's rank, shape, size and dtype as macros and a ``graphc_tensor`` table (for callers that
loop over the arguments), and the two prototypes.

Shapes are ``static const int64_t NAME_IN0_SHAPE[]`` arrays (none for a 0-d array: C has no empty
arrays; its table entry's shape is NULL). Everything shared by every graphc header (the dtype codes,
``graphc_tensor``) sits behind one include guard, so one program may include several.
"""

from __future__ import annotations

import numpy as np

from ... import __version__

#: dtype -> (C element type, graphc's dtype code macro)
C_TYPES = {
    np.dtype(np.float32): ("float", "GRAPHC_FLOAT32"),
    np.dtype(np.float64): ("double", "GRAPHC_FLOAT64"),
    np.dtype(np.int32): ("int32_t", "GRAPHC_INT32"),
    np.dtype(np.int64): ("int64_t", "GRAPHC_INT64"),
    np.dtype(np.bool_): ("uint8_t", "GRAPHC_BOOL"),
}

_SHARED = """\
#ifndef GRAPHC_TENSOR_DEFINED
#define GRAPHC_TENSOR_DEFINED
#define GRAPHC_FLOAT32 1
#define GRAPHC_FLOAT64 2
#define GRAPHC_INT32 3
#define GRAPHC_INT64 4
#define GRAPHC_BOOL 5 /* one byte: 0 or 1 */
#if defined(__GNUC__) || defined(__clang__)
#define GRAPHC_UNUSED __attribute__((unused))
#else
#define GRAPHC_UNUSED
#endif
/* One input or output array: C-contiguous, ``rank`` sizes in ``shape`` (NULL when rank is 0). */
typedef struct graphc_tensor {
  const char *name; /* what it is on the Python side */
  int dtype;        /* GRAPHC_FLOAT32, ... */
  int rank;
  const int64_t *shape;
  int64_t size;     /* elements */
  size_t bytes;
} graphc_tensor;
#endif
"""


def header(name: str, graph, workspace: int, target, library: str, in_names=None,
           out_names=None) -> str:
    """The header text for export ``name`` of ``graph`` built for ``target``."""
    ins = [v.type for v in graph.inputs]
    outs = [v.type for v in graph.outputs]
    in_names = in_names or [f"input {i}" for i in range(len(ins))]
    out_names = out_names or [f"output {j}" for j in range(len(outs))]
    params = [f"const {C_TYPES[t.dtype][0]} *in{i}" for i, t in enumerate(ins)]
    params += [f"{C_TYPES[t.dtype][0]} *out{j}" for j, t in enumerate(outs)]
    proto = f"int {name}({', '.join([*params, 'void *workspace'])});"
    guard = f"GRAPHC_EXPORT_{name.upper()}_H"
    lines = [_comment(name, library, target, proto), f"#ifndef {guard}", f"#define {guard}",
             "#include <stddef.h>", "#include <stdint.h>", "#ifdef __cplusplus",
             'extern "C" {', "#endif", "", _SHARED,
             f"#define {name}_NUM_INPUTS {len(ins)}", f"#define {name}_NUM_OUTPUTS {len(outs)}",
             f"#define {name}_WORKSPACE_BYTES {workspace}", ""]
    for kind, types, names in (("IN", ins, in_names), ("OUT", outs, out_names)):
        lines += _arrays(name, kind, types, names)
    lines += [f"size_t {name}_workspace_bytes(void);", proto, "",
              "#ifdef __cplusplus", "}", "#endif", f"#endif /* {guard} */", ""]
    return "\n".join(lines)


def _comment(name: str, library: str, target, proto: str) -> str:
    cpu = f" ({target.cpu})" if target.name == "native" else ""
    return f"""\
/* {library}: {name}, exported by graphc {__version__} for target {target.name}{cpu}.
 * No Python is needed at run time; link with the library (it needs only libc and libm).
 *
 * {proto}
 *   Inputs in0..., then outputs out0...: C-contiguous arrays of exactly the shapes and dtypes
 *   below (bool is one byte, 0 or 1), each aligned to its element type; outputs overlap no
 *   other array. workspace: {name}_workspace_bytes() bytes aligned to 64 that no other call
 *   uses meanwhile, or NULL to have the call allocate and free its own.
 *   Returns 0, or 1 when memory ran out (the workspace, or a while loop's saved carries).
 *   Thread-safe: the library holds no mutable state.
 */"""


def _arrays(name: str, kind: str, types, names) -> list[str]:
    """Macros and shape arrays of the inputs (``kind`` IN) or outputs (OUT), then their table."""
    lines, rows = [], []
    for i, (t, label) in enumerate(zip(types, names, strict=True)):
        ctype, code = C_TYPES[t.dtype]
        p = f"{name}_{kind}{i}"
        dims = ", ".join(map(str, t.shape))
        lines += [f"/* {kind.lower()}{i}: {_c_string(label)}, {t} */", f"#define {p}_DTYPE {code}",
                  f"#define {p}_RANK {len(t.shape)}", f"#define {p}_SIZE {t.size}"]
        if t.shape:
            lines.append(f"static const int64_t {p}_SHAPE[{len(t.shape)}] GRAPHC_UNUSED = "
                         f"{{{dims}}};")
        shape = f"{p}_SHAPE" if t.shape else "NULL"
        rows.append(f'  {{"{_c_string(label)}", {code}, {len(t.shape)}, {shape}, {t.size}, '
                    f"{t.size * t.dtype.itemsize}}},")
        lines.append("")
    if rows:
        table = "inputs" if kind == "IN" else "outputs"
        lines += [f"static const graphc_tensor {name}_{table}[{len(rows)}] GRAPHC_UNUSED = {{",
                  *rows, "};", ""]
    return lines


def _c_string(text: str) -> str:
    """``text``'s UTF-8 bytes as the inside of a C string literal, also safe in a comment: octal
    escapes but for printable ASCII (and for quote, backslash, slash and ``?``: trigraphs)."""
    return "".join(chr(b) if 32 <= b < 127 and chr(b) not in '"\\/?' else f"\\{b:03o}"
                   for b in text.encode())
