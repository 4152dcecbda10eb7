"""sysmon: the monitor thread (Go's sysmon). It runs no goroutine and holds no P.

Each pass it:
  * refreshes ``Sched.coarse_now``;
  * retakes a P whose M has stayed inside one goroutine while other work
    waits (runnext, the global queue, a due timer). The P goes to another M
    (handoff), so the others keep running; the stuck M gives up running
    goroutines at its next scheduling point (see _proc.py). How long "stuck"
    is depends on what the M is doing, told apart by sampling its innermost
    frame on two passes: the same frame at the same instruction means it is
    blocked in a call (time.sleep, a socket, a C library) and is retaken
    after BLOCKED_AFTER; a frame that moves means it computes without
    awaiting, and is retaken after PREEMPT_AFTER (Go's 10 ms time slice):
    under the GIL a second thread running Python only adds hand-offs, so a
    computing goroutine keeps its P as long as Go would let it (on a
    free-threaded build only the frame is compared, not its instruction:
    another thread's frame is not read there);
  * wakes an M for due timers when no M waits for them;
  * polls the network without blocking when nobody has for NETPOLL_AFTER;
  * re-checks for deadlock while only plain threads held it back (_plain.py).

Pacing, as Go's: it sleeps MIN_DELAY between passes, and after 50 passes in
a row that retook nothing it doubles the sleep up to MAX_DELAY, so a healthy
program pays for ~100 short wake-ups a second. Under the GIL a goroutine
computing without awaiting keeps sysmon off the CPU until the interpreter's
switch interval (5 ms) passes, so such a loop is noticed after ~5 ms, while
a thread blocked in a call (GIL released) is noticed after RETAKE_AFTER.
"""

from __future__ import annotations

import sys
import time

from ._g import FREE_THREADED_BUILD
from ._sched import P_RUNNING, Sched, inject, wake_m

# Measured (bench W7: 32 plain time.sleep(0.05) calls at gomaxprocs=1,
# handed off one after another, each after BLOCKED_AFTER): 1 ms gave
# 91-105 ms, 0.5 ms gives 76-88 ms. A computing M cannot be mistaken for a
# blocked one at any threshold: between two passes sysmon sleeps, the M takes
# the GIL back and its instruction moves. PREEMPT_AFTER is Go's forcePreemptNS.
BLOCKED_AFTER = 0.0005
PREEMPT_AFTER = 0.010
NETPOLL_AFTER = 0.010  # Go's sysmon polls the network after 10 ms
MIN_DELAY = 20e-6
MAX_DELAY = 0.010
IDLE_PASSES = 50


def sysmon(sched: Sched) -> None:
    delay = MIN_DELAY
    idle = 0
    note = sched.sysmon_note
    lock = sched.lock
    timers = sched.timers
    while True:
        if note.acquire(True, delay):
            return  # stop_locked released the note: the run is over
        now = time.monotonic()
        sched.coarse_now = now
        towake = []
        retook = 0
        with lock:
            if sched.stopping:
                return
            for p in sched.allp:
                m = p.m
                if m is None or p.status != P_RUNNING:
                    continue
                tick = p.schedtick
                if tick != p.sysmon_tick:
                    p.sysmon_tick = tick
                    p.sysmon_when = now
                    p.sysmon_where = None
                    continue
                stuck = now - p.sysmon_when
                if stuck < BLOCKED_AFTER:
                    continue
                if stuck < PREEMPT_AFTER:
                    f = sys._current_frames().get(m.ident)
                    # Free-threaded builds read only the frame's identity:
                    # its fields are the running thread's to change, and a
                    # frame returning under the reader can take its memory
                    # with it (see _traceback). A loop in one frame then
                    # looks blocked and loses its P sooner; it runs on.
                    if f is None:
                        where = None
                    else:
                        where = (id(f), -1 if FREE_THREADED_BUILD else f.f_lasti)
                    # Not kept: a frame object held past its return keeps its
                    # locals (a channel, say) alive.
                    f = None
                    if where is None or where != p.sysmon_where:
                        p.sysmon_where = where  # computing (or first look)
                        continue
                others = (
                    p.runnext
                    or sched.runq
                    or (timers.nlive and sched.poller is None and timers.earliest() <= now)
                )
                if not others:
                    continue
                # Retake: the M keeps its G but loses the right to run others.
                if sched.trace is not None:
                    sched.trace.emit_shared("retake", m.id, 0, p.id)
                m.p = None
                p.sysmon_tick = -1
                p.sysmon_where = None
                towake.append(sched.handoffp_locked(p))
                retook += 1
            if (
                timers.nlive
                and sched.poller is None
                and sched.pidle
                and timers.earliest() <= now
            ):
                towake.append(sched.wakep_locked())
            if sched.plain.suppressed:
                # Only plain threads kept the last idle M from declaring a
                # deadlock: look again (one may have exited).
                sched.checkdead_locked(None)
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
        if retook:
            idle = 0
            delay = MIN_DELAY
        else:
            idle += 1
            if idle > IDLE_PASSES:
                delay = min(delay * 2, MAX_DELAY)
