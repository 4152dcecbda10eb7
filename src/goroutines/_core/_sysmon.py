"""sysmon: the monitor thread (Go's sysmon). It runs no goroutine and holds no P.

Each pass it:
  * refreshes ``Sched.coarse_now``;
  * retakes a P whose M has stayed inside one goroutine while other work
    waits (runnext, the local or global queue, a due timer). The P goes to another M
    (handoff), so the others keep running; the stuck M gives up running
    goroutines at its next scheduling point (see _schedule.py). How long "stuck"
    is depends on what the M is doing, told apart by sampling its innermost
    frame at every pass that finds the P stuck: the same frame at the same
    instruction twice means it is blocked in a call (time.sleep, a socket, a
    C library) and is retaken as soon as other work waits; a frame that
    moves means it computes without awaiting, and is retaken after
    PREEMPT_AFTER (Go's 10 ms time slice): under the GIL a second thread
    running Python only adds hand-offs, so a computing goroutine keeps its P
    as long as Go would let it (on a free-threaded build only the frame's
    identity is compared, not its instruction: another thread's frame is not
    read there; the thread's CPU clock and state tell a loop from a call, and
    the time slice is counted in the thread's CPU time, not wall time: a
    retaken computing M keeps running beside the P's new one, so each retake
    there is one more thread in parallel than GOMAXPROCS allows). An
    M retaken while blocked is marked
    (``M.blocked``): dumps, ``goroutines()``, schedtrace and the tracer
    show its goroutine in a blocking call (``[syscall]``, as Go shows one),
    until it next enters the runtime (_ready.preempted);
  * wakes an M for due timers when no M waits for them (in a synctest
    bubble also for due real-time ones, ``Sched.realtimers``);
  * polls the network without blocking when nobody has for NETPOLL_AFTER;
  * re-checks for deadlock while only plain threads held it back (_plain.py).

Pacing, as Go's: it sleeps MIN_DELAY between passes, and after 50 passes in
a row that retook nothing it doubles the sleep up to MAX_DELAY, so a healthy
program pays for ~100 short wake-ups a second. Three exceptions keep a
goroutine stuck in a plain call from holding up the others for long (issue
15: a 10 ms heartbeat beside 100 plain 50 ms calls; bench/hog_latency.py):

  * a P found stuck and not yet classified is looked at again after
    BLOCKED_AFTER, not after the backed-off sleep, so a blocked M is known
    within about a millisecond of being found;
  * a blocked M's P is retaken as soon as it is known blocked if a timer
    or an I/O wait is pending, even before it falls due: the P then waits
    idle for the M that waits for the timer, which runs the woken goroutine
    itself, with no retake and no second thread wake-up in between (on a
    loaded machine each wake-up of a thread can cost milliseconds);
  * while timers are pending and a P is running (or a plain blocking call
    was retaken in the last RECENT_BLOCK), the sleep is capped at
    TIMER_DELAY, so a P that gets stuck is found soon enough for the timers
    behind it. Programs without timers (W1, W2) keep Go's pacing.

Under the GIL a goroutine computing without awaiting keeps sysmon off the
CPU until the interpreter's switch interval (5 ms) passes, so such a loop is
noticed after ~5 ms, while a thread blocked in a call (GIL released) is
noticed at the next pass.
"""

from __future__ import annotations

import time
from typing import Any

from ._cext import speedups
from ._frames import current_frames
from ._g import FREE_THREADED_BUILD
from ._ready import inject
from ._sched import P_RUNNING, SYSMON_DEEP, SYSMON_NAP, SYSMON_RUNNING, Sched, wake_m

# A running P's M is looked at on every pass; two looks at least
# BLOCKED_AFTER apart with no goroutine switch between them (the P's
# schedtick unchanged) decide whether it is blocked in a call. The first
# look is the pass that sees a new schedtick, so a goroutine that blocks at
# once is handed off two passes after it started (bench W7: 32 plain
# time.sleep(0.05) calls at gomaxprocs=1, handed off one after another:
# first look 1 ms after the switch gave 91-105 ms, 0.5 ms 76-88 ms, at the
# switch 55-60 ms). A computing M is not mistaken for a blocked one
# however close the looks: under the GIL the M takes the GIL back between
# two passes and its instruction moves; without it, its CPU clock moves
# (same_call), and a thread the OS kept off the CPU is runnable
# (runnable_thread). PREEMPT_AFTER is Go's forcePreemptNS.
BLOCKED_AFTER = 50e-6
PREEMPT_AFTER = 0.010
NETPOLL_AFTER = 0.010  # Go's sysmon polls the network after 10 ms
MIN_DELAY = 20e-6
MAX_DELAY = 0.010
TIMER_DELAY = 0.002
RECENT_BLOCK = 1.0  # a program that blocked in a plain call this recently may again
IDLE_PASSES = 50
# sysmon's own thread waits with this timer slack (Linux): the kernel may
# end a timed wait up to the slack late, 50 us by default -- more than
# MIN_DELAY and BLOCKED_AFTER themselves, so a pass every ~70 us instead
# of every ~20 us, and a blocked M found that much later (W7). Set with the
# C extension (prctl); without it the default slack stays.
TIMER_SLACK_NS = 1000


