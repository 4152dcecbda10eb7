"""Tracing a run (``run --trace FILE``) and rendering a saved trace (``trace``).

``--trace FILE`` records the run with the execution tracer and writes FILE
when the program ends (panics and deadlocks included): the timeline page
for a name ending in ``.html``, Chrome Trace Event JSON otherwise (opens
in ui.perfetto.dev). It may also come last, after the program's arguments
(``goroutines run prog.py 200 --trace out.html``): ``--trace FILE`` as the
last two arguments is always taken by this command, not passed on. The
path is checked before the program runs. ``goroutines trace`` turns a
saved JSON trace into the page.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from ._run import _load_and_run
from ._status import EXIT_LOAD_ERROR, EXIT_OK, EXIT_USAGE, PROG


def _take_trailing_trace(args: argparse.Namespace) -> None:
    """``run PROGRAM.py ARGS --trace FILE``: the trailing option is ours, not the program's."""
    rest = args.args
    if args.trace is not None:
        return
    if len(rest) >= 2 and rest[-2] == "--trace":
        args.trace = rest[-1]
        del rest[-2:]
    elif rest and rest[-1].startswith("--trace="):
        args.trace = rest[-1].partition("=")[2]
        del rest[-1]


def _check_trace_path(path: str) -> str | None:
    """A reason the trace could not be written to ``path``, found before the program runs."""
    if not path:
        return "--trace needs a file name"
    if os.path.isdir(path):
        return f"--trace {path}: is a directory; give a file name such as trace.html"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"--trace {path}: directory {parent} does not exist"
    if not os.access(parent, os.W_OK):
        return f"--trace {path}: directory {parent} is not writable"
    return None


def _run_traced(args: argparse.Namespace, err: TextIO) -> int:
    from .._tracefmt import trace

    # Loading is inside the recording: a program that calls run() itself
    # while it loads makes its run there (see load_program).
    tr = trace(args.trace, title=f"goroutines run {os.path.basename(args.program)}")
    status = EXIT_OK
    try:
        with tr:
            status = _load_and_run(args, err)
    except OSError as e:
        err.write(f"{PROG} run: writing the trace to {args.trace} failed: {e}\n")
        return status or EXIT_LOAD_ERROR
    err.write(f"{PROG}: trace of {tr.events} events written to {args.trace}\n")
    err.flush()
    return status


def _cmd_trace(args: argparse.Namespace) -> int:
    from .._tracefmt import load_trace, write_trace

    err = sys.stderr
    src: str = args.input
    out: str = args.output or (os.path.splitext(src)[0] + ".html")
    if os.path.abspath(out) == os.path.abspath(src):
        err.write(f"{PROG} trace: the output {out} would overwrite the input; give another name with -o\n")
        return EXIT_USAGE
    try:
        doc = load_trace(src)
    except FileNotFoundError:
        err.write(f"{PROG} trace: {src}: no such file\n")
        return EXIT_LOAD_ERROR
    except (OSError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        err.write(f"{PROG} trace: {src}: cannot read it as a JSON trace: {e}\n")
        return EXIT_LOAD_ERROR
    if not out.lower().endswith((".html", ".htm")):
        out += ".html"
    try:
        write_trace(out, doc)
    except OSError as e:
        err.write(f"{PROG} trace: writing {out} failed: {e}\n")
        return EXIT_LOAD_ERROR
    err.write(f"{PROG}: wrote {out}\n")
    return EXIT_OK
