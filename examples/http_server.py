"""A small HTTP/1.1 server: a goroutine per connection, keep-alive, deadlines.

    goroutines run examples/http_server.py [ADDR] [--once]

ADDR is a port (``8080``, on 127.0.0.1), ``:PORT`` (every interface) or
``HOST:PORT``; port 0 lets the system pick one. The server prints the
address it listens on and serves until Ctrl-C. With ``--once`` (or
``HTTP_ONCE=1``) it serves a single connection -- every request the client
sends on it -- and exits when the client closes it; the tests use that.

Pages:

    GET /          an HTML page (with the number of goroutines right now)
    GET /hello     "hello, world"
    POST /echo     the request body back
    anything else  404

Try ``curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/hello`` (both
requests on one connection).

As Go's net/http does, each connection gets its own goroutine (``net.serve``),
which parks in the netpoller between requests; an exception out of one
connection's handler -- a client resetting mid-request, a bug -- is logged
with the goroutine's id and closes that connection, never the server. An idle keep-alive connection is closed
after IDLE_TIMEOUT seconds (a read deadline), a slow client that does not
finish sending its request within READ_TIMEOUT gets no answer, and a client
that does not read its response within WRITE_TIMEOUT is dropped -- the Go
``http.Server`` fields ``IdleTimeout``, ``ReadTimeout``, ``WriteTimeout``.
"""

import email.utils
import html
import os
import re
import sys
import time

import goroutines as gr
from goroutines import net

IDLE_TIMEOUT = 30.0
READ_TIMEOUT = 10.0
WRITE_TIMEOUT = 10.0
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 1 << 20
HEAD_END = re.compile(rb"\n\r?\n")  # the blank line after the headers (a bare LF is accepted too)

STATUS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}

PAGE = """<!doctype html>
<html><head><title>goroutines</title></head>
<body>
<h1>Hello from goroutines</h1>
<p>Request {nreq} on this connection, from {peer}. {ngo} goroutines exist
now: one per open connection, plus the accept loop.</p>
<p><a href="/hello">/hello</a></p>
</body></html>
"""


