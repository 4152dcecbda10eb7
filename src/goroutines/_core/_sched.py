"""Sched: the one global scheduler structure, its P and M records.

Lock order: docs/design.md, "Locks" (the ranks in _check.py, checked in
debug mode). In short: context locks, channel locks (in id() order), Cond
locks, sync/timer locks, Sched.lock, then the leaves (Netpoll.lock, ...).

Nothing ever takes a channel lock while holding Sched.lock. A P's local run
queue and runnext have no lock of their own (see "Run queues" below).

What Sched.lock guards: runq, pidle, midle, poller, allm, mcount, allgs,
goidgen, gfree, timers, netpoll registration counts, nexternal, aio, atstop,
nmspinning, stopping/stopped and the outcome fields, every P's ``m`` and
``status``, every M's ``p``, ``nextp`` and ``spinning`` *writes* (an M reads
its own ``p`` and ``spinning`` without the lock: see M).

Run queues (Go 1.1's design, proc.go runqput/runqget/runqsteal): each P has
``runnext`` (one G that runs next, inheriting the time slice) and ``runq``,
a local FIFO of at most LOCAL_RUNQ Gs; Sched.runq is the global queue. Only
a P's owner M appends to its local queue (a G readied or started there, a
displaced runnext); the owner and stealing Ms take from its head. Both are
``collections.deque``s whose single append/popleft/remove calls are
documented atomic (the GIL build) and take the deque's own per-object lock
(free-threaded build) -- so every *single* queue operation is atomic and no
multi-operation step needs to be: a G popped by a thread belongs to that
thread alone, and a pop that finds the queue drained meanwhile gets
IndexError and moves on. A bounded ring of 256 slots indexed by head/tail
counters with CAS (Go's) would need atomics Python does not have; the deque
under its own lock is that ring's honest pure-Python form, and the bound is
kept by the owner checking the length before it appends (a full queue moves
half of itself to the global queue, Go's runqputslow).

Exactness: a G in a P's local queue or runnext is always run by that P's
owner M eventually (the owner only gives the P up -- idle, system call,
retake, gomaxprocs shrinking -- after finding both empty, or handing the P
with its work to another M, or moving the work to the global queue), so a
missed wake-up or steal costs parallelism, never a G; checkdead counts every
P's queues.

Spinning Ms (Go's): an M that finds no work may look for some to steal,
"spinning", if fewer than half the busy Ps have a spinner (``nmspinning``).
Work added to a local or the global queue while a P is idle and nobody
spins wakes one M as a spinner (wakep); a spinner that finds work stops
spinning and wakes the next one (resetspinning), one that finds none gives
its P back and looks at every local queue once more before it parks.

Invariants (checked by ``_invariants.check_invariants``: by the stress
tests, and by every M about to go idle in debug mode):
  * a P is either on ``pidle`` (p.m is None) or owned by exactly one M
    (p.m.p is p, or p.m.nextp is p: handed to an M that has not woken to
    take it yet, which sysmon must leave alone), or dead (gomaxprocs
    shrank; on no list).
  * an M is running (holds a P), in a blocking call (no P, not idle), on
    ``midle`` (parked, no P), the ``poller`` (parked with a timeout for the
    earliest timer, no P) or exiting.
  * ``len(midle)`` Ms are idle, plus the poller while it waits only for a
    timer; a poller blocked in the netpoller counts as running, as in Go
    (it will make goroutines runnable when their I/O is ready). Every other
    live M could still make a goroutine runnable, so deadlock is declared
    only by the last M to go idle, with the run queue empty, no live timer
    and no I/O awaited (``checkdead``).
  * at most one M is blocked in the netpoller (``netpollm``, Go's
    ``sched.lastpoll == 0``), and it returns promptly once nobody awaits
    I/O: counted as running, an M left there would keep checkdead (and a
    bubble's fake clock) waiting for an hour. Two rules keep it so: an M
    taken off the poller post stays ``netpollm`` until its poll returns,
    and no other M blocks in the netpoller meanwhile (it would drain the
    one wake-up byte, meant for the first: both block on); and whoever
    takes the last I/O waiter while the poller is blocked there (a quick
    look by a running M or sysmon, an I/O deadline, a close) wakes it
    (``netpoll_drained_locked``).

Waking a parked M: whoever takes it off ``midle`` or ``poller`` (under the
lock) wakes it exactly once with wake_m(): by releasing its note, or, for a
poller blocked in the netpoller (``M.inpoll``, decided under the lock as
``M.wake_break``), by writing to the netpoller's wake-up pipe.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ._cext import lock_kind
from ._check import DEBUG, RANK_LEAF, RANK_SCHED, check_transition, checked, holds_rank, locked_by
from ._check import violation as check_violation
from ._g import RUNNABLE, WAITING, G, casgstatus
from ._plain import PlainThreads, mark_runtime_thread
from ._timers import INF, REAL_CLOCK, Clock, TimerHeap
from ._traceback import dump_locked

# A P's local run queue holds at most this many Gs (Go's len(p.runq)).
LOCAL_RUNQ = 256
# Passes over the other Ps a spinning M makes before giving up (Go's stealTries).
STEAL_TRIES = 4

# M.lockstate, the wait state of an M wired to a goroutine (see _lockos.py).
LK_RUN = 0
LK_IDLE = 1
LK_QUEUED = 2
LK_EXITED = 3  # lockedexit: the M has left Sched.mcount already

# P statuses (Go's _Pidle, _Prunning, _Pdead; a P is never in a system
# call here: entersyscall hands it off at once, as Go's entersyscallblock).
P_IDLE = 0
P_RUNNING = 1
P_DEAD = 2

P_STATUS_NAMES = {P_IDLE: "idle", P_RUNNING: "running", P_DEAD: "dead"}

# The legal P status changes, all under Sched.lock: an M takes an idle P
# (acquirep, startm, the poller) or gives it back (releasep, handoffp);
# gomaxprocs shrinking kills a P, growing revives it (idle, or running when
# its M has not noticed it died).
P_TRANSITIONS = frozenset(
    {
        (P_IDLE, P_RUNNING),
        (P_RUNNING, P_IDLE),
        (P_IDLE, P_DEAD),
        (P_RUNNING, P_DEAD),
        (P_DEAD, P_IDLE),
        (P_DEAD, P_RUNNING),
    }
)


def _setpstatus(p: P, old: int, new: int) -> None:
    p.status = new


def _setpstatus_checked(p: P, old: int, new: int) -> None:
    if not holds_sched_lock():
        raise check_violation(f"P status: {p!r} changed to {P_STATUS_NAMES.get(new)} without Sched.lock")
    check_transition("P", p, p.status, old, new, P_TRANSITIONS, P_STATUS_NAMES)
    p.status = new


# setpstatus(p, old, new): the one way to write a P's status (Sched.lock
# held); checked in debug mode, as casgstatus.
setpstatus: Callable[[P, int, int], None] = _setpstatus_checked if DEBUG else _setpstatus

new_sched_lock = lock_kind("Sched.lock", RANK_SCHED)


def holds_sched_lock() -> bool:
    """Debug mode: the calling thread holds a Sched.lock."""
    return holds_rank(RANK_SCHED)

# Sched.sysmonwait: may sysmon be asleep on its note, and how long for.
SYSMON_RUNNING = 0
SYSMON_NAP = 1
SYSMON_DEEP = 2


class P:
    """The right to run goroutine code (one of GOMAXPROCS).

    ``runnext`` holds the G that runs next on this P (a goroutine woken by
    a channel operation, or just started by ``go``), so a woken partner runs
    at once and inherits the time slice. It is a deque because several
    threads touch it and deque's append/pop/popleft/remove are documented
    thread-safe: the owning M pops, the M running a G appends (possibly a
    moment after the P was retaken, see ready()), sysmon and handoff drain it.
    It normally holds at most one G; a displaced G goes to the local queue.

    ``runq`` is the local run queue (see "Run queues" in the module
    docstring): appended to by the owner M only, at most LOCAL_RUNQ long,
    taken from at the head by the owner and by stealers.

    ``schedtick`` counts Gs started on this P (the C run loop stores it
    modulo 244, a multiple of 61: a cached small int, no allocation per
    pick); written by the owner M without a lock and read racily by sysmon,
    which only needs to see it change.

    ``rand``: this P's random source (Go's per-M fastrand), derived from the
    run's seed and the P's id, so that a run at GOMAXPROCS=1 draws the same
    numbers every time it is given the same seed. Used only by the M that
    owns the P (select's choices), so it needs no lock; see Sched.rand for a
    caller that has lost its P. An M whose P is retaken mid-select (sysmon)
    may draw once more from it while the new owner does: that costs only
    determinism, which a retake has already cost, never the generator's
    state (Random.random is one C call under the object's own critical
    section on the free-threaded build, and under the GIL otherwise).
    """

    __slots__ = (
        "id",
        "runnext",
        "runq",
        "m",
        "status",
        "schedtick",
        "sysmon_tick",
        "sysmon_when",
        "sysmon_where",
        "sysmon_cpu",
        "rand",
    )

    def __init__(self, pid: int, seed: int = 0) -> None:
        self.id = pid
        # A str seed is hashed with SHA-512 by random.seed: the stream does
        # not depend on PYTHONHASHSEED.
        self.rand = random.Random(f"{seed}/{pid}")
        self.runnext: deque[G] = deque()
        self.runq: deque[G] = deque()
        self.m: M | None = None
        self.status = P_IDLE
        self.schedtick = 0
        self.sysmon_tick = -1
        self.sysmon_when = 0.0
        self.sysmon_where: tuple[Any, ...] | None = None  # sysmon's last look (_sysmon.same_call)
        # The M's thread CPU time at sysmon's first look at this pick (None:
        # unknown); only sysmon reads or writes it (_sysmon: "computed").
        self.sysmon_cpu: float | None = None

    def __repr__(self) -> str:
        return f"<P {self.id} [{P_STATUS_NAMES.get(self.status, '?')}]>"


class M:
    """One OS thread of the runtime.

    ``note`` is the M's own wake-up primitive (Go's m.park note): a Lock held
    by nobody but the waker protocol. The M parks with ``note.acquire()``
    after putting itself on ``midle`` (or as ``poller``) under Sched.lock;
    whoever takes it off that list (exactly one thread, under Sched.lock)
    releases the note once. A poller whose timed wait ran out but was taken
    off the list meanwhile consumes that one release before going on.

    ``p`` and ``nextp``: written under Sched.lock, ``p`` read by the M itself
    without it (see _schedule's module docstring). ``curg``: the G this M is running
    right now (None between goroutines), written by the M only, read by the
    G's own code through the thread-local ``_tls.m`` and by shutdown/dumps.
    ``spinning``: the M is looking for work to steal (counted in
    Sched.nmspinning); written under Sched.lock (by startm_locked before the
    M is woken, then by the M), read by the M without it.
    """

    __slots__ = (
        "sched",
        "id",
        "p",
        "nextp",
        "curg",
        "note",
        "thread",
        "ident",
        "tbuf",
        "inpoll",
        "wake_break",
        "started",
        "spinning",
        "sysstack",
        "lockedg",
        "lockedext",
        "lockstate",
        "blocked",
        "blockedsince",
        "blockedat",
    )

    def __init__(self, sched: Sched, mid: int) -> None:
        self.sched = sched
        self.id = mid
        self.p: Any = None
        self.nextp: Any = None
        self.curg: G | None = None
        self.note = threading.Lock()
        self.note.acquire()
        self.thread: threading.Thread | None = None
        self.ident = 0
        # This M's trace buffer while tracing (see _trace.py); owner only.
        self.tbuf: list[Any] | None = None
        # Under Sched.lock: the poller is blocked in the netpoller (inpoll);
        # its claimer must wake it through the wake-up pipe (wake_break).
        self.inpoll = False
        self.wake_break = False
        self.spinning = False
        # Set once ``thread`` has been started: an M is put on allm under
        # Sched.lock but started by wake_m() after the lock is released, and
        # shutdown must not miss one started in that window.
        self.started = threading.Event()
        # Free-threaded builds: the stack of the G in a blocking call on this
        # M, recorded by the M itself (see _traceback); read by dumps.
        self.sysstack: tuple[Any, ...] | None = None
        # lock_os_thread: the goroutine wired to this M and the nesting
        # count (the M's own), and its wait state (Sched.lock): _lockos.py.
        self.lockedg: Any = None
        self.lockedext = 0
        self.lockstate = LK_RUN
        # Under Sched.lock: sysmon retook this M's P while its goroutine was
        # blocked in a plain call (since about ``blockedsince``), see
        # in_blocking_call(); cleared when the goroutine enters the runtime.
        self.blocked = False
        self.blockedsince = 0.0
        self.blockedat: tuple[int, int] | None = None  # (frame id, instruction) of that call

    def start(self) -> None:
        """Start this M's thread, running the Sched's thread entry (mstart)."""
        entry = self.sched.mstart
        if entry is None:
            raise RuntimeError("goroutines: this Sched was made without a thread entry (mstart=)")
        t = threading.Thread(target=entry, args=(self,), name=f"goroutines-M{self.id}", daemon=True)
        mark_runtime_thread(t)
        self.thread = t
        t.start()
        self.started.set()


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
        "clock",
        "coarse_now",
        "done",
        "done_fd",
        "gfree",
        "goidgen",
        "gomaxprocs",
        "lastpoll",
        "lock",
        "lockedidle",
        "max_threads",
        "mcount",
        "midle",
        "netpoll",
        "nexternal",
        "nmspinning",
        "netpollm",
        "npolling",
        "outcome",
        "pidle",
        "plain",
        "poller",
        "rand",
        "rand_lock",
        "runq",
        "seed",
        "started",
        "stopping",
        "sysmon_note",
        "sysmon_thread",
        "sysmonwait",
        "timers",
        "realtimers",
        "trace",
        "waiter",
        "mstart",
    )

    def __init__(
        self,
        gomaxprocs: int,
        max_threads: int,
        seed: int = 0,
        clock: Clock | None = None,
        mstart: Callable[[M], None] | None = None,
    ) -> None:
        self.lock = new_sched_lock()
        # The thread entry every M runs (_mstart.mstart: the schedule loop, a
        # layer above this one, passed in by run()); None: Ms cannot start.
        self.mstart = mstart
        # Every random choice of this run comes from ``seed`` (gr.run's seed=):
        # each P's ``rand``, and ``rand`` for a caller without a P, guarded by
        # ``rand_lock`` (a leaf lock, taken under channel locks).
        self.seed = seed
        self.rand = random.Random(f"{seed}/sched")
        self.rand_lock = checked(threading.Lock(), "Sched.rand_lock", RANK_LEAF)
        # The clock timers run on: real (time.monotonic) or a synctest
        # bubble's fake one. Fixed for the run; see _timers.Clock.
        self.clock: Clock = clock if clock is not None else REAL_CLOCK
        # A goroutine parked in goroutines.testing.wait() (a bubble only),
        # readied by checkdead_locked once every other one is durably
        # blocked. Guarded by lock.
        self.waiter: G | None = None
        # -- guarded by lock --
        # The global run queue. Besides Gs it may hold an M: a placeholder
        # for a goroutine that lost its P (sysmon retook it) and has since
        # entered the runtime; the M waits, holding its G, and whoever pops
        # the placeholder hands it a P (see _ready.preempted). So a preempted
        # goroutine queues behind the runnable ones, as Go's does.
        self.runq: deque[Any] = deque()
        self.gomaxprocs = gomaxprocs
        self.allp: list[P] = [P(i, seed) for i in range(gomaxprocs)]
        self.pidle: list[P] = list(reversed(self.allp))
        self.allm: list[M] = []
        self.midle: list[M] = []
        # Ms wired to a goroutine that waits (lock_os_thread; _lockos.py):
        # parked without a P, counted idle, woken by whoever readies it.
        self.lockedidle: list[M] = []

        self.poller: M | None = None
        # The M blocked in Netpoll.poll, from when it starts that poll until
        # it returns (also after it was taken off the poller post): while
        # one is, no other M blocks there (see Invariants).
        self.netpollm: M | None = None
        # Spinning Ms (looking for work to steal); read without the lock as
        # a hint by wakep, which rechecks under it.
        self.nmspinning = 0
        self.mcount = 0
        self.max_threads = max_threads
        self.allgs: dict[int, G] = {}
        self.goidgen = 0
        self.gfree: list[G] = []
        self.timers = TimerHeap()
        # A synctest bubble's timers on the real clock (time.monotonic),
        # for I/O deadlines: see _timer.Timer's ``real``. None outside a
        # bubble, where every timer is on ``timers`` and nobody pays for
        # this one. Guarded by lock, as ``timers``.
        self.realtimers: TimerHeap | None = TimerHeap() if self.clock.fake else None
        # The netpoller, made on first use (guarded by lock; see _netpoll.py).
        self.netpoll: Any = None
        self.lastpoll = 0.0
        # Threads that are not Ms (sysmon) inside a non-blocking poll: they
        # may hold claimed I/O waiters not yet queued, so checkdead waits;
        # the poller, having found nothing, makes the check itself after.
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
        # The write end of the pipe run() sleeps on when it waits on the
        # main thread (see _wait_done() in _runtime.py), else -1; set and
        # cleared by run() under Sched.lock, so that stop_locked(), which
        # writes a byte to it after releasing done, never writes to a
        # closed (or reused) descriptor.
        self.done_fd = -1
        # -- written without a lock (hints) --
        # A coarse clock, refreshed by sysmon and by Ms as they go idle; used
        # for wait durations shown in dumps, where minutes matter.
        self.coarse_now = time.monotonic()
        self.started = self.coarse_now
        # The sysmon thread and its wake-up. ``sysmon_note`` is held except
        # while a waker has released it; sysmon sleeps by acquiring it with
        # a timeout. ``sysmonwait`` (guarded by lock) says whether sysmon may
        # be asleep on it: SYSMON_RUNNING (no: it will look at ``stopping``
        # under the lock before it sleeps again), SYSMON_NAP (a short
        # sleep: only stop_locked wakes it) or SYSMON_DEEP (a backed-off
        # sleep: an M back from a blocking call wakes it too, Go's
        # sysmonwake). A waker releases the note only when it moves
        # ``sysmonwait`` to SYSMON_RUNNING, and sysmon sets it again only
        # before its next acquire, so the note is never released twice.
        self.sysmon_note = threading.Lock()
        self.sysmon_note.acquire()
        self.sysmonwait = SYSMON_RUNNING
        self.sysmon_thread: threading.Thread | None = None

    # ------------------------------------------------------------------ timers

    @locked_by("lock", "Sched.lock")
    def addtimer_locked(self, t: Any, when: float) -> M | None:
        """Arm (or re-arm) ``t``; returns the poller to wake when it is now
        the earliest. The heap side of ``_timer.Timer.start``/``reset``,
        which every timer of the runtime is armed through.

        The woken poller goes round findrunnable again and waits for the new
        earliest timer. With no poller, a running M sees the timer at its
        next fairness pick or when it goes idle, and sysmon wakes an M for a
        timer that falls due while every M is busy. A real-time timer of a
        bubble (on ``realtimers``) wakes the poller the same way: its wait
        is computed from that heap's earliest time.
        """
        if t.heap.add(t, when) and self.poller is not None:
            return self.take_poller_locked()
        return None

    @locked_by("lock", "Sched.lock")
    def take_poller_locked(self) -> M:
        """Take the poller off its post; the caller wakes it with wake_m()."""
        m = self.poller
        assert m is not None
        self.poller = None
        m.wake_break = m.inpoll
        return m

    @locked_by("lock", "Sched.lock")
    def netpoll_drained_locked(self) -> M | None:
        """Goroutines awaiting I/O were just made runnable by someone other
        than the M blocked in the netpoller (the poller): if none is left,
        that M waits there for nothing while checkdead counts it as
        running, so it is taken off its post for the caller to wake with
        wake_m(); it goes round findrunnable and parks counted idle."""
        pm = self.poller
        if pm is not None and pm.inpoll and not self.io_waiters():
            return self.take_poller_locked()
        return None

    def io_waiters(self) -> int:
        np = self.netpoll
        return np.nwaiters if np is not None else 0

    # ------------------------------------------------------------------ goroutine ids and records

    def num_goroutine(self) -> int:
        with self.lock:
            return len(self.allgs)

    # ------------------------------------------------------------------ Ms and Ps

    @locked_by("lock", "Sched.lock")
    def wakep_locked(self) -> M | None:
        """Give an idle P to an M if there is one; that M must then be woken.

        Returns the M to wake (via :func:`wake_m`, after releasing
        Sched.lock), or None when no P is idle or no M can be had.
        """
        if not self.pidle or self.stopping:
            return None
        return self.startm_locked(self.pidle.pop())

    @locked_by("lock", "Sched.lock")
    def startm_locked(self, p: P, spinning: bool = False) -> M | None:
        """Hand ``p`` to an idle M, or to a new one. Sched.lock held.

        Returns the M, which the caller wakes or starts with wake_m() once it
        has released Sched.lock. ``spinning``: the M starts as a spinner
        (counted in nmspinning; it will look for work to steal). When the
        thread limit is reached the P goes back to pidle and the run stops
        with an error.
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
            m = M(self, len(self.allm))
            self.allm.append(m)
            self.mcount += 1
        p.m = m
        setpstatus(p, P_IDLE, P_RUNNING)
        m.nextp = p
        if spinning:
            m.spinning = True
            self.nmspinning += 1
        return m

    @locked_by("lock", "Sched.lock")
    def handoffp_locked(self, p: P) -> M | None:
        """``p``'s M is leaving it (system call, retake): find it a new M.

        Starts an M for the P when there is work it could do (its runnext or
        local queue, the global queue, a due timer nobody waits for), or as a
        spinner when no P is idle and nobody spins (the other Ps' local
        queues may need a thief, Go's handoffp); otherwise the P goes idle.
        Returns the M to wake, as startm_locked does.
        """
        p.m = None
        setpstatus(p, P_RUNNING, P_IDLE)
        if self.stopping:
            self.pidle.append(p)
            return None
        if p.runnext or p.runq or self.runq or (
            (self.timers.nlive or self.io_waiters() or (self.realtimers is not None and self.realtimers.nlive))
            and self.poller is None
        ):
            return self.startm_locked(p)
        if not self.pidle and not self.nmspinning and self.gomaxprocs > 1 and any_local_work(self):
            return self.startm_locked(p, spinning=True)
        self.pidle.append(p)
        return None

    @locked_by("lock", "Sched.lock")
    def sysmonwake_locked(self, level: int = SYSMON_DEEP) -> None:
        """Wake sysmon if it sleeps at ``level`` or deeper. Sched.lock held."""
        if self.sysmonwait >= level:
            self.sysmonwait = SYSMON_RUNNING
            self.sysmon_note.release()

    @locked_by("lock", "Sched.lock")
    def acquirep_locked(self, m: M) -> P | None:
        """Give the P-less ``m`` an idle P, if any.

        An M back from a blocking call that sysmon retook its P from
        (``m.blocked``) wakes a backed-off sysmon, as Go's exitsyscall does:
        a program that blocks in plain calls is likely to again, and the
        next one is then found within a pass of the short pace, not after a
        10 ms sleep.
        """
        if m.blocked and self.sysmonwait == SYSMON_DEEP:
            self.sysmonwake_locked()
        if not self.pidle or self.stopping:
            return None
        p = self.pidle.pop()
        p.m = m
        setpstatus(p, P_IDLE, P_RUNNING)
        m.p = p
        return p

    @locked_by("lock", "Sched.lock")
    def releasep_locked(self, m: M) -> None:
        """``m`` gives its P back (it found nothing to do)."""
        p = m.p
        m.p = None
        if p is None:
            return
        p.m = None
        if p.status == P_DEAD:
            return
        setpstatus(p, P_RUNNING, P_IDLE)
        self.pidle.append(p)

    # ------------------------------------------------------------------ gomaxprocs

    @locked_by("lock", "Sched.lock")
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
                        setpstatus(p, P_DEAD, P_IDLE)
                        self.pidle.append(p)
                    elif p.status == P_DEAD:
                        setpstatus(p, P_DEAD, P_RUNNING)
                else:
                    p = P(i, self.seed)
                    self.allp.append(p)
                    self.pidle.append(p)
            for _ in range(min(len(self.runq), n - old)):
                m = self.wakep_locked()
                if m is not None:
                    towake.append(m)
            if self.pidle and not self.nmspinning and any_local_work(self):
                m = self.startm_locked(self.pidle.pop(), spinning=True)
                if m is not None:
                    towake.append(m)
        else:
            for p in self.allp[n:old]:
                setpstatus(p, p.status, P_DEAD)  # idle or running: both may die
                if p in self.pidle:
                    self.pidle.remove(p)
                runqdrain_locked(self, p)
        return towake

    # ------------------------------------------------------------------ deadlock and stopping

    @locked_by("lock", "Sched.lock")
    def nmidle_locked(self) -> int:
        pm = self.poller
        return len(self.midle) + len(self.lockedidle) + (pm is not None and not pm.inpoll)

    @locked_by("lock", "Sched.lock")
    def checkdead_locked(self, going_idle: M | None) -> bool:
        """Called by an M about to go idle: is this the end of the program?

        Exact, never a guess: the program is deadlocked when this is the last
        M not idle (so no G is running or in a blocking call), no G is
        runnable, no timer is pending, no goroutine awaits I/O, and no plain
        thread may still act on a channel (the rule in _plain.py). sysmon
        calls it with ``going_idle=None`` while only plain threads held it
        back (``plain.suppressed``).

        Everything but the timer test is also Go's synctest condition "every
        goroutine is durably blocked" (each is parked on a channel, select,
        sync primitive or sleep; none runnable, running, in a system call,
        in unannotated blocking code, awaiting I/O or asyncio, and no plain
        thread can act): then, in a bubble (a fake clock), this readies the
        goroutine in testing.wait() or advances the clock to the earliest
        timer that is not inert (a ticker dropping ticks; with only those,
        the bubble is deadlocked: nothing can ever wake a goroutine), and
        returns True: the caller must see that an M runs what is now due
        (findrunnable looks again instead of parking, sysmon wakes one). A
        new reason for the runtime to stay alive belongs before that point,
        so that it keeps a bubble's clock still too: a pending real-time
        timer (``realtimers``, an I/O deadline) is one, as the I/O wait is.
        """
        if self.stopping:
            return False
        self.plain.suppressed = False
        running = self.mcount - self.nmidle_locked() - (going_idle is not None)
        fake = self.clock.fake
        if (
            running > 0
            or self.runq
            or (self.timers.nlive and not fake)
            or self.io_waiters()
            or (fake and self.realtimers.nlive)  # type: ignore[union-attr]
            or self.npolling
            or self.nexternal
        ):
            return False
        for p in self.allp:
            if p.runnext or p.runq:
                return False
        if not self.allgs:
            return False
        if self.plain.may_act():
            self.plain.suppressed = True
            return False
        if fake:
            # synctest: every goroutine is durably blocked.
            w = self.waiter
            if w is not None:
                self.waiter = None
                casgstatus(w, WAITING, RUNNABLE)
                self.runq.append(w)
                return True
            when = self.timers.next_effective()
            if when != INF:
                self.clock.advance_locked(when)  # type: ignore[attr-defined]
                return True
        if DEBUG:
            # Nothing can run, so every goroutine waits; one that does not is
            # a lost wake-up, and this "deadlock" the runtime's own bug.
            lost = [g for g in self.allgs.values() if g.status != WAITING]
            if lost:
                self.stop_locked(
                    exc=check_violation(
                        "deadlock declared while goroutines are not waiting (a lost wake-up?): "
                        + ", ".join(repr(g) for g in lost[:20])
                    )
                )
                return False
        self.stop_locked(deadlock="all goroutines are asleep - deadlock!\n\n" + dump_locked(self))
        return False

    @locked_by("lock", "Sched.lock")
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
        for m in self.lockedidle:
            m.note.release()
        self.lockedidle.clear()
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
        if self.done_fd >= 0:
            try:
                os.write(self.done_fd, b"\0")  # not a signal number: run()'s "look at done"
            except OSError:  # the pipe is full: run() has bytes to wake on already
                pass
        self.sysmonwake_locked(SYSMON_NAP)


# ---------------------------------------------------------------------- run queues
# See "Run queues" in the module docstring for who may call what without a lock.


def runqput(sched: Sched, p: P, g: G, locked: bool = False) -> None:
    """Queue ``g`` at the tail of ``p``'s local queue; ``p``'s owner only.

    A full queue moves its older half, and ``g``, to the global queue
    (Go's runqputslow), so one busy P cannot hoard work that an idle P's
    spinner could only steal half of at a time. ``locked``: the caller holds
    Sched.lock.
    """
    q = p.runq
    if len(q) < LOCAL_RUNQ:
        q.append(g)
        return
    batch: list[Any] = []
    for _ in range(LOCAL_RUNQ // 2):
        try:
            batch.append(q.popleft())
        except IndexError:
            break  # stealers took the rest: there is room now
    batch.append(g)
    if locked:
        sched.runq.extend(batch)
    else:
        with sched.lock:
            sched.runq.extend(batch)


def runqget(p: P) -> G | None:
    """The next G of ``p``: its runnext, else the head of its local queue."""
    try:
        return p.runnext.popleft()
    except IndexError:
        pass
    try:
        return p.runq.popleft()
    except IndexError:
        return None


@locked_by("lock", "Sched.lock")
def runqdrain_locked(sched: Sched, p: P) -> None:
    """Move all of ``p``'s runnable Gs to the global queue (``p`` is dying or
    the run is stopping). Sched.lock held."""
    for q in (p.runnext, p.runq):
        while q:
            try:
                sched.runq.append(q.popleft())
            except IndexError:
                break


@locked_by("lock", "Sched.lock")
def globrunqget_locked(sched: Sched, p: P, most: int = 0) -> Any:
    """Take a batch of Gs from the global queue for ``p`` (Go's globrunqget):
    its fair share (len/gomaxprocs + 1), at most ``most`` (0: no limit) and
    at most half a local queue; returns the first, the rest go to ``p``'s
    local queue. Sched.lock held, the caller owns ``p``.

    The head may be a preempted M's placeholder (see Sched.runq): it is
    returned alone, for the caller to hand the P over.
    """
    rq = sched.runq
    size = len(rq)
    if not size:
        return None
    n = min(size, size // max(sched.gomaxprocs, 1) + 1, LOCAL_RUNQ // 2)
    if most:
        n = min(n, most)
    first = rq.popleft()
    if type(first) is not G:
        return first
    n -= 1
    q = p.runq
    while n > 0 and rq and type(rq[0]) is G and len(q) < LOCAL_RUNQ:
        q.append(rq.popleft())
        n -= 1
    return first


def runqsteal(p: P, victim: P, stealrunnext: bool) -> G | None:
    """Steal the older half of ``victim``'s local queue (rounded up) into
    ``p``'s; returns the oldest stolen G (to run now), the rest queued on
    ``p``. ``stealrunnext``: with nothing in the queue, take its runnext
    (Go does so only on its last pass: that G is normally about to run on
    its own P, and taking it moves a partner away from its partner). Called
    by ``p``'s owner, a spinning M, without a lock.
    """
    vq = victim.runq
    n = len(vq)
    if n == 0:
        if stealrunnext:
            try:
                return victim.runnext.popleft()
            except IndexError:
                return None
        return None
    n -= n // 2
    try:
        g = vq.popleft()
    except IndexError:
        return None  # its owner (or another thief) was first
    q = p.runq
    for _ in range(n - 1):
        try:
            q.append(vq.popleft())
        except IndexError:
            break
    return g


def any_local_work(sched: Sched) -> bool:
    """Some running P has Gs in its local queue (read without a lock: a hint)."""
    for p in sched.allp[: sched.gomaxprocs]:
        if p.runq and p.m is not None:
            return True
    return False


def wakep(sched: Sched) -> None:
    """Work was added to a local or the global queue: when a P is idle and no
    M spins, wake one M as a spinner to take it (Go's wakep). The checks
    without the lock are hints (rechecked under it); a miss costs
    parallelism only -- the work's own P runs it."""
    if not sched.pidle or sched.nmspinning:
        return
    with sched.lock:
        if not sched.pidle or sched.nmspinning or sched.stopping:
            return
        m = sched.startm_locked(sched.pidle.pop(), spinning=True)
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
