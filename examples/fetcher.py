"""Fetch URLs concurrently: goroutines coordinate, asyncio does the HTTP.

    goroutines run examples/fetcher.py URL... [--workers W] [--timeout S] [-v]

The pieces of "goroutines in the rest of Python" in one program:

* **asyncio libraries from goroutines.** ``fetch`` is plain asyncio code
  (``asyncio.open_connection``, as an aiohttp or httpx call would be); a
  goroutine runs it with ``await gr.aio(fetch(url))`` on the runtime's
  asyncio loop thread, and parks meanwhile, so W fetches overlap on one
  thread.
* **Context variables.** Each worker sets ``current_url`` for the request
  it handles; it survives every park, and ``gr.aio`` hands a copy to the
  asyncio side, whose log lines name the URL without being passed it.
* **Logging with goroutine ids.** ``gr.GoroutineFilter`` puts the id of
  the goroutine that logged on each record (``%(goroutine)s``).
* **Go's worker pool.** W workers range over a ``jobs`` channel and send
  results to ``results``; a ``WaitGroup`` closes ``results`` when the last
  worker is done (Go's errgroup would carry the first error too; here each
  result carries its own). Results are printed in the order given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import logging
import sys
import time
from urllib.parse import urlsplit

import goroutines as gr

current_url: contextvars.ContextVar[str] = contextvars.ContextVar("current_url", default="-")
log = logging.getLogger("fetcher")


async def fetch(url: str, timeout: float) -> tuple[int, int]:
    """GET ``url`` over asyncio streams (HTTP/1.0): (status, body length)."""
    u = urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise ValueError(f"only http:// URLs are supported, not {url!r}")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    log.debug("connecting for %s", current_url.get())  # from the asyncio side
    reader, writer = await asyncio.wait_for(asyncio.open_connection(u.hostname, u.port or 80), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(None, 2)[1])
    return status, len(body)


async def worker(
    jobs: gr.Chan[tuple[int, str]], results: gr.Chan[tuple[int, str, str]], wg: gr.WaitGroup, timeout: float
) -> None:
    try:
        async for i, url in jobs:
            current_url.set(url)
            t0 = time.monotonic()
            try:
                status, size = await gr.aio(fetch(url, timeout))
                outcome = f"{status} {size} bytes"
            except Exception as e:  # noqa: BLE001 - reported per URL
                outcome = f"error: {type(e).__name__}: {e}"
            log.info("%s -> %s (%.0f ms)", current_url.get(), outcome, (time.monotonic() - t0) * 1000)
            await results.send((i, url, outcome))
    finally:
        wg.done()


async def fetch_all(urls: list[str], workers: int = 4, timeout: float = 10.0) -> list[str]:
    """Fetch ``urls`` with ``workers`` goroutines; one line per URL, in order."""
    jobs: gr.Chan[tuple[int, str]] = gr.Chan()
    results: gr.Chan[tuple[int, str, str]] = gr.Chan()
    wg = gr.WaitGroup()
    for _ in range(workers):
        wg.add(1)
        gr.go(worker, jobs, results, wg, timeout)

    async def feed() -> None:
        for job in enumerate(urls):
            await jobs.send(job)
        jobs.close()

    async def closer() -> None:
        await wg.wait()
        results.close()

    gr.go(feed)
    gr.go(closer)
    got = sorted([r async for r in results])
    return [f"{url} {outcome}" for _, url, outcome in got]


def setup_logging(verbose: bool) -> None:
    h = logging.StreamHandler(sys.stderr)
    h.addFilter(gr.GoroutineFilter())
    h.setFormatter(logging.Formatter("%(levelname)s [goroutine %(goroutine)s] %(message)s"))
    log.addHandler(h)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("urls", nargs="+")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    setup_logging(a.verbose)
    for line in await fetch_all(a.urls, a.workers, a.timeout):
        print(line)
