"""Instruction counts of the parking and timer paths (sync, time, context).

    python bench/park_ir.py [--n N] [--ops a,b,...] [--python PY]

For each operation, runs ``python bench/park_ir.py --one OP N`` and the same
with 2N under ``valgrind --tool=callgrind`` (every thread counted) and
prints (Ir at 2N - Ir at N) / N: the instructions one operation costs, with
interpreter start-up and the run's set-up cancelled out. GOMAXPROCS=1 and
GOROUTINES_SYSMON=0, so the counts repeat from run to run (sysmon's passes
would add a time-dependent share). The Mutex's starvation threshold (1 ms of
waiting, far less than a wait takes under callgrind) is set so that each
operation stays in one mode: never starving, except in mutex_handoff.

Operations:

  mutex         lock()+unlock(), uncontended
  mutex_cont    two goroutines each locking, yielding while holding, and
                unlocking: every lock parks and every unlock wakes (normal
                mode: the woken waiter competes again)
  mutex_handoff the same in starvation mode (every unlock hands the mutex
                to the oldest waiter)
  rwmutex       rlock()+runlock(), uncontended
  waitgroup     add(1)+done(), and a wait() that parks and is released
  go_wg         wg.add(1), gr.go(a goroutine that calls wg.done()), wg.wait()
  errgroup      ErrGroup(), go(an empty goroutine), wait()
  sem           Semaphore acquire()+release(), uncontended
  cond          a Cond ping-pong round trip (two goroutines under one Mutex)
  sleep         sleep(1e-6) on the real clock
  sleep_fake    sleep(1.0) in a synctest bubble (the fake clock jumps)
  timer_stop    Timer(10) then stop()
  rtimer        the runtime timer alone: _core.Timer(...), start(now + 10), stop()
  rtimer_reset  the runtime timer alone: reset(now + 10) of a pending timer
  ctx_cancel    with_cancel(ctx) then cancel()
  ctx_timeout   with_timeout(ctx, 10) then cancel() (arms and stops a timer)

Measured when the sync objects moved to the core's wait queue and time,
context and the netpoller to the runtime timer API (medians of 3, N=2000,
CPython 3.11 with the C fast paths; the noise between runs is about 2%):

  op             before     after
  mutex           4,917     4,594   -6.6%  (an empty queue is tested inline)
  mutex_cont     14,100    14,457   +2.5%  (park is a method call)
  mutex_handoff  16,321    16,623   +1.9%
  rwmutex         5,900     5,241  -11.2%
  waitgroup      48,348    46,409   -4.0%  (add skips its check's call)
  sem             6,301     6,067   -3.7%
  cond           40,853    40,613   -0.6%
  sleep          40,314    39,736   -1.4%
  sleep_fake     68,053    67,579   -0.7%
  timer_stop     35,297    35,818   +1.5%  (armed under the channel's lock)
  ctx_cancel     24,806    25,057   +1.0%
  ctx_timeout    46,402    45,517   -1.9%

Measured when Mutex, WaitGroup and the runtime timer's start/stop/reset
got their C paths (_speedups.c, "sync" and "timers"; N=2000, one run each,
CPython 3.11; "before" is main at the time, with the channels', select's,
ready's and go()'s C paths already in). At these sizes the counts move by
up to ~150 Ir between runs of the same build (the collector's passes):

  op              before     after
  mutex            4,669       825   -82%   (lock's await and unlock in C)
  mutex_cont      14,352     7,861   -45%   (the park and retry too: MutexWait)
  mutex_handoff   16,288     8,603   -47%
  rwmutex          5,265     5,297          (Python, unchanged)
  waitgroup       36,105    16,035   -56%
  go_wg           17,271     6,930   -60%   (add, go, done, a wait that parks)
  errgroup        62,213    51,534   -17%   (its context and go() dominate)
  sem              6,078     5,830          (Python, unchanged)
  cond            40,252    22,176   -45%   (through the Mutex's C paths)
  sleep           40,275    37,531    -7%
  sleep_fake      69,916    66,733    -5%
  timer_stop      35,969    31,452   -13%
  rtimer           9,432     4,683   -50%   (start+stop, and Timer() itself)
  rtimer_reset     5,526     2,440   -56%
  ctx_cancel      24,927    24,887          (no timer)
  ctx_timeout     45,870    41,340  -10%
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def _ops() -> dict[str, object]:
    import goroutines as gr
    from goroutines import testing as grt

    async def mutex(n: int) -> None:
        mu = gr.Mutex()
        for _ in range(n):
            await mu.lock()
            mu.unlock()

    async def mutex_cont(n: int) -> None:
        mu = gr.Mutex()
        wg = gr.WaitGroup()

        async def worker() -> None:
            for _ in range(n // 2):
                await mu.lock()
                await gr.gosched()
                mu.unlock()
            wg.done()

        wg.add(2)
        gr.go(worker)
        gr.go(worker)
        await wg.wait()

    async def rwmutex(n: int) -> None:
        rw = gr.RWMutex()
        for _ in range(n):
            await rw.rlock()
            rw.runlock()

    async def waitgroup(n: int) -> None:
        wg = gr.WaitGroup()
        done = gr.WaitGroup()

        async def waiter() -> None:
            await wg.wait()
            done.done()

        for _ in range(n):
            wg.add(1)
            done.add(1)
            gr.go(waiter)
            await gr.gosched()  # the waiter parks
            wg.done()  # and is released
            await done.wait()

    async def go_wg(n: int) -> None:
        wg = gr.WaitGroup()

        async def worker() -> None:
            wg.done()

        for _ in range(n):
            wg.add(1)
            gr.go(worker)
            await wg.wait()

    async def errgroup(n: int) -> None:
        async def worker() -> None:
            pass

        for _ in range(n):
            g = gr.ErrGroup()
            g.go(worker)
            await g.wait()

    async def sem(n: int) -> None:
        s = gr.Semaphore(1)
        for _ in range(n):
            await s.acquire()
            s.release()

    async def cond(n: int) -> None:
        mu = gr.Mutex()
        c = gr.Cond(mu)
        turn = [0]
        wg = gr.WaitGroup()

        async def player(me: int) -> None:
            for _ in range(n):
                async with mu:
                    while turn[0] != me:
                        await c.wait()
                    turn[0] = 1 - me
                    c.signal()
            wg.done()

        wg.add(2)
        gr.go(player, 0)
        gr.go(player, 1)
        await wg.wait()

    async def sleep(n: int) -> None:
        for _ in range(n):
            await gr.sleep(1e-6)

    async def sleep_fake(n: int) -> None:
        for _ in range(n):
            await gr.sleep(1.0)

    async def timer_stop(n: int) -> None:
        for _ in range(n):
            gr.Timer(10).stop()

    async def rtimer(n: int) -> None:
        from goroutines._core import Timer, current_sched

        sched = current_sched()
        assert sched is not None
        now = sched.clock.now
        fn = lambda arg, seq: None  # noqa: E731
        for _ in range(n):
            t = Timer(sched, fn, None)
            t.start(now() + 10)
            t.stop()

    async def rtimer_reset(n: int) -> None:
        from goroutines._core import Timer, current_sched

        sched = current_sched()
        assert sched is not None
        now = sched.clock.now
        t = Timer(sched, lambda arg, seq: None, None)
        t.start(now() + 10)
        for _ in range(n):
            t.reset(now() + 10)
        t.stop()

    async def ctx_cancel(n: int) -> None:
        bg = gr.background()
        for _ in range(n):
            _, cancel = gr.with_cancel(bg)
            cancel()

    async def ctx_timeout(n: int) -> None:
        bg = gr.background()
        for _ in range(n):
            _, cancel = gr.with_timeout(bg, 10)
            cancel()

    ops: dict[str, object] = {}
    ops["mutex_handoff"] = (gr.run, mutex_cont)
    for f in (
        mutex,
        mutex_cont,
        rwmutex,
        waitgroup,
        go_wg,
        errgroup,
        sem,
        cond,
        sleep,
        timer_stop,
        rtimer,
        rtimer_reset,
        ctx_cancel,
        ctx_timeout,
    ):
        ops[f.__name__] = (gr.run, f)
    ops["sleep_fake"] = (grt.synctest, sleep_fake)
    return ops


OPS = [
    "mutex",
    "mutex_cont",
    "mutex_handoff",
    "rwmutex",
    "waitgroup",
    "go_wg",
    "errgroup",
    "sem",
    "cond",
    "sleep",
    "sleep_fake",
    "timer_stop",
    "rtimer",
    "rtimer_reset",
    "ctx_cancel",
    "ctx_timeout",
]


def one(op: str, n: int) -> None:
    from goroutines import _sync

    # One mode per operation, whatever the timing (see the module docstring).
    _sync.STARVATION_THRESHOLD = -1.0 if op == "mutex_handoff" else 1e9
    runner, fn = _ops()[op]  # type: ignore[misc]
    runner(fn, n, gomaxprocs=1)


def count(py: str, op: str, n: int) -> int:
    env = dict(os.environ, GOMAXPROCS="1", GOROUTINES_SYSMON="0")
    r = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", py, __file__, "--one", op, str(n)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or m is None:
        raise SystemExit(f"{op} {n}: callgrind failed:\n{r.stderr[-2000:]}")
    return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--one", nargs=2, metavar=("OP", "N"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        one(a.one[0], int(a.one[1]))
        return
    for op in a.ops.split(","):
        if op not in OPS:
            raise SystemExit(f"unknown op {op!r}; one of {', '.join(OPS)}")
        c1 = count(a.python, op, a.n)
        c2 = count(a.python, op, 2 * a.n)
        print(f"{op:<12} {(c2 - c1) / a.n:10.0f} Ir/op", flush=True)


if __name__ == "__main__":
    main()
