#!/usr/bin/env python3
"""Minimal HTTP/1.1 servers for bench/http/run.py: one per system, each ~20 lines.

    python3 bench/http/servers.py SYSTEM [--port N] [--gomaxprocs N]

SYSTEM is goroutines, asyncio, uvloop or gevent. Each answers every request
(keep-alive, pipelined requests in order) with the same 13-byte
"hello, world" response, reads headers up to the blank line and ignores
bodies (wrk sends none). It prints ``PORT <n>`` once listening.
"""

from __future__ import annotations

import argparse
import sys

RESP = (
    b"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 13\r\n\r\nhello, world\n"
)


def split_requests(buf: bytearray) -> int:
    """Drop the complete request heads at the front of ``buf``; return their count."""
    n = 0
    start = 0
    while (i := buf.find(b"\r\n\r\n", start)) >= 0:
        start = i + 4
        n += 1
    del buf[:start]
    return n


def run_goroutines(port: int, procs: int) -> None:
    import goroutines as gr
    from goroutines import net

    async def handle(conn: net.Conn) -> None:
        buf = bytearray()
        while data := await conn.read():
            buf += data
            if n := split_requests(buf):
                await conn.write(RESP * n)

    async def main() -> None:
        ln = net.listen("tcp", f"127.0.0.1:{port}")
        print("PORT", ln.addr.port, flush=True)
        await net.serve(ln, handle)

    gr.run(main, gomaxprocs=procs)


def run_asyncio(port: int, use_uvloop: bool) -> None:
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = bytearray()
        try:
            while data := await reader.read(65536):
                buf += data
                if n := split_requests(buf):
                    writer.write(RESP * n)
                    await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def main() -> None:
        srv = await asyncio.start_server(handle, "127.0.0.1", port)
        print("PORT", srv.sockets[0].getsockname()[1], flush=True)
        await srv.serve_forever()

    if use_uvloop:
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


def run_gevent(port: int) -> None:
    from gevent.server import StreamServer

    def handle(sock: object, addr: object) -> None:
        buf = bytearray()
        try:
            while data := sock.recv(65536):  # type: ignore[attr-defined]
                buf += data
                if n := split_requests(buf):
                    sock.sendall(RESP * n)  # type: ignore[attr-defined]
        except ConnectionError:
            pass

    srv = StreamServer(("127.0.0.1", port), handle)
    srv.start()
    print("PORT", srv.server_port, flush=True)
    srv.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("system", choices=["goroutines", "asyncio", "uvloop", "gevent"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--gomaxprocs", type=int, default=1)
    a = ap.parse_args()
    try:
        if a.system == "goroutines":
            run_goroutines(a.port, a.gomaxprocs)
        elif a.system in ("asyncio", "uvloop"):
            run_asyncio(a.port, a.system == "uvloop")
        else:
            run_gevent(a.port)
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
