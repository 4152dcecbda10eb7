"""A program for ``goroutines run --trace``: prints its argv, runs a few goroutines.

Two workers each compute for about 3 ms per turn (measured, not slept) and
hand a token back and forth, so their runs are wide enough to be drawn one
by one on the timeline; one goroutine makes a blocking call. With the
argument ``panic`` a worker raises at the end instead.
"""

from __future__ import annotations

import json
import sys
import time

import goroutines as gr

TURNS = 4


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def worker(inbox: gr.Chan[int], outbox: gr.Chan[int], done: gr.Chan[None]) -> None:
    for _ in range(TURNS):
        v = await inbox.recv()
        busy(0.003)
        await outbox.send(v + 1)
    await done.send(None)


async def blocker(done: gr.Chan[None]) -> None:
    await gr.syscall(time.sleep, 0.01)
    await done.send(None)


async def main() -> None:
    print(json.dumps(sys.argv[1:]), flush=True)
    a: gr.Chan[int] = gr.Chan(1)
    b: gr.Chan[int] = gr.Chan(1)
    done: gr.Chan[None] = gr.Chan(3)
    gr.go(worker, a, b, done)
    gr.go(worker, b, a, done)
    gr.go(blocker, done)
    await a.send(0)
    for _ in range(3):
        await done.recv()
    if sys.argv[1:] == ["panic"]:
        raise ValueError("traced program panics")
