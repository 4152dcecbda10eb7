"""The ``goroutines`` command: the "main job" that runs a program as goroutine 1.

    goroutines run [--gomaxprocs N] [--trace FILE] PROGRAM.py [ARG ...]
    python -m goroutines run [--gomaxprocs N] [--trace FILE] PROGRAM.py [ARG ...]
    goroutines trace TRACE.json [-o PAGE.html]

A program is a Python file that defines ``async def main():`` (no
parameters; it reads ``sys.argv``), the way a Go program defines
``func main()``. This command calls ``goroutines.run(main)``, the way Go's
runtime starts ``main.main``.

The command loads PROGRAM.py as module ``__main__`` (``sys.argv`` is
``[PROGRAM.py, *ARGS]`` and ``sys.path[0]`` the program's directory, as for
``python PROGRAM.py``), then calls ``goroutines.run(main, gomaxprocs=N)``.

A file that also runs as ``python PROGRAM.py`` ends with
``if __name__ == "__main__": goroutines.run(main)``, and that line runs while
the command loads it (the module is ``__main__``). Main still runs once: a
``goroutines.run`` the program makes while it is being loaded is the
program's run (``--gomaxprocs`` and ``--trace`` apply to it, its panic or
deadlock is reported as below), and the command then does not run ``main``
again (the file need not even define one).

Exit status, following Go where Go has one:

    0    main returned
    1    the program could not be loaded (no such file, an exception while
         importing it, no ``async def main()``)
    2    a command-line usage error; a panic (an exception escaped a
         goroutine: ``panic: ...`` and the traceback on stderr); a deadlock
         (``fatal error: all goroutines are asleep - deadlock!`` and the
         goroutine dump on stderr)
    130  interrupted (Ctrl-C)
    141  stdout was a pipe that closed early (Go dies of SIGPIPE there)
    n    the program called ``sys.exit(n)``

``GOTRACEBACK`` works as in Go for panics: unset or ``single``/``all``
prints the program's frames, ``system``/``crash`` also the runtime's own
frames, ``none`` no traceback. After the traceback of a panic comes the
goroutine dump taken at the moment of the panic (every goroutine, the
panicking one first), as after a deadlock's message; ``none`` leaves it out.

``--trace FILE`` records the run with the execution tracer and writes FILE
when the program ends (panics and deadlocks included): the timeline page
for a name ending in ``.html``, Chrome Trace Event JSON otherwise (opens
in ui.perfetto.dev). It may also come last, after the program's arguments
(``goroutines run prog.py 200 --trace out.html``): ``--trace FILE`` as the
last two arguments is always taken by this command, not passed on.
``goroutines trace`` turns a saved JSON trace into the page.

Adding a subcommand: write ``_add_<name>_parser(subparsers)`` that
registers it with ``set_defaults(handler=...)`` and call it from
:func:`build_parser`. Options that change how a program runs (today
``--gomaxprocs``) are added by :func:`add_program_options` so every
subcommand that runs a program shares them; :func:`load_program` and
:func:`run_program` are the two halves a subcommand such as ``trace`` wraps.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import os
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TextIO

import goroutines as gr

PROG = "goroutines"

EXIT_OK = 0
EXIT_LOAD_ERROR = 1
EXIT_USAGE = 2
EXIT_PANIC = 2  # Go's status for an unrecovered panic
EXIT_FATAL = 2  # Go's status for a fatal error such as a deadlock
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

# The runtime's cap on GOMAXPROCS; checked here so a bad value is a usage
# error before the program is loaded, not a failure of run().
MAX_GOMAXPROCS = 1024

_PKG_DIR = os.path.dirname(os.path.abspath(gr.__file__)) + os.sep

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


# ---------------------------------------------------------------------- loading


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


# ---------------------------------------------------------------------- running


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


def _traceback_mode() -> str:
    return os.environ.get("GOTRACEBACK", "single").strip().lower()


def describe_exception(exc: BaseException) -> str:
    """``ExcType: message`` (just ``ExcType`` when the message is empty)."""
    name = type(exc).__qualname__
    msg = str(exc)
    return f"{name}: {msg}" if msg else name


def _is_runtime_frame(filename: str) -> bool:
    return filename.startswith(_PKG_DIR) or filename.startswith("<frozen importlib")


def format_panic_traceback(exc: BaseException, *, keep_runtime_only: bool = True) -> list[str]:
    """The traceback and notes of ``exc``, without the runtime's and this command's frames.

    As Go's traceback leaves out runtime frames; ``GOTRACEBACK=system`` keeps
    them, ``GOTRACEBACK=none`` prints only the exception and its notes.
    """
    mode = _traceback_mode()
    if mode in ("none", "0"):
        return traceback.format_exception_only(exc)
    te = traceback.TracebackException.from_exception(exc)
    if mode not in ("system", "crash", "2"):
        _drop_runtime_frames(te, keep_runtime_only)
    return list(te.format())


def _drop_runtime_frames(te: traceback.TracebackException, keep_runtime_only: bool) -> None:
    seen: set[int] = set()
    todo = [te]
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        kept = [f for f in t.stack if not _is_runtime_frame(f.filename)]
        # An error raised inside the runtime itself keeps every frame, unless
        # told otherwise (a SyntaxError in the program has no frame of its own).
        if kept or not keep_runtime_only:
            t.stack = traceback.StackSummary.from_list(kept)
        for nxt in (t.__cause__, t.__context__):
            if nxt is not None:
                todo.append(nxt)
        todo.extend(getattr(t, "exceptions", None) or ())


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
    from ._tracefmt import trace

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
    from ._tracefmt import load_trace, write_trace

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


if __name__ == "__main__":
    sys.exit(main())
