"""Running a loaded program as goroutine 1 and reporting how it ended.

``run_program`` calls ``goroutines.run(main)``, the way Go's runtime starts
``main.main``; ``report_outcome`` turns what ended the run into the exit
status (see _status) and writes a panic or a deadlock to stderr as Go
does: ``panic: ...``, the traceback (see _traceback), then the goroutine
dump taken at the moment of the panic (every goroutine, the panicking one
first), as after a deadlock's message; ``GOTRACEBACK=none`` leaves the
dump out. A program writing into a pipe whose reader has gone
(``program | head``) exits 141 quietly, as Go dies of SIGPIPE.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

import goroutines as gr

from ._program import LoadFailed, Program, ProgramError, load_program
from ._status import (
    EXIT_BROKEN_PIPE,
    EXIT_FATAL,
    EXIT_INTERRUPTED,
    EXIT_LOAD_ERROR,
    EXIT_OK,
    EXIT_PANIC,
    PROG,
)
from ._traceback import _traceback_mode, describe_exception, format_panic_traceback


def run_program(program: Program, *, gomaxprocs: int | None = None, stderr: TextIO | None = None) -> int:
    """Run ``program.main`` as goroutine 1; report a panic or deadlock Go-style; return the exit status.

    A program that ran itself while loading (``program.ran_itself``) is not
    run again: its run's outcome is reported.
    """
    err = stderr if stderr is not None else sys.stderr
    if program.ran_itself:
        outcome = program.outcome
    else:
        assert program.main is not None
        try:
            gr.run(program.main, gomaxprocs=gomaxprocs)
            outcome = None
        except BaseException as e:  # noqa: BLE001 - reported below, Go-style
            outcome = e
    return report_outcome(outcome, err)


def report_outcome(outcome: BaseException | None, err: TextIO) -> int:
    """The exit status for a run that ended with ``outcome`` (None: main
    returned); a panic or deadlock is written to ``err`` as Go writes it."""
    if outcome is None:
        if not _flush_stdout():
            return _broken_pipe()
        return EXIT_OK
    if isinstance(outcome, SystemExit):
        _flush_stdout()
        raise outcome
    if isinstance(outcome, KeyboardInterrupt):
        return _interrupted(err)
    if isinstance(outcome, gr.Deadlock):
        if getattr(outcome, "__notes__", None):  # raised by the program itself: a panic
            return _panic(outcome, err)
        _flush_stdout()
        msg = str(outcome)
        err.write("fatal error: " + msg + ("" if msg.endswith("\n") else "\n"))
        err.flush()
        return EXIT_FATAL
    if isinstance(outcome, BrokenPipeError) and _stdout_is_broken():
        return _broken_pipe()
    return _panic(outcome, err)


def _panic(exc: BaseException, err: TextIO) -> int:
    _flush_stdout()
    err.write(f"panic: {describe_exception(exc)}\n\n")
    err.write("".join(format_panic_traceback(exc)))
    dump = getattr(exc, "__goroutine_dump__", None)
    if isinstance(dump, str) and dump and _traceback_mode() not in ("none", "0"):
        err.write("\n" + dump)
    err.flush()
    return EXIT_PANIC


def _report_load_failure(path: str, exc: BaseException, err: TextIO) -> int:
    _flush_stdout()
    err.write(f"{PROG} run: {path}: loading the program failed:\n")
    err.write("".join(format_panic_traceback(exc, keep_runtime_only=False)))
    err.flush()
    return EXIT_LOAD_ERROR


def _interrupted(err: TextIO) -> int:
    _flush_stdout()
    err.write("signal: interrupt\n")
    err.flush()
    return EXIT_INTERRUPTED


def _flush_stdout() -> bool:
    """Flush stdout; False when it is a pipe whose reader has gone."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return False
    except (OSError, ValueError, AttributeError):
        pass
    return True


def _stdout_is_broken() -> bool:
    """Is stdout a pipe whose reader has gone (``program | head``)?"""
    if not _flush_stdout():
        return True
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (AttributeError, OSError, ValueError):  # no poll() (Windows), or no real stdout
        return False
    return any(ev & select.POLLERR for _, ev in events)


def _broken_pipe() -> int:
    # Point stdout at /dev/null so the interpreter's own flush at exit does
    # not raise again (the idiom the Python docs give for SIGPIPE).
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_BROKEN_PIPE


def _load_and_run(args: argparse.Namespace, err: TextIO) -> int:
    try:
        program = load_program(args.program, gomaxprocs=args.gomaxprocs)
    except ProgramError as e:
        err.write(f"{PROG} run: {e}\n")
        return EXIT_LOAD_ERROR
    except LoadFailed as e:
        return _report_load_failure(args.program, e.exc, err)
    except KeyboardInterrupt:
        return _interrupted(err)
    return run_program(program, gomaxprocs=args.gomaxprocs, stderr=err)
