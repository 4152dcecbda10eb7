"""The command line: the parser, the ``run`` command, and ``main``.

Adding a subcommand: write ``_add_<name>_parser(subparsers)`` that
registers it with ``set_defaults(handler=...)`` and call it from
:func:`build_parser`. Options that change how a program runs (today
``--gomaxprocs``) are added by :func:`add_program_options` so every
subcommand that runs a program shares them; :func:`load_program` and
:func:`run_program` (_program, _run) are the two halves a subcommand such
as ``trace`` wraps.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import goroutines as gr

from ._program import program_environment
from ._run import _load_and_run
from ._status import EXIT_USAGE, PROG
from ._trace import _check_trace_path, _cmd_trace, _run_traced, _take_trailing_trace

# The runtime's cap on GOMAXPROCS; checked here so a bad value is a usage
# error before the program is loaded, not a failure of run().
MAX_GOMAXPROCS = 1024


# ---------------------------------------------------------------------- parser


def _gomaxprocs_arg(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number; give a thread count such as 4"
        ) from None
    if not 1 <= n <= MAX_GOMAXPROCS:
        raise argparse.ArgumentTypeError(f"{n} is out of range; give a number from 1 to {MAX_GOMAXPROCS}")
    return n


def add_program_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every subcommand that runs a program."""
    parser.add_argument(
        "--gomaxprocs",
        metavar="N",
        type=_gomaxprocs_arg,
        default=None,
        help="threads that may run goroutine code at once (default: the GOMAXPROCS "
        "environment variable, else the runtime's default)",
    )
    parser.add_argument(
        "--trace",
        metavar="FILE",
        default=None,
        help="record the run with the execution tracer and write FILE at the end: an HTML "
        "timeline if FILE ends in .html, else Chrome Trace Event JSON (for ui.perfetto.dev)",
    )


def _add_program_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("program", metavar="PROGRAM.py", help="a Python file defining async def main()")
    parser.add_argument(
        "args",
        metavar="ARG",
        nargs=argparse.REMAINDER,
        help="arguments for the program (its sys.argv[1:]); everything after PROGRAM.py is passed on",
    )


def _add_run_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a program's async def main() as goroutine 1",
        description="Load PROGRAM.py as __main__ and run its async def main() as goroutine 1, "
        "as Go runs main.main. The program reads its arguments from sys.argv.",
        epilog="exit status: 0 when main returns; 2 on a panic or a deadlock (as in Go); "
        "1 when the program cannot be loaded; 130 on Ctrl-C.",
    )
    add_program_options(p)
    _add_program_arguments(p)
    p.set_defaults(handler=_cmd_run)


def _add_trace_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "trace",
        help="render a saved JSON trace as a self-contained HTML timeline",
        description="Read a Chrome Trace Event JSON file written by 'goroutines run --trace FILE.json' "
        "(or goroutines.trace) and write the timeline page: one lane per M, goroutine runs, "
        "why each blocked, the goroutine count.",
    )
    p.add_argument("input", metavar="TRACE.json", help="the trace to render")
    p.add_argument(
        "-o",
        "--output",
        metavar="PAGE.html",
        default=None,
        help="where to write the page (default: TRACE with .html instead of .json)",
    )
    p.set_defaults(handler=_cmd_trace)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run Python programs on goroutines: Go's goroutines, channels and select "
        "on an M:N scheduler.",
        epilog=f"Run '{PROG} COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {gr.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    _add_run_parser(sub)
    _add_trace_parser(sub)
    return parser


# ---------------------------------------------------------------------- commands


def _check_environment(args: argparse.Namespace) -> str | None:
    """A problem with GOMAXPROCS in the environment, when it would be used."""
    if args.gomaxprocs is not None:
        return None
    try:
        gr.gomaxprocs()  # reads GOMAXPROCS when no runtime is running
    except (ValueError, TypeError) as e:
        return str(e)
    return None


def _cmd_run(args: argparse.Namespace) -> int:
    err = sys.stderr
    _take_trailing_trace(args)
    problem = _check_environment(args)
    if problem is None and args.trace is not None:
        problem = _check_trace_path(args.trace)
    if problem is not None:
        err.write(f"{PROG} run: {problem}\n")
        return EXIT_USAGE
    with program_environment(args.program, args.args):
        if args.trace is None:
            return _load_and_run(args, err)
        return _run_traced(args, err)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``goroutines`` console script and ``python -m goroutines``."""
    parser = build_parser()
    raw = list(argv) if argv is not None else sys.argv[1:]
    args = parser.parse_args(raw)
    _keep_double_dash(raw, args)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


def _keep_double_dash(raw: list[str], args: argparse.Namespace) -> None:
    """``run PROGRAM.py -- X``: the ``--`` belongs to the program, as with ``python PROGRAM.py -- X``.

    argparse swallows a ``--`` that directly follows PROGRAM.py; put it back.
    """
    program = getattr(args, "program", None)
    rest = getattr(args, "args", None)
    if program is None or rest is None:
        return
    for i in range(len(raw) - 1, -1, -1):
        if raw[i] == program:
            tail = raw[i + 1 :]
            if tail == ["--", *rest]:
                rest.insert(0, "--")
            if tail in (rest, ["--", *rest]):
                return
