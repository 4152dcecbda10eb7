"""The thread boundary: channel operations that block a plain thread.

``ch.send_blocking(v)``, ``ch.recv_blocking()`` and ``select_blocking(...)``
are select (``_select.selectgo``) run by a plain thread: the same lock
order, the same random choice, and on the same wait queues as the
goroutines' waiters, so a thread and goroutines are served first-come,
first-served together. A plain send or receive is a one-case select.

A thread that must wait queues a select waiter ``(waiter, case, value,
token)`` on every case's channel, whose first element is a
:class:`ThreadWaiter` instead of a G. The waker that claims the token (Go's
selectDone) leaves the result in ``waiter.param`` and calls ``ready()``,
which, for a waiter that is not a G, calls ``wake()``: it releases the lock
the thread is blocked on. A timeout is the thread claiming its own token:
if it wins, no waker can complete the operation, so nothing was sent or
taken, and it takes its waiters off the queues; if it loses, a waker has
completed it and is about to wake the thread, which waits for that and
returns the result.

Deadlock detection counts plain threads by the rule in ``_core/_plain.py``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

from ._chan import Chan, RecvOp, SendOp, register_blocking
from ._core import SYSCALL, _tls, current_sched, enter_blocking, leave_blocking
from ._select import Select, select, selectgo


class ThreadWaiter:
    """A plain thread waiting in channel queues (where a G would be).

    ``lock`` is held from creation; the one waker that claimed the select
    token sets ``param`` (``(case, value, ok)``, as for a select) and then
    releases it (``wake``). ``waitreason``/``waitchan`` are written by
    selectgo as for a G, under the channels' locks; ``waitchan`` is how a
    timed-out thread finds its queue entries.
    """

    __slots__ = ("param", "lock", "waitreason", "waitchan")

    def __init__(self) -> None:
        self.param: Any = None
        self.lock = threading.Lock()
        self.lock.acquire()
        self.waitreason = ""
        self.waitchan: Any = None

    def wake(self) -> None:
        self.lock.release()

    def __repr__(self) -> str:
        return f"<plain thread waiter {self.waitreason!r}>"


def _check_timeout(timeout: Any, who: str) -> float:
    """-1.0 for None (wait forever), else the timeout in seconds."""
    if timeout is None:
        return -1.0
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{who}: timeout must be a number of seconds or None, not {type(timeout).__name__} ({timeout!r})")
    t = float(timeout)
    if math.isnan(t) or t < 0:
        raise ValueError(f"{who}: timeout must be a non-negative number of seconds or None, not {timeout!r}")
    return min(t, threading.TIMEOUT_MAX)


def _not_in_goroutine(who: str, instead: str) -> None:
    m = getattr(_tls, "m", None)
    if m is None:
        return
    g = m.curg
    if g is not None and g.status != SYSCALL:
        # Inside gr.syscall the goroutine's P has been handed off: blocking
        # its thread there is what syscall is for.
        raise RuntimeError(
            f"{who} would block this goroutine's thread; inside a goroutine use {instead}"
        )


def _block(sel: Select, timeout: float, what: str) -> tuple[int, Any, bool]:
    """Perform a select from a plain thread (see the module docstring)."""
    sched = current_sched()
    plain = sched.plain if sched is not None else None
    me = enter_blocking(plain)
    ops = sel.ops
    active = sel.active
    try:
        if not active:
            if sel.default:
                return -1, None, False
            # select {} on a thread: nothing can ever wake it.
            threading.Event().wait(None if timeout < 0 else timeout)
            raise TimeoutError(f"{what}: timed out after {timeout:g} s (no cases can proceed)")
        w = ThreadWaiter()
        gen = selectgo(sel, w)
        try:
            locks = gen.send(None)
        except StopIteration as e:
            return e.value
        for lk in locks:
            lk.release()
        try:
            woken = w.lock.acquire(True, timeout)
        except BaseException:
            # Interrupted (KeyboardInterrupt): give up the operation unless
            # a waker already completed it.
            if _cancel(w):
                gen.close()
            else:
                w.lock.acquire()
            raise
        if not woken:
            if _cancel(w):
                gen.close()
                raise TimeoutError(f"{what}: timed out after {timeout:g} s; {_nothing(ops, active)}")
            w.lock.acquire()  # lost the race: a waker completed it, and wakes us now
        try:
            gen.send(w.param)
        except StopIteration as e:
            return e.value
        raise AssertionError("selectgo yielded twice")  # pragma: no cover
    finally:
        # The run now (one may have started while we waited, and woken us).
        sched = current_sched()
        leave_blocking(me, sched.plain if sched is not None else None)


def _cancel(w: ThreadWaiter) -> bool:
    """Claim our own token: True if no waker had, then leave every queue."""
    entries = w.waitchan
    if not entries[0][1][3].acquire(False):
        return False
    for ch, entry in entries:
        ch._forget(entry)  # drop it now: it holds the value to send
    return True


def _nothing(ops: tuple[Any, ...], active: Sequence[int]) -> str:
    if len(active) == 1:
        return "the value was not sent" if type(ops[active[0]]) is SendOp else "nothing was received"
    return "no case proceeded"


def send_blocking(ch: Chan[Any], value: Any, timeout: float | None = None) -> None:
    t = _check_timeout(timeout, "send_blocking")
    _not_in_goroutine("send_blocking()", "'await ch.send(v)'")
    op = ch.send(value)
    op._used = True  # performed here: not a forgotten await (see _chan.SendOp)
    _block(Select((op,), [0], False), t, "send_blocking")


def recv_blocking(ch: Chan[Any], timeout: float | None = None) -> tuple[Any, bool]:
    t = _check_timeout(timeout, "recv_blocking")
    _not_in_goroutine("recv_blocking()", "'await ch.recv_ok()' (or 'await ch.recv()')")
    _, v, ok = _block(Select((ch.recv_ok(),), [0], False), t, "recv_blocking")
    return v, ok


def select_blocking(
    *ops: SendOp[Any] | RecvOp[Any] | None, default: bool = False, timeout: float | None = None
) -> tuple[int, Any, bool]:
    """``select`` for a plain thread: ``i, v, ok = select_blocking(...)``.

    The same cases and result as ``await gr.select(...)``; blocks the
    calling thread, at most ``timeout`` seconds (then TimeoutError, no case
    having proceeded).
    """
    sel = select(*ops, default=default)  # checks the cases as select does
    t = _check_timeout(timeout, "select_blocking")
    _not_in_goroutine("select_blocking()", "'await gr.select(...)'")
    return _block(sel, t, "select_blocking")


register_blocking(send_blocking, recv_blocking)

__all__ = ["ThreadWaiter", "recv_blocking", "select_blocking", "send_blocking"]
