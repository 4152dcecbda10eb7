"""The netpoller: one selector (epoll on Linux) shared by every M.

A goroutine that must wait for a file descriptor registers itself as the
fd's reader or writer and parks (wait reason ``IO wait``); whoever polls
(an idle M blocked in ``poll`` until the next timer, a running M checking
without blocking, sysmon when nobody polled for 10 ms) takes the ready
waiters and makes them runnable. No thread is held by a waiting goroutine.

``Netpoll.lock`` guards ``waiters`` and every change to the selector's
registrations; ``select()`` itself runs without it, so registration from
one thread and a blocking poll on another proceed together (epoll allows
that), and the results are checked against ``waiters`` under the lock, so a
stale or duplicate readiness report wakes nobody. Netpoll.lock is a leaf:
nothing else is taken while it is held (Gs it frees are readied after).

Interest is registered only while a goroutine waits (level-triggered): the
fd's event mask is the union of its waiting reader and writer.

A waiter entry is ``[g, gen]``; exactly one of readiness, the wait's
deadline timer or ``evict`` (fd closed) claims it, under ``lock``, and sets
the G's resume value: READY, TIMEOUT or EVICTED. ``gen`` numbers the
registration; a poll applies its results only to entries registered before
its select() began, so a report that predates a registration (two pollers
seeing the same level-triggered readiness) cannot wake the new waiter.
"""

from __future__ import annotations

import os
import select
import selectors
import threading
import time
from typing import Any

from ._check import RANK_LEAF, checked, locked_by
from ._g import WAIT_IO, G
from ._ready import ready
from ._runctx import current_sched
from ._runctx import tls as _tls
from ._sched import M, Sched, wake_m
from ._schedule import Commit
from ._timer import Timer
from ._traps import current

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE

READY = 0
TIMEOUT = 1
EVICTED = 2


class _Selector:
    """Portable backend: a selectors.DefaultSelector, interest registered
    while someone waits and unregistered when nobody does (level-triggered)."""

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()

    def arm(self, fd: int, mask: int) -> None:
        if fd in self.sel.get_map():
            self.sel.modify(fd, mask, None)
        else:
            self.sel.register(fd, mask, None)

    def disarm(self, fd: int) -> None:
        try:
            self.sel.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    forget = disarm

    def wait(self, timeout: float | None) -> list[tuple[int, int]]:
        return [(key.fd, mask) for key, mask in self.sel.select(timeout)]

    def close(self) -> None:
        self.sel.close()


class _EpollOneShot:
    """Linux backend: epoll with EPOLLONESHOT. An fd is added once and re-armed
    with one epoll_ctl per wait; an event disarms it, so nothing is reported
    while nobody waits and no unregister is needed (the portable backend
    pays an add and a delete per wait)."""

    _IN = select.EPOLLIN | select.EPOLLRDHUP if hasattr(select, "EPOLLRDHUP") else select.EPOLLIN

    def __init__(self) -> None:
        self.ep = select.epoll()
        self.added: set[int] = set()

    def arm(self, fd: int, mask: int) -> None:
        ev = select.EPOLLONESHOT
        if mask & READ:
            ev |= self._IN
        if mask & WRITE:
            ev |= select.EPOLLOUT
        if fd in self.added:
            try:
                self.ep.modify(fd, ev)
                return
            except FileNotFoundError:
                # Closed behind our back and the number reused: add afresh.
                self.added.discard(fd)
        self.ep.register(fd, ev)
        self.added.add(fd)

    def disarm(self, fd: int) -> None:
        """Nobody waits: leave it added (an event would disarm it anyway)."""

    def forget(self, fd: int) -> None:
        if fd in self.added:
            self.added.discard(fd)
            try:
                self.ep.unregister(fd)
            except (OSError, ValueError):
                pass

    def wait(self, timeout: float | None) -> list[tuple[int, int]]:
        out = []
        for fd, ev in self.ep.poll(-1 if timeout is None else timeout):
            mask = 0
            if ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | self._IN):
                mask |= READ
            if ev & (select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR):
                mask |= WRITE
            out.append((fd, mask))
        return out

    def close(self) -> None:
        self.ep.close()


