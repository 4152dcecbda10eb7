"""A planted race: a worker whose select relies on source order.

    goroutines run examples/race.py                      # usually loses jobs
    GOROUTINES_SEED=3 goroutines run examples/race.py    # the same run every time

The worker takes jobs until it is told to quit, and its author assumed the
jobs case "comes first"::

    for {
        select {
        case j := <-jobs:   // "checked first, so every job is done"
            done = append(done, j)
        case <-quit:
            return
        }
    }

Go gives a select no such order: when several cases are ready it picks one
uniformly at random, and so does ``gr.select``. Once main has closed
``quit`` while a job still sits in the buffer, both cases are ready and the
worker quits early half of the time, dropping the job. The bug hides from a
test that runs the program once and is found by running it with many
seeds; the seed of a failing run reproduces it exactly (tests/test_race.py
does both, and docs/testing.md shows how). The fix: close ``jobs`` instead
of a separate ``quit`` and ``async for j in jobs``, so no job can be left.
"""

from __future__ import annotations

import goroutines as gr

JOBS = 3


async def worker(jobs: gr.Chan[int], quit_: gr.Chan[None], finished: gr.Chan[None], done: list[int]) -> None:
    while True:
        i, j, _ = await gr.select(jobs.recv(), quit_.recv())  # the bug: "jobs first"
        if i == 1:
            break
        done.append(j)
        await gr.gosched()  # the work on job j; main sends more meanwhile
    finished.close()


async def run_jobs(n: int = JOBS) -> list[int]:
    """Hand ``n`` jobs to the worker, tell it to quit, return what it did."""
    jobs: gr.Chan[int] = gr.Chan(1)
    quit_: gr.Chan[None] = gr.Chan()
    finished: gr.Chan[None] = gr.Chan()
    done: list[int] = []
    gr.go(worker, jobs, quit_, finished, done)
    for j in range(n):
        await jobs.send(j)
    quit_.close()
    await finished.recv()
    return done


async def main() -> None:
    done = await run_jobs()
    lost = JOBS - len(done)
    print(f"worker did {done}; {lost} job(s) lost" if lost else f"worker did {done}; all done")
