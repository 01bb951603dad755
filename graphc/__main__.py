"""``python -m graphc``: the same command line as the ``graphc`` console script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
