"""net.serve: one client's reset (or a handler's bug) never ends the server.

An exception escaping a goroutine is a panic and ends the program; Go's
net/http instead recovers a handler's panic, logs it and closes that
connection. ``net.serve`` gives servers the same, and the documented
patterns (docs/net.md, the examples) use it. The clients here reset their
connection mid-request (close with SO_LINGER {1, 0}: a RST, not a FIN).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import goroutines as gr
from goroutines import _core, net

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

pytestmark = pytest.mark.timeout(30)


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER {1, 0}: the peer gets a RST, not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Records(logging.Handler):
    """Collects log records; ``arrived`` is set at each one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.arrived = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.arrived.set()


def private_logger(name: str) -> tuple[logging.Logger, Records]:
    log = logging.getLogger(f"test_net_serve.{name}")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    rec = Records()
    log.handlers[:] = [rec]
    return log, rec


def test_serve_survives_a_client_that_resets_mid_request() -> None:
    log, rec = private_logger("reset")
    partial_read = threading.Event()  # set from a goroutine: never blocks it
    gid_box: list[int] = []

    async def handler(conn: net.Conn) -> None:
        g = _core.current_g()
        assert g is not None
        data = await conn.read()
        if data.startswith(b"GET /partial"):
            gid_box.append(g.id)
            partial_read.set()
            await conn.read()  # the client resets here: ConnectionResetError
            raise AssertionError("the read after the reset returned")
        await conn.write(b"echo " + data)

    def resetting_client(port: int) -> None:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /partial HTTP/1.1\r\nHost: x")  # half a request
        partial_read.wait(10)  # the handler has read it and waits for more
        reset(s)

    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        done: gr.Chan[None] = gr.Chan()

        async def server() -> None:
            await net.serve(ln, handler, logger=log)
            done.close()

        gr.go(server)
        t = threading.Thread(target=resetting_client, args=(ln.addr.port,))
        t.start()
        assert await gr.syscall(rec.arrived.wait, 10), "the reset was not logged"
        await gr.syscall(t.join, 10)
        # The server is still up: a well-behaved client is served.
        c = await net.dial("tcp", ln.addr)
        async with c:
            await c.write(b"hello")
            assert await c.read() == b"echo hello"
        ln.close()
        await done.recv()  # serve returns once its listener is closed
        [r] = rec.records
        assert r.levelno == logging.WARNING
        msg = r.getMessage()
        assert f"goroutine {gid_box[0]}" in msg, msg
        assert "connection reset by peer" in msg, msg

    gr.run(main)


def test_serve_logs_a_handler_bug_with_its_stack_and_goes_on() -> None:
    log, rec = private_logger("bug")

    async def buggy_handler(conn: net.Conn) -> None:
        if await conn.read() == b"boom":
            raise ValueError("handler bug")
        await conn.write(b"ok")

    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        gr.go(net.serve, ln, buggy_handler, logger=log)
        c = await net.dial("tcp", ln.addr)
        async with c:
            await c.write(b"boom")
            assert await c.read() == b""  # serve closed that connection
        c = await net.dial("tcp", ln.addr)
        async with c:
            await c.write(b"fine")
            assert await c.read() == b"ok"
        ln.close()

    gr.run(main)
    [r] = rec.records
    assert r.levelno == logging.ERROR
    assert re.match(r"serve: goroutine \d+: panic serving 127\.0\.0\.1:\d+: ValueError: handler bug", r.getMessage())
    assert r.exc_info is not None
    text = logging.Formatter().formatException(r.exc_info)
    assert "buggy_handler" in text and "ValueError: handler bug" in text


def test_serve_checks_its_arguments() -> None:
    async def main() -> None:
        ln = net.listen("tcp", "127.0.0.1:0")
        async with ln:
            with pytest.raises(TypeError, match="listener must be a goroutines.net.Listener"):
                await net.serve(object(), lambda c: None)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="handler must be an async def function"):
                await net.serve(ln, 42)  # type: ignore[arg-type]

    gr.run(main)


# ---------------------------------------------------------------------- the documented patterns


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("ECHO_ONCE", None)
    env.pop("HTTP_ONCE", None)
    return env


def _docs_echo_server(tmp_path: Path) -> Path:
    """docs/net.md's first example, on a port the system picks."""
    text = (ROOT / "docs" / "net.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert "127.0.0.1:7000" in code
    path = tmp_path / "docs_echo.py"
    path.write_text(code.replace("127.0.0.1:7000", "127.0.0.1:0"))
    return path


def _start(cmd: list[str]) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert p.stdout is not None
    line = p.stdout.readline()
    m = re.search(r"(\d+\.\d+\.\d+\.\d+):(\d+)", line)
    assert m, (line, p.stderr.read() if p.poll() is not None and p.stderr else "")
    return p, (m.group(1), int(m.group(2)))


def _exchange(addr: tuple[str, int], request: bytes) -> bytes:
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        return out


@pytest.mark.parametrize("which", ["docs/net.md", "examples/echo_server.py", "examples/http_server.py"])
def test_documented_servers_survive_a_client_reset(tmp_path: Path, which: str) -> None:
    # Before: the docs pattern ended the program with ConnectionResetError.
    if which == "docs/net.md":
        cmd = [sys.executable, "-u", str(_docs_echo_server(tmp_path))]
    else:
        cmd = [sys.executable, "-m", "goroutines", "run", str(ROOT / which), "0"]
    p, addr = _start(cmd)
    try:
        for _ in range(3):
            s = socket.create_connection(addr, timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: loc")  # mid-request
            # Wait until the server has read it (an echo server answers it).
            if "http" not in which:
                assert s.recv(100).startswith(b"GET / HTTP/1.1")
            reset(s)
        if "http" in which:
            reply = _exchange(addr, b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 200 OK") and reply.endswith(b"hello, world\n"), reply
        else:
            assert _exchange(addr, b"still there?") == b"still there?"
        assert p.poll() is None, p.communicate()
    finally:
        p.kill()
        _, err = p.communicate(timeout=10)
    assert "panic" not in err.split("\n", 1)[0], err