class BadRequest(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


class Reader:
    """A little of Go's bufio.Reader: a buffered request head and exact reads from a Conn."""

    def __init__(self, conn: net.Conn) -> None:
        self.conn = conn
        self.buf = bytearray()

    async def fill(self) -> bool:
        """Read what the client has sent so far into the buffer; False at end of stream."""
        data = await self.conn.read(65536)
        self.buf += data
        return bool(data)

    async def read_head(self, limit: int) -> bytes:
        """A request head through its blank line; b"" at end of stream before any byte.

        One search for the blank line per read, rather than a search per
        header line: a request's head usually arrives in one read, and with
        pipelining several heads come in one read.
        """
        start = 0
        timed = False  # READ_TIMEOUT set for this request yet?
        while True:
            if self.buf and self.buf[0] in b"\r\n":
                # Blank lines between requests are tolerated (RFC 9112 2.2).
                n = len(self.buf) - len(self.buf.lstrip(b"\r\n"))
                del self.buf[:n]
                start = 0
            m = HEAD_END.search(self.buf, start)
            if m:
                head = bytes(self.buf[: m.end()])
                del self.buf[: m.end()]
                return head
            if len(self.buf) > limit:
                raise BadRequest(431, "headers too large")
            start = max(0, len(self.buf) - 3)  # the blank line may straddle two reads
            if self.buf and not timed:
                # The whole request must arrive within READ_TIMEOUT of its first bytes.
                self.conn.set_read_deadline(time.monotonic() + READ_TIMEOUT)
                timed = True
            if not await self.fill():
                if self.buf.strip(b"\r\n"):
                    raise BadRequest(400, "connection closed in the headers")
                return b""
            if not timed:
                self.conn.set_read_deadline(time.monotonic() + READ_TIMEOUT)
                timed = True

    async def read_exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = await self.conn.read(max(65536, n - len(self.buf)))
            if not data:
                raise BadRequest(400, "connection closed in the middle of the body")
            self.buf += data
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


class Request:
    def __init__(self, method: str, target: str, version: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body

    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


async def read_request(r: Reader) -> Request | None:
    """The next request on the connection, or None when the client closed it."""
    head = await r.read_head(MAX_HEADER_BYTES)
    if not head:
        return None
    lines = head.decode("latin-1").split("\n")
    parts = lines[0].rstrip("\r").split(" ")
    if len(parts) != 3:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(505, f"unsupported version {version}")
    headers: dict[str, str] = {}
    for h in lines[1:-2]:  # the head ends with the blank line: ..., "", ""
        name, sep, value = h.rstrip("\r").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest(400, "malformed header line")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    if "transfer-encoding" in headers:
        raise BadRequest(501, "chunked request bodies are not supported here")
    body = b""
    if "content-length" in headers:
        cl = headers["content-length"]
        if not cl.isdigit():
            raise BadRequest(400, "bad Content-Length")
        n = int(cl)
        if n > MAX_BODY_BYTES:
            raise BadRequest(413, "body too large")
        body = await r.read_exactly(n)
    return Request(method, target, version, headers, body)


def route(req: Request, conn: net.Conn, nreq: int) -> tuple[int, str, bytes]:
    path = req.target.split("?", 1)[0]
    if path == "/":
        if req.method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"method not allowed\n"
        page = PAGE.format(
            nreq=nreq,
            peer=html.escape(str(conn.remote_addr)),
            ngo=gr.num_goroutine(),
        )
        return 200, "text/html; charset=utf-8", page.encode()
    if path == "/hello":
        return 200, "text/plain; charset=utf-8", b"hello, world\n"
    if path == "/echo":
        if req.method != "POST":
            return 405, "text/plain; charset=utf-8", b"POST a body to /echo\n"
        return 200, "application/octet-stream", req.body
    return 404, "text/plain; charset=utf-8", b"404 page not found\n"


_date = (0, "")


def http_date() -> str:
    """The Date header's value, formatted once a second (as Go's net/http does)."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, email.utils.formatdate(now, usegmt=True))
    return _date[1]


async def respond(conn: net.Conn, status: int, ctype: str, body: bytes, *, head: bool, close: bool) -> None:
    connection = "Connection: close\r\n" if close else ""
    data = (
        f"HTTP/1.1 {status} {STATUS[status]}\r\n"
        f"Date: {http_date()}\r\n"
        "Server: goroutines-example\r\n"
        f"Content-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"{connection}\r\n"
    ).encode("latin-1")
    conn.set_write_deadline(time.monotonic() + WRITE_TIMEOUT)
    await conn.write(data if head else data + body)  # one write: one send(), one TCP segment


async def serve_conn(conn: net.Conn) -> None:
    """Serve requests on one connection until the client closes it or it idles out."""
    async with conn:
        r = Reader(conn)
        nreq = 0
        try:
            while True:
                conn.set_read_deadline(time.monotonic() + IDLE_TIMEOUT)
                try:
                    req = await read_request(r)
                except BadRequest as e:
                    body = f"{e.status} {STATUS[e.status]}: {e}\n".encode()
                    await respond(conn, e.status, "text/plain; charset=utf-8", body, head=False, close=True)
                    return
                if req is None:
                    return
                nreq += 1
                status, ctype, body = route(req, conn, nreq)
                close = not req.keep_alive()
                await respond(conn, status, ctype, body, head=req.method == "HEAD", close=close)
                if close:
                    return
        except net.NetTimeoutError:
            return  # idle keep-alive connection, or a client too slow: drop it, as Go does
        # Anything else (a client's reset, a bug here) escapes to net.serve,
        # which logs it with this goroutine's id and closes this connection
        # only, as Go's net/http does with a handler's panic.


def parse_addr(arg: str) -> str:
    if arg.isdigit():
        return f"127.0.0.1:{arg}"
    return arg


async def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    once = "--once" in sys.argv[1:] or os.environ.get("HTTP_ONCE") == "1"
    ln = net.listen("tcp", parse_addr(args[0] if args else "8080"))
    print(f"http server listening on http://{ln.addr}/", flush=True)
    if once:
        async with ln:
            await serve_conn(await ln.accept())
        return
    await net.serve(ln, serve_conn)  # a goroutine per connection, until ln is closed
