"""Fan work out from goroutines to other processes, or a dask cluster.

    goroutines run examples/fanout.py [--tasks N] [--work S] [--executor process|dask|serial] [--workers W]

Goroutines share one interpreter: CPU-bound Python work, or work that has
outgrown one machine, belongs in other processes. This program keeps the
coordination in goroutines and sends the work elsewhere:

* one goroutine per task submits it to an executor and parks on the
  result with ``await gr.wait_future(f)``: the goroutine waits, never a
  thread, so N tasks in flight cost N small goroutines, not N threads;
* results come back over one channel to ``main``, in completion order;
* ``--executor process`` uses a ``concurrent.futures.ProcessPoolExecutor``;
  ``--executor dask`` starts a ``dask.distributed.LocalCluster`` with
  worker processes (pass a scheduler address with ``--scheduler`` to use a
  real cluster: the program does not change); ``serial`` runs the tasks one
  after another in this process, for comparison.

Each task is ``work(i, seconds)``: it sleeps ``seconds`` in the worker (as
a stand-in for real work) and returns ``i * i``. The program prints the sum
of the results, the number of tasks and the wall time.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import time
from collections.abc import Callable
from typing import Any

import goroutines as gr


def work(i: int, seconds: float) -> int:
    """The task (module level: it is pickled to the worker processes)."""
    time.sleep(seconds)
    return i * i


async def task(submit: Callable[..., Any], i: int, seconds: float, results: gr.Chan[tuple[int, int]]) -> None:
    f = submit(work, i, seconds)  # a concurrent.futures or dask future
    await results.send((i, await gr.wait_future(f)))


async def fan_out(submit: Callable[..., Any], n: int, seconds: float) -> int:
    """Run n tasks through ``submit``; the sum of their results."""
    results: gr.Chan[tuple[int, int]] = gr.Chan()
    for i in range(n):
        gr.go(task, submit, i, seconds, results)
    total = 0
    for _ in range(n):
        _, r = await results.recv()
        total += r
    return total


async def run_tasks(
    n: int = 64, seconds: float = 0.05, executor: str = "process", workers: int = 4, scheduler: str | None = None
) -> tuple[int, float]:
    """Fan n tasks out; returns the sum and the wall time of the fan-out
    (the pool or cluster already started)."""
    if executor == "serial":
        t0 = time.monotonic()
        return sum(work(i, seconds) for i in range(n)), time.monotonic() - t0
    if executor == "process":
        # The platform's default start method (fork on Linux up to 3.13).
        # For spawn or forkserver workers, which import the function by
        # name, keep it in a module of its own: ``goroutines run`` loads this
        # file as ``__main__``, which those workers cannot import.
        pool = cf.ProcessPoolExecutor(workers)
        try:
            # Start the worker processes first, so the timing is the fan-out's.
            await gr.wait_future(pool.submit(work, 0, 0.0))
            t0 = time.monotonic()
            total = await fan_out(pool.submit, n, seconds)
            return total, time.monotonic() - t0
        finally:
            await gr.syscall(pool.shutdown)
    if executor == "dask":
        from dask.distributed import Client, LocalCluster

        # Starting a cluster and connecting block: system calls.
        cluster = None
        if scheduler is None:
            cluster = await gr.syscall(
                LocalCluster, n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = await gr.syscall(Client, scheduler or cluster)
        try:
            # pure=False: every call is its own task (dask merges equal calls).
            def submit(fn: Callable[..., Any], *args: Any) -> Any:
                return client.submit(fn, *args, pure=False)

            await gr.wait_future(submit(work, 0, 0.0))
            t0 = time.monotonic()
            total = await fan_out(submit, n, seconds)
            return total, time.monotonic() - t0
        finally:
            await gr.syscall(client.close)
            if cluster is not None:
                await gr.syscall(cluster.close)
    raise ValueError(f"executor must be process, dask or serial, not {executor!r}")


def expected(n: int) -> int:
    return sum(i * i for i in range(n))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=64)
    ap.add_argument("--work", type=float, default=0.05, help="seconds each task takes")
    ap.add_argument("--executor", default="process", choices=["process", "dask", "serial"])
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--scheduler", default=None, help="a dask scheduler address (default: a LocalCluster)")
    a = ap.parse_args()
    total, wall = await run_tasks(a.tasks, a.work, a.executor, a.workers, a.scheduler)
    if total != expected(a.tasks):
        raise SystemExit(f"wrong sum {total}, want {expected(a.tasks)}")
    print(f"{a.executor}: {a.tasks} tasks of {a.work * 1000:g} ms, sum {total}, {wall * 1000:.0f} ms")
