"""A runtime bug planted on purpose, for debug mode (GOROUTINES_DEBUG=1) to catch.

Usage: debug_planted.py KIND, KIND one of:

  lock-not-held   a caller of Sched.wakep_locked() that forgot Sched.lock
  lock-order      a channel closed while Sched.lock is held (channel locks
                  come before Sched.lock)
  chan-order      two channel locks taken against select's id() order
  double-ready    a parked goroutine readied twice (the second ready finds
                  it runnable, not waiting: a double wake-up)
  bad-pstatus     an idle P marked idle again (idle -> idle)
  invariant       Sched.nmspinning off by one, left for the next M that
                  goes idle to find (debug mode checks at every idle M)
  lost-wakeup     a parked goroutine marked runnable but queued nowhere:
                  the run then looks deadlocked, and debug mode says why

The run must end with goroutines' RuntimeBug: the program prints
``caught: <message>`` and exits 0, or exits 1 when nothing was caught.
"""

from __future__ import annotations

import sys
from typing import Any

import goroutines as gr
from goroutines._core import _check, _sched, current_m, current_sched, ready
from goroutines._core._g import RUNNABLE, WAITING, casgstatus
from goroutines._errors import RuntimeBug


async def parked_forever(ch: gr.Chan[int]) -> None:
    await ch.recv()


async def main(kind: str) -> None:
    sched: Any = current_sched()
    if kind == "lock-not-held":
        sched.wakep_locked()
    elif kind == "lock-order":
        ch: gr.Chan[int] = gr.Chan()
        with sched.lock:
            ch.close()
    elif kind == "chan-order":
        a: gr.Chan[int] = gr.Chan()
        b: gr.Chan[int] = gr.Chan()
        lo, hi = sorted((a, b), key=id)
        with hi._lock, lo._lock:
            pass
    elif kind in ("double-ready", "lost-wakeup"):
        ch2: gr.Chan[int] = gr.Chan()
        gid = gr.go(parked_forever, ch2).id
        while True:  # until it has parked
            info = [g for g in gr.goroutines() if g.id == gid]
            if info and info[0].state == "waiting":
                break
            await gr.gosched()
        g = sched.allgs[gid]
        if kind == "double-ready":
            m = current_m()
            ready(g, m)
            ready(g, m)
        else:
            casgstatus(g, WAITING, RUNNABLE)  # ... and queued nowhere
            await gr.select()  # block forever: nothing else can run
    elif kind == "bad-pstatus":
        with sched.lock:
            p = sched.pidle[-1]
            _sched.setpstatus(p, _sched.P_IDLE, _sched.P_IDLE)
    elif kind == "invariant":
        with sched.lock:
            sched.nmspinning += 1
        await gr.sleep(0.001)  # this M goes idle: the check runs there
    else:
        raise SystemExit(f"unknown kind {kind!r}")


if __name__ == "__main__":
    assert _check.DEBUG, "run with GOROUTINES_DEBUG=1"
    try:
        gr.run(main, sys.argv[1], gomaxprocs=2)
    except RuntimeBug as e:
        print(f"caught: {e}")
        sys.exit(0)
    print("nothing caught")
    sys.exit(1)
