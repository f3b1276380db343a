"""The client's address: the peer, or X-Forwarded-For when (and only when) the peer is a trusted proxy.

Believing the header from anyone would let a flood pick a fresh address per request and walk past
every per-address limit. FRONTDOOR_TRUSTED_PROXIES lists the proxies' networks (CIDRs, default
none). From a trusted peer the header is read right to left, skipping further trusted hops: the
first address that is not a trusted proxy is the client (the left part of the header is whatever
the client wrote, so it is never taken on trust).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """ "10.0.0.0/8, 127.0.0.1" -> networks; raises ValueError naming the part it cannot read."""
    networks = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"FRONTDOOR_TRUSTED_PROXIES: {part!r} is not an address or CIDR (e.g. 10.0.0.0/8)"
            ) from None
    return tuple(networks)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str:
    """The address limits are counted by; `forwarded_for` = every X-Forwarded-For header value, in order."""
    if not peer:
        return UNKNOWN
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed hop: the chain cannot be followed past it; count the proxy itself
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