_cpuclock = getattr(time, "pthread_getcpuclockid", None)


def same_call(prev: tuple[Any, ...], now: tuple[Any, ...]) -> bool:
    """Two looks at an M: (frame id, instruction, when, thread CPU time).

    Blocked in one call: the same frame at the same instruction, and (where
    the thread's CPU clock can be read) the thread used under a tenth of the
    time between the looks. The CPU clock matters on a free-threaded build,
    where a loop calling a tiny function can be caught twice at the same
    instruction of a frame whose memory was reused; a thread in a blocking
    call uses no CPU. (A computing thread that the OS kept off the CPU looks
    the same: runnable_thread() tells them apart where it can.)
    """
    if prev[0] != now[0] or prev[1] != now[1]:
        return False
    if prev[3] is None or now[3] is None:
        return True
    return bool(now[3] - prev[3] < 0.1 * (now[2] - prev[2]))


def runnable_thread(m: Any) -> bool:
    """Is ``m``'s thread running or waiting for a CPU (Linux: state R in
    /proc)? Then it computes, even if a loaded machine kept it off the CPU
    between two looks (no CPU time used, the same instruction: what a
    blocked thread looks like otherwise). False when unknown."""
    t = m.thread
    tid = getattr(t, "native_id", None) if t is not None else None
    if tid is None:
        return False
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    rest = stat[stat.rfind(b")") + 1 :].split()
    return bool(rest) and rest[0] == b"R"


