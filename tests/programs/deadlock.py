"""A program that deadlocks: run() must raise gr.Deadlock with the dump.

Goroutine 1 (main) waits to receive; a second goroutine waits to send on
another channel; a third sits in select(). Nothing can ever run again.
"""

from __future__ import annotations

import goroutines as gr


async def stuck_sender(ch: gr.Chan[int]) -> None:
    await ch.send(1)


async def stuck_selector(a: gr.Chan[int], b: gr.Chan[int]) -> None:
    await gr.select(a.recv(), b.send(2))


async def main() -> None:
    inbox: gr.Chan[int] = gr.Chan()
    other: gr.Chan[int] = gr.Chan()
    h1 = gr.go(stuck_sender, other)
    h2 = gr.go(stuck_selector, gr.Chan(), gr.Chan())
    print(f"ids {h1.id} {h2.id}", flush=True)
    await inbox.recv()


if __name__ == "__main__":
    gr.run(main)
