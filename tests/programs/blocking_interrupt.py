"""Helper for tests/test_interrupt.py: Ctrl-C while goroutines are busy.

    python blocking_interrupt.py exit   [SLEEP]
    python blocking_interrupt.py again  [SLEEP]

Starts ``gr.run`` with goroutines busy: a ping-pong pair on channels, and
one goroutine blocked in a plain (unannotated) ``time.sleep`` of SLEEP s. Once
all of them are running it prints ``ready``; the test then sends SIGINT.

``exit``:  the KeyboardInterrupt propagates and ends the process.
``again``: the KeyboardInterrupt is caught; the program prints
           diagnostics, runs a second ``gr.run`` in the same process and
           prints diagnostics again, then exits 0.

Diagnostic lines (one per line, ``key: value``):
  caught: KeyboardInterrupt           what gr.run raised
  run1_threads: N                     goroutines-* threads alive after run 1
  run1_thread: NAME | in_sleeper=BOOL one line per such thread; in_sleeper
                                      tells whether it is inside the user's
                                      blocking call (the sleeper's frame)
  run2: RESULT                        the second run's result
  run2_threads: N / run2_thread: ...  the same after run 2
  final_threads: N / final_thread: ... with SLEEP <= 5, the same once every
                                      goroutines-* thread has been joined
"""

from __future__ import annotations

import signal
import sys
import threading
import time

import goroutines as gr

# Behave as an interactive interpreter does whatever SIGINT disposition we
# inherited (a background job may start with SIGINT ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)

MODE = sys.argv[1] if len(sys.argv) > 1 else "exit"
SLEEP = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0


def out(line: str) -> None:
    print(line, flush=True)


async def sleeper(started: gr.Chan) -> None:
    await started.send(None)
    time.sleep(SLEEP)  # blocking


async def pinger(ping: gr.Chan, pong: gr.Chan, progressed: gr.Chan) -> None:
    i = 0
    while True:
        await ping.send(i)
        await pong.recv()
        i += 1
        if i == 100:
            await progressed.send(i)


async def ponger(ping: gr.Chan, pong: gr.Chan) -> None:
    while True:
        await pong.send(await ping.recv())


async def main() -> None:
    started, progressed = gr.Chan(1), gr.Chan(1)
    ping, pong = gr.Chan(), gr.Chan()
    gr.go(sleeper, started)
    await started.recv()
    gr.go(ponger, ping, pong)
    gr.go(pinger, ping, pong, progressed)
    await progressed.recv()  # the pair runs while the sleeper blocks
    out("ready")
    # Keep main busy too: more channel traffic, forever.
    ch = gr.Chan()

    async def echo() -> None:
        while True:
            await ch.send(await ch.recv())

    gr.go(echo)
    while True:
        await ch.send(1)
        await ch.recv()


def thread_report(tag: str) -> None:
    frames = sys._current_frames()
    threads = [t for t in threading.enumerate() if t.name.startswith("goroutines-") and t.is_alive()]
    out(f"{tag}_threads: {len(threads)}")
    for t in threads:
        in_sleeper = False
        f = frames.get(t.ident) if t.ident is not None else None
        while f is not None:
            if f.f_code is sleeper.__code__:
                in_sleeper = True
                break
            f = f.f_back
        out(f"{tag}_thread: {t.name} | in_sleeper={in_sleeper}")


async def second() -> int:
    ch = gr.Chan()

    async def producer() -> None:
        for i in range(100):
            await ch.send(i)
        ch.close()

    gr.go(producer)
    total = await gr.syscall(sum, range(10))
    async for v in ch:
        total += v
    return total


if MODE == "exit":
    gr.run(main, gomaxprocs=1)
elif MODE == "again":
    try:
        gr.run(main, gomaxprocs=1)
    except KeyboardInterrupt:
        out("caught: KeyboardInterrupt")
    except BaseException as e:  # noqa: BLE001 - reported to the test
        out(f"caught: {type(e).__name__}: {e}")
    else:
        out("caught: nothing")
    thread_report("run1")
    out(f"run2: {gr.run(second, gomaxprocs=1)}")
    thread_report("run2")
    if SLEEP <= 5:
        # A thread left inside the user's call ends when the call returns.
        for t in threading.enumerate():
            if t.name.startswith("goroutines-"):
                t.join(SLEEP + 10)
        thread_report("final")
else:
    raise SystemExit(f"unknown mode {MODE!r}")
