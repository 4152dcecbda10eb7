"""A program whose worker goroutine raises: run() re-raises it, with a note."""

from __future__ import annotations

import goroutines as gr


async def worker(ch: gr.Chan[int]) -> None:
    await ch.send(1)
    raise ValueError("boom from worker")


async def main() -> None:
    ch: gr.Chan[int] = gr.Chan()
    h = gr.go(worker, ch)  # the note must name this line
    print(f"id {h.id}", flush=True)
    await ch.recv()
    await gr.Chan[int]().recv()  # parks; the worker's exception ends the run


if __name__ == "__main__":
    gr.run(main)
