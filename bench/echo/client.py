#!/usr/bin/env python3
"""The load client for the echo benchmark: the same program against every server.

Plain non-blocking sockets on one epoll (stdlib only, one thread), run in
its own process. Two modes:

``load`` (default): open ``--conns`` connections (in batches, each
connection doing one round trip before the next batch), then keep exactly one
``--size``-byte request outstanding on each (closed loop: a connection
sends its next message when the whole echo of the previous one is back).
After ``--warmup`` seconds it prints ``MEASURING``, counts completed round
trips and records each one's latency (send -> last byte back) for
``--duration`` seconds, then prints one JSON line: requests, requests/s,
p50/p90/p99/max latency (µs), and the fewest/median/most round trips one
connection completed (fairness).

``idle``: open ``--conns`` connections in batches (each batch does one
round trip per connection, so the server has accepted and served every
one before the next batch), print ``HELD <n>`` and wait for a line on
stdin (the runner measures the server meanwhile), then close everything
and print a JSON line.

Loopback only; bounded in time (``--timeout``) and count.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import select
import socket
import sys
import time
from array import array

now = time.perf_counter


def raise_nofile(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(hard, max(want, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


def connect_batch(port: int, n: int, deadline: float) -> list[socket.socket]:
    """Open n connections to 127.0.0.1:port, non-blocking connects at once."""
    socks = []
    ep = select.epoll()
    pending = {}
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                s.close()
                raise OSError(err, f"connect: {os.strerror(err)}")
            socks.append(s)
            pending[s.fileno()] = s
            ep.register(s.fileno(), select.EPOLLOUT)
        while pending:
            if now() > deadline:
                raise TimeoutError(f"{len(pending)} connects still pending")
            for fd, _ev in ep.poll(1.0):
                s = pending.pop(fd)
                ep.unregister(fd)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, f"connect: {os.strerror(err)}")
    except BaseException:
        for s in socks:
            s.close()
        raise
    finally:
        ep.close()
    return socks


def round_trip_all(socks: list[socket.socket], msg: bytes, deadline: float) -> None:
    """Send msg on every socket and wait for every echo."""
    ep = select.epoll()
    by_fd = {s.fileno(): s for s in socks}
    need: dict[int, int] = {}
    try:
        for fd, s in by_fd.items():
            s.send(msg)
            need[fd] = len(msg)
            ep.register(fd, select.EPOLLIN)
        while need:
            if now() > deadline:
                raise TimeoutError(f"{len(need)} echoes missing")
            for fd, _ev in ep.poll(1.0):
                data = by_fd[fd].recv(65536)
                if not data:
                    raise ConnectionError("server closed a connection")
                need[fd] -= len(data)
                if need[fd] <= 0:
                    del need[fd]
                    ep.unregister(fd)
    finally:
        ep.close()


def load(a: argparse.Namespace) -> dict[str, object]:
    deadline = now() + a.timeout
    socks: list[socket.socket] = []
    msg = b"x" * a.size
    for i in range(0, a.conns, a.batch):
        batch = connect_batch(a.port, min(a.batch, a.conns - i), deadline)
        socks += batch
        round_trip_all(batch, msg, deadline)  # every connection accepted and served once
    size = a.size
    ep = select.epoll()
    fds = {}
    got = {}
    sent_at = {}
    for s in socks:
        fd = s.fileno()
        fds[fd] = s
        got[fd] = 0
        ep.register(fd, select.EPOLLIN)
    lat = array("d")
    per: dict[int, int] = {}
    t_start = now()
    t_measure = t_start + a.warmup
    t_end = t_measure + a.duration
    for fd, s in fds.items():
        sent_at[fd] = now()
        s.send(msg)
    count = 0
    errors = 0
    measuring = False
    while True:
        t = now()
        if t >= t_end:
            break
        if not measuring and t >= t_measure:
            measuring = True
            print("MEASURING", flush=True)  # the runner samples the server's CPU time now
        for fd, _ev in ep.poll(0.5):
            s = fds[fd]
            try:
                data = s.recv(65536)
            except OSError:
                errors += 1
                ep.unregister(fd)
                continue
            if not data:
                errors += 1
                ep.unregister(fd)
                continue
            g = got[fd] + len(data)
            if g >= size:
                t2 = now()
                if measuring:
                    lat.append(t2 - sent_at[fd])
                    count += 1
                    per[fd] = per.get(fd, 0) + 1
                g -= size
                sent_at[fd] = t2
                s.send(msg)
            got[fd] = g
    elapsed = now() - t_measure
    ep.close()
    for s in socks:
        s.close()
    lat_sorted = sorted(lat)

    def pct(p: float) -> float:
        if not lat_sorted:
            return float("nan")
        return lat_sorted[min(len(lat_sorted) - 1, int(p * len(lat_sorted)))] * 1e6

    return {
        "mode": "load",
        "conns": a.conns,
        "size": size,
        "requests": count,
        "seconds": round(elapsed, 3),
        "rps": round(count / elapsed, 1),
        "p50_us": round(pct(0.50), 1),
        "p90_us": round(pct(0.90), 1),
        "p99_us": round(pct(0.99), 1),
        "max_us": round(lat_sorted[-1] * 1e6, 1) if lat_sorted else None,
        "errors": errors,
        "per_conn_min_med_max": _spread(per, a.conns),
    }


def _spread(per: dict[int, int], n: int) -> list[int]:
    """min, median, max completed requests per connection (fairness)."""
    v = sorted(list(per.values()) + [0] * (n - len(per)))
    return [v[0], v[len(v) // 2], v[-1]] if v else [0, 0, 0]


def idle(a: argparse.Namespace) -> dict[str, object]:
    deadline = now() + a.timeout
    socks: list[socket.socket] = []
    msg = b"i" * a.size
    t0 = now()
    try:
        for i in range(0, a.conns, a.batch):
            batch = connect_batch(a.port, min(a.batch, a.conns - i), deadline)
            socks += batch
            round_trip_all(batch, msg, deadline)
        setup = now() - t0
        print(f"HELD {len(socks)}", flush=True)
        sys.stdin.readline()  # the runner measures the server, then tells us to go
    finally:
        for s in socks:
            s.close()
    return {"mode": "idle", "conns": len(socks), "setup_s": round(setup, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["load", "idle"], default="load")
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--duration", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=500, help="connections opened at once")
    p.add_argument("--timeout", type=float, default=60.0, help="give up after this many seconds")
    a = p.parse_args()
    if not 1 <= a.conns <= 60_000 or a.size < 1 or a.duration <= 0:
        p.error("bad --conns/--size/--duration")
    raise_nofile(a.conns)
    out = load(a) if a.mode == "load" else idle(a)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
