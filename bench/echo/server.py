#!/usr/bin/env python3
"""The echo servers of the echo benchmark, one per system, written as each system's users would.

    python3 bench/echo/server.py --system goroutines [--gomaxprocs N] [--port 0]

Systems:

  goroutines  goroutines.net: an accept loop, a goroutine per connection
              doing ``read`` / ``write`` (the Go program's shape)
  asyncio     asyncio streams (``start_server``, ``read`` / ``write`` + ``drain``)
  uvloop      the same asyncio program on uvloop's event loop
  gevent      ``gevent.server.StreamServer``, a greenlet per connection
              doing ``recv`` / ``sendall``
  threads     a blocking socket server, an OS thread per connection

Every server listens on 127.0.0.1 with a 4096 backlog, reads up to 64 KiB
at a time and echoes it back, prints ``READY <port>`` once it listens, and
runs until killed (the runner sends SIGTERM).
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
import threading

BACKLOG = 4096
BUF = 65536


def ready(port: int) -> None:
    print(f"READY {port}", flush=True)


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------------------------------------------------------------------- goroutines


def serve_goroutines(port: int, gomaxprocs: int | None) -> None:
    import goroutines as gr
    from goroutines import net

    async def handle(c: net.Conn) -> None:
        async with c:
            try:
                while True:
                    data = await c.read(BUF)
                    if not data:
                        return
                    await c.write(data)
            except OSError:
                return

    async def main() -> None:
        ln = net.listen("tcp", f"127.0.0.1:{port}")
        ready(ln.addr.port)
        while True:
            gr.go(handle, await ln.accept())

    gr.run(main, gomaxprocs=gomaxprocs)


# ---------------------------------------------------------------------- asyncio / uvloop


def serve_asyncio(port: int, use_uvloop: bool) -> None:
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(BUF)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=BACKLOG)
        ready(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    if use_uvloop:
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


# ---------------------------------------------------------------------- gevent


def serve_gevent(port: int) -> None:
    from gevent.server import StreamServer  # type: ignore[import-untyped]

    def handle(sock: socket.socket, _addr: object) -> None:
        try:
            while True:
                data = sock.recv(BUF)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            pass
        finally:
            sock.close()

    server = StreamServer(("127.0.0.1", port), handle, backlog=BACKLOG)
    server.init_socket()
    ready(server.server_port)
    server.serve_forever()


# ---------------------------------------------------------------------- threads


def serve_threads(port: int) -> None:
    def handle(sock: socket.socket) -> None:
        try:
            while True:
                data = sock.recv(BUF)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            pass
        finally:
            sock.close()

    ln = socket.socket()
    ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ln.bind(("127.0.0.1", port))
    ln.listen(BACKLOG)
    ready(ln.getsockname()[1])
    while True:
        s, _ = ln.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(s,), daemon=True).start()


SYSTEMS = ["goroutines", "asyncio", "uvloop", "gevent", "threads"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", choices=SYSTEMS, required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--gomaxprocs", type=int, default=None, help="goroutines only")
    a = p.parse_args()
    raise_nofile()
    try:
        if a.system == "goroutines":
            serve_goroutines(a.port, a.gomaxprocs)
        elif a.system in ("asyncio", "uvloop"):
            serve_asyncio(a.port, a.system == "uvloop")
        elif a.system == "gevent":
            serve_gevent(a.port)
        else:
            serve_threads(a.port)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
