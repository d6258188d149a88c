"""SipClient: resolution + transports + transactions, and the OPTIONS probe."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Literal

from trunkline.sip.errors import SipError, SipTimeout, SipTransportError
from trunkline.sip.message import BRANCH_MAGIC, SipRequest, SipResponse
from trunkline.sip.resolve import ResolvedAddress, SrvLookup, TransportName, dns_srv_lookup, resolve
from trunkline.sip.trace import TraceEntry
from trunkline.sip.transaction import NonInviteClientTransaction
from trunkline.sip.transport import Channel, TransportManager

ErrorKind = Literal["timeout", "refused", "dns", "tls", "network", "not_allowed"]
_ERROR_KINDS: tuple[ErrorKind, ...] = ("timeout", "refused", "dns", "tls", "network", "not_allowed")
# Given a resolved IP, why it must not be contacted (None: go ahead). The library knows no
# policy; the application passes one in (the monitor: kit/egress.py).
AddressFilter = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send: ``port=None`` means SRV (for names), then 5060/5061 (RFC 3263 §4.2)."""

    host: str
    port: int | None = None
    transport: TransportName = "udp"
    tls_ca_file: str | None = None
    tls_verify: bool = True


@dataclass(slots=True)
class ProbeResult:
    """Outcome of an OPTIONS probe. Any final response (even 403/404/405) means reachable."""

    reachable: bool
    sip_code: int | None = None
    reason: str | None = None
    rtt_ms: float | None = None
    error: ErrorKind | None = None
    error_detail: str | None = None
    remote: str | None = None
    transport: TransportName = "udp"
    tls_cert_expires_at: datetime | None = None
    trace: list[TraceEntry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.reachable


@dataclass(frozen=True, slots=True)
class Exchange:
    """A completed transaction: final response plus what the caller may want to report."""

    response: SipResponse
    rtt_ms: float
    channel: Channel


class SipRequestFailed(SipError):
    """A transaction failed; carries the error category and the remote if it was known."""

    def __init__(self, kind: ErrorKind, detail: str, remote: str | None) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: ErrorKind = kind
        self.detail = detail
        self.remote = remote


def new_token(nbytes: int = 8) -> str:
    return secrets.token_hex(nbytes)


class SipClient:
    """Asyncio SIP user-agent client for OPTIONS probes and registrations.

    ``t1_s``/``t2_s`` are the RFC 3261 §17.1.1.1 timer values; ``timeout_s`` bounds a whole
    request (resolution, connection and transaction) and defaults to Timer F = 64*T1.
    """

    def __init__(
        self,
        t1_s: float = 0.5,
        t2_s: float = 4.0,
        timeout_s: float | None = None,
        *,
        user_agent: str = "trunkline",
        srv_lookup: SrvLookup = dns_srv_lookup,
        address_filter: AddressFilter | None = None,
    ) -> None:
        self.t1_s = t1_s
        self.t2_s = t2_s
        self.timeout_s = 64 * t1_s if timeout_s is None else timeout_s
        self.user_agent = user_agent
        self.transports = TransportManager()
        self._srv_lookup = srv_lookup
        self._address_filter = address_filter

    async def __aenter__(self) -> SipClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transports.close()

    async def open_channel(self, target: Target) -> Channel:
        """Resolve ``target`` and return a (possibly pooled) channel to it."""
        remote: ResolvedAddress = await resolve(
            target.host, target.port, target.transport, srv_lookup=self._srv_lookup
        )
        # Judged on the address DNS returned, before any packet leaves: a name that resolves
        # to a refused address is refused too.
        if self._address_filter is not None:
            reason = self._address_filter(remote.ip)
            if reason is not None:
                raise SipRequestFailed("not_allowed", reason, remote.hostport)
        try:
            # RFC 5922 §4: verify the certificate against the host the user asked for.
            tls = (target.tls_ca_file, target.tls_verify, target.host.strip("[]"))
            return await self.transports.channel(remote, target.transport, tls)
        except SipTransportError as exc:
            raise SipRequestFailed(_kind(exc.kind), exc.detail, remote.hostport) from exc

    async def request(
        self,
        target: Target,
        build: Callable[[Channel], SipRequest],
        *,
        timeout_s: float | None = None,
        trace: list[TraceEntry] | None = None,
    ) -> Exchange:
        """Run one non-INVITE transaction; ``build`` makes the request for the chosen channel.

        The client adds the top Via (RFC 3261 §8.1.1.7 branch, RFC 3581 ``rport``).
        Raises SipRequestFailed with the error category.
        """
        timeout = self.timeout_s if timeout_s is None else timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        remote: str | None = None
        try:
            async with asyncio.timeout(timeout):
                channel = await self.open_channel(target)
            remote = channel.remote.hostport
            request = build(channel)
            branch = BRANCH_MAGIC + new_token()
            via = f"SIP/2.0/{channel.via_transport} {channel.local};rport;branch={branch}"
            request.headers.insert(0, ("Via", via))
            tx = NonInviteClientTransaction(
                channel,
                self.transports.dispatcher,
                request,
                t1_s=self.t1_s,
                t2_s=self.t2_s,
                timer_f_s=max(deadline - loop.time(), 0.0),
                trace=trace,
            )
            response = await tx.run()
            assert tx.rtt_ms is not None
            return Exchange(response, tx.rtt_ms, channel)
        except SipRequestFailed:
            raise
        except (SipTimeout, TimeoutError) as exc:
            raise SipRequestFailed("timeout", str(exc) or "timed out", remote) from exc
        except SipTransportError as exc:
            raise SipRequestFailed(_kind(exc.kind), exc.detail, remote) from exc

    async def options(
        self, target: Target, *, from_user: str = "trunkline", timeout_s: float | None = None
    ) -> ProbeResult:
        """Probe ``target`` with OPTIONS (RFC 3261 §11) and never raise for network outcomes."""
        trace: list[TraceEntry] = []

        def build(channel: Channel) -> SipRequest:
            host = channel.remote.hostport
            uri = (
                f"sip:{host}"
                if target.transport == "udp"
                else f"sip:{host};transport={target.transport}"
            )
            local_host = channel.local.rpartition(":")[0]
            return SipRequest(
                method="OPTIONS",
                uri=uri,
                headers=[
                    ("Max-Forwards", "70"),
                    ("From", f"<sip:{from_user}@{local_host}>;tag={new_token(4)}"),
                    ("To", f"<{uri}>"),
                    ("Call-ID", new_token(12)),
                    ("CSeq", "1 OPTIONS"),
                    ("Accept", "application/sdp"),
                    ("User-Agent", self.user_agent),
                ],
            )

        try:
            ex = await self.request(target, build, timeout_s=timeout_s, trace=trace)
        except SipRequestFailed as exc:
            return ProbeResult(
                reachable=False,
                error=exc.kind,
                error_detail=exc.detail,
                remote=exc.remote,
                transport=target.transport,
                trace=trace,
            )
        return ProbeResult(
            reachable=True,
            sip_code=ex.response.status,
            reason=ex.response.reason,
            rtt_ms=ex.rtt_ms,
            remote=ex.channel.remote.hostport,
            transport=target.transport,
            tls_cert_expires_at=ex.channel.tls_cert_expires_at,
            trace=trace,
        )


def _kind(kind: str) -> ErrorKind:
    for known in _ERROR_KINDS:
        if known == kind:
            return known
    return "network"
