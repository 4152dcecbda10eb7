"""A concurrent web crawler over a fake, in-memory web.

    goroutines run examples/crawler.py [URL] [--depth D] [--workers W] [--timeout S] [--latency S]

Three Go idioms in one program (the crawler of the Go tour's last exercise
and of "The Go Programming Language", section 8.6):

* **One goroutine per link, a buffered channel as a semaphore.** Every
  link found gets its own ``crawl`` goroutine (goroutines are cheap), but
  only W of them fetch at once: a crawler sends a token into ``tokens``, a
  channel of capacity W, before fetching, and takes it back out afterwards.
  The W+1st sender blocks until someone is done.
* **Share memory by communicating.** The set of URLs already seen belongs
  to one goroutine, the ``coordinator``. Crawlers never touch it: they send
  what they found over a channel, and the coordinator alone decides what to
  crawl next. No lock, no race.
* **Timeout and cancellation.** ``main`` waits for results in a ``select``
  with ``gr.after(timeout)``; when the time is up it closes ``quit``, and
  every goroutine that could block (on the semaphore, on sending results)
  does so in a ``select`` that also receives from ``quit``, so they all
  give up at once.

The pages are printed as they arrive, indented by their depth (the number
of links followed to reach them). With a small ``--depth``, which pages are
in reach can change from run to run: a page first reached by a long path is
not followed further, even if a shorter path to it turns up later, as in
the Go version. The default depth covers the whole fake web.

The Go original (gopl.io/ch8/crawl2, abridged)::

    var tokens = make(chan struct{}, 20)

    func crawl(url string) []string {
        tokens <- struct{}{} // acquire a token
        list, err := links.Extract(url)
        <-tokens             // release the token
        return list
    }

    func main() {
        worklist := make(chan []string)
        var n int // number of pending sends to worklist
        n++
        go func() { worklist <- os.Args[1:] }()
        seen := make(map[string]bool)
        for ; n > 0; n-- {
            list := <-worklist
            for _, link := range list {
                if !seen[link] {
                    seen[link] = true
                    n++
                    go func(link string) { worklist <- crawl(link) }(link)
                }
            }
        }
    }
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

import goroutines as gr

ROOT = "https://golang.org/"
PKG = ROOT + "pkg/"

# ---------------------------------------------------------------------- the fake web

# The Go tour's fakeFetcher, plus a page for each of these packages, each
# linking back to the package index and to a few other packages.
_PACKAGES = (
    "bufio bytes context crypto embed encoding errors expvar flag fmt hash html image io "
    "log math mime net os path plugin reflect regexp runtime sort strconv strings sync "
    "syscall testing text time unicode unsafe"
).split()
# Linked to but missing from the web: fetching them fails, like a 404.
_MISSING = ["cgo", "arena", "iter"]


@dataclass(frozen=True)
class Page:
    title: str
    links: tuple[str, ...]


def build_web() -> dict[str, Page]:
    web: dict[str, Page] = {
        ROOT: Page("The Go Programming Language", (PKG, ROOT + "cmd/")),
        PKG: Page("Packages", (ROOT, ROOT + "cmd/", PKG + "fmt/", PKG + "os/")),
    }
    rng = random.Random(1)  # the same web every run
    for name in _PACKAGES:
        others = rng.sample([p for p in _PACKAGES + _MISSING if p != name], 3)
        web[f"{PKG}{name}/"] = Page(f"Package {name}", (PKG, *(f"{PKG}{o}/" for o in others)))
    return web


WEB = build_web()


class NotFound(Exception):
    pass


async def fetch(url: str, latency: float) -> Page:
    """Pretend to download url: wait a little, then look it up."""
    await gr.sleep(latency * random.uniform(0.5, 1.5))
    page = WEB.get(url)
    if page is None:
        raise NotFound(f"not found: {url}")
    return page


# ---------------------------------------------------------------------- the crawler


@dataclass(frozen=True)
class Visit:
    url: str
    depth: int
    title: str | None  # None when the fetch failed
    error: str | None
    links: tuple[str, ...]
    in_flight: int  # fetches running when this one started, itself included


async def crawl(
    url: str,
    depth: int,
    tokens: gr.Chan[None],
    visits: gr.Chan[Visit],
    quit: gr.Chan[None],
    latency: float,
) -> None:
    """Fetch one page, at most cap(tokens) at a time, and send what was found."""
    i, _, _ = await gr.select(tokens.send(None), quit.recv())  # acquire a token
    if i == 1:
        return
    in_flight = len(tokens)
    try:
        page = await fetch(url, latency)
        visit = Visit(url, depth, page.title, None, page.links, in_flight)
    except NotFound as e:
        visit = Visit(url, depth, None, str(e), (), in_flight)
    await tokens.recv()  # release the token (never blocks: ours is in there)
    await gr.select(visits.send(visit), quit.recv())


async def coordinator(
    start: str,
    max_depth: int,
    workers: int,
    latency: float,
    report: gr.Chan[Visit],
    quit: gr.Chan[None],
) -> None:
    """The one goroutine that owns ``seen``: starts a crawl per new link, forwards each visit."""
    tokens: gr.Chan[None] = gr.Chan(workers)  # the semaphore
    visits: gr.Chan[Visit] = gr.Chan()
    seen = {start}
    pending = 1  # crawls started whose visit has not come back yet
    gr.go(crawl, start, 0, tokens, visits, quit, latency)
    while pending:
        i, visit, _ = await gr.select(visits.recv(), quit.recv())
        if i == 1:
            return  # cancelled: the crawls still out see quit and stop too
        pending -= 1
        if visit.depth < max_depth:
            for link in visit.links:
                if link not in seen:
                    seen.add(link)
                    pending += 1
                    gr.go(crawl, link, visit.depth + 1, tokens, visits, quit, latency)
        i, _, _ = await gr.select(report.send(visit), quit.recv())
        if i == 1:
            return
    report.close()  # every page reachable within max_depth has been visited


def plural(n: int, word: str, suffix: str = "s") -> str:
    return f"{n} {word}{'' if n == 1 else suffix}"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Crawl a fake in-memory web concurrently.")
    p.add_argument("url", nargs="?", default=ROOT, help=f"where to start (default {ROOT})")
    p.add_argument("--depth", type=int, default=10, help="follow links this deep (default 10)")
    p.add_argument("--workers", type=int, default=4, help="fetches at once (default 4)")
    p.add_argument("--timeout", type=float, default=5.0, help="give up after this many seconds (default 5)")
    p.add_argument("--latency", type=float, default=0.02, help="seconds per fetch (default 0.02)")
    args = p.parse_args()
    if args.workers < 1 or args.depth < 0:
        p.error("--workers must be at least 1 and --depth at least 0")
    return args


async def main() -> None:
    args = parse_args()
    print(
        f"crawling {args.url} (depth {args.depth}, {plural(args.workers, 'fetch', 'es')} at a time, "
        f"timeout {args.timeout:g} s)"
    )
    start = time.monotonic()
    report: gr.Chan[Visit] = gr.Chan()
    quit: gr.Chan[None] = gr.Chan()  # closed to cancel everything
    gr.go(coordinator, args.url, args.depth, args.workers, args.latency, report, quit)

    timeout = gr.after(args.timeout)
    found = missing = peak = 0
    timed_out = False
    while True:
        i, visit, ok = await gr.select(report.recv_ok(), timeout.recv())
        if i == 1:
            timed_out = True
            quit.close()
            break
        if not ok:
            break
        peak = max(peak, visit.in_flight)
        indent = "  " * visit.depth
        if visit.error is None:
            found += 1
            print(f"  {indent}{visit.url:<{44 - len(indent)}} {visit.title}")
        else:
            missing += 1
            print(f"  {indent}{visit.url:<{44 - len(indent)}} ({visit.error.split(':')[0]})")

    elapsed = time.monotonic() - start
    how = f"timed out after {args.timeout:g} s, stopped" if timed_out else "done"
    print(
        f"{how}: {plural(found, 'page')}, {missing} not found, in {elapsed:.2f} s; "
        f"at most {plural(peak, 'fetch', 'es')} in flight (limit {args.workers})"
    )
