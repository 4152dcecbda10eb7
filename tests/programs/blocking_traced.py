"""A program for ``goroutines run --trace`` (issue 15, item 5): one goroutine
makes plain blocking calls (no gr.syscall), one waits in the netpoller for a
socket, and main sleeps on timers beside them."""

from __future__ import annotations

import socket
import time

import goroutines as gr


async def blocker(done: gr.Chan[None]) -> None:
    for _ in range(3):
        time.sleep(0.03)  # blocking, unannotated: sysmon must find it
        await gr.gosched()
    await done.send(None)


async def reader(r: socket.socket, done: gr.Chan[None]) -> None:
    await gr.wait_readable(r)  # parks in the netpoller
    assert r.recv(1) == b"x"
    await done.send(None)


async def main() -> None:
    done: gr.Chan[None] = gr.Chan(2)
    r, w = socket.socketpair()
    r.setblocking(False)
    gr.go(blocker, done)
    gr.go(reader, r, done)
    for _ in range(5):
        await gr.sleep(0.01)
    w.send(b"x")
    await done.recv()
    await done.recv()
    r.close()
    w.close()
