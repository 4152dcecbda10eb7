"""The command's name and its exit statuses.

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
"""

from __future__ import annotations

PROG = "goroutines"

EXIT_OK = 0
EXIT_LOAD_ERROR = 1
EXIT_USAGE = 2
EXIT_PANIC = 2  # Go's status for an unrecovered panic
EXIT_FATAL = 2  # Go's status for a fatal error such as a deadlock
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE
