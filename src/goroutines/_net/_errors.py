"""The net errors and Go-style messages (``read tcp 127.0.0.1:5000->127.0.0.1:41234: i/o timeout``).

Operating-system errors keep their Python type and errno (a reset peer is
still ``ConnectionResetError``, a refused dial ``ConnectionRefusedError``);
only the message gains the operation and the addresses, as Go's
``net.OpError`` does.
"""

from __future__ import annotations

import errno as _errno
from typing import Any


class NetTimeoutError(TimeoutError):
    """A deadline passed before the operation could complete (Go's ``os.ErrDeadlineExceeded``).

    The message names the operation and the addresses
    (``read tcp 127.0.0.1:41234->127.0.0.1:8080: i/o timeout``). ``op`` is
    the operation ("read", "write", "accept", "dial", ...); ``written`` is
    how many bytes a timed-out ``write`` had already sent (0 otherwise).
    ``errno`` is ``ETIMEDOUT``.
    """

    def __init__(self, msg: str, op: str = "", written: int = 0) -> None:
        super().__init__(msg)
        self.errno = _errno.ETIMEDOUT
        self.strerror = "i/o timeout"
        self.op = op
        self.written = written

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "i/o timeout"


class NetClosedError(OSError):
    """Use of a Conn, Listener or PacketConn after ``close()``, or closed while
    the operation waited (Go's ``net.ErrClosed``: "use of closed network
    connection"). ``errno`` is ``EBADF``, what Python reports for a closed
    socket; ``op`` names the operation.
    """

    def __init__(self, msg: str, op: str = "") -> None:
        super().__init__(msg)
        self.errno = _errno.EBADF
        self.strerror = "use of closed network connection"
        self.op = op

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "use of closed network connection"


def op_prefix(op: str, network: str, laddr: Any, raddr: Any) -> str:
    """Go's OpError prefix: ``read tcp 127.0.0.1:1->127.0.0.1:2``."""
    if laddr is not None and raddr is not None:
        where = f"{laddr}->{raddr}"
    elif raddr is not None:
        where = str(raddr)
    elif laddr is not None:
        where = str(laddr)
    else:
        where = ""
    return f"{op} {network} {where}".rstrip()


def wrap_oserror(prefix: str, e: OSError) -> OSError:
    """The same kind of OSError, its message prefixed with the operation and addresses."""
    if isinstance(e, (NetTimeoutError, NetClosedError)):
        return e
    if e.errno is None:
        new = type(e)(f"{prefix}: {e}")
    else:
        reason = e.strerror or _errno.errorcode.get(e.errno, str(e.errno))
        try:
            new = type(e)(e.errno, f"{prefix}: {reason[:1].lower()}{reason[1:]}")
        except TypeError:
            return e
    new.__cause__ = e.__cause__
    return new
