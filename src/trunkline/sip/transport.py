"""Transport layer (RFC 3261 §18): the seam between transactions and sockets.

A transaction only sees a :class:`Channel`: ``send(bytes)``, whether it is ``reliable``,
the Via ``sent-by`` to advertise and the remote address. :class:`TransportManager` hands out
channels: one shared UDP socket per address family (every UDP transaction multiplexes on it)
and one pooled TCP/TLS connection per (ip, port, transport, TLS settings). Responses from any
socket go to the :class:`Dispatcher`, which matches them to a waiting transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from datetime import datetime
from typing import Protocol, cast

from cryptography import x509

from trunkline.sip.errors import SipParseError, SipTransportError
from trunkline.sip.message import SipResponse, frame_length, parse_message
from trunkline.sip.resolve import ResolvedAddress, TransportName

log = logging.getLogger(__name__)


class Waiter(Protocol):
    """What the dispatcher calls: implemented by client transactions."""

    def receive(self, response: SipResponse, raw: bytes) -> None: ...

    def fail(self, error: Exception) -> None: ...


class Channel(Protocol):
    """A path to one remote address over one transport."""

    @property
    def reliable(self) -> bool: ...

    @property
    def via_transport(self) -> str: ...

    @property
    def local(self) -> str: ...

    @property
    def remote(self) -> ResolvedAddress: ...

    @property
    def tls_cert_expires_at(self) -> datetime | None: ...

    def send(self, data: bytes) -> None: ...


class Dispatcher:
    """Routes responses to transactions by (top Via branch, CSeq method) — RFC 3261 §17.1.3."""

    def __init__(self) -> None:
        self.waiters: dict[tuple[str, str], Waiter] = {}

    def feed(self, data: bytes, source: object) -> None:
        try:
            msg = parse_message(data)
            if not isinstance(msg, SipResponse):
                log.debug("ignoring %d-byte request from %s (client only)", len(data), source)
                return
            key = (msg.top_via_branch or "", msg.cseq[1])
        except SipParseError as exc:
            # Never log the payload: it may be anything, including someone's credentials.
            log.debug("ignoring malformed %d-byte message from %s: %s", len(data), source, exc)
            return
        waiter = self.waiters.get(key)
        if waiter is None:
            log.debug("ignoring stray response %d from %s", msg.status, source)
            return
        waiter.receive(msg, data)

    def fail_all(self, error: Exception) -> None:
        for waiter in list(self.waiters.values()):
            waiter.fail(error)


def _hostport(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


class UdpEndpoint(asyncio.DatagramProtocol):
    """The shared UDP socket of one address family."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):  # bigger buffer absorbs bursts of many probes
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.dispatcher.feed(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors on an unconnected socket cannot be tied to a transaction; Timer F decides.
        log.debug("UDP socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class UdpChannel:
    reliable = False
    via_transport = "UDP"
    tls_cert_expires_at = None

    def __init__(self, endpoint: UdpEndpoint, remote: ResolvedAddress, local: str) -> None:
        self._endpoint = endpoint
        self._addr = (remote.ip, remote.port)
        self.remote = remote
        self.local = local

    def send(self, data: bytes) -> None:
        assert self._endpoint.transport is not None
        self._endpoint.transport.sendto(data, self._addr)


class StreamConnection(asyncio.Protocol):
    """One TCP or TLS connection; frames messages by Content-Length (RFC 3261 §18.3)."""

    reliable = True

    def __init__(self, dispatcher: Dispatcher, remote: ResolvedAddress, tls: bool) -> None:
        self.dispatcher = dispatcher
        self.remote = remote
        self.via_transport = "TLS" if tls else "TCP"
        self.local = ""
        self.tls_cert_expires_at: datetime | None = None
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sockname = transport.get_extra_info("sockname")
        self.local = _hostport(sockname[0], sockname[1])
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            der = ssl_object.getpeercert(binary_form=True)
            if der:  # works with and without verification, unlike getpeercert()
                self.tls_cert_expires_at = x509.load_der_x509_certificate(der).not_valid_after_utc

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            # RFC 5626 §4.4.1: CRLF keep-alives may appear between messages.
            while self.buffer[:2] == b"\r\n":
                del self.buffer[:2]
            try:
                size = frame_length(self.buffer)
            except SipParseError as exc:
                log.debug("closing %s: unframeable stream data (%s)", self.remote.hostport, exc)
                self.buffer.clear()
                assert self.transport is not None
                self.transport.close()
                return
            if size is None:
                return
            frame = bytes(self.buffer[:size])
            del self.buffer[:size]
            self.dispatcher.feed(frame, self.remote.hostport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, data: bytes) -> None:
        if not self.is_open:
            raise SipTransportError("network", f"connection to {self.remote.hostport} closed")
        assert self.transport is not None
        self.transport.write(data)


TlsKey = tuple[str | None, bool, str | None]  # (CA file, verify, server name)


class TransportManager:
    """Owns every socket of a SipClient."""

    def __init__(self) -> None:
        self.dispatcher = Dispatcher()
        self._udp: dict[int, UdpEndpoint] = {}
        self._streams: dict[tuple[object, ...], asyncio.Task[StreamConnection]] = {}
        self._tls_contexts: dict[tuple[str | None, bool], ssl.SSLContext] = {}
        self._local_ips: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def channel(
        self, remote: ResolvedAddress, transport: TransportName, tls: TlsKey = (None, True, None)
    ) -> Channel:
        if transport == "udp":
            endpoint = await self._udp_endpoint(remote.family)
            assert endpoint.transport is not None
            port = endpoint.transport.get_extra_info("sockname")[1]
            return UdpChannel(endpoint, remote, _hostport(self._local_ip(remote), port))
        key = (remote.ip, remote.port, transport, tls)
        task = self._streams.get(key)
        if (
            task is not None
            and task.done()
            and (task.cancelled() or task.exception() or not task.result().is_open)
        ):
            task = None  # failed attempt or a connection the peer closed: reconnect
        if task is None:
            task = asyncio.ensure_future(self._connect(remote, transport == "tls", tls))
            self._streams[key] = task
        # shield: one caller timing out must not cancel a connect other callers share
        return await asyncio.shield(task)

    async def _udp_endpoint(self, family: int) -> UdpEndpoint:
        endpoint = self._udp.get(family)
        if endpoint is not None:
            return endpoint
        async with self._lock:
            if family not in self._udp:
                bind = "::" if family == socket.AF_INET6 else "0.0.0.0"  # noqa: S104
                loop = asyncio.get_running_loop()
                _, proto = await loop.create_datagram_endpoint(
                    lambda: UdpEndpoint(self.dispatcher), local_addr=(bind, 0), family=family
                )
                self._udp[family] = proto
            return self._udp[family]

    def _local_ip(self, remote: ResolvedAddress) -> str:
        """Source address the kernel would use towards ``remote`` (for Via sent-by)."""
        ip = self._local_ips.get(remote.ip)
        if ip is None:
            # Connecting a UDP socket only consults the routing table; nothing is sent.
            with socket.socket(remote.family, socket.SOCK_DGRAM) as probe:
                probe.connect((remote.ip, remote.port or 9))
                ip = str(probe.getsockname()[0])
            self._local_ips[remote.ip] = ip
        return ip

    def _tls_context(self, ca_file: str | None, verify: bool) -> ssl.SSLContext:
        ctx = self._tls_contexts.get((ca_file, verify))
        if ctx is None:
            ctx = ssl.create_default_context(cafile=ca_file)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._tls_contexts[(ca_file, verify)] = ctx
        return ctx

    async def _connect(self, remote: ResolvedAddress, tls: bool, key: TlsKey) -> StreamConnection:
        loop = asyncio.get_running_loop()
        ssl_ctx = self._tls_context(key[0], key[1]) if tls else None
        try:
            _, conn = await loop.create_connection(
                lambda: StreamConnection(self.dispatcher, remote, tls),
                host=remote.ip,
                port=remote.port,
                ssl=ssl_ctx,
                # Verify against the name the user gave, or the IP literal (IP SAN).
                server_hostname=(key[2] or remote.ip) if tls else None,
            )
        except ConnectionRefusedError as exc:
            raise SipTransportError("refused", str(exc)) from exc
        except ssl.SSLError as exc:  # includes certificate verification failures
            raise SipTransportError("tls", str(exc)) from exc
        except OSError as exc:
            raise SipTransportError("network", str(exc)) from exc
        return conn

    async def close(self) -> None:
        self.dispatcher.fail_all(SipTransportError("network", "client closed"))
        conns = []
        for task in self._streams.values():
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            elif not task.exception():
                conns.append(task.result())
        for conn in conns:
            if conn.transport is not None:
                conn.transport.close()
        for endpoint in self._udp.values():
            if endpoint.transport is not None:
                endpoint.transport.close()
        waits = [c.closed for c in conns if c.transport] + [e.closed for e in self._udp.values()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=1.0)
            for conn in conns:  # a TLS peer that never answers close_notify
                if conn.closed in pending and conn.transport is not None:
                    conn.transport.abort()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        self._streams.clear()
        self._udp.clear()