class Netpoll:
    def __init__(self) -> None:
        self.lock = checked(threading.Lock(), "Netpoll.lock", RANK_LEAF)
        self.sel: Any = _EpollOneShot() if hasattr(select, "epoll") else _Selector()
        # fd -> [reader entry or None, writer entry or None]; guarded by lock.
        self.waiters: dict[int, list[Any]] = {}
        self.nwaiters = 0
        self.gen = 0
        # The wake-up pipe (Go's netpollBreak); ``break_pending`` (under
        # lock) keeps at most one byte in it.
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.break_pending = False
        # The wake-up pipe stays level-triggered and armed: registered apart
        # from the backend's per-wait arming.
        if isinstance(self.sel, _EpollOneShot):
            self.sel.ep.register(self.rfd, select.EPOLLIN)
        else:
            self.sel.arm(self.rfd, READ)
        self.closed = False

    # ------------------------------------------------------------------ registration (lock held)

    def _mask(self, slot: list[Any]) -> int:
        return (READ if slot[0] is not None else 0) | (WRITE if slot[1] is not None else 0)

    @locked_by("lock", "Netpoll.lock")
    def _update_locked(self, fd: int, slot: list[Any]) -> None:
        mask = self._mask(slot)
        try:
            if mask == 0:
                self.waiters.pop(fd, None)
                self.sel.disarm(fd)
            else:
                self.sel.arm(fd, mask)
        except (KeyError, ValueError, OSError):
            # The fd was closed under us; evict() or the waiter's own error
            # handling deals with the goroutine.
            if mask == 0:
                return
            raise

    @locked_by("lock", "Netpoll.lock")
    def add_waiter_locked(self, fd: int, mode: int, entry: list[Any]) -> None:
        """Register ``entry`` as the fd's reader (mode READ) or writer."""
        slot = self.waiters.get(fd)
        if slot is None:
            slot = self.waiters[fd] = [None, None]
        i = 0 if mode == READ else 1
        if slot[i] is not None:
            raise RuntimeError(
                f"fd {fd}: two goroutines wait to {'read' if i == 0 else 'write'} it at once; "
                "only one may (as in Go, serialise reads and writes per connection)"
            )
        self.gen += 1
        entry[1] = self.gen
        slot[i] = entry
        self.nwaiters += 1
        try:
            self._update_locked(fd, slot)
        except BaseException:
            # The selector refused the fd (a regular file: EPERM): leave no
            # waiter behind, or deadlock detection would count it forever.
            slot[i] = None
            self.nwaiters -= 1
            if slot[0] is None and slot[1] is None:
                self.waiters.pop(fd, None)
            raise

    @locked_by("lock", "Netpoll.lock")
    def claim_locked(self, fd: int, mode: int, entry: list[Any]) -> bool:
        """Remove ``entry`` if it still waits on (fd, mode); True if we did."""
        slot = self.waiters.get(fd)
        i = 0 if mode == READ else 1
        if slot is None or slot[i] is not entry:
            return False
        slot[i] = None
        self.nwaiters -= 1
        self._update_locked(fd, slot)
        return True

    def evict(self, fd: int) -> list[G]:
        """The fd is being closed: wake its waiters with EVICTED."""
        gs: list[G] = []
        with self.lock:
            slot = self.waiters.pop(fd, None)
            if slot is None:
                return gs
            for e in slot:
                if e is not None:
                    self.nwaiters -= 1
                    e[0].param = EVICTED
                    gs.append(e[0])
            self.sel.forget(fd)
        return gs

    # ------------------------------------------------------------------ polling

    def poll(self, timeout: float | None) -> list[G]:
        """Wait up to ``timeout`` (None: until woken; 0: just look) and
        return the goroutines whose fds are ready, their waits claimed."""
        with self.lock:
            start = self.gen
        try:
            events = self.sel.wait(timeout)
        except (OSError, ValueError):
            if self.closed:
                return []
            raise
        if not events:
            return []
        gs: list[G] = []
        with self.lock:
            for fd, mask in events:
                if fd == self.rfd:
                    # Only a poll that could block drains the wake-up byte:
                    # a quick look (timeout 0) by a running M or sysmon must
                    # not swallow the byte meant for the blocked poller.
                    if timeout != 0:
                        try:
                            os.read(self.rfd, 64)
                        except OSError:
                            pass
                        self.break_pending = False
                    continue
                slot = self.waiters.get(fd)
                if slot is None:
                    continue
                for i, bit in ((0, READ), (1, WRITE)):
                    e = slot[i]
                    # An error or hang-up reports as readable and writable.
                    if e is not None and mask & bit and e[1] <= start:
                        slot[i] = None
                        self.nwaiters -= 1
                        e[0].param = READY
                        gs.append(e[0])
                self._update_locked(fd, slot)
        return gs

    def break_(self) -> None:
        """Wake a thread blocked in poll() (Go's netpollBreak)."""
        with self.lock:
            if self.break_pending or self.closed:
                return
            self.break_pending = True
        try:
            os.write(self.wfd, b"\0")
        except (BlockingIOError, OSError):
            pass

    def close(self) -> list[G]:
        """End of the run: drop every registration; returns waiting Gs."""
        with self.lock:
            self.closed = True
            gs = [e[0] for slot in self.waiters.values() for e in slot if e is not None]
            self.waiters.clear()
            self.nwaiters = 0
        try:
            # Wake a poller still blocked here (an M that could not be
            # joined); its select then fails on the closed selector and
            # returns nothing.
            os.write(self.wfd, b"\0")
        except OSError:
            pass
        try:
            self.sel.close()
        finally:
            os.close(self.rfd)
            os.close(self.wfd)
        return gs


