"""SipEdge: the SIP listener of one call worker (UDP and TCP on one host:port).

It parses whatever arrives, answers what it must on its own (OPTIONS, 100 Trying, 400, 405,
420, 481, CANCEL, retransmissions) and hands every new INVITE to a :class:`CallHandler` as an
:class:`IncomingCall`. Outbound calls (:meth:`SipEdge.invite`) leave from the same socket so
the far end's responses and in-dialog requests come back to the listener.

This module holds the listener's lifecycle (binding, closing), its sockets and the helpers calls
send with; the receiving half (parsing, checks, transaction matching, dispatch to dialogs and
the handler) is :class:`~trunkline.sip.edge_dispatch.EdgeDispatch`, which SipEdge inherits.

What it does not do (yet): TLS, reliable provisionals (``Require: 100rel`` gets 420), UPDATE,
forked 2xx responses to our INVITE (only the first dialog is kept), strict routers (RFC 2543
route sets), late offers (an INVITE without SDP reaches the handler with ``sdp_offer=None``;
an SDP answer in the ACK is not read), and re-INVITE glare (491).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from trunkline.sip.call import DialogCall
from trunkline.sip.dialog import Dialog, SipUri
from trunkline.sip.edge_dispatch import EdgeDispatch, TxKey
from trunkline.sip.edge_transport import EdgeChannel, StreamConnection, UdpEndpoint, hostport
from trunkline.sip.errors import SipTransportError
from trunkline.sip.incoming import CallHandler, IncomingCall
from trunkline.sip.message import BRANCH_MAGIC, SipRequest, SipResponse
from trunkline.sip.outgoing import OutgoingCall, place_call
from trunkline.sip.resolve import ResolvedAddress, resolve
from trunkline.sip.server_transaction import ServerTransaction
from trunkline.sip.transaction import NonInviteClientTransaction
from trunkline.sip.transport import Dispatcher

if TYPE_CHECKING:
    from trunkline.sip.client import Target
    from trunkline.sip.register import Credentials

log = logging.getLogger(__name__)


class SipEdge(EdgeDispatch):
    """One SIP listener per call worker; see the module docstring.

    ``listen`` is bound for UDP and TCP (port 0: any free port, the same for both);
    ``public_address`` goes into Via and Contact (port 0: the bound port). ``t1_s``/``t2_s``
    are the RFC 3261 §17 timer bases for every transaction the edge runs.
    """

    def __init__(
        self,
        listen: tuple[str, int],
        public_address: tuple[str, int],
        handler: CallHandler,
        *,
        t1_s: float = 0.5,
        t2_s: float = 4.0,
        user_agent: str = "Trunkline",
    ) -> None:
        self.listen = listen
        self.public_address = public_address
        self.handler = handler
        self.t1_s, self.t2_s = t1_s, t2_s
        self.user_agent = user_agent
        self.dispatcher = Dispatcher()
        self.streams: dict[tuple[str, int], StreamConnection] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._transactions: dict[TxKey, ServerTransaction] = {}
        self._invite_calls: dict[TxKey, IncomingCall] = {}
        self._dialogs: dict[tuple[str, str, str], DialogCall] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._port = listen[1]

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind UDP, then TCP on the same port (the port UDP got when listen asks for 0)."""
        # With port 0 the kernel picks a UDP port whose TCP twin may be taken: try again.
        attempts = 20 if self.listen[1] == 0 else 1
        for attempt in range(attempts):
            try:
                await self._bind()
                return
            except OSError:
                if attempt == attempts - 1:
                    raise

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.listen[0] else socket.AF_INET
        udp, _ = await loop.create_datagram_endpoint(
            lambda: UdpEndpoint(self), local_addr=self.listen, family=family
        )
        with contextlib.suppress(OSError):  # a bigger buffer absorbs INVITE bursts
            udp.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        port = int(udp.get_extra_info("sockname")[1])
        try:
            self._server = await loop.create_server(
                lambda: StreamConnection(self), self.listen[0], port, family=family
            )
        except OSError:
            udp.close()
            raise
        self._udp, self._port = udp, port
        if self.public_address[1] == 0:
            self.public_address = (self.public_address[0], port)

    @property
    def local_address(self) -> tuple[str, int]:
        return (self.listen[0], self._port)

    async def close(self) -> None:
        """Stop listening; live calls end with ``"error"`` without any further SIP."""
        for call in list(self._dialogs.values()) + list(self._invite_calls.values()):
            call._end("error")
        for tx in list(self._transactions.values()):
            tx.terminate()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        self.dispatcher.fail_all(SipTransportError("network", "edge closed"))
        if self._server is not None:
            self._server.close()
        for conn in list(self.streams.values()):
            conn.close()
        if self._server is not None:
            await self._server.wait_closed()
        if self._udp is not None:
            self._udp.close()

    def counts(self) -> dict[str, int]:
        """What the edge holds right now (for health checks, and tests that look for leaks)."""
        return {
            "server_transactions": len(self._transactions),
            "client_transactions": len(self.dispatcher.waiters),
            "unanswered_invites": len(self._invite_calls),
            "dialogs": len(self._dialogs),
            "tcp_connections": len(self.streams),
        }

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference until it finishes."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP edge task failed", exc_info=task.exception())

    # -- helpers used by calls ---------------------------------------------------------------

    def contact(self, transport: str) -> str:
        suffix = ";transport=tcp" if transport == "tcp" else ""
        return f"<sip:trunkline@{hostport(*self.public_address)}{suffix}>"

    def register_dialog(self, key: tuple[str, str, str], call: DialogCall) -> None:
        self._dialogs[key] = call

    def forget_dialog(self, key: tuple[str, str, str]) -> None:
        self._dialogs.pop(key, None)

    def send_udp(self, data: bytes, address: tuple[str, int]) -> None:
        if self._udp is not None and not self._udp.is_closing():
            self._udp.sendto(data, address)

    async def channel(self, hop: SipUri, conn: StreamConnection | None) -> EdgeChannel:
        """A channel to ``hop``: the given open connection, a pooled/new TCP one, or UDP."""
        transport = "tcp" if hop.transport == "tcp" or conn is not None else "udp"
        if conn is not None and conn.is_open:
            host, port = conn.peer
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return EdgeChannel(self, ResolvedAddress(host, port, family), conn)
        remote = await resolve(hop.host, hop.port, "tcp" if transport == "tcp" else "udp")
        if transport == "udp":
            return EdgeChannel(self, remote, None)
        existing = self.streams.get((remote.ip, remote.port))
        if existing is None or not existing.is_open:
            loop = asyncio.get_running_loop()
            try:
                _, existing = await loop.create_connection(
                    lambda: StreamConnection(self), remote.ip, remote.port
                )
            except OSError as exc:
                raise SipTransportError("network", str(exc)) from exc
        return EdgeChannel(self, remote, existing)

    def add_via(self, request: SipRequest, channel: EdgeChannel, branch: str | None = None) -> str:
        branch = branch or BRANCH_MAGIC + secrets.token_hex(8)
        via = f"SIP/2.0/{channel.via_transport} {channel.local};rport;branch={branch}"
        request.headers.insert(0, ("Via", via))
        return branch

    async def send_in_dialog(
        self, dialog: Dialog, request: SipRequest, conn: StreamConnection | None
    ) -> SipResponse:
        """One non-INVITE client transaction inside ``dialog`` (BYE, INFO...)."""
        channel = await self.channel(dialog.next_hop(), conn)
        self.add_via(request, channel)
        tx = NonInviteClientTransaction(
            channel, self.dispatcher, request, t1_s=self.t1_s, t2_s=self.t2_s
        )
        return await tx.run()

    async def invite(
        self,
        target: Target,
        *,
        request_uri: str,
        from_uri: str,
        to_uri: str,
        sdp: str,
        from_display: str | None = None,
        headers: dict[str, str] | None = None,
        credentials: Credentials | None = None,
        on_provisional: Callable[[int, str], None] | None = None,
    ) -> OutgoingCall:
        """Send an INVITE (issue 12); watch the call's ``final`` and ``ended`` futures."""
        return await place_call(
            self,
            target,
            request_uri=request_uri,
            from_uri=from_uri,
            to_uri=to_uri,
            sdp=sdp,
            from_display=from_display,
            headers=headers,
            credentials=credentials,
            on_provisional=on_provisional,
        )
