#!/usr/bin/env python3
"""HTTP benchmark: ``wrk -t1 -c100 -d5s GET /hello`` against each server in turn.

    python3 bench/http/run.py                      # every server found, 3 rounds
    python3 bench/http/run.py --rounds 5 --duration 10
    python3 bench/http/run.py --servers example,goroutines,asyncio
    python3 bench/http/run.py --python .venv-ft/bin/python   # the goroutines rows on another build

The servers (each in its own process, on 127.0.0.1, port chosen by the
system):

  example      examples/http_server.py, the program users copy (a real
               HTTP/1.1 parser, deadlines, net.serve)
  goroutines   the ~20-line goroutines.net server in servers.py
  asyncio      the same 20 lines on asyncio streams
  uvloop       the asyncio server on uvloop (skipped if not installed)
  gevent       the same on gevent's StreamServer (skipped if not installed)

The rounds interleave the servers (round 1: every server once, then round
2, ...), so a burst of load from elsewhere on a shared machine hits them
alike. The table gives the median requests/s over the rounds and the
ratio to the asyncio server's median from the same run, and requests per
server CPU-second (its user + system time over the wrk run, from
/proc/PID/stat), which a busy shared machine disturbs less. Needs ``wrk``
(Debian's package) on PATH.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVERS_PY = HERE / "servers.py"
EXAMPLE = REPO / "examples" / "http_server.py"

ALL = ["example", "goroutines", "asyncio", "uvloop", "gevent"]
NEEDS = {"uvloop": "uvloop", "gevent": "gevent"}


def command(name: str, python: str, procs: int) -> list[str]:
    if name == "example":
        return [python, "-m", "goroutines", "run", str(EXAMPLE), "0"]
    cmd = [python, str(SERVERS_PY), name]
    if name == "goroutines":
        cmd += ["--gomaxprocs", str(procs)]
    return cmd


def start(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert p.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        if m := re.search(r"PORT (\d+)|http://[^:/]+:(\d+)/", line):
            return p, int(m.group(1) or m.group(2))
    p.kill()
    raise RuntimeError(f"{' '.join(cmd)}: no port announced within 30 s")


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def wrk(port: int, duration: int, conns: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, timeout=duration + 30, check=True,
    ).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    if "Non-2xx" in out or "Socket errors" in out:
        print(f"  (wrk reported errors: {out.strip().splitlines()[-3:]})", file=sys.stderr)
    return float(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=",".join(ALL))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--gomaxprocs", type=int, default=1, help="GOMAXPROCS of the goroutines servers")
    ap.add_argument("--python", default=sys.executable, help="interpreter for every server")
    a = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/http: wrk is not on PATH (apt-get install wrk)")
    names = [n.strip() for n in a.servers.split(",") if n.strip()]
    for n in names:
        if n not in ALL:
            sys.exit(f"bench/http: unknown server {n!r}; choose from {', '.join(ALL)}")
    runnable = [n for n in names if n not in NEEDS or importlib.util.find_spec(NEEDS[n]) is not None]
    for n in set(names) - set(runnable):
        print(f"skipping {n}: {NEEDS[n]} is not installed (pip install -e '.[bench]')")
    env = dict(os.environ, GOMAXPROCS=str(a.gomaxprocs), PYTHONPATH=str(REPO / "src"))
    results: dict[str, list[float]] = {n: [] for n in runnable}
    per_cpu: dict[str, list[float]] = {n: [] for n in runnable}
    for r in range(a.rounds):
        for n in runnable:
            p, port = start(command(n, a.python, a.gomaxprocs), env)
            try:
                wrk(port, 1, 10)  # warm-up: connections, imports, caches
                c0 = cpu_seconds(p.pid)
                rps = wrk(port, a.duration, a.conns)
                cpu = cpu_seconds(p.pid) - c0
            finally:
                p.kill()
                p.wait(timeout=10)
            results[n].append(rps)
            per_cpu[n].append(rps * a.duration / cpu if cpu > 0 else float("nan"))
            print(f"round {r + 1} {n:11s} {rps:10,.0f} req/s  {per_cpu[n][-1]:10,.0f} req/CPU-s", flush=True)
    base = statistics.median(results["asyncio"]) if results.get("asyncio") else None
    cbase = statistics.median(per_cpu["asyncio"]) if per_cpu.get("asyncio") else None
    print(f"\nwrk -t1 -c{a.conns} -d{a.duration}s GET /hello, {a.python}, GOMAXPROCS={a.gomaxprocs}, "
          f"median of {a.rounds}")
    print(f"{'server':12s} {'req/s':>10s} {'vs asyncio':>11s} {'req/CPU-s':>10s} {'vs asyncio':>11s}   req/s runs")
    for n, xs in results.items():
        med = statistics.median(xs)
        cmed = statistics.median(per_cpu[n])
        ratio = f"{med / base:.2f}x" if base else "-"
        cratio = f"{cmed / cbase:.2f}x" if cbase else "-"
        print(f"{n:12s} {med:10,.0f} {ratio:>11s} {cmed:10,.0f} {cratio:>11s}   "
              f"{', '.join(f'{x:,.0f}' for x in xs)}")


if __name__ == "__main__":
    main()
