"""The exceptions of the public contract, and the one for runtime bugs.

User mistakes (Go's ``panic`` on a runtime.Error) raise contract exceptions
whose text is Go's text; a broken invariant inside the runtime (Go's
``throw``) raises :class:`RuntimeBug`. The two are never mixed.
"""

from __future__ import annotations


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