# ---------------------------------------------------------------------- the goroutine side


def _io_timeout(arg: Any, seq: int) -> None:
    """A wait's deadline timer fired: time the wait out unless it is done."""
    np, fd, mode, entry = arg
    with np.lock:
        claimed = np.claim_locked(fd, mode, entry)
    if claimed:
        g = entry[0]
        g.param = TIMEOUT
        ready(g, getattr(_tls, "m", None))
        _drained(np, current_sched())


def _drained(np: Netpoll, sched: Sched | None) -> None:
    """Waits were just ended by someone other than the poller (a deadline,
    a close): wake a poller left blocked in the netpoller for nothing (see
    Sched.netpoll_drained_locked). ``nwaiters`` is read without the lock:
    our own decrement is seen, and whoever ends the last wait after us
    looks again."""
    if sched is None or np.nwaiters:
        return
    with sched.lock:
        pm = sched.netpoll_drained_locked()
    wake_m(pm)


def get_netpoll(sched: Sched) -> Netpoll:
    """``sched``'s netpoller, made on first use (Sched.netpoll, under Sched.lock)."""
    np = sched.netpoll
    if np is None:
        with sched.lock:
            np = sched.netpoll
            if np is None:
                if sched.stopping:
                    raise RuntimeError("the goroutines runtime is stopping")
                np = sched.netpoll = Netpoll()
    return np


class WaitFD:
    """``await WaitFD(fd, READ|WRITE, timeout)``: park until the fd is ready.

    Resumes with READY, TIMEOUT (``timeout`` real seconds passed, also in
    a synctest bubble) or EVICTED
    (the fd was closed through evict_fd). The G registers under
    Netpoll.lock and parks with a commit that releases it, then arms the
    deadline timer and, if the poller is waiting for timers only, wakes it
    so that it polls the network instead.
    """

    __slots__ = ("fd", "mode", "timeout")

    def __init__(self, fd: int, mode: int, timeout: float | None) -> None:
        self.fd = fd
        self.mode = mode
        self.timeout = timeout

    def __await__(self) -> Any:
        m = current("waiting for a file descriptor")
        g = m.curg
        sched = m.sched
        np = get_netpoll(sched)
        fd = self.fd
        mode = self.mode
        timeout = self.timeout
        if timeout is not None and timeout <= 0:
            return TIMEOUT
        entry: list[Any] = [g, None]
        # A real-time timer: I/O happens in real time, so its deadline is on
        # time.monotonic() even in a synctest bubble, whose fake clock
        # stands still while a goroutine awaits I/O (see _timer.Timer).
        t = Timer(sched, _io_timeout, (np, fd, mode, entry), real=True) if timeout is not None else None
        deadline = time.monotonic() + timeout if timeout is not None else 0.0
        lk = np.lock
        lk.acquire()
        try:
            np.add_waiter_locked(fd, mode, entry)
        except BaseException:
            lk.release()
            raise

        def commit(m2: M, g2: G) -> None:
            lk.release()
            with sched.lock:
                pm = t.start_locked(deadline) if t is not None else None
                if pm is None and sched.poller is not None and not sched.poller.inpoll:
                    pm = sched.take_poller_locked()
            wake_m(pm)

        r = yield Commit(commit, WAIT_IO)
        if t is not None and r != TIMEOUT:
            t.stop()
        return r


def evict_fd(fd: int) -> None:
    """Wake every goroutine waiting on ``fd`` with EVICTED (it is closing)."""
    m = getattr(_tls, "m", None)
    sched = current_sched()
    np = sched.netpoll if sched is not None else None
    if np is None:
        return
    gs = np.evict(fd)
    for g in gs:
        ready(g, m)
    if gs:
        _drained(np, sched)
