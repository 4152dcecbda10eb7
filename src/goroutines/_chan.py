"""Channels: Chan, its wait queues, send/recv/close and operation objects.

Invariants (Go's chan.go header, translated):
  * ``_lock`` guards every other field of a Chan.
  * At least one of ``_sendq`` and ``_recvq`` holds no live waiter, except
    for a single goroutine whose select has a send and a receive case on the
    same unbuffered channel.
  * For a buffered channel: ``_buf`` is non-empty only if no receiver waits,
    and a sender waits only if ``_buf`` is full.
  * For an unbuffered channel ``_buf`` is always empty.
  * ``_closed`` goes False -> True once; a closed channel has no waiters.

A waiter entry in a queue is either a G itself (a plain send/recv: a G waits
on one thing at a time) or a SelWaiter (one case of a parked select). A
SelWaiter is live until its select's ``token`` is claimed: the waker that
claims it with a non-blocking acquire (Go's selectDone CAS) is the one that
wakes the G; waiters of the same select on other channels become stale and
are skipped when popped (``_deq``), or dropped in bulk (``_compact``).

The hot paths (awaiting a plain send or receive) are written out inline
rather than through the helpers select uses, to save calls; the two must
agree, and test_chan.py runs every case both ways.

A sender's value travels like this: a plain sender that parks stores it in
its own ``G.param``; the receiver that dequeues the sender takes it and
leaves ``None`` (or, when the channel closes, CLOSED) as the resume value.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ._core import (
    CLOSED,
    DEBUG,
    RANK_CHAN,
    WAIT_CHAN_RECEIVE,
    WAIT_CHAN_SEND,
    G,
    M,
    _tls,
    lock_kind,
    new_chan_buffer,
    no_goroutine,
    preempted,
    ready,
    speedups,
)
from ._errors import ClosedChannelError

T = TypeVar("T")

# The plain-thread send and receive behind Chan.send_blocking/recv_blocking.
# They are built on select (a layer above this one), so _blocking registers
# them here when it is imported (register_blocking); goroutines/__init__
# imports _blocking, so they are set before any program can call them.
# Written once at import, read without a lock.
_new_chan_lock = lock_kind("channel lock", RANK_CHAN)

_send_blocking: Any = None
_recv_blocking: Any = None


def register_blocking(send: Any, recv: Any) -> None:
    """Install _blocking's send_blocking/recv_blocking (called at its import)."""
    global _send_blocking, _recv_blocking
    _send_blocking, _recv_blocking = send, recv


def _blocking_op(op: Any, name: str) -> Any:
    if op is None:
        raise RuntimeError(f"Chan.{name}: goroutines._blocking is not loaded; import goroutines first")
    return op


# A select waiter (one case of a parked select, queued on that case's
# channel) is a tuple (g, case index, value to send or None, token): a
# select that parks makes one per case, and a tuple costs a tenth of a class.
#
# A wait queue (``_recvq``/``_sendq``) is None (empty), one waiter held
# directly, or a deque once two wait at once: a deque costs 760 bytes even for
# one waiter, and most queues never hold more than one (a parked goroutine
# with its channel is ~1.2 KB instead of ~1.9 KB). A deque that empties stays.


def _enq(ch: Chan[Any], send: bool, w: Any) -> None:
    """Queue waiter ``w`` (a G, or a select's (g, i, value, token) tuple) last
    on ``ch``'s send or receive queue, in the shape above. The channel's lock
    is held. A deque that grows past ``_qlimit`` drops the stale select
    waiters it holds (_compact): a loop of selects that never fire on this
    channel must not grow it without bound.

    A queue of one stale select waiter is emptied first (as _peek_live
    empties it): a select parked in a loop leaves one on each channel that
    did not fire, and the next park there replaces it instead of queueing
    behind it (the queue stays one waiter: no deque, no compaction). A
    deque is left to _deq and _compact (a look at its head would cost every
    queueing behind parked goroutines). _speedups.q_enq does the same."""
    q = ch._sendq if send else ch._recvq
    if type(q) is tuple and q[3].locked():
        q = None
    if q is None:
        q = w
    elif type(q) is deque:
        q.append(w)
        if len(q) >= ch._qlimit:
            ch._compact(q)
        return
    else:
        q = deque((q, w))
    if send:
        ch._sendq = q
    else:
        ch._recvq = q


