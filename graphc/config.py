"""Every debug knob in one place. Values come from environment variables at import time and may be
changed at run time by assigning the attributes."""

import os


def _flag(name: str, default: bool) -> bool:
    v = os.environ.get(name)
    return default if v is None else v.strip().lower() not in ("", "0", "false", "no")


#: Run the IR verifier after tracing, differentiation and every pass (always on in the tests).
verify_ir = _flag("GRAPHC_VERIFY", False)
#: How many traces of one function before the excessive-retracing warning (TensorFlow warns at 5+).
retrace_warn_limit = int(os.environ.get("GRAPHC_RETRACE_WARN", "8"))
#: Backend used by gc.function when none is named: "llvm" (native code) or "reference" (NumPy).
default_backend = os.environ.get("GRAPHC_BACKEND", "reference")
