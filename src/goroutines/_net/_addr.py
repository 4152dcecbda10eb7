"""Addresses: Go's "host:port" strings, Python's tuples, and name resolution.

An address argument may be

* a string in Go's form: ``"127.0.0.1:8080"``, ``"[::1]:8080"``,
  ``":8080"`` (every interface for listen, the local system for dial),
  ``"localhost:http"``;
* a tuple as the socket module takes it: ``("127.0.0.1", 8080)``;
* an :class:`Addr` (what ``addr``, ``local_addr`` and ``remote_addr`` return);
* for "unix"/"unixgram": a filesystem path, or ``"@name"`` for Linux's
  abstract namespace.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

# network -> (address family or 0 for "either", socket type)
_INET: dict[str, tuple[int, int]] = {
    "tcp": (0, socket.SOCK_STREAM),
    "tcp4": (socket.AF_INET, socket.SOCK_STREAM),
    "tcp6": (socket.AF_INET6, socket.SOCK_STREAM),
    "udp": (0, socket.SOCK_DGRAM),
    "udp4": (socket.AF_INET, socket.SOCK_DGRAM),
    "udp6": (socket.AF_INET6, socket.SOCK_DGRAM),
}
_UNIX: dict[str, int] = {"unix": socket.SOCK_STREAM, "unixgram": socket.SOCK_DGRAM}
STREAM_NETWORKS = ("tcp", "tcp4", "tcp6", "unix")
PACKET_NETWORKS = ("udp", "udp4", "udp6", "unixgram")


@dataclass(frozen=True, slots=True)
class Addr:
    """A network endpoint (Go's ``net.Addr``).

    ``network`` is "tcp", "udp", "unix" or "unixgram" (Go reports "tcp" for
    a "tcp4" socket too); ``host`` is an IP literal, or the socket path for
    unix networks; ``port`` is 0 for unix networks. ``str(addr)`` is Go's
    form (``127.0.0.1:8080``, ``[::1]:8080``, ``/tmp/s.sock``), which
    :func:`goroutines.net.dial` accepts back.
    """

    network: str
    host: str
    port: int = 0

    def __str__(self) -> str:
        if self.network in _UNIX:
            return self.host
        return join_host_port(self.host, self.port)

    @property
    def sockaddr(self) -> Any:
        """The address as the socket module takes it (a tuple, or a path)."""
        if self.network in _UNIX:
            return "\0" + self.host[1:] if self.host.startswith("@") else self.host
        if ":" in self.host:
            host, _, zone = self.host.partition("%")
            if zone:
                return socket.getaddrinfo(self.host, self.port, socket.AF_INET6, 0, 0, socket.AI_NUMERICHOST)[
                    0
                ][4]
            return (host, self.port, 0, 0)
        return (self.host, self.port)


def join_host_port(host: str, port: int | str) -> str:
    """Go's ``net.JoinHostPort``: ``[host]:port`` when the host has a colon."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``: ``"[::1]:80"`` -> ``("::1", "80")``.

    ``ValueError`` names the address and what is wrong with it.
    """
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise ValueError(f"address {hostport}: missing ']' in address")
        host, rest = hostport[1:end], hostport[end + 1 :]
        if not rest.startswith(":"):
            raise ValueError(f"address {hostport}: missing port in address")
        port = rest[1:]
    else:
        host, sep, port = hostport.rpartition(":")
        if not sep:
            raise ValueError(f"address {hostport}: missing port in address")
        if ":" in host:
            raise ValueError(f"address {hostport}: too many colons in address (write IPv6 as [::1]:port)")
    if "[" in port or "]" in port or "[" in host or "]" in host:
        raise ValueError(f"address {hostport}: unexpected '[' or ']' in address")
    return host, port


def addr_from_sockaddr(network: str, family: int, sa: Any) -> Addr:
    """Addr for a sockaddr returned by the socket module."""
    net = network.rstrip("46")
    if family == socket.AF_UNIX:
        if isinstance(sa, bytes):
            sa = (
                "@" + sa[1:].decode(errors="surrogateescape")
                if sa[:1] == b"\0"
                else sa.decode(errors="surrogateescape")
            )
        elif sa.startswith("\0"):
            sa = "@" + sa[1:]
        return Addr(net, sa, 0)
    host = sa[0]
    if family == socket.AF_INET6 and len(sa) >= 4 and sa[3] and "%" not in host:
        try:
            host = f"{host}%{socket.if_indextoname(sa[3])}"
        except OSError:
            host = f"{host}%{sa[3]}"
    return Addr(net, host, sa[1])


def check_network(network: Any, allowed: tuple[str, ...], who: str) -> str:
    if not isinstance(network, str):
        raise TypeError(f"{who}: network must be a string such as 'tcp', not {type(network).__name__}")
    if network not in allowed:
        raise ValueError(f"{who}: unknown network {network!r}; use one of {', '.join(allowed)}")
    return network


def _port(port: Any, network: str, addr: Any) -> int:
    if isinstance(port, bool):
        raise TypeError(f"address {addr!r}: port must be a number, not bool")
    if isinstance(port, int):
        p = port
    elif isinstance(port, str):
        if port.isdigit():
            p = int(port)
        elif port == "":
            p = 0
        else:
            proto = "udp" if network.startswith("udp") else "tcp"
            try:
                p = socket.getservbyname(port, proto)
            except OSError:
                raise ValueError(f"address {addr}: unknown port {port!r}") from None
    else:
        raise TypeError(f"address {addr!r}: port must be an int or a string, not {type(port).__name__}")
    if not 0 <= p <= 65535:
        raise ValueError(f"address {addr}: invalid port {p}")
    return p


def host_port(network: str, address: Any) -> tuple[str, int]:
    """Split an address argument of an IP network into (host, port)."""
    if isinstance(address, Addr):
        return address.host, address.port
    if isinstance(address, str):
        host, port = split_host_port(address)
        return host, _port(port, network, address)
    if isinstance(address, tuple) and len(address) >= 2:
        host = address[0]
        if host is None:
            host = ""
        if not isinstance(host, str):
            raise TypeError(f"address {address!r}: host must be a string")
        return host, _port(address[1], network, address)
    raise TypeError(
        f"{network} address must be 'host:port', a (host, port) tuple or an Addr, "
        f"not {type(address).__name__} ({address!r})"
    )


def unix_sockaddr(network: str, address: Any) -> tuple[str, Any]:
    """(display path, sockaddr) for a unix address argument."""
    if isinstance(address, Addr):
        address = address.host
    if isinstance(address, bytes):
        address = address.decode(errors="surrogateescape")
    if hasattr(address, "__fspath__"):
        address = str(address.__fspath__())
    if not isinstance(address, str) or address == "":
        raise ValueError(f"{network} address must be a non-empty path (or '@name'), not {address!r}")
    return address, ("\0" + address[1:] if address.startswith("@") else address)


def _literal(host: str) -> int:
    """AF_INET / AF_INET6 for an IP literal (zone allowed), else 0."""
    for fam in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(fam, host.partition("%")[0] if fam == socket.AF_INET6 else host)
            return fam
        except (OSError, ValueError):
            pass
    return 0


def _family_ok(network: str, family: int) -> bool:
    want = _INET[network][0]
    return want == 0 or want == family


Target = tuple[int, int, Any]  # (family, socket type, sockaddr)


def literal_targets(network: str, host: str, port: int, *, passive: bool) -> list[Target] | None:
    """Targets for a host that needs no name lookup, or None when it does."""
    want, sotype = _INET[network]
    if host == "":
        if passive:
            # Every interface; "tcp"/"udp" ask for a dual-stack socket.
            if want == socket.AF_INET:
                return [(socket.AF_INET, sotype, ("0.0.0.0", port))]
            if want == socket.AF_INET6:
                return [(socket.AF_INET6, sotype, ("::", port, 0, 0))]
            if socket.has_ipv6 and socket.has_dualstack_ipv6():
                return [
                    (socket.AF_INET6, sotype, ("::", port, 0, 0)),
                    (socket.AF_INET, sotype, ("0.0.0.0", port)),
                ]
            return [(socket.AF_INET, sotype, ("0.0.0.0", port))]
        # Dialing ":port" reaches the local system.
        if want == socket.AF_INET6:
            return [(socket.AF_INET6, sotype, ("::1", port, 0, 0))]
        return [(socket.AF_INET, sotype, ("127.0.0.1", port))]
    fam = _literal(host)
    if fam == 0:
        return None
    if not _family_ok(network, fam):
        raise OSError(f"address {join_host_port(host, port)}: no suitable address for network {network}")
    if fam == socket.AF_INET:
        return [(fam, sotype, (host, port))]
    if "%" in host:
        info = socket.getaddrinfo(host, port, fam, sotype, 0, socket.AI_NUMERICHOST)
        return [(fam, sotype, info[0][4])]
    return [(fam, sotype, (host, port, 0, 0))]


def lookup(network: str, host: str, port: int, *, passive: bool) -> list[Target]:
    """Resolve a host name (a blocking call: dial runs it through syscall)."""
    want, sotype = _INET[network]
    flags = socket.AI_PASSIVE if passive else 0
    try:
        infos = socket.getaddrinfo(host, port, want, sotype, 0, flags)
    except socket.gaierror as e:
        raise socket.gaierror(e.errno, f"lookup {host}: {e.strerror}") from None
    out: list[Target] = []
    seen = set()
    for fam, _typ, _proto, _canon, sa in infos:
        if fam not in (socket.AF_INET, socket.AF_INET6) or not _family_ok(network, fam):
            continue
        key = (fam, sa)
        if key in seen:
            continue
        seen.add(key)
        out.append((fam, sotype, sa))
    if not out:
        raise OSError(f"lookup {host}: no suitable address for network {network}")
    if passive:
        # As Go: listening on a name uses its first IPv4 address if any.
        out.sort(key=lambda t: t[0] != socket.AF_INET)
    return out