def _deq(ch: Chan[Any], send: bool) -> Any:
    """Pop the oldest live waiter (claiming a select's token), or None."""
    q = ch._sendq if send else ch._recvq
    while q is not None:
        if type(q) is deque:
            if not q:
                return None
            w = q.popleft()
        else:
            w = q
            q = None
            if send:
                ch._sendq = None
            else:
                ch._recvq = None
        if type(w) is G or w[3].acquire(False):
            return w
    return None


def _peek_live(ch: Chan[Any], send: bool) -> bool:
    """Is there a live waiter? Drops stale select waiters from the front."""
    q = ch._sendq if send else ch._recvq
    if q is None:
        return False
    if type(q) is not deque:
        if type(q) is G or not q[3].locked():
            return True
        if send:
            ch._sendq = None
        else:
            ch._recvq = None
        return False
    while q:
        w = q[0]
        if type(w) is G or not w[3].locked():
            return True
        q.popleft()
    return False


def _waiters(q: Any) -> tuple[Any, ...] | deque[Any]:
    if q is None:
        return ()
    return q if type(q) is deque else (q,)


# An exhausted iterator: awaiting it returns None at once. Shared: an
# exhausted tuple iterator stays exhausted and holds nothing.
_DONE: Iterator[Any] = iter(())


def _park_send(lock: Any) -> Generator[Any, Any, None]:
    """The parked half of a send: yield the channel lock to the M (park)."""
    if (yield lock) is CLOSED:
        raise _send_closed()


def _send_closed() -> ClosedChannelError:
    return ClosedChannelError("send on closed channel")


class _PyChanBase:
    """A channel's fields, when the C fast paths are not there (with them:
    _speedups.ChanBase, the same fields as a C struct)."""

    __slots__ = (
        "_lock",
        "_buf",
        "_cap",
        "_closed",
        "_recvq",
        "_sendq",
        "_recv_op",
        "_recvok_op",
        "_qlimit",
        "__weakref__",
    )


if TYPE_CHECKING or speedups is None:
    _ChanBase = _PyChanBase
else:
    _ChanBase = speedups.ChanBase


