"""Build the optional C fast paths (goroutines._core._speedups).

Everything else is in pyproject.toml. The extension is optional: if it does
not build (no compiler, a free-threaded or non-CPython interpreter, or
GOROUTINES_PURE=1 at install time), the package installs and runs on its
pure-Python paths.
"""

import os
import platform
import sysconfig

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    if os.environ.get("GOROUTINES_PURE", "") not in ("", "0"):
        return []
    if platform.python_implementation() != "CPython" or sysconfig.get_config_var("Py_GIL_DISABLED"):
        return []
    return [
        Extension(
            "goroutines._core._speedups",
            ["src/goroutines/_core/_speedups.c"],
            optional=True,
            extra_compile_args=["-O2"] if os.name != "nt" else [],
        )
    ]


setup(ext_modules=_extensions())
