"""A pipeline with a worker pool, cancellation through a done channel, and a timeout.

    goroutines run examples/pipeline.py [WORKERS] [ITEMS] [--work S] [--timeout S] [--limit K]

The pattern of the Go blog's "Go Concurrency Patterns: Pipelines and
cancellation" (https://go.dev/blog/pipelines):

* **generate** sends the items 1..ITEMS on ``jobs``, then closes it.
* **WORKERS workers** (fan-out) receive from the one ``jobs`` channel, do
  some slow work per item (``--work`` seconds of simulated I/O), and send
  their results on one shared ``results`` channel (fan-in).
* **close_when_done** waits until every worker has said it finished, then
  closes ``results``: that is how ``main``'s loop learns the pipeline is
  drained (in Go, a ``sync.WaitGroup`` does this counting).
* **main** collects the results in a ``select`` that also waits on a
  ``gr.after(timeout)`` channel. When the timeout fires first, or once it
  has ``--limit`` results, it closes ``done``. Every stage sends inside a
  ``select`` that also receives from ``done``, so a closed ``done`` (a
  receive on a closed channel is always ready) stops all of them at once,
  wherever they are blocked: one ``close`` is a broadcast.

The heart of it in Go::

    for n := range jobs {
        r := work(n)
        select {
        case results <- r:
        case <-done:
            return
        }
    }

and in main::

    timeout := time.After(2 * time.Second)
    for {
        select {
        case r, ok := <-results:
            if !ok { return }    // all workers finished
            ...
        case <-timeout:
            close(done)          // cancel every stage
        }
    }

Try ``--timeout 0.05`` or ``--limit 5`` to watch the cancellation.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

import goroutines as gr


@dataclass(frozen=True)
class Result:
    item: int
    value: int
    worker: int
    seconds: float


async def generate(done: gr.Chan[None], jobs: gr.Chan[int], count: int) -> None:
    """Send 1..count on jobs, or stop early when done is closed; then close jobs."""
    for n in range(1, count + 1):
        i, _, _ = await gr.select(jobs.send(n), done.recv())
        if i == 1:  # cancelled
            break
    jobs.close()


async def worker(
    wid: int,
    done: gr.Chan[None],
    jobs: gr.Chan[int],
    results: gr.Chan[Result],
    finished: gr.Chan[int],
    work: float,
) -> None:
    """Process items from jobs until it is closed or done is closed."""
    async for n in jobs:
        t0 = time.monotonic()
        await gr.sleep(work * random.uniform(0.5, 1.5))  # the slow part: I/O, say
        r = Result(item=n, value=n * n, worker=wid, seconds=time.monotonic() - t0)
        i, _, _ = await gr.select(results.send(r), done.recv())
        if i == 1:  # cancelled while waiting to hand the result over
            break
    await finished.send(wid)  # Go: defer wg.Done()


async def close_when_done(finished: gr.Chan[int], workers: int, results: gr.Chan[Result]) -> None:
    """Close results once all the workers have returned (Go: wg.Wait(); close(results))."""
    for _ in range(workers):
        await finished.recv()
    results.close()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="A worker-pool pipeline with cancellation and a timeout.")
    p.add_argument("workers", nargs="?", type=int, default=4, help="worker goroutines (default 4)")
    p.add_argument("items", nargs="?", type=int, default=20, help="items to process (default 20)")
    p.add_argument("--work", type=float, default=0.02, help="seconds of work per item (default 0.02)")
    p.add_argument("--timeout", type=float, default=2.0, help="give up after this many seconds (default 2)")
    p.add_argument("--limit", type=int, default=0, help="stop after this many results (default: all)")
    args = p.parse_args()
    if args.workers < 1 or args.items < 0:
        p.error("need at least 1 worker and a non-negative number of items")
    return args


async def main() -> None:
    args = parse_args()
    print(
        f"pipeline: {args.items} items, {args.workers} workers, ~{args.work * 1000:.0f} ms of work "
        f"each, timeout {args.timeout:g} s" + (f", stop after {args.limit}" if args.limit else "")
    )
    start = time.monotonic()

    done: gr.Chan[None] = gr.Chan()  # closed to cancel; never sent on
    jobs: gr.Chan[int] = gr.Chan()
    results: gr.Chan[Result] = gr.Chan()
    finished: gr.Chan[int] = gr.Chan()

    gr.go(generate, done, jobs, args.items)
    for wid in range(1, args.workers + 1):
        gr.go(worker, wid, done, jobs, results, finished, args.work)
    gr.go(close_when_done, finished, args.workers, results)

    timeout = gr.after(args.timeout)
    got: list[Result] = []
    per_worker: dict[int, int] = {}
    reason = ""
    cases = (results.recv_ok(), timeout.recv())  # operation objects can be reused
    while True:
        i, r, ok = await gr.select(*cases)
        if i == 1:
            reason = f"timed out after {args.timeout:g} s"
            break
        if not ok:  # results closed: every worker has finished
            break
        got.append(r)
        per_worker[r.worker] = per_worker.get(r.worker, 0) + 1
        print(f"  item {r.item:>3} -> {r.value:>6}   (worker {r.worker}, {r.seconds * 1000:.0f} ms)")
        if args.limit and len(got) >= args.limit:
            reason = f"got the {args.limit} results wanted"
            break

    if reason:
        print(f"{reason}: cancelling the pipeline")
        done.close()  # one close wakes every stage blocked in a select on done
        late = 0
        async for _ in results:  # closed by close_when_done once every worker has stopped
            late += 1
        if late:
            print(f"  ({late} result(s) finished after the cancel were discarded)")

    elapsed = time.monotonic() - start
    status = "cancelled" if reason else "done"
    spread = ", ".join(f"w{w}:{c}" for w, c in sorted(per_worker.items()))
    print(
        f"{status}: {len(got)}/{args.items} results in {elapsed:.2f} s, "
        f"sum of squares {sum(r.value for r in got)}; per worker {spread or '-'}"
    )
    print(f"all {args.workers} workers have stopped")
