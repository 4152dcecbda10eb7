"""Build the optional C fast paths (goroutines._core._speedups).

Everything else is in pyproject.toml. The extension is optional: if it does
not build (no compiler, a non-CPython interpreter, or GOROUTINES_PURE=1 at
install time), the package installs and runs on its pure-Python paths. It is
built on CPython with a GIL and on free-threaded CPython (3.13t and later).

The SHA-256 of _speedups.c is compiled in (``_speedups.SOURCE_SHA256``):
_cext.py refuses an in-tree build whose source has changed since.
"""

import hashlib
import os
import platform
from pathlib import Path

from setuptools import Extension, setup

SOURCE = "src/goroutines/_core/_speedups.c"


def _extensions() -> list[Extension]:
    if os.environ.get("GOROUTINES_PURE", "") not in ("", "0"):
        return []
    if platform.python_implementation() != "CPython":
        return []
    digest = hashlib.sha256((Path(__file__).resolve().parent / SOURCE).read_bytes()).hexdigest()
    return [
        Extension(
            "goroutines._core._speedups",
            [SOURCE],
            optional=True,
            define_macros=[("GR_SOURCE_SHA256", f'"{digest}"')],
            extra_compile_args=["-O2"] if os.name != "nt" else [],
        )
    ]


setup(ext_modules=_extensions())
