"""What binds where: the app is public, Rasa and the action server are not (issue 18, item 3).

Rasa's REST channel has no authentication and skips the gateway (no journal, no safety screen), and
the action server reads tickets for whoever posts a tracker to it. So both listen on
FRONTDOOR_PRIVATE_HOST (loopback by default, or a private address for a split deployment), never on
FRONTDOOR_HOST, and the launcher refuses a public or wildcard private address unless the operator
sets FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST=1 (e.g. inside a container network it controls).
"""

from __future__ import annotations

import ipaddress
import socket

RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")  # IPv6's counterpart of RFC 1918
OVERRIDE = "FRONTDOOR_ALLOW_PUBLIC_PRIVATE_HOST"


class PublicBindError(RuntimeError):
    """A private service was asked to listen where the internet may reach it."""


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses `host` stands for (a literal, or every address a name resolves to)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise PublicBindError(f"cannot resolve FRONTDOOR_PRIVATE_HOST={host!r}: {exc}") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def is_private_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, RFC 1918 or IPv6 unique-local; never the wildcard (0.0.0.0 / :: listen everywhere)."""
    if address.is_unspecified:
        return False
    if address.is_loopback:
        return True
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        return is_private_address(mapped) if mapped is not None else address in UNIQUE_LOCAL
    return any(address in network for network in RFC1918)


def check_private_host(host: str, allow_public: bool) -> str:
    """`host` if Rasa and the action server may listen on it; otherwise a PublicBindError saying what to set."""
    if allow_public:
        return host
    public = [str(a) for a in _addresses(host) if not is_private_address(a)]
    if public:
        shown = ", ".join(public)
        raise PublicBindError(
            f"FRONTDOOR_PRIVATE_HOST={host!r} ({shown}) is not a loopback or private (RFC 1918) address: Rasa "
            "and the action server have no authentication of their own and must not be reachable from the "
            "internet. Set FRONTDOOR_PRIVATE_HOST=127.0.0.1 (the default) or a private address such as "
            f"10.0.0.5; only if a firewall you control guards that address, set {OVERRIDE}=1. The public "
            "address of the app is FRONTDOOR_HOST."
        )
    return host


def connect_host(host: str) -> str:
    """The address to call a server on that listens on `host` (a wildcard is reached on loopback), URL-ready."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host
