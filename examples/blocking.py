"""Blocking calls inside goroutines: the runtime moves the other goroutines to another thread.

    goroutines run examples/blocking.py [N] [SECONDS]     # default: 32 goroutines, 0.05 s each

In Go you call blocking functions (file reads, DNS, cgo) straight from a
goroutine: when a goroutine's thread blocks in a system call, the runtime
hands the thread's processor (P) to another thread, so the other goroutines
keep running. A program never needs a thread pool or callbacks for that.

goroutines does the same, in two ways:

* ``await gr.syscall(fn, *args)`` says "this call blocks": the runtime hands
  the other goroutines to another thread at once (Go's
  ``entersyscall``/``exitsyscall``).
* an unannotated blocking call (plain ``time.sleep``, a blocking socket, a
  library that does I/O) is noticed by the runtime's monitor thread (Go's
  ``sysmon``) within a few milliseconds, and the other goroutines are moved
  to another thread then.

This program starts N goroutines that each block their thread for SECONDS,
first with ``gr.syscall(time.sleep, SECONDS)`` and then with a plain
``time.sleep(SECONDS)``. One after another, that would take N x SECONDS; here
each batch takes about SECONDS (a little more for the unannotated one),
because every blocked goroutine ends up on its own thread. Meanwhile main
keeps receiving from a 10 ms ticker in the same ``select``; the longest gap
between its ticks shows how long the blocking calls held it up: about one
tick with ``syscall``, a few tens of milliseconds with the unannotated calls
(each one holds up its thread until the monitor notices, and main waits its
turn behind the goroutines started before it). Annotate the blocking calls
you know about; the runtime copes with the ones you don't.

Go equivalent (a syscall is implicit there)::

    for i := 0; i < n; i++ {
        go func() { unix.Nanosleep(&ts, nil); done <- struct{}{} }()  // the thread blocks in the kernel
    }
    for remaining := n; remaining > 0; {
        select {
        case <-done:
            remaining--
        case <-ticker.C:
            ticks++
        }
    }
"""

from __future__ import annotations

import sys
import threading
import time

import goroutines as gr

TICK = 0.01


async def blocker(annotated: bool, seconds: float, done: gr.Chan[int]) -> None:
    """Block this goroutine's thread for ``seconds``; report the thread it ran on."""
    if annotated:
        await gr.syscall(time.sleep, seconds)
    else:
        time.sleep(seconds)  # no await: the thread itself is stuck here
    await done.send(threading.get_ident())


async def batch(n: int, seconds: float, annotated: bool) -> tuple[float, int, float, int]:
    """Run n blockers; return (elapsed, ticks seen, longest gap between ticks, threads used)."""
    done: gr.Chan[int] = gr.Chan()
    ticker = gr.Ticker(TICK)
    start = last = time.monotonic()
    for _ in range(n):
        gr.go(blocker, annotated, seconds, done)
    threads: set[int] = set()
    ticks = 0
    gap = 0.0
    cases = (done.recv(), ticker.c.recv())  # made once, performed afresh by each select
    remaining = n
    while remaining:
        i, v, _ = await gr.select(*cases)
        now = time.monotonic()
        if i == 0:
            remaining -= 1
            threads.add(v)  # a thread freed by one blocker may run a later one
        else:
            ticks += 1
            gap = max(gap, now - last)
            last = now
    ticker.stop()
    return time.monotonic() - start, ticks, gap, len(threads)


def parse(argv: list[str]) -> tuple[int, float]:
    try:
        n = int(argv[1]) if len(argv) > 1 else 32
        seconds = float(argv[2]) if len(argv) > 2 else 0.05
    except ValueError:
        sys.exit("usage: blocking.py [N] [SECONDS]")
    if n < 1 or seconds < 0:
        sys.exit("usage: blocking.py [N] [SECONDS]: N >= 1, SECONDS >= 0")
    return n, seconds


async def main() -> None:
    n, seconds = parse(sys.argv)
    print(
        f"{n} goroutines each block their thread for {seconds * 1000:.0f} ms "
        f"(one after another: {n * seconds:.2f} s); gomaxprocs={gr.gomaxprocs()}"
    )
    for annotated, label in (
        (True, f"await gr.syscall(time.sleep, {seconds:g})"),
        (False, f"time.sleep({seconds:g}), unannotated"),
    ):
        elapsed, ticks, gap, nthreads = await batch(n, seconds, annotated)
        print(
            f"  {label:<38} all done in {elapsed:.2f} s on {nthreads} threads; "
            f"main's 10 ms ticker ticked {ticks}x, longest gap {gap * 1000:.0f} ms"
        )
