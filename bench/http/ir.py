#!/usr/bin/env python3
"""Instructions per request of each HTTP server, under callgrind: a figure a
busy shared machine does not disturb (wrk's req/s there moves by 2x between runs).

    python bench/http/ir.py                          # example, goroutines, asyncio, uvloop
    python bench/http/ir.py --servers example --requests 20000 --conns 100

Each server runs under ``valgrind --tool=callgrind`` (GOMAXPROCS=1,
GOROUTINES_SYSMON=0: one thread runs everything, so the count is the hot
path's; valgrind serialises threads anyway). A client in this process
keeps ``--conns`` keep-alive connections busy with ``GET /hello`` one
request at a time each (wrk's pattern), warms up, zeroes the counters
(``callgrind_control --zero``), sends ``--requests`` requests, and dumps
them: Ir per request is the dump's total over the requests. User-space
instructions only: the kernel's side of each system call is not counted
(``strace -c -f -p PID`` gives the calls per request). IR_VGARGS adds
valgrind options (``--separate-threads=yes``); IR_KEEP=DIR keeps the dumps
for callgrind_annotate. The count depends on timing too: a server slower
than its client finds requests waiting and parks less.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

REQ = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BODY = b"hello, world\n"


def command(name: str, python: str) -> list[str]:
    if name == "example":
        return [python, "-m", "goroutines", "run", str(REPO / "examples" / "http_server.py"), "0"]
    return [python, str(HERE / "servers.py"), name]


def load(port: int, conns: int, total: int) -> None:
    """``total`` responses over ``conns`` connections, one request in flight on each."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    sent = 0
    done = 0
    tails = {s: b"" for s in socks}
    for s in socks:
        if sent < total:
            s.send(REQ)
            sent += 1
        sel.register(s, selectors.EVENT_READ)
    deadline = time.monotonic() + 600
    while done < total:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {done} of {total} responses in 600 s")
        for key, _ in sel.select(5):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            data = s.recv(65536)
            if not data:
                raise RuntimeError("the server closed a connection")
            buf = tails[s] + data
            k = buf.count(BODY)
            tails[s] = buf[-len(BODY) :] if k == 0 else buf[buf.rfind(BODY) + len(BODY) :]
            done += k
            for _ in range(k):
                if sent < total:
                    s.send(REQ)
                    sent += 1
    for s in socks:
        s.close()
    sel.close()


def measure(name: str, python: str, conns: int, requests: int, warm: int) -> float:
    env = dict(os.environ, GOMAXPROCS="1", GOROUTINES_SYSMON="0", PYTHONPATH=str(REPO / "src"))
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--collect-atstart=yes", *os.environ.get("IR_VGARGS", "").split()] + command(
            name, python
        )
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            assert p.stdout is not None
            port = 0
            t0 = time.monotonic()
            while time.monotonic() - t0 < 120:
                line = p.stdout.readline()
                if not line:
                    break
                if m := re.search(r"PORT (\d+)|http://[^:/]+:(\d+)/", line):
                    port = int(m.group(1) or m.group(2))
                    break
            if not port:
                raise RuntimeError(f"{name}: no port announced")
            load(port, conns, warm)
            subprocess.run(["callgrind_control", "--zero", str(p.pid)], check=True, capture_output=True)
            load(port, conns, requests)
            subprocess.run(["callgrind_control", "--dump", str(p.pid)], check=True, capture_output=True)
            dumps = sorted(f for f in os.listdir(d) if f.startswith("cg.out."))
            total = 0
            for f in dumps:
                with open(os.path.join(d, f)) as fh:
                    for ln in fh:
                        if ln.startswith("summary:") or ln.startswith("totals:"):
                            total = max(total, int(ln.split()[1]))
            if os.environ.get("IR_KEEP"):
                import shutil
                for f in dumps:
                    shutil.copy(os.path.join(d, f), os.environ["IR_KEEP"])
            return total / requests
        finally:
            p.kill()
            p.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="example,goroutines,asyncio,uvloop")
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--requests", type=int, default=10000)
    ap.add_argument("--warm", type=int, default=2000)
    ap.add_argument("--python", default=sys.executable)
    a = ap.parse_args()
    for name in a.servers.split(","):
        ir = measure(name.strip(), a.python, a.conns, a.requests, a.warm)
        print(f"{name:12s} {ir:10,.0f} Ir/request", flush=True)


if __name__ == "__main__":
    main()
