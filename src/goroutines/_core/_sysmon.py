"""sysmon: the monitor thread (Go's sysmon). It runs no goroutine and holds no P.

Each pass it:
  * refreshes ``Sched.coarse_now``;
  * retakes a P whose M has stayed inside one goroutine for RETAKE_AFTER
    or longer while other work waits (runnext, the global queue, a due
    timer): the M is stuck in a blocking call nobody annotated, or in a loop
    that never awaits. The P goes to another M (handoff), so the others keep
    running; the stuck M gives up running goroutines at its next scheduling
    point (see _proc.py);
  * wakes an M for due timers when no M waits for them.

Pacing, as Go's: it sleeps MIN_DELAY between passes, and after 50 passes in
a row that retook nothing it doubles the sleep up to MAX_DELAY, so a healthy
program pays for ~100 short wake-ups a second. Under the GIL a goroutine
computing without awaiting keeps sysmon off the CPU until the interpreter's
switch interval (5 ms) passes, so such a loop is noticed after ~5 ms, while
a thread blocked in a call (GIL released) is noticed after RETAKE_AFTER.
"""

from __future__ import annotations

import time

from ._sched import P_RUNNING, Sched, wake_m

# Measured (bench/w7_blocking.py): 32 plain time.sleep(0.05) calls at
# gomaxprocs=1 finish in ~1 retake per call; a smaller value buys little
# and hands off CPU bursts that were about to await anyway.
RETAKE_AFTER = 0.001
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
                    continue
                if now - p.sysmon_when < RETAKE_AFTER:
                    continue
                others = (
                    p.runnext
                    or sched.runq
                    or (timers.nlive and sched.poller is None and timers.earliest() <= now)
                )
                if not others:
                    continue
                # Retake: the M keeps its G but loses the right to run others.
                m.p = None
                p.sysmon_tick = -1
                towake.append(sched.handoffp_locked(p))
                retook += 1
            if (
                timers.nlive
                and sched.poller is None
                and sched.pidle
                and timers.earliest() <= now
            ):
                towake.append(sched.wakep_locked())
        for m in towake:
            wake_m(m)
        if retook:
            idle = 0
            delay = MIN_DELAY
        else:
            idle += 1
            if idle > IDLE_PASSES:
                delay = min(delay * 2, MAX_DELAY)
