"""main returns while other goroutines are parked or still runnable.

The process must print main's result and exit at once with status 0 and a
clean stderr: abandoned goroutines are not waited for and no runtime thread
keeps the interpreter alive. Runs several times (argv[1], default 20) at
gomaxprocs argv[2] (default 4).
"""

from __future__ import annotations

import sys
import threading

import goroutines as gr


async def spinner() -> None:
    while True:
        await gr.gosched()


async def parked(ch: gr.Chan[int]) -> None:
    await ch.recv()


async def forever() -> None:
    await gr.select()


async def main(k: int) -> int:
    ch: gr.Chan[int] = gr.Chan()
    for _ in range(4):
        gr.go(spinner)
        gr.go(parked, ch)
    gr.go(forever)
    for _ in range(20):
        await gr.gosched()
    return k


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    results = [gr.run(main, k, gomaxprocs=procs) for k in range(runs)]
    assert results == list(range(runs)), results
    left = [t.name for t in threading.enumerate() if t.name.startswith("goroutines-") and t.is_alive()]
    print(f"done {runs} left {left}", flush=True)
