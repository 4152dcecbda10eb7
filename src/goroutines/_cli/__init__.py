"""The ``goroutines`` command: the "main job" that runs a program as goroutine 1.

    goroutines run [--gomaxprocs N] [--trace FILE] PROGRAM.py [ARG ...]
    python -m goroutines run [--gomaxprocs N] [--trace FILE] PROGRAM.py [ARG ...]
    goroutines trace TRACE.json [-o PAGE.html]

A program is a Python file that defines ``async def main():`` (no
parameters; it reads ``sys.argv``), the way a Go program defines
``func main()``. This command calls ``goroutines.run(main)``, the way Go's
runtime starts ``main.main``.

One module per concern, each importing only those before it:

- ``_status``: the command's name and its exit statuses (as Go's);
- ``_traceback``: a panic's traceback without the runtime's frames
  (``GOTRACEBACK``);
- ``_program``: loading PROGRAM.py as ``__main__`` and finding its main;
- ``_run``: running it as goroutine 1 and reporting a panic or deadlock;
- ``_trace``: ``run --trace FILE`` and the ``trace`` command;
- ``_commands``: the argument parser, the ``run`` command and ``main``.
"""

from ._commands import add_program_options, build_parser, main
from ._program import LoadFailed, Program, ProgramError, load_program, program_environment
from ._run import report_outcome, run_program
from ._status import (
    EXIT_BROKEN_PIPE,
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_LOAD_ERROR,
    EXIT_OK,
    EXIT_PANIC,
    EXIT_USAGE,
    PROG,
)
from ._traceback import describe_exception, format_panic_traceback

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_FATAL",
    "EXIT_INTERRUPTED",
    "EXIT_LOAD_ERROR",
    "EXIT_OK",
    "EXIT_PANIC",
    "EXIT_USAGE",
    "PROG",
    "LoadFailed",
    "Program",
    "ProgramError",
    "add_program_options",
    "build_parser",
    "describe_exception",
    "format_panic_traceback",
    "load_program",
    "main",
    "program_environment",
    "report_outcome",
    "run_program",
]
