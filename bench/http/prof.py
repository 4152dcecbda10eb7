#!/usr/bin/env python3
"""Where a goroutines HTTP server spends its time under wrk: cProfile on every thread.

    python bench/http/prof.py [example|goroutines] [--duration 5] [--sort tottime] [--top 40]
    python bench/http/prof.py example --dump /tmp/example.prof   # for pstats / snakeviz

The server runs in this process with GOMAXPROCS=1 and sysmon off (one M
runs every goroutine, so the profile is the hot path's, not the threads'
hand-offs); every thread the runtime starts gets its own cProfile
profiler (``threading.setprofile``), and their statistics are merged after
``wrk -t1 -c100`` has run against ``GET /hello`` for ``--duration``
seconds. cProfile slows Python calls down several times over, so compare
the shares of functions, and the calls per request, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

_profilers: list[cProfile.Profile] = []
_plock = threading.Lock()


def _install(*_: object) -> None:
    """The first profile event of a new thread: give it a profiler of its own."""
    p = cProfile.Profile()
    with _plock:
        _profilers.append(p)
    p.enable()  # replaces this hook for this thread


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drive(port: int, duration: int, conns: int, out: dict[str, object]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    # Warm-up (imports, caches), then reset the statistics and measure.
    subprocess.run(["wrk", "-t1", "-c10", "-d1s", f"http://127.0.0.1:{port}/hello"], capture_output=True, check=True)
    with _plock:
        for p in _profilers:
            p.clear()
    r = subprocess.run(
        ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", f"http://127.0.0.1:{port}/hello"],
        capture_output=True, text=True, check=True,
    )
    m = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", r.stdout)
    out["requests"] = int(m.group(1)) if m else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", nargs="?", default="example", choices=["example", "goroutines"])
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--dump", help="write the merged statistics to this file (pstats format)")
    a = ap.parse_args()
    os.environ.setdefault("GOROUTINES_SYSMON", "0")
    import goroutines as gr

    port = free_port()
    if a.server == "example":
        spec = importlib.util.spec_from_file_location("http_example", REPO / "examples" / "http_server.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.argv = ["http_server.py", str(port)]
        prog = mod.main
    else:
        import servers

        def prog() -> None:
            servers.run_goroutines(port, 1)

    out: dict[str, object] = {}

    def finish() -> None:
        drive(port, a.duration, a.conns, out)
        with _plock:
            ps = list(_profilers)
        st = None
        for p in ps:
            p.snapshot_stats()
            if not p.stats:  # type: ignore[attr-defined]
                continue
            if st is None:
                st = pstats.Stats(p)
            else:
                st.add(p)
        n = int(out.get("requests", 0) or 0)
        print(f"{a.server}: {out.get('rps')} req/s under cProfile, {n} requests, {len(ps)} profiled threads")
        if st is not None:
            if a.dump:
                st.dump_stats(a.dump)
            st.sort_stats(a.sort).print_stats(a.top)
        sys.stdout.flush()
        os._exit(0)

    threading.Thread(target=finish, daemon=True).start()
    threading.setprofile(_install)
    _install()  # this thread too (goroutine 1 may run here)
    if a.server == "example":
        gr.run(prog, gomaxprocs=1)
    else:
        prog()
    time.sleep(3600)


if __name__ == "__main__":
    main()
