"""AutoGraph: Python control flow in traced functions converted to ``gc.cond`` / ``while_loop``
(``convert.py``: finding and compiling the source; ``transform.py``: the rewrites;
``runtime.py``: what converted code calls). Importing it installs ``convert`` as what
``gc.function`` and the differentiation API trace through."""

from ..trace.function import install_autograph
from .convert import convert

install_autograph(convert)

__all__ = ["convert"]
