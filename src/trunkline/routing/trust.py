"""Which host names resolve to a caller's address: the resolver index of the call worker.

A trunk's gateway may be a host name (``sip.carrier.example``); an INVITE only shows an IP
address. The worker keeps every gateway host name it knows resolved (refreshed in the
background, and on demand for the routes of a dialled number) and answers "which names stand
for this IP" from memory, so the per-INVITE read can match gateways by name or literal IP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def in_allowed(ip: str, allowed: str | None) -> bool:
    """A PBX connector's ``allowed_ip``: one address or a CIDR block."""
    if not allowed:
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(allowed, strict=False)
    except ValueError:
        return False


class GatewayResolver:
    """host name → addresses, cached for ``ttl_s``; and the reverse index for trust checks."""

    def __init__(
        self,
        *,
        ttl_s: float = 60.0,
        timeout_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._addresses: dict[str, tuple[float, frozenset[str]]] = {}

    async def _lookup(self, host: str) -> frozenset[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, None, type=socket.SOCK_DGRAM), self._timeout_s
            )
        except (OSError, TimeoutError) as exc:
            log.info("gateway %s does not resolve: %s", host, exc)
            return frozenset()
        return frozenset(str(info[4][0]) for info in infos)

    async def addresses(self, host: str) -> frozenset[str]:
        """The addresses ``host`` stands for (itself for an IP literal)."""
        host = host.strip()
        if is_ip_literal(host):
            return frozenset({host.strip("[]")})
        cached = self._addresses.get(host)
        if cached and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        found = await self._lookup(host)
        self._addresses[host] = (self._clock(), found)
        return found

    async def refresh(self, hosts: Iterable[str]) -> None:
        """Resolve every host name (the worker calls this in the background)."""
        names = sorted({h.strip() for h in hosts if h and not is_ip_literal(h.strip())})
        await asyncio.gather(*(self.addresses(h) for h in names))
        known = set(names)
        for stale in [h for h in self._addresses if h not in known]:
            del self._addresses[stale]

    def names_for(self, ip: str) -> list[str]:
        """The caller's address and every cached host name that resolves to it."""
        return [ip, *sorted(h for h, (_, addrs) in self._addresses.items() if ip in addrs)]
