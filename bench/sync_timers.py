"""Benchmark: timers and sync primitives, goroutines vs asyncio (stdlib only).

    python bench/sync_timers.py [--quick] [--gomaxprocs N] [--only SECTION ...]

Sections (each prints one line per figure):

  accuracy   sleep(0.001) lateness p50/p99, idle and while 1,000 goroutines
             ping-pong (500 pairs on unbuffered channels); asyncio.sleep in
             the same process, idle and with 1,000 ping-ponging tasks.
  sleepers   100,000 goroutines each sleeping a random 0-1 s: RSS per
             sleeper and total wall time; the same with asyncio tasks. Each
             system runs in a fresh subprocess so RSS deltas are clean.
  timers     Timer(10) + stop() vs loop.call_later(10, f) + cancel().
  mutex      lock/unlock uncontended, and with 8 goroutines contending (each
             holds the lock across a gosched, so the others really queue),
             vs asyncio.Lock with asyncio.sleep(0).

Lateness is (actual wake - requested) for a 1 ms sleep, measured with
time.perf_counter. The machine is shared: read the figures as orders of
magnitude, and compare columns of the same run.

With ``go`` on PATH (``--no-go`` to skip), bench/sync_timers_go.go runs the
same loops (built once, run in 3 processes at the same GOMAXPROCS, 1 unless
``--gomaxprocs`` says otherwise; the median of each figure) and the rows
that have a Go counterpart show ``vs Go``, the goroutines figure over Go's:
Mutex uncontended and contended, Timer + stop, and the sleep lateness.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import goroutines as gr  # noqa: E402
from goroutines._sync import Mutex, WaitGroup  # noqa: E402

now = time.perf_counter
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def fmt_lat(name: str, xs: list[float], go: bool = False) -> str:
    line = (
        f"{name:<44} p50={pct(xs, 50) * 1e6:8.0f} us  p99={pct(xs, 99) * 1e6:8.0f} us"
        f"  max={max(xs) * 1e6:8.0f} us  (n={len(xs)})"
    )
    if go and GO.get("sleep_late_p50") and "failed" not in GO:
        line += f"  p50 vs Go {pct(xs, 50) * 1e9 / GO['sleep_late_p50']:.1f}x (Go p50 {GO['sleep_late_p50'] / 1e3:.0f} us)"
    return line


# ====================================================================== Go

GO: dict[str, float] = {}  # bench/sync_timers_go.go's figures (ns), once per process


def go_figures(quick: bool, procs: int | None) -> dict[str, float]:
    """Run the Go counterpart (3 processes, the median of each figure);
    empty without ``go`` or if it fails (said once)."""
    if GO or shutil.which("go") is None:
        return GO
    src = Path(__file__).resolve().with_name("sync_timers_go.go")
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "sync_timers_go"
        env = dict(os.environ, GO111MODULE="off", CGO_ENABLED="0", GOCACHE=str(Path(tmp) / "cache"))
        r = subprocess.run(["go", "build", "-o", str(exe), str(src)], env=env, capture_output=True, text=True)
        if r.returncode:
            print(f"# go build failed: {(r.stderr or r.stdout).strip()[-500:]}")
            GO["failed"] = 1.0
            return GO
        env["GOMAXPROCS"] = str(procs or 1)
        n = 20_000 if quick else 200_000
        runs: list[dict[str, float]] = []
        for _ in range(3):
            r = subprocess.run(
                [str(exe), "-n", str(n), "-samples", "200" if quick else "1000"],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            if r.returncode:
                print(f"# Go counterpart failed: {r.stderr.strip()[-500:]}")
                GO["failed"] = 1.0
                return GO
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    for k in runs[0]:
        GO[k] = statistics.median(run[k] for run in runs)
    return GO


def vs_go(value_ns: float, key: str) -> str:
    """`` vs Go N.Nx (Go M ns)`` for a figure Go has, else ""."""
    g = GO.get(key)
    if not g or "failed" in GO:
        return ""
    return f"  vs Go {value_ns / g:7.1f}x (Go {g:,.0f} ns)"


# ====================================================================== accuracy


def gr_accuracy(samples: int, pairs: int, procs: int | None) -> list[float]:
    async def main() -> list[float]:
        stop = [False]
        wg = WaitGroup()

        async def ping(a: gr.Chan[int], b: gr.Chan[int]) -> None:
            while not stop[0]:
                await a.send(1)
                await b.recv()
            wg.done()

        async def pong(a: gr.Chan[int], b: gr.Chan[int]) -> None:
            while True:
                v, ok = await a.recv_ok()
                if not ok:
                    break
                await b.send(v)
            wg.done()

        chans = []
        for _ in range(pairs):
            a, b = gr.Chan(), gr.Chan()
            chans.append(a)
            wg.add(2)
            gr.go(ping, a, b)
            gr.go(pong, a, b)
        await gr.sleep(0.05)  # let the ping-pong get going
        lat = []
        for _ in range(samples):
            t0 = now()
            await gr.sleep(0.001)
            lat.append(now() - t0 - 0.001)
        stop[0] = True
        await _drain(pairs, chans, wg)
        return lat

    return gr.run(main, gomaxprocs=procs)


async def _drain(pairs: int, chans: list[gr.Chan[int]], wg: WaitGroup) -> None:
    # Each ping exits after its current round trip; then the pongs block on
    # recv, and closing their channel ends them.
    while wg.count > pairs:
        await gr.sleep(0.001)
    for a in chans:
        a.close()
    await wg.wait()


def asyncio_accuracy(samples: int, pairs: int) -> list[float]:
    async def main() -> list[float]:
        stop = [False]

        async def ping(a: asyncio.Queue[int], b: asyncio.Queue[int]) -> None:
            while not stop[0]:
                await a.put(1)
                await b.get()

        async def pong(a: asyncio.Queue[int], b: asyncio.Queue[int]) -> None:
            while True:
                v = await a.get()
                await b.put(v)

        tasks = []
        for _ in range(pairs):
            a: asyncio.Queue[int] = asyncio.Queue(1)
            b: asyncio.Queue[int] = asyncio.Queue(1)
            tasks.append(asyncio.create_task(ping(a, b)))
            tasks.append(asyncio.create_task(pong(a, b)))
        await asyncio.sleep(0.05)
        lat = []
        for _ in range(samples):
            t0 = now()
            await asyncio.sleep(0.001)
            lat.append(now() - t0 - 0.001)
        stop[0] = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return lat

    return asyncio.run(main())


def section_accuracy(quick: bool, procs: int | None) -> None:
    samples = 200 if quick else 1000
    print(fmt_lat("goroutines sleep(0.001) idle", gr_accuracy(samples, 0, procs), go=True))
    print(fmt_lat("goroutines sleep(0.001) + 1000 ping-pong", gr_accuracy(samples, 500, procs)))
    print(fmt_lat("asyncio.sleep(0.001) idle", asyncio_accuracy(samples, 0)))
    print(fmt_lat("asyncio.sleep(0.001) + 1000 ping-pong tasks", asyncio_accuracy(samples, 500)))


# ====================================================================== sleepers


def child_sleepers(system: str, n: int, procs: int | None) -> dict[str, float]:
    rng = random.Random(1)
    ds = [rng.random() for _ in range(n)]
    gc.collect()
    base = rss()
    out: dict[str, float] = {}
    if system == "goroutines":

        async def main() -> None:
            wg = WaitGroup()

            async def sleeper(d: float) -> None:
                await gr.sleep(d)
                wg.done()

            t0 = now()
            wg.add(n)
            for d in ds:
                gr.go(sleeper, d)
            out["spawn_s"] = now() - t0
            await gr.gosched()  # to the back of the queue: every sleeper has started and parked
            out["rss_per"] = (rss() - base) / n
            await wg.wait()
            out["wall_s"] = now() - t0

        gr.run(main, gomaxprocs=procs)
    else:

        async def amain() -> None:
            async def sleeper(d: float) -> None:
                await asyncio.sleep(d)

            t0 = now()
            tasks = [asyncio.create_task(sleeper(d)) for d in ds]
            out["spawn_s"] = now() - t0
            await asyncio.sleep(0)  # every task has started and is sleeping
            out["rss_per"] = (rss() - base) / n
            await asyncio.gather(*tasks)
            out["wall_s"] = now() - t0

        asyncio.run(amain())
    return out


def section_sleepers(quick: bool, procs: int | None) -> None:
    n = 20_000 if quick else 100_000
    for system in ("goroutines", "asyncio"):
        cmd = [sys.executable, __file__, "--child-sleepers", system, "--n", str(n)]
        if procs:
            cmd += ["--gomaxprocs", str(procs)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode:
            print(f"{system} sleepers failed: {r.stderr.strip()[-500:]}")
            continue
        d = json.loads(r.stdout.strip().splitlines()[-1])
        print(
            f"{system:<11} {n} sleepers rand(0-1s): RSS/sleeper={d['rss_per']:7.0f} B"
            f"  spawn={d['spawn_s']:.2f} s  total wall={d['wall_s']:.2f} s"
        )


# ====================================================================== timers


def per_op(fn: Callable[[], Any], n: int) -> float:
    t0 = now()
    fn()
    return (now() - t0) / n * 1e9


def section_timers(quick: bool, procs: int | None) -> None:
    n = 20_000 if quick else 200_000

    async def gmain() -> float:
        t0 = now()
        for _ in range(n):
            t = gr.Timer(10)
            t.stop()
        return (now() - t0) / n * 1e9

    async def amain() -> float:
        loop = asyncio.get_running_loop()
        f = lambda: None  # noqa: E731
        t0 = now()
        for _ in range(n):
            h = loop.call_later(10, f)
            h.cancel()
        return (now() - t0) / n * 1e9

    g = min(gr.run(gmain, gomaxprocs=procs) for _ in range(3))
    a = min(asyncio.run(amain()) for _ in range(3))
    print(f"{'goroutines Timer(10) + stop()':<44} {g:8.0f} ns/op{vs_go(g, 'timer_stop')}")
    print(f"{'asyncio call_later(10) + cancel()':<44} {a:8.0f} ns/op")


# ====================================================================== mutex


def section_mutex(quick: bool, procs: int | None) -> None:
    n = 20_000 if quick else 200_000
    workers = 8

    async def g_uncontended() -> float:
        mu = Mutex()
        t0 = now()
        for _ in range(n):
            await mu.lock()
            mu.unlock()
        return (now() - t0) / n * 1e9

    async def g_with() -> float:
        mu = Mutex()
        t0 = now()
        for _ in range(n):
            async with mu:
                pass
        return (now() - t0) / n * 1e9

    async def g_contended() -> float:
        mu = Mutex()
        wg = WaitGroup()
        per = n // workers
        count = [0]

        async def w() -> None:
            for _ in range(per):
                async with mu:
                    count[0] += 1
                    await gr.gosched()
            wg.done()

        t0 = now()
        wg.add(workers)
        for _ in range(workers):
            gr.go(w)
        await wg.wait()
        assert count[0] == per * workers
        return (now() - t0) / (per * workers) * 1e9

    async def g_gosched_only() -> float:  # the same loop without the lock
        wg = WaitGroup()
        per = n // workers

        async def w() -> None:
            for _ in range(per):
                await gr.gosched()
            wg.done()

        t0 = now()
        wg.add(workers)
        for _ in range(workers):
            gr.go(w)
        await wg.wait()
        return (now() - t0) / (per * workers) * 1e9

    async def a_uncontended() -> float:
        lock = asyncio.Lock()
        t0 = now()
        for _ in range(n):
            async with lock:
                pass
        return (now() - t0) / n * 1e9

    async def a_contended() -> float:
        lock = asyncio.Lock()
        per = n // workers
        count = [0]

        async def w() -> None:
            for _ in range(per):
                async with lock:
                    count[0] += 1
                    await asyncio.sleep(0)

        t0 = now()
        await asyncio.gather(*[w() for _ in range(workers)])
        assert count[0] == per * workers
        return (now() - t0) / (per * workers) * 1e9

    async def a_sleep0_only() -> float:
        per = n // workers

        async def w() -> None:
            for _ in range(per):
                await asyncio.sleep(0)

        t0 = now()
        await asyncio.gather(*[w() for _ in range(workers)])
        return (now() - t0) / (per * workers) * 1e9

    def best(f: Callable[[], float]) -> float:
        return min(f() for _ in range(3))

    rows = [
        (
            "goroutines Mutex lock+unlock, uncontended",
            best(lambda: gr.run(g_uncontended, gomaxprocs=procs)),
            "mutex",
        ),
        ("goroutines async with Mutex, uncontended", best(lambda: gr.run(g_with, gomaxprocs=procs)), "mutex"),
        (
            "goroutines 8 contending (+gosched inside)",
            best(lambda: gr.run(g_contended, gomaxprocs=procs)),
            "mutex_contended",
        ),
        (
            "  baseline: 8 goroutines gosched only",
            best(lambda: gr.run(g_gosched_only, gomaxprocs=procs)),
            "gosched",
        ),
        ("asyncio.Lock async with, uncontended", best(lambda: asyncio.run(a_uncontended())), ""),
        ("asyncio.Lock 8 contending (+sleep(0) inside)", best(lambda: asyncio.run(a_contended())), ""),
        ("  baseline: 8 tasks sleep(0) only", best(lambda: asyncio.run(a_sleep0_only())), ""),
    ]
    for name, v, key in rows:
        print(f"{name:<44} {v:8.0f} ns/op{vs_go(v, key)}")


# ====================================================================== main

SECTIONS = {
    "accuracy": section_accuracy,
    "sleepers": section_sleepers,
    "timers": section_timers,
    "mutex": section_mutex,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--gomaxprocs", type=int, default=None)
    p.add_argument("--only", nargs="*", choices=sorted(SECTIONS), default=None)
    p.add_argument("--no-go", action="store_true", help="skip the Go counterpart (bench/sync_timers_go.go)")
    p.add_argument("--child-sleepers", choices=["goroutines", "asyncio"], help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=100_000, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child_sleepers:
        print(json.dumps(child_sleepers(a.child_sleepers, a.n, a.gomaxprocs)))
        return
    procs = a.gomaxprocs
    print(
        f"# python {sys.version.split()[0]}, gomaxprocs={procs or gr.gomaxprocs()}, "
        f"cpus={os.cpu_count()}, quick={a.quick}"
    )
    if not a.no_go and any(s in ("accuracy", "timers", "mutex") for s in a.only or list(SECTIONS)):
        go_figures(a.quick, procs)
        if GO and "failed" not in GO:
            print(f"# Go: {subprocess.run(['go', 'version'], capture_output=True, text=True).stdout.strip()}")
    for name in a.only or list(SECTIONS):
        print(f"## {name}")
        t0 = now()
        SECTIONS[name](a.quick, procs)
        print(f"   ({now() - t0:.1f} s)")


if __name__ == "__main__":
    main()