class Chan(_ChanBase, Generic[T]):
    """A Go channel. ``Chan()`` is unbuffered (a rendezvous); ``Chan(n)`` buffers n."""

    __slots__ = ()

    def __init__(self, cap: int = 0) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int):
            raise TypeError(
                f"Chan: capacity must be an int, not {type(cap).__name__} ({cap!r}); "
                "use Chan() or Chan(0) for an unbuffered channel, Chan(n) for n buffered values"
            )
        if cap < 0:
            raise ValueError(
                f"Chan: capacity {cap} is negative (makechan: size out of range); "
                "use 0 for an unbuffered channel"
            )
        self._lock = _new_chan_lock()
        if DEBUG:
            self._lock.key = id(self)  # select locks channels in id() order
        # An unbuffered channel never buffers: an empty tuple stands in (no
        # deque to allocate). The wait queues are made on first use; a None
        # queue reads as empty everywhere.
        self._buf: Any = new_chan_buffer() if cap else ()
        self._cap = cap
        self._closed = False
        self._recvq: Any = None
        self._sendq: Any = None
        self._recv_op = RecvOp(self, 0)
        self._recvok_op = RecvOp(self, 1)
        self._qlimit = 64

    # -------------------------------------------------------------- operations

    def send(self, value: T) -> SendOp[T]:
        """The operation "send ``value``": await it, or pass it to select."""
        return SendOp(self, value)

    def recv(self) -> RecvOp[T]:
        """The operation "receive a value" (None once closed and drained)."""
        return self._recv_op

    def recv_ok(self) -> RecvOkOp[T]:
        """The operation "receive ``(value, ok)``"; ok is False once closed and drained."""
        return self._recvok_op  # type: ignore[return-value]

    def __aiter__(self) -> AsyncIterator[T]:
        return _ChanRange(self)

    def close(self) -> None:
        """Close the channel: receivers drain the buffer, then get (None, False).

        Waiting receivers are woken with (None, False), waiting senders raise
        ClosedChannelError. May be called from any thread.
        """
        lock = self._lock
        lock.acquire()
        if self._closed:
            lock.release()
            raise ClosedChannelError("close of closed channel")
        self._closed = True
        wake: list[G] = []
        for w in _waiters(self._recvq):
            if type(w) is G:
                w.param = CLOSED
                wake.append(w)
            elif w[3].acquire(False):
                w[0].param = (w[1], None, False)
                wake.append(w[0])
        for w in _waiters(self._sendq):
            if type(w) is G:
                w.param = CLOSED
                wake.append(w)
            elif w[3].acquire(False):
                w[0].param = (w[1], CLOSED, False)
                wake.append(w[0])
        self._recvq = None
        self._sendq = None
        lock.release()
        if wake:
            m = getattr(_tls, "m", None)
            for g in wake:
                ready(g, m)

    # ------------------------------------------------------------ plain threads (_blocking.py)

    def send_blocking(self, value: T, timeout: float | None = None) -> None:
        """Send from a plain thread: block it until the value is taken or
        buffered. ClosedChannelError as ``send``; TimeoutError after
        ``timeout`` seconds, the value not sent. Inside a goroutine:
        RuntimeError (use ``await ch.send(v)``)."""
        _blocking_op(_send_blocking, "send_blocking")(self, value, timeout)

    def recv_blocking(self, timeout: float | None = None) -> tuple[T | None, bool]:
        """Receive from a plain thread: ``(value, True)``, or ``(None, False)``
        once closed and drained. TimeoutError after ``timeout`` seconds,
        nothing taken. Inside a goroutine: RuntimeError (use ``await
        ch.recv_ok()``)."""
        return _blocking_op(_recv_blocking, "recv_blocking")(self, timeout)

    def __len__(self) -> int:
        return len(self._buf)

    @property
    def cap(self) -> int:
        return self._cap

    @property
    def closed(self) -> bool:
        """Whether close() has been called (a snapshot)."""
        return self._closed

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<Chan cap={self._cap} len={len(self._buf)}{state}>"

    # -------------------------------------------------------------- helpers (lock held)

    def _forget(self, entry: Any) -> None:
        """Remove a waiter of an abandoned goroutine (run() has ended)."""
        with self._lock:
            if self._recvq is entry:
                self._recvq = None
            if self._sendq is entry:
                self._sendq = None
            for q in (self._recvq, self._sendq):
                if type(q) is deque and any(x is entry for x in q):
                    # By identity: == on a waiter tuple would compare the
                    # user's values.
                    kept = [x for x in q if x is not entry]
                    q.clear()
                    q.extend(kept)

    def _compact(self, q: deque[Any]) -> None:  # q: one of this channel's deques
        """Drop stale select waiters from ``q`` once they pile up (a select
        in a loop leaves one behind on every channel that did not fire)."""
        live = [x for x in q if type(x) is G or not x[3].locked()]
        q.clear()
        q.extend(live)
        self._qlimit = max(64, 2 * len(live))

    def _poll_send(self, v: Any) -> tuple[int, G | None]:
        """Try to send without blocking. Lock held.

        Returns (1, G to ready or None) when done, (0, None) when it would
        block, (-1, None) when the channel is closed.
        """
        if self._closed:
            return -1, None
        w = _deq(self, False)
        if w is not None:
            if type(w) is G:
                w.param = v
                return 1, w
            w[0].param = (w[1], v, True)
            return 1, w[0]
        if len(self._buf) < self._cap:
            self._buf.append(v)
            return 1, None
        return 0, None

    def _poll_recv(self) -> tuple[bool, Any, bool, G | None]:
        """Try to receive without blocking. Lock held.

        Returns (done, value, ok, G to ready or None).
        """
        w = _deq(self, True)
        if w is not None:
            if type(w) is G:
                sv = w.param
                w.param = None
                g = w
            else:
                sv = w[2]
                g = w[0]
                g.param = (w[1], None, True)
            if self._cap:
                buf = self._buf
                v = buf.popleft()
                buf.append(sv)
                return True, v, True, g
            return True, sv, True, g
        if self._buf:
            return True, self._buf.popleft(), True, None
        if self._closed:
            return True, None, False, None
        return False, None, False, None


