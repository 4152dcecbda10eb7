"""serve(): the accept loop of a server, with net/http's failure rules.

An exception that escapes a goroutine ends the program (Go's panic). A
server's per-connection goroutine meets exceptions that are about one
client only -- the peer reset the connection (``ConnectionResetError``),
went away (``BrokenPipeError``), was too slow (a passed deadline) -- and a
bug in the handler should not take every other client down with it. Go's
``net/http`` recovers a handler's panic, logs it with the stack and closes
that connection only; ``serve`` does the same for a handler of raw
connections:

* each accepted connection gets its own goroutine running
  ``await handler(conn)``; the connection is closed when the handler
  returns or raises;
* a connection error escaping the handler (``ConnectionError``, a passed
  deadline, the connection closed under it) is logged in one line at
  WARNING -- it is the client's doing, as the error values Go handlers
  ignore;
* any other exception is logged at ERROR with its traceback ("panic
  serving ADDR", as net/http says) and the goroutine's id; the program goes
  on;
* BaseExceptions that are not Exceptions (KeyboardInterrupt, SystemExit,
  the runtime's own unwinding of an abandoned goroutine) are not caught.

The log goes to the ``logging`` logger ``goroutines.net`` (or the one
passed): with logging unconfigured, Python prints WARNING and above with
the traceback on stderr, as Go's default ``log`` does.

Accept errors that are about the moment (too many open files, a
connection aborted before it was accepted, no buffer space) are logged and
retried after a pause that doubles from 5 ms to 1 s, as ``http.Server.Serve``
does; ``serve`` returns once the listener is closed (close it from another
goroutine to stop serving); any other accept error is raised.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._core import current_g, go
from .._time import sleep
from ._conn import Conn, Listener
from ._errors import NetClosedError, NetTimeoutError

if TYPE_CHECKING:
    import logging

# The default logger's name. ``logging`` is imported when serve() starts,
# not with goroutines.net: it costs more to import than the package itself.
LOGGER_NAME = "goroutines.net"

# Accept errors that say nothing about the listener itself: retry.
_TEMPORARY = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM, errno.ECONNABORTED, errno.EPROTO, errno.ECONNRESET, errno.EINTR}
)
_BACKOFF_MIN = 0.005
_BACKOFF_MAX = 1.0

Handler = Callable[[Conn], Awaitable[Any]]


async def serve(listener: Listener, handler: Handler, *, logger: logging.Logger | None = None) -> None:
    """Accept connections on ``listener`` and run ``await handler(conn)`` in a
    goroutine each, until the listener is closed (then return).

    A handler's exception ends that connection only and is logged (see the
    module docstring); the program goes on, as under Go's net/http.
    """
    if not isinstance(listener, Listener):
        raise TypeError(
            f"serve: listener must be a goroutines.net.Listener (from net.listen), "
            f"not {type(listener).__name__}"
        )
    if not callable(handler):
        raise TypeError(
            f"serve: handler must be an async def function taking the connection, "
            f"not {type(handler).__name__} ({handler!r})"
        )
    if logger is None:
        import logging

        logger = logging.getLogger(LOGGER_NAME)
    log = logger
    delay = 0.0
    while True:
        try:
            conn = await listener.accept()
        except NetClosedError:
            return
        except OSError as e:
            if e.errno not in _TEMPORARY or isinstance(e, NetTimeoutError):
                raise
            delay = _BACKOFF_MIN if delay == 0.0 else min(2 * delay, _BACKOFF_MAX)
            log.warning("serve %s: accept error: %s; retrying in %.0f ms", listener.addr, e, delay * 1000)
            await sleep(delay)
            continue
        delay = 0.0
        go(serve_conn, conn, handler, log)


async def serve_conn(conn: Conn, handler: Handler, log: logging.Logger) -> None:
    """One connection's goroutine: the handler, its failure logged, the conn closed."""
    try:
        async with conn:
            await handler(conn)
    except (ConnectionError, NetTimeoutError, NetClosedError) as e:
        log.warning("serve: goroutine %d: connection %s: %s", _gid(), _peer(conn), e)
    except Exception as e:  # noqa: BLE001 - net/http's recover: log it, keep serving
        log.error(
            "serve: goroutine %d: panic serving %s: %s: %s",
            _gid(),
            _peer(conn),
            type(e).__qualname__,
            e,
            exc_info=e,
        )


def _gid() -> int:
    g = current_g()
    return g.id if g is not None else 0


def _peer(conn: Conn) -> str:
    try:
        return str(conn.remote_addr)
    except OSError:
        return "?"
