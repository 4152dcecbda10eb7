"""Fanning work out from goroutines to other processes: a ProcessPoolExecutor
and a dask.distributed LocalCluster (worker processes, started here), with
the results coming back over channels. examples/fanout.py is the program."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

import pytest
from helpers import ROOT, goroutines_cmd

import goroutines as gr

try:
    import distributed  # noqa: F401

    HAVE_DASK = True
except ImportError:  # e.g. a free-threaded build where it does not install
    HAVE_DASK = False


def run_example(*args: str) -> str:
    r = goroutines_cmd("run", "examples/fanout.py", *args, cwd=ROOT, timeout=150)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr[-3000:]}"
    return r.stdout


def square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_goroutines_fan_out_to_a_process_pool_results_over_a_channel() -> None:
    async def one(pool: cf.ProcessPoolExecutor, x: int, results: gr.Chan[tuple[int, int, int]]) -> None:
        r, pid = await gr.wait_future(pool.submit(square, x))
        await results.send((x, r, pid))

    async def main() -> list[tuple[int, int]]:
        results: gr.Chan[tuple[int, int, int]] = gr.Chan()
        with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as pool:
            for x in range(20):
                gr.go(one, pool, x, results)
            got = [await results.recv() for _ in range(20)]
        assert all(pid != os.getpid() for _, _, pid in got)
        return sorted((x, r) for x, r, _ in got)

    assert gr.run(main) == [(x, x * x) for x in range(20)]


@pytest.mark.timeout(160)
def test_example_process_pool() -> None:
    out = run_example("--executor", "process", "--tasks", "16", "--work", "0.02", "--workers", "2")
    assert out.startswith("process: 16 tasks of 20 ms, sum 1240, ")


@pytest.mark.timeout(160)
@pytest.mark.skipif(not HAVE_DASK, reason="dask[distributed] is not installed (the 'test' extra; it may not install on this build)")
def test_example_dask_local_cluster_with_worker_processes() -> None:
    out = run_example("--executor", "dask", "--tasks", "16", "--work", "0.02", "--workers", "2")
    assert out.startswith("dask: 16 tasks of 20 ms, sum 1240, ")
