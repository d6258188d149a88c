"""Who really sent an INVITE: the packet's source, or — behind a trusted SIP proxy — the
carrier's address the proxy wrote into ``X-Trunkline-Source``.

Behind a Kamailio dispatcher (deploy/kamailio/) every INVITE reaches a worker from the proxy's
address, so the trust check (check 1, docs/calls.md §4) would compare the proxy with the
trunks' gateways. The proxy therefore passes the carrier's address in a header. A header is
only as trustworthy as whoever wrote it: it is read only when the packet itself comes from an
address in ``TRUNKLINE_SIP__TRUSTED_PROXIES``; from anyone else it is ignored, so a carrier
cannot claim another carrier's gateway by sending the header itself.

=============================  ========================  =======================================
packet source                  header                    the caller is
=============================  ========================  =======================================
not a trusted proxy            any (or none)             the packet source (header ignored)
trusted proxy                  none                      the packet source (the proxy itself)
trusted proxy                  one valid ``ip[:port]``   the header's address
trusted proxy                  malformed, or several     the packet source (fails closed)
=============================  ========================  =======================================
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SOURCE_HEADER = "X-Trunkline-Source"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CallerSource:
    """The address the trust check uses, and how it was chosen."""

    ip: str
    port: int
    proxy: str | None = None  # the trusted proxy's address when its header was used
    ignored: str | None = None  # why a header present was not used


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Addresses / CIDR blocks (``10.0.0.5``, ``10.0.0.0/24``, ``::1``) as networks."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def is_trusted_proxy(ip: str, proxies: Sequence[Network]) -> bool:
    try:
        address = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return False
    return any(address in network for network in proxies)


def parse_hostport(value: str) -> tuple[str, int] | None:
    """``1.2.3.4:5060``, ``[2001:db8::1]:5060``, or a bare address (port 0); else None."""
    text = value.strip()
    host, port = text, "0"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port = rest[1:] if rest else "0"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return None
    return str(address), int(port)


def caller_source(
    packet_source: tuple[str, int], headers: Sequence[str], proxies: Sequence[Network]
) -> CallerSource:
    """The caller's address for the trust check (the table in this module's docstring).

    ``headers`` are every ``X-Trunkline-Source`` value of the INVITE, in order.
    """
    ip, port = packet_source
    if not headers:
        return CallerSource(ip, port)
    if not is_trusted_proxy(ip, proxies):
        return CallerSource(ip, port, ignored=f"{SOURCE_HEADER} from {ip}, no trusted proxy")
    if len(headers) > 1:
        return CallerSource(ip, port, ignored=f"{len(headers)} {SOURCE_HEADER} headers")
    parsed = parse_hostport(headers[0])
    if parsed is None:
        return CallerSource(ip, port, ignored=f"malformed {SOURCE_HEADER}: {headers[0][:60]!r}")
    return CallerSource(parsed[0], parsed[1], proxy=ip)
