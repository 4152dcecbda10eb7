"""Sched: the one global scheduler structure, its P and M records.

Lock order (a thread holding a lock may only take locks later in the list):

    1. channel locks, in id() order (select takes several)
    2. sync primitive locks (Mutex, WaitGroup, ...), one at a time
    3. Sched.lock
    4. Netpoll.lock (a leaf: nothing is taken while it is held)
    5. M.note (never held: released/acquired as a wake-up, see M)

Nothing ever takes a channel lock while holding Sched.lock.

What Sched.lock guards: runq, pidle, midle, poller, allm, mcount, allgs,
goidgen, gfree, timers, netpoll registration counts, nexternal, aio, atstop,
stopping/stopped and the outcome fields, every P's ``m`` and ``status``, every M's ``p`` and ``nextp``
*writes* (an M reads its own ``p`` without the lock: see M).

Invariants (checked by ``check_invariants`` in the tests):
  * a P is either on ``pidle`` (p.m is None) or owned by exactly one M
    (p.m.p is p), or dead (gomaxprocs shrank; on no list).
  * an M is running (holds a P), in a blocking call (no P, not idle), on
    ``midle`` (parked, no P), the ``poller`` (parked with a timeout for the
    earliest timer, no P) or exiting.
  * ``len(midle)`` Ms are idle, plus the poller while it waits only for a
    timer; a poller blocked in the netpoller counts as running, as in Go
    (it will make goroutines runnable when their I/O is ready). Every other
    live M could still make a goroutine runnable, so deadlock is declared
    only by the last M to go idle, with the run queue empty, no live timer
    and no I/O awaited (``checkdead``).

Waking a parked M: whoever takes it off ``midle`` or ``poller`` (under the
lock) wakes it exactly once with wake_m(): by releasing its note, or, for a
poller blocked in the netpoller (``M.inpoll``, decided under the lock as
``M.wake_break``), by writing to the netpoller's wake-up pipe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ._cext import new_lock
from ._g import RUNNABLE, G
from ._plain import PlainThreads
from ._timers import TimerHeap

if TYPE_CHECKING:
    from ._proc import M

# P statuses.
P_IDLE = 0
P_RUNNING = 1
P_DEAD = 2


class P:
    """The right to run goroutine code (one of GOMAXPROCS).

    ``runnext`` holds the G that runs next on this P (a goroutine woken by
    a channel operation, or just started by ``go``), so a woken partner runs
    at once and inherits the time slice. It is a deque because several
    threads touch it and deque's append/pop/popleft/remove are documented
    thread-safe: the owning M pops, the M running a G appends (possibly a
    moment after the P was retaken, see ready()), sysmon and handoff drain it.
    It normally holds at most one G; a displaced G goes to the global queue.

    ``schedtick`` counts Gs started on this P; written by the owner M without
    a lock and read racily by sysmon, which only needs to see it change.
    """

    __slots__ = ("id", "runnext", "m", "status", "schedtick", "sysmon_tick", "sysmon_when", "sysmon_where")

    def __init__(self, pid: int) -> None:
        self.id = pid
        self.runnext: deque[G] = deque()
        self.m: M | None = None
        self.status = P_IDLE
        self.schedtick = 0
        self.sysmon_tick = -1
        self.sysmon_when = 0.0
        self.sysmon_where: tuple[int, int] | None = None


class Outcome:
    """How a run ended; written once under Sched.lock by stop_locked()."""

    __slots__ = ("result", "exc", "deadlock")

    def __init__(self) -> None:
        self.result: Any = None
        self.exc: BaseException | None = None
        self.deadlock: str | None = None


class Sched:
    """The global scheduler state of one ``run``. See the module docstring."""

    # Slots: the C fast paths (_speedups.c) read ``trace``, ``stopping`` and
    # ``coarse_now`` by offset on every goroutine switch.
    __slots__ = (
        "aio",
        "allgs",
        "allm",
        "allp",
        "atstop",
        "coarse_now",
        "done",
        "gfree",
        "goidgen",
        "gomaxprocs",
        "lastpoll",
        "lock",
        "max_threads",
        "mcount",
        "midle",
        "netpoll",
        "nexternal",
        "npolling",
        "outcome",
        "pidle",
        "plain",
        "poller",
        "runq",
        "started",
        "stopping",
        "sysmon_note",
        "sysmon_thread",
        "timers",
        "trace",
    )

    def __init__(self, gomaxprocs: int, max_threads: int) -> None:
        self.lock = new_lock()
        # -- guarded by lock --
        # The global run queue. Besides Gs it may hold an M: a placeholder
        # for a goroutine that lost its P (sysmon retook it) and has since
        # entered the runtime; the M waits, holding its G, and whoever pops
        # the placeholder hands it a P (see _proc.preempted). So a preempted
        # goroutine queues behind the runnable ones, as Go's does.
        self.runq: deque[Any] = deque()
        self.gomaxprocs = gomaxprocs
        self.allp: list[P] = [P(i) for i in range(gomaxprocs)]
        self.pidle: list[P] = list(reversed(self.allp))
        self.allm: list[M] = []
        self.midle: list[M] = []

        self.poller: M | None = None
        self.mcount = 0
        self.max_threads = max_threads
        self.allgs: dict[int, G] = {}
        self.goidgen = 0
        self.gfree: list[G] = []
        self.timers = TimerHeap()
        # The netpoller, made on first use (guarded by lock; see _netpoll.py).
        self.netpoll: Any = None
        self.lastpoll = 0.0
        # Threads that are not Ms (sysmon) inside a non-blocking poll: they
        # may hold claimed I/O waiters not yet queued, so checkdead waits.
        self.npolling = 0
        # The plain threads' part of deadlock detection (see _plain.py).
        self.plain = PlainThreads()
        # Goroutines parked until something outside the runtime completes
        # (an asyncio task, a concurrent.futures.Future): some other thread
        # will ready them, so they are not deadlocked (see ready_external).
        self.nexternal = 0
        # The run's asyncio loop thread, made on first gr.aio (_aio.py).
        self.aio: Any = None
        # Called (no lock held) by run() as it ends, after the Ms have
        # stopped and before abandoned goroutines are closed.
        self.atstop: list[Any] = []
        # The execution tracer while one records (see _trace.py); read
        # without the lock at every event point, set under it.
        self.trace: Any = None
        self.stopping = False
        self.outcome = Outcome()
        # Released exactly once, by stop_locked(); run() waits on it.
        self.done = threading.Lock()
        self.done.acquire()
        # -- written without a lock (hints) --
        # A coarse clock, refreshed by sysmon and by Ms as they go idle; used
        # for wait durations shown in dumps, where minutes matter.
        self.coarse_now = time.monotonic()
        self.started = self.coarse_now
        # The sysmon thread and its wake-up (released to stop it).
        self.sysmon_note = threading.Lock()
        self.sysmon_note.acquire()
        self.sysmon_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ run queue

    # ------------------------------------------------------------------ timers

    def addtimer_locked(self, t: Any, when: float) -> M | None:
        """Arm ``t``; returns the poller to wake when it is now the earliest.

        The woken poller goes round findrunnable again and waits for the new
        earliest timer. With no poller, a running M sees the timer at its
        next fairness pick or when it goes idle, and sysmon wakes an M for a
        timer that falls due while every M is busy.
        """
        if self.timers.add(t, when) and self.poller is not None:
            return self.take_poller_locked()
        return None

    def take_poller_locked(self) -> M:
        """Take the poller off its post; the caller wakes it with wake_m()."""
        m = self.poller
        assert m is not None
        self.poller = None
        m.wake_break = m.inpoll
        return m

    def get_netpoll(self) -> Any:
        """The netpoller, made on first use."""
        np = self.netpoll
        if np is None:
            from ._netpoll import Netpoll

            with self.lock:
                np = self.netpoll
                if np is None:
                    if self.stopping:
                        raise RuntimeError("the goroutines runtime is stopping")
                    np = self.netpoll = Netpoll()
        return np

    def io_waiters(self) -> int:
        np = self.netpoll
        return np.nwaiters if np is not None else 0

    # ------------------------------------------------------------------ goroutine ids and records

    def newg_locked(self) -> G:
        """A G record for a new goroutine: reused from gfree when possible."""
        g = self.gfree.pop() if self.gfree else G()
        self.goidgen += 1
        g.id = self.goidgen
        self.allgs[g.id] = g
        return g

    def num_goroutine(self) -> int:
        with self.lock:
            return len(self.allgs)

    # ------------------------------------------------------------------ Ms and Ps

    def wakep_locked(self) -> M | None:
        """Give an idle P to an M if there is one; that M must then be woken.

        Returns the M to wake (via :func:`wake_m`, after releasing
        Sched.lock), or None when no P is idle or no M can be had.
        """
        if not self.pidle or self.stopping:
            return None
        return self.startm_locked(self.pidle.pop())

    def startm_locked(self, p: P) -> M | None:
        """Hand ``p`` to an idle M, or to a new one. Sched.lock held.

        Returns the M, which the caller wakes or starts with wake_m() once it
        has released Sched.lock. When the thread limit is reached the P goes
        back to pidle and the run stops with an error.
        """
        if self.midle:
            m = self.midle.pop()
        elif self.poller is not None:
            m = self.take_poller_locked()
        else:
            if self.mcount >= self.max_threads:
                self.pidle.append(p)
                self.stop_locked(
                    exc=RuntimeError(
                        f"goroutines: program exceeds {self.max_threads}-thread limit "
                        "(too many goroutines blocked in system calls at once); "
                        "raise it with goroutines.set_max_threads(n)"
                    )
                )
                return None
            from ._proc import M

            m = M(self, len(self.allm))
            self.allm.append(m)
            self.mcount += 1
        p.m = m
        p.status = P_RUNNING
        m.nextp = p
        return m

    def handoffp_locked(self, p: P) -> M | None:
        """``p``'s M is leaving it (system call, retake): find it a new M.

        Starts an M for the P when there is work it could do (its runnext,
        the global queue, a due timer nobody waits for); otherwise the P goes
        idle. Returns the M to wake, as startm_locked does.
        """
        p.m = None
        p.status = P_IDLE
        if self.stopping:
            self.pidle.append(p)
            return None
        if p.runnext or self.runq or (
            (self.timers.nlive or self.io_waiters()) and self.poller is None
        ):
            return self.startm_locked(p)
        self.pidle.append(p)
        return None

    def acquirep_locked(self, m: M) -> P | None:
        """Give the P-less ``m`` an idle P, if any."""
        if not self.pidle or self.stopping:
            return None
        p = self.pidle.pop()
        p.m = m
        p.status = P_RUNNING
        m.p = p
        return p

    def releasep_locked(self, m: M) -> None:
        """``m`` gives its P back (it found nothing to do)."""
        p = m.p
        m.p = None
        if p is None:
            return
        p.m = None
        if p.status == P_DEAD:
            return
        p.status = P_IDLE
        self.pidle.append(p)

    # ------------------------------------------------------------------ gomaxprocs

    def set_gomaxprocs_locked(self, n: int) -> list[M]:
        """Resize the set of Ps; returns Ms to wake for the new ones.

        Shrinking marks the excess Ps dead: an idle one leaves pidle at once,
        a running one is given up by its M at its next scheduling point.
        """
        old = self.gomaxprocs
        self.gomaxprocs = n
        towake: list[M] = []
        if n > old:
            for i in range(old, n):
                if i < len(self.allp):
                    p = self.allp[i]
                    if p.status == P_DEAD and p.m is None:
                        p.status = P_IDLE
                        self.pidle.append(p)
                    elif p.status == P_DEAD:
                        p.status = P_RUNNING
                else:
                    p = P(i)
                    self.allp.append(p)
                    self.pidle.append(p)
            for _ in range(min(len(self.runq), n - old)):
                m = self.wakep_locked()
                if m is not None:
                    towake.append(m)
        else:
            for p in self.allp[n:old]:
                p.status = P_DEAD
                if p in self.pidle:
                    self.pidle.remove(p)
                while p.runnext:
                    try:
                        self.runq.append(p.runnext.popleft())
                    except IndexError:
                        break
        return towake

    # ------------------------------------------------------------------ deadlock and stopping

    def nmidle_locked(self) -> int:
        pm = self.poller
        return len(self.midle) + (pm is not None and not pm.inpoll)

    def checkdead_locked(self, going_idle: M | None) -> None:
        """Called by an M about to go idle: is this the end of the program?

        Exact, never a guess: the program is deadlocked when this is the last
        M not idle (so no G is running or in a blocking call), no G is
        runnable, no timer is pending, no goroutine awaits I/O, and no plain
        thread may still act on a channel (the rule in _plain.py). sysmon
        calls it with ``going_idle=None`` while only plain threads held it
        back (``plain.suppressed``).
        """
        if self.stopping:
            return
        self.plain.suppressed = False
        running = self.mcount - self.nmidle_locked() - (going_idle is not None)
        if (
            running > 0
            or self.runq
            or self.timers.nlive
            or self.io_waiters()
            or self.npolling
            or self.nexternal
        ):
            return
        for p in self.allp:
            if p.runnext:
                return
        if not self.allgs:
            return
        if self.plain.may_act():
            self.plain.suppressed = True
            return
        from ._traceback import dump_locked

        self.stop_locked(deadlock="all goroutines are asleep - deadlock!\n\n" + dump_locked(self))

    def stop_locked(
        self,
        *,
        result: Any = None,
        exc: BaseException | None = None,
        deadlock: str | None = None,
    ) -> None:
        """End the run (main returned, a panic, a deadlock). Sched.lock held.

        The first call decides the outcome. Every M is told to stop: a
        running M notices its P is gone at its next scheduling point, idle
        ones are woken, and run() is released.
        """
        if self.stopping:
            return
        self.stopping = True
        out = self.outcome
        out.result = result
        out.exc = exc
        out.deadlock = deadlock
        for p in self.allp:
            m = p.m
            if m is not None:
                m.p = None
                p.m = None
        for m in self.midle:
            m.note.release()
        self.midle.clear()
        for x in self.runq:
            if type(x) is not G:
                x.note.release()  # a preempted goroutine's M, waiting for a P
        if self.poller is not None:
            pm = self.take_poller_locked()
            if pm.wake_break:
                self.netpoll.break_()
            else:
                pm.note.release()
        self.done.release()
        self.sysmon_note.release()


def inject(sched: Sched, gs: list[G]) -> None:
    """Queue Gs made runnable by the netpoller; wake Ms for them."""
    towake = []
    with sched.lock:
        for g in gs:
            g.status = RUNNABLE
            sched.runq.append(g)
        for _ in range(min(len(gs), len(sched.pidle))):
            towake.append(sched.wakep_locked())
    for m in towake:
        wake_m(m)


def wake_m(m: M | None) -> None:
    """Wake (or start) an M that a *_locked call handed a P. No lock held."""
    if m is None:
        return
    if m.thread is None:
        m.start()
    elif m.wake_break:
        m.wake_break = False
        m.sched.netpoll.break_()
    else:
        m.note.release()