class SendOp(Generic[T]):
    """"Send ``value`` on ``chan``": await it, or pass it to select().

    ``_used`` is set once it is awaited or passed to select; one collected
    without it was a forgotten ``await`` (nothing was sent) and warns, as a
    never-awaited coroutine does. The C SendOp does it in tp_finalize, at
    no measurable cost; here a ``__del__`` costs a Python call per send
    (+5% on W1, +8% on W2 by instruction count) and even the flag's stores
    cost 1%, so this pure-Python path checks only in Python's development
    mode (``python -X dev``), where both are defined. A RecvOp
    is not checked: ``ch.recv()`` returns one op the channel keeps for
    reuse, so it is never collected on its own.
    """

    __slots__ = ("chan", "value", "_used")

    def __init__(self, chan: Chan[T], value: T) -> None:
        self.chan = chan
        self.value = value

    def __await__(self) -> Generator[Any, Any, None]:
        return _send_await(self)

    if sys.flags.dev_mode:
        # The check (see the class docstring); select sets ``_used`` too.

        def __init__(self, chan: Chan[T], value: T) -> None:
            self.chan = chan
            self.value = value
            self._used = False

        def __await__(self) -> Generator[Any, Any, None]:
            self._used = True
            return _send_await(self)

        def __del__(self) -> None:
            if not self._used:
                self._used = True
                _warn_unused(self)

    def __repr__(self) -> str:
        return f"<send {self.value!r} on {self.chan!r}>"


def _warn_unused(op: Any) -> None:
    import warnings

    # Past this function and __del__: the frame running when the op was
    # dropped, which for the usual mistake (the statement ``ch.send(v)``)
    # is that line.
    warnings.warn(
        f"channel operation {op!r} was never awaited; use 'await ch.send(v)' "
        "or pass it to goroutines.select()",
        RuntimeWarning,
        stacklevel=3,
    )


def _send_await(self: SendOp[Any]) -> Generator[Any, Any, None]:
    # Not a generator: a send that completes at once (a waiting receiver,
    # buffer space) returns an exhausted iterator and costs no frame.
    ch = self.chan
    v = self.value
    try:
        m: M = _tls.m
    except AttributeError:
        raise no_goroutine("a channel send") from None
    if m.p is None:
        preempted(m)
    lock = ch._lock
    lock.acquire()
    if ch._closed:
        lock.release()
        raise _send_closed()
    rq = ch._recvq
    while rq is not None:
        if type(rq) is deque:
            if not rq:
                break
            w = rq.popleft()
        else:
            w = rq
            rq = ch._recvq = None
        if type(w) is G:
            lock.release()
            w.param = v
            ready(w, m)
            return _DONE  # type: ignore[return-value]
        if w[3].acquire(False):
            lock.release()
            g = w[0]
            g.param = (w[1], v, True)
            ready(g, m)
            return _DONE  # type: ignore[return-value]
    if len(ch._buf) < ch._cap:
        ch._buf.append(v)
        lock.release()
        return _DONE  # type: ignore[return-value]
    g = m.curg
    if g is None:
        lock.release()
        raise no_goroutine("a channel send")
    g.param = v
    g.waitreason = WAIT_CHAN_SEND
    g.waitchan = ch
    _enq(ch, True, g)
    return _park_send(lock)


