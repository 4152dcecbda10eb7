#!/usr/bin/env python3
"""Echo-server benchmark: goroutines.net against asyncio, uvloop, gevent and threads.

    python3 bench/echo/run.py                 # 100 and 1,000 connections, then 10,000 idle
    python3 bench/echo/run.py --quick         # smaller and shorter (smoke test)
    python3 bench/echo/run.py --systems goroutines,asyncio --conns 100 --idle 0
    python3 bench/echo/run.py --json bench/results/echo.json

Each server (server.py) runs in its own process; the load comes from
client.py, the same program for every server, in another process, over
127.0.0.1 only. Two parts:

load   For each connection count, each server: the client opens the
       connections, keeps one 64-byte message in flight on each (closed
       loop) and reports requests/s and latency percentiles over
       ``--duration`` seconds after ``--warmup``. The runner also reads the
       server's CPU time (/proc/PID/stat) over the measured window, which
       gives requests per server CPU-second, a figure that suffers less from
       a busy shared machine than requests/s.
idle   Each server holds ``--idle`` connections that each did one round
       trip; the runner reads the server's resident memory (VmRSS) and
       thread count before and after: memory per connection, threads used.

Everything is bounded: every process has a timeout and is killed at the
end. stdlib only; systems whose package is missing are skipped.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SERVER = HERE / "server.py"
CLIENT = HERE / "client.py"

# label -> (server.py --system, extra server args)
ROWS: dict[str, tuple[str, list[str]]] = {
    "goroutines": ("goroutines", []),
    "goroutines-p2": ("goroutines", ["--gomaxprocs", "2"]),
    "asyncio": ("asyncio", []),
    "uvloop": ("uvloop", []),
    "gevent": ("gevent", []),
    "threads": ("threads", []),
}
PACKAGES = {"goroutines": "goroutines", "uvloop": "uvloop", "gevent": "gevent"}
TICK = os.sysconf("SC_CLK_TCK")


def have(system: str) -> bool:
    pkg = PACKAGES.get(system)
    return pkg is None or importlib.util.find_spec(pkg) is not None


def proc_status(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def rss_kib(pid: int) -> int:
    return int(proc_status(pid)["VmRSS"].split()[0])


def threads(pid: int) -> int:
    return int(proc_status(pid)["Threads"])


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


SRC = [REPO / "src"]  # where the servers import goroutines from (--src)


class Server:
    def __init__(self, system: str, args: list[str], timeout: float) -> None:
        env = dict(os.environ)
        env.pop("GOMAXPROCS", None)
        env["PYTHONPATH"] = os.pathsep.join([str(SRC[0]), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.p = subprocess.Popen(
            [sys.executable, str(SERVER), "--system", system, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.p.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.p.stdout.readline()
            if line.startswith("READY") or not line:
                break
        if not line.startswith("READY"):
            self.stop()
            raise RuntimeError(f"server {system} did not start: {line!r} {self.err()}")
        self.port = int(line.split()[1])
        self.pid = self.p.pid

    def err(self) -> str:
        return (self.p.stderr.read() if self.p.stderr and self.p.poll() is not None else "")[-2000:]

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for f in (self.p.stdout, self.p.stderr):
            if f is not None:
                f.close()


def client(port: int, *args: str, timeout: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CLIENT), "--port", str(port), "--timeout", str(timeout), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(p: subprocess.Popen[str], want: str, timeout: float) -> str:
    assert p.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            raise RuntimeError(f"client ended early: {p.stderr.read() if p.stderr else ''}"[-2000:])
        if line.startswith(want):
            return line
    raise TimeoutError(f"client did not print {want}")


def run_load(label: str, conns: int, a: argparse.Namespace) -> dict[str, Any]:
    system, extra = ROWS[label]
    srv = Server(system, extra, 30)
    try:
        budget = a.warmup + a.duration + 60
        c = client(
            srv.port,
            "--conns",
            str(conns),
            "--size",
            str(a.size),
            "--warmup",
            str(a.warmup),
            "--duration",
            str(a.duration),
            timeout=budget,
        )
        try:
            read_line(c, "MEASURING", budget)
            cpu0, t0 = cpu_seconds(srv.pid), time.monotonic()
            nthreads = threads(srv.pid)
            line = read_line(c, "{", budget)
            cpu1, t1 = cpu_seconds(srv.pid), time.monotonic()
            c.wait(30)
        finally:
            if c.poll() is None:
                c.kill()
                c.wait()
        res: dict[str, Any] = json.loads(line)
        cpu = (cpu1 - cpu0) / (t1 - t0)
        res.update(
            system=label,
            server_cpu=round(cpu, 3),
            req_per_cpu_s=round(res["rps"] / cpu, 1) if cpu > 0 else None,
            server_threads=nthreads,
        )
        if not srv.alive():
            res["error"] = "server died: " + srv.err()
        return res
    finally:
        srv.stop()


def run_idle(label: str, n: int, a: argparse.Namespace) -> dict[str, Any]:
    system, extra = ROWS[label]
    srv = Server(system, extra, 30)
    try:
        time.sleep(0.3)
        rss0, th0 = rss_kib(srv.pid), threads(srv.pid)
        c = client(
            srv.port, "--mode", "idle", "--conns", str(n), "--size", str(a.size), timeout=a.idle_timeout
        )
        try:
            held = read_line(c, "HELD", a.idle_timeout + 10)
            time.sleep(0.5)  # let the server settle (a last goroutine/thread parks)
            rss1, th1 = rss_kib(srv.pid), threads(srv.pid)
            assert c.stdin is not None
            c.stdin.write("\n")
            c.stdin.flush()
            c.wait(60)
        finally:
            if c.poll() is None:
                c.kill()
                c.wait()
        held_n = int(held.split()[1])
        return {
            "system": label,
            "conns": held_n,
            "rss_before_mib": round(rss0 / 1024, 1),
            "rss_after_mib": round(rss1 / 1024, 1),
            "bytes_per_conn": round((rss1 - rss0) * 1024 / held_n),
            "threads_before": th0,
            "threads_after": th1,
        }
    finally:
        srv.stop()


def fmt_load(rows: list[dict[str, Any]]) -> str:
    hdr = (
        f"{'system':<15} {'conns':>6} {'req/s':>9} {'p50 us':>10} {'p99 us':>10} "
        f"{'srv CPU':>8} {'req/CPU-s':>10} {'threads':>8} {'per-conn min/med/max':>22}"
    )
    out = [hdr, "-" * len(hdr)]
    for r in rows:
        if "error" in r and "rps" not in r:
            out.append(f"{r['system']:<15} {r['conns']:>6}  FAILED: {r['error'][:80]}")
            continue
        spread = "/".join(str(x) for x in r.get("per_conn_min_med_max", []))
        out.append(
            f"{r['system']:<15} {r['conns']:>6} {r['rps']:>9.0f} {r['p50_us']:>10.0f} {r['p99_us']:>10.0f} "
            f"{r['server_cpu'] * 100:>7.0f}% {r['req_per_cpu_s'] or 0:>10.0f} {r['server_threads']:>8} {spread:>22}"
        )
    return "\n".join(out)


def fmt_idle(rows: list[dict[str, Any]]) -> str:
    hdr = f"{'system':<15} {'conns':>6} {'RSS before MiB':>15} {'RSS after MiB':>14} {'bytes/conn':>11} {'threads':>8}"
    out = [hdr, "-" * len(hdr)]
    for r in rows:
        if "error" in r:
            out.append(f"{r['system']:<15} {r.get('conns', ''):>6}  FAILED: {r['error'][:80]}")
            continue
        out.append(
            f"{r['system']:<15} {r['conns']:>6} {r['rss_before_mib']:>15} {r['rss_after_mib']:>14} "
            f"{r['bytes_per_conn']:>11} {r['threads_after']:>8}"
        )
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", default=",".join(ROWS), help=f"comma-separated, from {', '.join(ROWS)}")
    p.add_argument("--conns", default="100,1000", help="connection counts for the load part")
    p.add_argument("--size", type=int, default=64, help="message bytes")
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--duration", type=float, default=2.0, help="measured seconds per row")
    p.add_argument("--idle", type=int, default=10_000, help="idle connections held (0: skip)")
    p.add_argument("--idle-timeout", type=float, default=120.0)
    p.add_argument("--quick", action="store_true", help="--conns 50 --duration 0.5 --warmup 0.2 --idle 500")
    p.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    p.add_argument("--src", metavar="DIR", default=str(REPO / "src"), help="import goroutines from here")
    a = p.parse_args()
    SRC[0] = Path(a.src).resolve()
    if a.quick:
        a.conns, a.duration, a.warmup, a.idle = "50", 0.5, 0.2, 500
    labels = [s for s in a.systems.split(",") if s]
    for s in labels:
        if s not in ROWS:
            p.error(f"unknown system {s!r}")
    runnable = []
    for s in labels:
        if have(ROWS[s][0]):
            runnable.append(s)
        else:
            print(f"skipping {s}: package {PACKAGES[ROWS[s][0]]} is not installed", file=sys.stderr)
    conns = [int(x) for x in a.conns.split(",") if x]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    idle_n = a.idle
    if idle_n and hard != resource.RLIM_INFINITY and hard < idle_n + 100:
        print(
            f"idle part: RLIMIT_NOFILE hard limit {hard}; holding {hard - 100} connections", file=sys.stderr
        )
        idle_n = hard - 100
    print(
        f"# echo benchmark: {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {a.size}-byte messages, "
        f"{a.duration}s measured after {a.warmup}s",
        flush=True,
    )
    failed = False
    load_rows: list[dict[str, Any]] = []
    for n in conns:
        for s in runnable:
            try:
                r = run_load(s, n, a)
            except Exception as e:  # noqa: BLE001 - report and go on
                r = {"system": s, "conns": n, "error": f"{type(e).__name__}: {e}"}
            if "error" in r:
                failed = True
            load_rows.append(r)
            print(f"  load {s} {n}: {r.get('rps', r.get('error'))}", file=sys.stderr, flush=True)
    idle_rows: list[dict[str, Any]] = []
    if idle_n > 0:
        for s in runnable:
            try:
                r = run_idle(s, idle_n, a)
            except Exception as e:  # noqa: BLE001
                r = {"system": s, "conns": idle_n, "error": f"{type(e).__name__}: {e}"}
                failed = True
            idle_rows.append(r)
            print(f"  idle {s}: {r.get('bytes_per_conn', r.get('error'))}", file=sys.stderr, flush=True)
    if load_rows:
        print("\n## echo load (closed loop, one message in flight per connection)\n")
        print(fmt_load(load_rows))
    if idle_rows:
        print(f"\n## {idle_n} idle connections held (each did one round trip)\n")
        print(fmt_idle(idle_rows))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        with open(a.json, "w") as f:
            json.dump({"load": load_rows, "idle": idle_rows, "loadavg": os.getloadavg()}, f, indent=1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
