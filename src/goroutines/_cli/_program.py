"""Loading a program: PROGRAM.py as ``__main__``, and its ``async def main()``.

A program is a Python file that defines ``async def main():`` (no
parameters; it reads ``sys.argv``), the way a Go program defines
``func main()``. The command loads PROGRAM.py as module ``__main__``
(``sys.argv`` is ``[PROGRAM.py, *ARGS]`` and ``sys.path[0]`` the
program's directory, as for ``python PROGRAM.py``: program_environment).

A file that also runs as ``python PROGRAM.py`` ends with
``if __name__ == "__main__": goroutines.run(main)``, and that line runs while
the command loads it (the module is ``__main__``). Main still runs once: a
``goroutines.run`` the program makes while it is being loaded is the
program's run (``--gomaxprocs`` and ``--trace`` apply to it, its panic or
deadlock is reported as any other), and the command then does not run
``main`` again (the file need not even define one): see _OwnRuns.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import goroutines as gr

from ._status import PROG

MainFunc = Callable[[], Coroutine[Any, Any, Any]]


class ProgramError(Exception):
    """The program cannot be run as given (the message says why and what to do)."""


@dataclass
class Program:
    """A loaded program: its ``__main__`` module and its ``async def main``."""

    path: str
    module: ModuleType
    main: MainFunc | None
    # The program called goroutines.run itself while it was loaded (the
    # ``if __name__ == "__main__": run(main)`` ending): main has run, and
    # ``outcome`` is what ended that run (None: it returned).
    ran_itself: bool = False
    outcome: BaseException | None = None


@contextmanager
def program_environment(path: str, args: Sequence[str]) -> Iterator[None]:
    """``sys.argv``, ``sys.path[0]`` and ``__main__`` as ``python PROGRAM.py ARGS`` sets them.

    Restored on exit, so the command can also be driven in-process.
    """
    saved_argv = sys.argv
    saved_path0 = sys.path[0] if sys.path else None
    saved_main = sys.modules.get("__main__")
    sys.argv = [path, *args]
    prog_dir = os.path.dirname(os.path.abspath(path))
    if sys.path:
        sys.path[0] = prog_dir
    else:
        sys.path.append(prog_dir)
    try:
        yield
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        else:
            sys.modules.pop("__main__", None)


class LoadFailed(Exception):
    """The program's own top-level code raised ``exc`` while being imported."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


def load_program(path: str, *, gomaxprocs: int | None = None) -> Program:
    """Import PROGRAM.py as ``__main__`` and find its ``async def main()``.

    Call inside :func:`program_environment`. Raises :class:`ProgramError`
    for a missing file or an unusable ``main``, :class:`LoadFailed` when the
    program's top-level code raises (SyntaxError included). A
    ``goroutines.run`` the program makes while loading runs there and then,
    with ``gomaxprocs`` when given (see the module docstring); the returned
    Program says so (``ran_itself``).
    """
    if not os.path.exists(path):
        raise ProgramError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ProgramError(f"{path}: is a directory; give the program's .py file")
    spec = importlib.util.spec_from_file_location("__main__", path)
    if spec is None or spec.loader is None:
        raise ProgramError(f"{path}: cannot be loaded as a Python program (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules["__main__"] = module
    own = _OwnRuns(gomaxprocs)
    try:
        with own:
            spec.loader.exec_module(module)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as e:
        if own.ran and e is own.outcome:
            # The program's own run ended it: a panic or a deadlock, not a
            # failure to load.
            return Program(path=path, module=module, main=None, ran_itself=True, outcome=e)
        raise LoadFailed(e) from None
    if own.ran:
        return Program(path=path, module=module, main=None, ran_itself=True)
    return Program(path=path, module=module, main=_find_main(path, module))


class _OwnRuns:
    """While the program loads: ``goroutines.run`` is wrapped, so a run the
    program starts itself is recorded (and takes ``--gomaxprocs``).

    Only calls from the loading thread are the program's own run; the
    attribute is put back when loading ends. A program that bound ``run``
    before (``from goroutines import run`` in a module it imported earlier)
    is still run twice; the documented forms (``gr.run(main)``, or ``from
    goroutines import run`` in the program itself) are caught.
    """

    def __init__(self, gomaxprocs: int | None) -> None:
        self.gomaxprocs = gomaxprocs
        self.ran = False
        self.outcome: BaseException | None = None
        self._real: Callable[..., Any] = gr.run
        self._thread = threading.get_ident()

    def __enter__(self) -> None:
        real = self._real

        def run(main: Any, /, *args: Any, gomaxprocs: int | None = None, **kwargs: Any) -> Any:
            if threading.get_ident() != self._thread:
                return real(main, *args, gomaxprocs=gomaxprocs, **kwargs)
            self.ran = True
            if self.gomaxprocs is not None:
                gomaxprocs = self.gomaxprocs  # the command line wins
            try:
                return real(main, *args, gomaxprocs=gomaxprocs, **kwargs)
            except BaseException as e:
                self.outcome = e
                raise

        run.__doc__ = real.__doc__
        run.__wrapped__ = real  # type: ignore[attr-defined]
        gr.run = run

    def __exit__(self, *exc: object) -> None:
        gr.run = self._real


def _find_main(path: str, module: ModuleType) -> MainFunc:
    main = getattr(module, "main", None)
    if main is None:
        raise ProgramError(
            f"{path}: defines no main(); a program for '{PROG} run' defines "
            "'async def main():', which runs as goroutine 1"
        )
    if not callable(main):
        raise ProgramError(
            f"{path}: main is a {type(main).__name__}, not a function; define 'async def main():'"
        )
    if not inspect.iscoroutinefunction(main):
        kind = "an async generator" if inspect.isasyncgenfunction(main) else "not an async def function"
        raise ProgramError(
            f"{path}: main is {kind}; declare it 'async def main():' so it can await "
            "channels and other goroutines"
        )
    try:
        sig = inspect.signature(main)
    except (TypeError, ValueError):
        return main
    required = [
        p.name
        for p in sig.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if required:
        raise ProgramError(
            f"{path}: main() must take no arguments, but it requires {', '.join(required)}; "
            "read the command line from sys.argv instead"
        )
    return main