def sysmon(sched: Sched) -> None:
    # The CPU clock of each M's thread (time.pthread_getcpuclockid), by M:
    # an M is one thread for its whole life. Only this thread uses it.
    clocks: dict[Any, int | None] = {}

    def thread_cpu(m: Any) -> float | None:
        if _cpuclock is None or not m.ident:
            return None
        clk = clocks.get(m, -1)
        if clk == -1:
            try:
                clk = _cpuclock(m.ident)
            except (OSError, OverflowError):
                clk = None
            clocks[m] = clk
        if clk is None:
            return None
        try:
            return time.clock_gettime(clk)
        except OSError:  # the thread has just exited
            return None

    if speedups is not None:
        speedups.timer_slack(TIMER_SLACK_NS)
    delay = MIN_DELAY
    idle = 0
    note = sched.sysmon_note
    lock = sched.lock
    timers = sched.timers
    # A synctest bubble's real-time timers (I/O deadlines; None outside one).
    rtimers = sched.realtimers
    sleep = delay
    last_blocked = -1.0  # when a blocked M's P was last retaken
    while True:
        if note.acquire(True, sleep):
            # Released by stop_locked (the run is over: seen below) or by an
            # M back from a blocking call while this slept backed off.
            idle = 0
            delay = MIN_DELAY
        now = time.monotonic()
        sched.coarse_now = now
        tnow = sched.clock.now()  # timers' time: fake in a synctest bubble
        towake = []
        retook = 0
        # The next sleep is shortened when a P must be looked at again soon
        # (``soon``), or timers are pending while a P runs (``running``).
        soon = False
        running = False
        with lock:
            sched.sysmonwait = SYSMON_RUNNING
            if sched.stopping:
                return
            frames = None
            for p in sched.allp:
                m = p.m
                if m is None or p.status != P_RUNNING:
                    continue
                if m.p is not p:
                    # Handed to an M that has not woken to take it yet (its
                    # ``nextp``; Go's P is not running until acquirep): not
                    # stuck, only slow to start. Retaking it here put it on
                    # pidle while the M still took it on waking -- one P,
                    # two owners (check_invariants found it).
                    continue
                running = True
                # Sample the M's innermost frame: the same one at the same
                # instruction at two passes, with no goroutine switch in
                # between, means it is blocked in a call. The first sample
                # is taken at the pass that sees a new schedtick, so a call
                # that blocks at once is known one pass later (W7: 32 plain
                # sleeps handed off one after another).
                # Free-threaded builds read only the frame's identity: its
                # fields are the running thread's to change, and a frame
                # returning under the reader can take its memory with it
                # (see _traceback).
                # The tick is read first: a look taken after a switch it
                # missed belongs to a later goroutine, and the next pass
                # sees the tick move and starts over.
                tick = p.schedtick
                if frames is None:
                    frames = current_frames()
                f = frames.get(m.ident)
                if f is None:
                    where = None
                else:
                    where = (id(f), -1 if FREE_THREADED_BUILD else f.f_lasti, now, thread_cpu(m))
                f = None
                if tick != p.sysmon_tick:
                    p.sysmon_tick = tick
                    p.sysmon_when = now
                    p.sysmon_where = where
                    p.sysmon_cpu = where[3] if where is not None else None
                    continue
                stuck = now - p.sysmon_when
                prev = p.sysmon_where
                # How long the goroutine has computed: wall time under the
                # GIL (Go's rule); on a free-threaded build the M's thread
                # CPU time since the first look, where it can be read. There
                # a retaken computing M goes on running Python beside the
                # P's new one, GOMAXPROCS + 1 threads in parallel; on a
                # loaded machine a 3 ms chunk of work kept off the CPU for
                # 10 ms of wall time was retaken, and GOMAXPROCS=1 ran on
                # two threads (bench W9). A thread the OS keeps waiting is
                # not using its P, and another M would wait for a CPU too.
                computed = stuck
                if FREE_THREADED_BUILD and where is not None and where[3] is not None and p.sysmon_cpu is not None:
                    computed = where[3] - p.sysmon_cpu
                if stuck < BLOCKED_AFTER:
                    # Too soon to compare; keep the earlier look.
                    soon = True
                    continue
                blocked = (
                    where is not None and prev is not None and same_call(prev, where) and not runnable_thread(m)
                )
                p.sysmon_where = where
                first = prev is None and where is not None
                if not blocked and (computed < PREEMPT_AFTER or first):
                    if first:
                        # First look (however late: a backed-off pass may
                        # find the P stuck for 10 ms already): the second one,
                        # soon, decides blocked or computing.
                        soon = True
                    continue
                others = bool(
                    p.runnext
                    or p.runq
                    or sched.runq
                    or (timers.nlive and timers.earliest() <= tnow)
                    or (rtimers is not None and rtimers.nlive and rtimers.earliest() <= now)
                )
                if blocked and not others:
                    # A blocked M has no use for its P: hand it off now if
                    # a timer or I/O wait may need it later (then the M that
                    # waits for them takes it, with no retake in between),
                    # and after PREEMPT_AFTER anyway (Go retakes a P in a
                    # system call after 10 ms even with no work waiting).
                    others = (
                        bool(timers.nlive or sched.io_waiters() or (rtimers is not None and rtimers.nlive))
                        or stuck >= PREEMPT_AFTER
                    )
                if not others:
                    continue
                # Retake: the M keeps its G but loses the right to run others.
                g = m.curg
                if sched.trace is not None:
                    sched.trace.emit_shared("retake", m.id, 0, p.id)
                    if blocked and g is not None:
                        sched.trace.emit_shared("blocking", m.id, g.id, round(stuck * 1e6))
                m.blocked = blocked
                m.blockedsince = p.sysmon_when
                m.blockedat = (where[0], where[1]) if blocked and where is not None else None
                if blocked:
                    last_blocked = now
                m.p = None
                p.sysmon_tick = -1
                p.sysmon_where = None
                p.sysmon_cpu = None
                towake.append(sched.handoffp_locked(p))
                retook += 1
            if sched.poller is None and sched.pidle and (
                (timers.nlive and timers.earliest() <= tnow)
                or (rtimers is not None and rtimers.nlive and rtimers.earliest() <= now)
            ):
                towake.append(sched.wakep_locked())
            if sched.plain.suppressed:
                # Only plain threads kept the last idle M from declaring a
                # deadlock: look again (one may have exited).
                if sched.checkdead_locked(None):
                    # A bubble's clock moved (or testing.wait() returns):
                    # every M is idle, so wake one to run what is due.
                    towake.append(sched.wakep_locked())
            if retook:
                idle = 0
                delay = MIN_DELAY
            else:
                idle += 1
                if idle > IDLE_PASSES:
                    delay = min(delay * 2, MAX_DELAY)
            sleep = delay
            if (timers.nlive or (rtimers is not None and rtimers.nlive)) and (
                running or now - last_blocked < RECENT_BLOCK
            ):
                sleep = min(sleep, TIMER_DELAY)
            if soon:
                sleep = min(sleep, BLOCKED_AFTER)
            # From here until the next pass takes the lock, stop_locked
            # (and, when backed off, an M back from a blocked call) wakes it.
            sched.sysmonwait = SYSMON_DEEP if sleep > TIMER_DELAY else SYSMON_NAP
            # Keep no frame between passes: one held while sysmon sleeps
            # keeps a finished goroutine's locals (a channel, a ticker) alive.
            frames = None
        for m in towake:
            wake_m(m)
        np = sched.netpoll
        if np is not None and np.nwaiters and now - sched.lastpoll > NETPOLL_AFTER:
            # Nobody polled for a while (every M busy): look for ready I/O.
            with lock:
                sched.npolling += 1
            try:
                sched.lastpoll = now
                gs = np.poll(0)
                if gs:
                    inject(sched, gs)
            finally:
                with lock:
                    sched.npolling -= 1
                    # The last M to go idle while we polled (maybe having
                    # run what we found already) left the deadlock check to
                    # us: checkdead waits while npolling. Nobody else makes
                    # it, so look now (a bubble's clock may move: wake an M
                    # to run what is due).
                    pm = sched.wakep_locked() if sched.checkdead_locked(None) else None
                wake_m(pm)
