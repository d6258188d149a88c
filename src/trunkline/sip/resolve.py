"""Locating a SIP server (a pragmatic subset of RFC 3263 §4).

IP literals pass through. For a host name without an explicit port we look up SRV records
(``_sip._udp``, ``_sip._tcp``, ``_sips._tcp``) with dnspython's async resolver; a failed or
empty SRV lookup falls back to A/AAAA with the default port (RFC 3263 §4.2). NAPTR is not
used: the transport is always chosen by the caller.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import dns.asyncresolver
import dns.exception

from trunkline.sip.errors import SipTransportError

TransportName = Literal["udp", "tcp", "tls"]
DEFAULT_PORTS: dict[str, int] = {"udp": 5060, "tcp": 5060, "tls": 5061}  # RFC 3261 §19.1.2
SRV_PREFIXES: dict[str, str] = {"udp": "_sip._udp", "tcp": "_sip._tcp", "tls": "_sips._tcp"}

SrvLookup = Callable[[str], Awaitable[list[tuple[str, int]]]]


@dataclass(frozen=True, slots=True)
class ResolvedAddress:
    ip: str  # without brackets
    port: int
    family: socket.AddressFamily

    @property
    def hostport(self) -> str:
        """``ip:port`` with IPv6 in brackets, as used in Via, URIs and results."""
        host = f"[{self.ip}]" if self.family == socket.AF_INET6 else self.ip
        return f"{host}:{self.port}"


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if ``host`` is an IPv4 literal or a (bracketed) IPv6 literal."""
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


async def dns_srv_lookup(name: str, lifetime_s: float = 2.0) -> list[tuple[str, int]]:
    """SRV targets ordered by priority, then highest weight (RFC 2782, simplified)."""
    answer = await dns.asyncresolver.resolve(name, "SRV", lifetime=lifetime_s)
    records = sorted(answer, key=lambda r: (r.priority, -r.weight))
    return [
        (r.target.to_text(omit_final_dot=True), int(r.port))
        for r in records
        if r.target.to_text() != "."  # "." means the service is decidedly not available
    ]


async def resolve(
    host: str,
    port: int | None,
    transport: TransportName,
    *,
    srv_lookup: SrvLookup = dns_srv_lookup,
) -> ResolvedAddress:
    """Resolve a target to one address; raises SipTransportError("dns", ...) on failure."""
    literal = ip_literal(host)
    if literal is not None:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        return ResolvedAddress(str(literal), port or DEFAULT_PORTS[transport], family)
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        # RFC 6761 §6.4: never resolvable, answer negatively without asking the network.
        raise SipTransportError("dns", f"{host} is a reserved invalid name")
    candidates: list[tuple[str, int]] = []
    if port is None:
        try:
            candidates = await srv_lookup(f"{SRV_PREFIXES[transport]}.{name}")
        except (dns.exception.DNSException, OSError):
            candidates = []  # RFC 3263 §4.2: no SRV records -> A/AAAA on the name itself
    if not candidates:
        candidates = [(name, port or DEFAULT_PORTS[transport])]
    loop = asyncio.get_running_loop()
    sock_type = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    for target, target_port in candidates:
        try:
            infos = await loop.getaddrinfo(target, target_port, type=sock_type)
        except (socket.gaierror, UnicodeError):
            continue
        for family, _, _, _, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                return ResolvedAddress(str(sockaddr[0]), target_port, family)
    raise SipTransportError("dns", f"cannot resolve {host}")
