"""examples/fetcher.py against a local HTTP server: gr.aio over asyncio
streams, a worker pool over channels, logging with goroutine ids."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import ROOT, goroutines_cmd


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/missing"):
            self.send_error(404)
            return
        body = b"x" * int(self.path.strip("/") or 0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(10)


@pytest.mark.timeout(60)
def test_fetcher_fetches_concurrently_and_logs_goroutine_ids(server: str) -> None:
    urls = [f"{server}/{n}" for n in (10, 200, 3000)] + [f"{server}/missing", "http://127.0.0.1:1/refused"]
    r = goroutines_cmd("run", "examples/fetcher.py", *urls, "--workers", "3", "-v", cwd=ROOT, timeout=50)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:4] == [
        f"{server}/10 200 10 bytes",
        f"{server}/200 200 200 bytes",
        f"{server}/3000 200 3000 bytes",
        f"{server}/missing 404 " + lines[3].split(" 404 ")[1],
    ]
    assert lines[4].startswith("http://127.0.0.1:1/refused error: ConnectionRefusedError")
    # Each result is logged by the worker goroutine that fetched it...
    done = re.findall(r"^INFO \[goroutine (\d+)\] (\S+) -> ", r.stderr, re.M)
    assert sorted(u for _, u in done) == sorted(urls)
    assert all(int(g) > 1 for g, _ in done) and len({g for g, _ in done}) <= 3
    # ... and the asyncio side names the URL from the goroutine's context
    # variable (its loop thread runs no goroutine: id None).
    connecting = re.findall(r"^DEBUG \[goroutine None\] connecting for (\S+)$", r.stderr, re.M)
    assert sorted(connecting) == sorted(urls)
