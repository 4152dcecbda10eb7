"""A program for ``goroutines run``: ``panic`` or ``deadlock`` (argv[1]), with a bystander goroutine.

Goroutine 2 waits to receive for good. With ``panic``, goroutine 3 raises
once goroutines 1 and 2 are both parked; with ``deadlock``, nothing else
happens and main's receive deadlocks the program.
"""

from __future__ import annotations

import sys
import time

import goroutines as gr


async def bystander(ch: gr.Chan[int]) -> None:
    await ch.recv()


def fail() -> None:
    raise ValueError("boom from crasher")


async def crasher() -> None:
    deadline = time.monotonic() + 20
    while sum(g.state == "waiting" for g in gr.goroutines()) < 2:
        if time.monotonic() > deadline:
            raise SystemExit("cli_crash: goroutines never parked")
        await gr.gosched()
    fail()


async def main() -> None:
    gr.go(bystander, gr.Chan())
    if sys.argv[1:] == ["panic"]:
        gr.go(crasher)
    await gr.Chan[int]().recv()
