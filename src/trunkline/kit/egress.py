"""Egress policy: which addresses Trunkline may send SIP to or open a WebSocket to.

Tenants choose gateways, registrars (and later agent stream URLs and call targets); without a
policy a tenant could aim Trunkline's probes and calls at the operator's own machine or cloud
metadata service. By default these are refused, in IPv4 and IPv6 (IPv4-mapped IPv6 is judged
as the IPv4 address it carries):

- unspecified (``0.0.0.0/8``, ``::``): "this host" (RFC 1122 §3.2.1.3, RFC 4291 §2.5.2);
- loopback (``127.0.0.0/8``, ``::1``): the operator's own machine (RFC 1122, RFC 4291 §2.5.3);
- link-local (``169.254.0.0/16`` incl. the 169.254.169.254 metadata service, ``fe80::/10``,
  RFC 3927, RFC 4291 §2.5.6);
- multicast and limited broadcast (``224.0.0.0/4``, ``255.255.255.255``, ``ff00::/8``).

Private ranges (RFC 1918, ULA) stay allowed: PBXs live there.

The operator's lists (``TRUNKLINE_SECURITY__ALLOW_ADDRESSES`` / ``__DENY_ADDRESSES``, CIDRs) come
first: the most specific matching operator network decides (a tie goes to deny), so ``allow
127.0.0.0/8`` re-opens loopback for development, and ``deny 10.0.0.0/8`` with ``allow
10.1.2.3/32`` leaves exactly one host open. Only when no operator network matches do the
default denials apply.

Checked twice: on write (a literal address, or ``localhost`` which RFC 6761 §6.3 reserves for
loopback) and at connect time on the address DNS actually returned, so a name that resolves to
a refused address is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_DENIED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), kind)
    for cidr, kind in (
        ("0.0.0.0/8", "an unspecified"),
        ("::/128", "an unspecified"),
        ("127.0.0.0/8", "a loopback"),
        ("::1/128", "a loopback"),
        ("169.254.0.0/16", "a link-local"),
        ("fe80::/10", "a link-local"),
        ("224.0.0.0/4", "a multicast"),
        ("ff00::/8", "a multicast"),
        ("255.255.255.255/32", "a broadcast"),
    )
)


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (or bare addresses) to networks; raises ValueError naming the bad entry."""
    networks = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP network: {text!r}") from exc
    return tuple(networks)


@dataclass(frozen=True)
class EgressPolicy:
    """Operator overrides on top of the default denials (module docstring)."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_lists(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> EgressPolicy:
        return cls(parse_networks(allow), parse_networks(deny))


class EgressRefused(Exception):
    """A destination the policy refuses (or that does not resolve); ``reason`` is for humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _address(ip: str) -> IPAddress | None:
    text = ip.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 zone id ("fe80::1%eth0") does not change the address
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    return address


def _most_specific(address: IPAddress, networks: tuple[IPNetwork, ...]) -> int:
    """Prefix length of the longest network containing ``address``; -1 when none does."""
    lengths = [n.prefixlen for n in networks if n.version == address.version and address in n]
    return max(lengths, default=-1)


def check_destination(ip: str, policy: EgressPolicy) -> str | None:
    """Why Trunkline must not connect to ``ip`` (an address, not a name), or None if it may."""
    address = _address(ip)
    if address is None:
        return f"{ip} is not an IP address"
    allowed, denied = _most_specific(address, policy.allow), _most_specific(address, policy.deny)
    if denied >= 0 and denied >= allowed:
        return (
            f"{address} is refused by this server's deny list (TRUNKLINE_SECURITY__DENY_ADDRESSES)"
        )
    if allowed >= 0:
        return None
    for network, kind in _DEFAULT_DENIED:
        if address.version == network.version and address in network:
            return (
                f"{address} is {kind} address; this server does not send traffic there "
                "unless TRUNKLINE_SECURITY__ALLOW_ADDRESSES allows it"
            )
    return None


def _is_localhost(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def check_host(host: str, policy: EgressPolicy) -> str | None:
    """The write-time check of a configured host: literal addresses, and ``localhost`` names
    (RFC 6761 §6.3: always loopback). Other names are judged after resolution."""
    if _address(host) is not None:
        return check_destination(host, policy)
    if _is_localhost(host):
        reason = check_destination("127.0.0.1", policy)
        return reason.replace("127.0.0.1", host, 1) if reason else None
    return None


async def resolve_allowed(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """Every address ``host`` resolves to, if the policy allows all of them.

    One refused answer refuses the name: a name that mixes a public and a loopback address
    (DNS rebinding) must not get through by luck of ordering. Raises EgressRefused.
    """
    if (literal := _address(host)) is not None:
        addresses = [str(literal)]
    else:
        if _is_localhost(host):
            addresses = ["127.0.0.1", "::1"]
        else:
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError) as exc:
                raise EgressRefused(f"{host} does not resolve") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        if (reason := check_destination(address, policy)) is not None:
            shown = reason if address == host else f"{host}: {reason}"
            raise EgressRefused(shown)
    return addresses


# The policy request validation sees (kit/schema.py's Gateway type): set per request by
# EgressPolicyScope from the app's settings, so two apps in one process (tests) never mix.
# Outside a request the default policy applies.
_current_policy: ContextVar[EgressPolicy] = ContextVar("trunkline_egress_policy")
_DEFAULT_POLICY = EgressPolicy()


def current_policy() -> EgressPolicy:
    return _current_policy.get(_DEFAULT_POLICY)


_Scope = MutableMapping[str, Any]
_ASGIApp = Callable[[_Scope, Any, Any], Awaitable[None]]


class EgressPolicyScope:
    """Pure-ASGI middleware: makes ``policy`` the current policy while a request runs."""

    def __init__(self, app: _ASGIApp, policy: EgressPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        token = _current_policy.set(self.policy)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_policy.reset(token)
