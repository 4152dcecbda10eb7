"""The exceptions of the public contract, and the one for runtime bugs.

User mistakes (Go's ``panic`` on a runtime.Error) raise contract exceptions
whose text is Go's text; a broken invariant inside the runtime (Go's
``throw``) raises :class:`RuntimeBug`. The two are never mixed. Also the
one argument check the sync objects share (``check_int``).
"""

from __future__ import annotations

from typing import Any


class ClosedChannelError(Exception):
    """A send on a closed channel, or a close of a closed channel.

    The message is Go's: ``send on closed channel`` or
    ``close of closed channel``.
    """


class Deadlock(RuntimeError):
    """No goroutine can ever run again.

    The message starts with ``all goroutines are asleep - deadlock!`` and
    carries the goroutine dump.
    """


class Canceled(Exception):
    """A context was cancelled (Go's ``context.Canceled``)."""

    def __init__(self, msg: str = "context canceled") -> None:
        super().__init__(msg)


class DeadlineExceeded(TimeoutError):
    """A context's deadline passed (Go's ``context.DeadlineExceeded``)."""

    def __init__(self, msg: str = "context deadline exceeded") -> None:
        super().__init__(msg)


class RuntimeBug(RuntimeError):
    """An invariant of the runtime itself was broken (Go's ``throw``)."""


def throw(what: str) -> RuntimeBug:
    """Build the error for a broken runtime invariant; the caller raises it."""
    return RuntimeBug(f"goroutines: internal error: {what} (please file a bug)")


def check_int(n: Any, who: str, what: str = "delta") -> int:
    """``n`` if it is an int (not a bool), else a TypeError naming ``who``."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{who}: {what} must be an int, not {type(n).__name__} ({n!r})")
    return n
