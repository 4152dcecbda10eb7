"""Waiting for file descriptors: the public wait_readable/wait_writable.

They park the goroutine in the netpoller (wait reason ``IO wait``); no thread
is held while it waits. (The net types wait through their PollDesc:
_core._netpoll.WaitPD, called from _socket.NetSocket._io.)
"""

from __future__ import annotations

import math
import os
import select
import stat
from typing import Any

from .._core import EVICTED, READ, READY, TIMEOUT, WRITE, WaitFD
from ._errors import NetClosedError


def fileno_of(obj: Any, who: str) -> int:
    """The fd of an int or an object with fileno(); NetClosedError if closed."""
    if isinstance(obj, bool):
        raise TypeError(f"{who}: expected a file descriptor (int) or an object with fileno(), not bool")
    if isinstance(obj, int):
        n = obj
    else:
        fileno = getattr(obj, "fileno", None)
        if fileno is None or not callable(fileno):
            raise TypeError(
                f"{who}: expected a file descriptor (int) or an object with fileno(), "
                f"not {type(obj).__name__}"
            )
        try:
            n = fileno()
        except (ValueError, OSError) as e:
            raise NetClosedError(f"{who}: {obj!r} is closed ({e})", who) from None
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"{who}: {type(obj).__name__}.fileno() returned {n!r}, not an int")
        if n < 0:
            raise NetClosedError(f"{who}: {obj!r} is closed (its fileno() is {n})", who)
    if n < 0:
        raise ValueError(f"{who}: file descriptor must be >= 0, not {n}")
    return n


def _check_timeout(timeout: Any, who: str) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{who}: timeout must be a number of seconds or None, not {type(timeout).__name__}")
    t = float(timeout)
    if math.isnan(t):
        raise ValueError(f"{who}: timeout is NaN")
    return min(t, 1e9)


_POLL_BITS = {
    READ: select.POLLIN | select.POLLPRI,
    WRITE: select.POLLOUT,
}


def _ready_now(fd: int, mode: int) -> bool:
    p = select.poll()
    p.register(fd, _POLL_BITS[mode])
    for _fd, ev in p.poll(0):
        if ev & select.POLLNVAL:
            return False
        return True
    return False


async def _wait_public(obj: Any, mode: int, timeout: Any, who: str) -> bool:
    fd = fileno_of(obj, who)
    t = _check_timeout(timeout, who)
    try:
        st = os.fstat(fd)
    except OSError:
        raise NetClosedError(f"{who}: file descriptor {fd} is not open (closed?)", who) from None
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return True  # a disk file is always ready, as poll(2) and Go see it
    if t is not None and t <= 0:
        return _ready_now(fd, mode)
    r = await WaitFD(fd, mode, t)
    if r == READY:
        return True
    if r == TIMEOUT:
        return False
    assert r == EVICTED
    raise NetClosedError(f"{who}: file descriptor {fd} was closed while waiting", who)


async def wait_readable(fd: Any, timeout: float | None = None) -> bool:
    """Park the goroutine until ``fd`` is readable; True, or False if ``timeout`` seconds passed.

    ``fd`` is an int or an object with ``fileno()`` (a socket, a pipe's file
    object, ...); the descriptor should be non-blocking. True means "try the
    read now": readiness is level-triggered and can be spurious, so a
    non-blocking read may still raise ``BlockingIOError`` -- wait again then,
    as Go's runtime does. ``timeout`` ``None`` waits as long as it takes; 0 or
    less only looks. A disk file is always ready. A closed descriptor (or one
    closed by a :mod:`goroutines.net` object while we wait) raises
    :class:`~goroutines.net.NetClosedError`. At most one goroutine may wait
    to read a given descriptor at a time (and one to write it).
    """
    return await _wait_public(fd, READ, timeout, "wait_readable")


async def wait_writable(fd: Any, timeout: float | None = None) -> bool:
    """As :func:`wait_readable`, for writing (a socket whose send buffer has room)."""
    return await _wait_public(fd, WRITE, timeout, "wait_writable")
