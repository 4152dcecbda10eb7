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

Descriptors the runtime owns (goroutines.net's sockets) have a
:class:`PollDesc` instead (Go's pollDesc): on Linux the fd is registered
once, edge-triggered, the first time one of its goroutines must wait, and
stays registered until :meth:`Netpoll.forget_pd`. Each direction holds
None, PD_READY (an edge came while nobody waited: the next wait returns at
once, so an edge between a read's EAGAIN and its park is not lost) or the
waiting goroutine's entry ``[g, deadline]``. No system call is made per
wait. A deadline is a per-direction runtime timer, armed lazily: a wait
arms it only when it is not pending or pending later than the wait's
deadline; a wait that ends leaves it pending (outside a synctest bubble),
and when it fires it times the waiter out, re-arms itself for a waiter
whose deadline is later, or, with nobody waiting, stays off. A server that
moves a connection's deadline at every request so costs one timer
operation per deadline period, not two per wait (Go's pollSetDeadline
also keeps one timer per fd).
"""

from __future__ import annotations

import os
import select
import selectors
import threading
import time
import weakref
from typing import Any

from ._check import RANK_LEAF, checked, locked_by
from ._g import WAIT_IO, G
from ._ready import inject, ready
from ._runctx import current_sched
from ._runctx import tls as _tls
from ._sched import M, Sched, wake_m
from ._schedule import Commit
from ._timer import Timer
from ._traps import current, gosched

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE
# (index, event bit) of each direction: the index into PollDesc.dirs, .edges, .timers.
DIRECTIONS = ((0, READ), (1, WRITE))

READY = 0
TIMEOUT = 1
EVICTED = 2


class _Selector:
    """Portable backend: a selectors.DefaultSelector, interest registered
    while someone waits and unregistered when nobody does (level-triggered)."""

    # A registration made while another thread is blocked in wait() is not
    # seen by that wait (poll(2) and select(2) take their set on entry):
    # whoever registers wakes the poller (Netpoll.break_) to look again.
    live = False

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        # One wait at a time (select.poll objects refuse concurrent polls):
        # a quick look while another thread waits finds nothing (that one
        # reports), a blocking wait takes its turn.
        self.busy = threading.Lock()

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

    # No edge-triggered mode: a PollDesc's fd is armed while a goroutine waits,
    # like any other (see Netpoll._pd_update_locked).
    edge = False

    def wait(self, timeout: float | None) -> list[tuple[int, int]]:
        if not self.busy.acquire(timeout != 0):
            return []
        try:
            return [(key.fd, mask) for key, mask in self.sel.select(timeout)]
        finally:
            self.busy.release()

    def close(self) -> None:
        self.sel.close()


class _EpollOneShot:
    """Linux backend: epoll with EPOLLONESHOT. An fd is added once and re-armed
    with one epoll_ctl per wait; an event disarms it, so nothing is reported
    while nobody waits and no unregister is needed (the portable backend
    pays an add and a delete per wait)."""

    _IN = select.EPOLLIN | select.EPOLLRDHUP if hasattr(select, "EPOLLRDHUP") else select.EPOLLIN
    live = True  # a registration is seen by an epoll_wait already in progress

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

    # Edge-triggered registration of a PollDesc's fd: added once, events
    # widened (EPOLLOUT added when a writer first waits) by a modify, which
    # reports the current readiness at once, as the add does.
    edge = True

    def add_edge(self, fd: int, mask: int) -> None:
        ev = select.EPOLLET | (self._IN if mask & READ else 0) | (select.EPOLLOUT if mask & WRITE else 0)
        try:
            self.ep.register(fd, ev)
        except FileExistsError:
            # Still registered under an earlier owner of this fd number (a
            # socket closed behind our back whose file lives on in a dup).
            self.ep.modify(fd, ev)
        self.added.discard(fd)

    def forget_edge(self, fd: int) -> None:
        try:
            self.ep.unregister(fd)
        except (OSError, ValueError):
            pass

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


# A PollDesc direction's state when an edge came while nobody waited.
PD_READY: Any = "PD_READY"
INF = float("inf")


class PollDesc:
    """The netpoller's state for one fd the runtime owns (Go's pollDesc).

    ``dirs[i]`` (direction i: 0 read, 1 write; guarded by Netpoll.lock): None, PD_READY, or the waiting
    goroutine's entry ``[g, deadline]`` (deadline: a time.monotonic() value,
    INF for none). ``mask`` (Netpoll.lock): the directions registered with
    the backend so far (edge-triggered) or armed now (level-triggered).
    ``closing`` (Netpoll.lock): forget_pd ran; a wait returns EVICTED.
    ``timers`` (immutable once made, made under Netpoll.lock): the
    direction's deadline timer, or None until a wait with a deadline.
    ``owner``: a weak reference to the owning socket (immutable).
    """

    __slots__ = ("fd", "dirs", "edges", "mask", "closing", "timers", "owner")

    def __init__(self, fd: int, owner: Any) -> None:
        self.fd = fd
        # A weak reference to the socket that owns the fd: a PollDesc whose
        # socket was collected unclosed is stale (its fd number may be reused).
        self.owner = weakref.ref(owner)
        # Per direction (index 0 read, 1 write, as ``timers``).
        self.dirs: list[Any] = [None, None]
        # Edges harvested per direction (written under Netpoll.lock, read
        # without it: an int load is atomic). A reader that snapshots one
        # before a call that then finds the fd empty (EAGAIN, or a short
        # stream read) knows a PD_READY harvested no later than the snapshot
        # is stale: that edge's data was there for the call to take.
        self.edges = [0, 0]
        self.mask = 0
        self.closing = False
        self.timers: list[Timer | None] = [None, None]


class Netpoll:
    def __init__(self) -> None:
        self.lock = checked(threading.Lock(), "Netpoll.lock", RANK_LEAF)
        self.sel: Any = _EpollOneShot() if hasattr(select, "epoll") else _Selector()
        # fd -> [reader entry or None, writer entry or None]; guarded by lock.
        self.waiters: dict[int, list[Any]] = {}
        # fd -> PollDesc of the fds the runtime owns; guarded by lock.
        self.pds: dict[int, PollDesc] = {}
        self.edge: bool = self.sel.edge
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
            pd = self.pds.get(fd)
            if pd is not None:
                self._pd_wake_locked(pd, EVICTED, gs)
                return gs
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

    # ------------------------------------------------------------------ PollDescs

    def open_pd(self, fd: int, owner: Any) -> PollDesc:
        """A PollDesc for ``fd``, which ``owner`` owns until forget_pd."""
        pd = PollDesc(fd, owner)
        gs: list[G] = []
        with self.lock:
            old = self.pds.get(fd)
            if old is not None:
                # A socket closed without forget_pd left its fd number
                # behind (collected unclosed, or its socket closed behind
                # our back): whoever still waits there is told.
                old.closing = True
                self._pd_wake_locked(old, EVICTED, gs)
            self.pds[fd] = pd
        _ready_all(self, gs)
        return pd

    def drop_stale_pd(self, pd: PollDesc) -> None:
        """``pd``'s socket was collected without close(): forget its fd number."""
        gs: list[G] = []
        with self.lock:
            if self.pds.get(pd.fd) is pd:
                del self.pds[pd.fd]
                pd.closing = True
                self._pd_wake_locked(pd, EVICTED, gs)
        _ready_all(self, gs)

    @locked_by("lock", "Netpoll.lock")
    def _pd_wake_locked(self, pd: PollDesc, why: int, gs: list[G]) -> None:
        """End both directions' waits with ``why`` (appending their Gs to ``gs``)."""
        for i in (0, 1):
            e = pd.dirs[i]
            if type(e) is list:
                pd.dirs[i] = None
                self.nwaiters -= 1
                e[0].param = why
                gs.append(e[0])
        if not self.edge:
            self._pd_update_locked(pd)

    @locked_by("lock", "Netpoll.lock")
    def _pd_update_locked(self, pd: PollDesc) -> None:
        """Level-triggered backend: arm the fd for the directions waited on now."""
        mask = (READ if type(pd.dirs[0]) is list else 0) | (WRITE if type(pd.dirs[1]) is list else 0)
        if mask == pd.mask:
            return
        pd.mask = mask
        try:
            if mask:
                self.sel.arm(pd.fd, mask)
            else:
                self.sel.disarm(pd.fd)
        except (KeyError, ValueError, OSError):
            if mask:
                pd.mask = 0
                raise

    def forget_pd(self, pd: PollDesc) -> list[G]:
        """The fd is closing: wake its waiters (EVICTED), unregister it,
        stop its deadline timers. Later waits on ``pd`` return EVICTED."""
        gs: list[G] = []
        with self.lock:
            if pd.closing:
                return gs
            pd.closing = True
            self._pd_wake_locked(pd, EVICTED, gs)
            if self.pds.get(pd.fd) is pd:
                del self.pds[pd.fd]
                if self.edge:
                    if pd.mask:
                        self.sel.forget_edge(pd.fd)
                elif pd.mask:
                    self.sel.disarm(pd.fd)
            pd.mask = 0
        for t in pd.timers:
            if t is not None:
                t.stop()
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
                pd = self.pds.get(fd)
                if pd is not None:
                    # Edge-triggered: wake the direction's waiter, or leave
                    # PD_READY for its next wait. Level-triggered (armed only
                    # while someone waits): wake the waiter; a report with
                    # nobody waiting means nothing (the next wait re-arms and
                    # is told at once if the fd is still ready). An error or
                    # hang-up reports as both directions.
                    left = PD_READY if self.edge else None
                    for i, bit in DIRECTIONS:
                        if mask & bit:
                            e = pd.dirs[i]
                            if type(e) is list:
                                self.nwaiters -= 1
                                e[0].param = READY
                                gs.append(e[0])
                            pd.dirs[i] = left
                            pd.edges[i] += 1
                    if not self.edge:
                        self._pd_update_locked(pd)
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
            gs += [e[0] for pd in self.pds.values() for e in pd.dirs if type(e) is list]
            self.waiters.clear()
            self.pds.clear()
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


class _NoSeq:
    _seq = 0


_NO_SEQ = _NoSeq()


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
        pd = np.pds.get(fd)  # a dict read: atomic
        if pd is not None and pd.owner() is None:
            np.drop_stale_pd(pd)
            pd = None
        if pd is not None:
            # An fd of goroutines.net (wait_readable(conn)): its edge-triggered
            # registration serves this wait too.
            dl = time.monotonic() + timeout if timeout is not None else INF
            r = yield from WaitPD(pd, 0 if mode == READ else 1, dl, _NO_SEQ, 0).__await__()
            return r
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
            if not np.sel.live and sched.netpollm is not None:
                np.break_()  # the blocked poller must take the new set
            with sched.lock:
                pm = t.start_locked(deadline) if t is not None else None
                if pm is None and sched.poller is not None and not sched.poller.inpoll:
                    pm = sched.take_poller_locked()
            wake_m(pm)

        r = yield Commit(commit, WAIT_IO)
        if t is not None and r != TIMEOUT:
            t.stop()
        return r


def _pd_timeout(arg: Any, seq: int) -> None:
    """A PollDesc's deadline timer fired: time its waiter out if its
    deadline passed, re-arm for a waiter whose deadline is later, or (nobody
    waiting) stay off until a wait arms it again."""
    np, pd, i = arg
    now = time.monotonic()
    g = None
    later = INF
    with np.lock:
        e = pd.dirs[i]
        if type(e) is list:
            if e[1] <= now:
                pd.dirs[i] = None
                np.nwaiters -= 1
                g = e[0]
                g.param = TIMEOUT
                if not np.edge:
                    np._pd_update_locked(pd)
            else:
                later = e[1]
    if g is not None:
        ready(g, getattr(_tls, "m", None))
        _drained(np, current_sched())
    elif later != INF:
        t = pd.timers[i]
        assert t is not None
        sched = t.sched
        with sched.lock:
            pm = t.start_locked(later) if not t.pending or t.when > later else None
        wake_m(pm)


def _pd_timer(np: Netpoll, sched: Sched, pd: PollDesc, i: int) -> Timer:
    t = pd.timers[i]
    if t is None:
        with np.lock:
            t = pd.timers[i]
            if t is None:
                # Real time: I/O meets its deadline in real time, also in a
                # synctest bubble (see WaitFD).
                t = pd.timers[i] = Timer(sched, _pd_timeout, (np, pd, i), real=True)
    return t


class WaitPD:
    """``await WaitPD(pd, i, deadline, owner, seq, edges)``: park until the PollDesc's
    direction ``i`` (0 read, 1 write) is ready; the wait of goroutines.net.

    Returns READY at once if an edge came since the last wait (PD_READY)
    and after ``edges`` (the direction's edge count the caller read before
    the call that found the fd empty; -1: unknown),
    EVICTED at once if the fd is closing or ``owner._seq`` moved from
    ``seq`` (a close or an earlier deadline: checked under Netpoll.lock
    after registering, which orders it after any eviction that missed this
    wait; see goroutines._net._socket), TIMEOUT once time.monotonic()
    passes ``deadline`` (INF: none). Otherwise it parks (``IO wait``)
    counted in Netpoll.nwaiters, with no system call on an edge-triggered
    backend, and the deadline timer is armed only if it is not already
    pending at or before ``deadline`` (see the module docstring).
    """

    __slots__ = ("pd", "i", "deadline", "owner", "seq", "edges")

    def __init__(self, pd: PollDesc, i: int, deadline: float, owner: Any, seq: int, edges: int = -1) -> None:
        self.pd = pd
        self.i = i
        self.deadline = deadline
        self.owner = owner
        self.seq = seq
        self.edges = edges

    def __await__(self) -> Any:
        m = current("waiting for a file descriptor")
        g = m.curg
        sched = m.sched
        np = sched.netpoll
        if np is None:
            np = get_netpoll(sched)
        pd = self.pd
        i = self.i
        deadline = self.deadline
        t = _pd_timer(np, sched, pd, i) if deadline != INF else None
        lk = np.lock
        lk.acquire()
        cur = pd.dirs[i]
        if cur is PD_READY and self.edges == pd.edges[i]:
            cur = None  # stale: that edge's data was there for the caller's call
        if cur is not None or pd.closing or self.owner._seq != self.seq:
            if cur is PD_READY:
                pd.dirs[i] = None
                lk.release()
                return READY
            lk.release()
            if cur is not None and not pd.closing:
                raise RuntimeError(
                    f"fd {pd.fd}: two goroutines wait to {'read' if i == 0 else 'write'} it at once; "
                    "only one may (as in Go, serialise reads and writes per connection)"
                )
            return EVICTED
        entry = [g, deadline]
        bit = READ if i == 0 else WRITE
        try:
            pd.dirs[i] = entry
            np.nwaiters += 1
            if np.edge:
                if not pd.mask & bit:
                    # First wait in this direction: register (the add or
                    # modify reports readiness there already, as an edge).
                    np.sel.add_edge(pd.fd, pd.mask | bit)
                    pd.mask |= bit
            else:
                np._pd_update_locked(pd)
        except BaseException:
            pd.dirs[i] = None
            np.nwaiters -= 1
            lk.release()
            raise

        def commit(m2: M, g2: G) -> None:
            lk.release()
            if not np.edge and sched.netpollm is not None:
                np.break_()  # the blocked poller must take the new set
            pm = None
            # Arm the deadline unless it is pending at or before ours. The
            # unlocked look is safe: seeing it pending means it had not
            # fired when we registered (that is ordered by Netpoll.lock with
            # _pd_timeout's look at the waiter), so its firing sees this
            # wait and re-arms for it; it only ever moves earlier while
            # pending.
            if t is not None and not (t.pending and t.when <= deadline):
                with sched.lock:
                    if not t.pending or t.when > deadline:
                        pm = t.start_locked(deadline)
            if pm is None:
                poller = sched.poller
                if poller is not None and not poller.inpoll:
                    # The poller waits for timers only: make it poll the network.
                    with sched.lock:
                        if sched.poller is not None and not sched.poller.inpoll:
                            pm = sched.take_poller_locked()
            wake_m(pm)

        r = yield Commit(commit, WAIT_IO)
        if t is not None and r != TIMEOUT and t.heap is not sched.timers:
            # In a synctest bubble a pending real-time timer keeps the fake
            # clock still (Sched.checkdead_locked): none may outlive its wait.
            t.stop()
        return r


async def yield_to_network() -> None:
    """Let the goroutines whose fds are ready run before this one goes on:
    look at the network once (without blocking) and go to the back of the
    run queue. The fairness trip of goroutines.net: an edge-triggered fd
    that is already readable reports nothing more, so parking on it would
    not return."""
    m = current("goroutines.net")
    sched = m.sched
    np = sched.netpoll
    if np is not None and np.nwaiters:
        sched.lastpoll = time.monotonic()
        gs = np.poll(0)
        if gs:
            inject(sched, gs)
    await gosched()


def close_pd(np: Netpoll, pd: PollDesc) -> None:
    """The owner of ``pd`` is closing its fd: wake its waiters with EVICTED
    and unregister it (Netpoll.forget_pd)."""
    _ready_all(np, np.forget_pd(pd))


def _ready_all(np: Netpoll, gs: list[G]) -> None:
    """Ready Gs whose waits were just ended (EVICTED) by someone other than the poller."""
    if gs:
        m = getattr(_tls, "m", None)
        for g in gs:
            ready(g, m)
        _drained(np, current_sched())


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
