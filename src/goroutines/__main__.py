"""``python -m goroutines run PROGRAM.py [ARG ...]``: the same as the ``goroutines`` command."""

import sys

from goroutines._cli import main

if __name__ == "__main__":
    sys.exit(main())
