"""A program that sits still until told to end: for the SIGQUIT and schedtrace tests.

Four goroutines park for good (chan receive, chan send, sleep, select with
no cases); then main prints ``ready ID ID ID ID`` and reads orders from
stdin inside a blocking call (so goroutine 1 shows as ``syscall``): a line
``quit`` (or end of input) ends the program, anything else is echoed back
as ``echo LINE``. With the argument ``own-handler`` the program installs
its own SIGQUIT handler first, which prints ``own handler`` on stdout.
"""

from __future__ import annotations

import signal
import sys
import time
from typing import Any

import goroutines as gr


async def stuck_recv(ch: gr.Chan[int]) -> None:
    await ch.recv()


async def stuck_send(ch: gr.Chan[int]) -> None:
    await ch.send(1)


async def sleeper() -> None:
    await gr.sleep(3600)


async def select_forever() -> None:
    await gr.select()


def _announce_then_readline(announce: str) -> str:
    if announce:
        print(announce, flush=True)
    return sys.stdin.readline()


async def main() -> None:
    ids = [
        gr.go(stuck_recv, gr.Chan()).id,
        gr.go(stuck_send, gr.Chan()).id,
        gr.go(sleeper).id,
        gr.go(select_forever).id,
    ]
    deadline = time.monotonic() + 20
    while sum(g.state == "waiting" for g in gr.goroutines()) < len(ids):
        if time.monotonic() > deadline:
            raise SystemExit("debug_wait: goroutines never parked:\n" + gr.dump())
        await gr.gosched()
    # "ready" is printed from inside the system call, so that a parent that
    # signals on seeing it finds goroutine 1 in state syscall, not running.
    announce = "ready " + " ".join(map(str, ids))
    while True:
        line = await gr.syscall(_announce_then_readline, announce)
        announce = ""
        if not line or line.strip() == "quit":
            break
        print("echo " + line.strip(), flush=True)
    print("bye", flush=True)


def _own_handler(signum: int, frame: Any) -> None:
    print("own handler", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["own-handler"]:
        signal.signal(signal.SIGQUIT, _own_handler)
    gr.run(main)