def _closed_result(mode: int) -> Any:
    if mode == 1:
        return None, False
    if mode == 2:
        raise StopAsyncIteration
    return None


class RecvOp(Generic[T]):
    """"Receive from ``chan``". ``with_ok``: 0 the value, 1 a (value, ok)
    pair, 2 the value or StopAsyncIteration (an ``async for`` step)."""

    __slots__ = ("chan", "with_ok")

    def __init__(self, chan: Chan[T], with_ok: int) -> None:
        self.chan = chan
        self.with_ok = with_ok

    def __await__(self) -> Generator[Any, Any, T]:
        return _recv_await(self)

    def __repr__(self) -> str:
        return f"<recv{'_ok' if self.with_ok == 1 else ''} on {self.chan!r}>"


def _recv_await(self: RecvOp[T]) -> Generator[Any, Any, T]:
    ch = self.chan
    try:
        m: M = _tls.m
    except AttributeError:
        raise no_goroutine("a channel receive") from None
    if m.p is None:
        preempted(m)
    lock = ch._lock
    lock.acquire()
    sq = ch._sendq
    while sq is not None:
        if type(sq) is deque:
            if not sq:
                break
            w = sq.popleft()
        else:
            w = sq
            sq = ch._sendq = None
        if type(w) is G:
            sv = w.param
            w.param = None
            g = w
        elif w[3].acquire(False):
            sv = w[2]
            g = w[0]
            g.param = (w[1], None, True)
        else:
            continue
        if ch._cap:
            buf = ch._buf
            v = buf.popleft()
            buf.append(sv)
        else:
            v = sv
        lock.release()
        ready(g, m)
        return (v, True) if self.with_ok == 1 else v  # type: ignore[return-value]
    buf = ch._buf
    if buf:
        v = buf.popleft()
        lock.release()
        return (v, True) if self.with_ok == 1 else v  # type: ignore[return-value]
    if ch._closed:
        lock.release()
        return _closed_result(self.with_ok)
    cg = m.curg
    if cg is None:
        lock.release()
        raise no_goroutine("a channel receive")
    cg.waitreason = WAIT_CHAN_RECEIVE
    cg.waitchan = ch
    _enq(ch, False, cg)
    v = yield lock
    if v is CLOSED:
        return _closed_result(self.with_ok)
    return (v, True) if self.with_ok == 1 else v  # type: ignore[return-value]


if TYPE_CHECKING:

    class RecvOkOp(RecvOp[T]):
        """What ``recv_ok()`` returns, for type checkers: the same RecvOp at
        run time, whose await gives ``(value, ok)``."""

        def __await__(self) -> Generator[Any, Any, tuple[T, bool]]: ...  # type: ignore[override]

else:
    RecvOkOp = RecvOp


if speedups is not None and not TYPE_CHECKING:
    # The C fast paths (_core/_speedups.c): the channel's operations and
    # operation objects come from there; what they cannot do at once (closed
    # channel, select waiters, several waiters, preemption, misuse) they hand
    # to _send_await/_recv_await above, which do the whole operation.
    del Chan.send, Chan.recv, Chan.recv_ok, Chan.__aiter__
    SendOp = speedups.SendOp
    RecvOp = speedups.RecvOp
    RecvOkOp = RecvOp
    speedups.setup_chan(_send_await, _recv_await, _send_closed, Chan)


class _ChanRange:
    """``async for v in ch``: receive until closed and drained (Go's range).

    Its own operation object (mode 2 of RecvOp) ends the loop with
    StopAsyncIteration instead of returning ``(None, False)``.
    """

    __slots__ = ("op",)

    def __init__(self, ch: Chan[Any]) -> None:
        self.op = RecvOp(ch, 2)

    def __aiter__(self) -> _ChanRange:
        return self

    def __anext__(self) -> RecvOp[Any]:
        return self.op


__all__ = ["Chan", "RecvOp", "SendOp"]
