"""SipEdge: the SIP listener of one call worker (UDP and TCP on one host:port).

It parses whatever arrives, answers what it must on its own (OPTIONS, 100 Trying, 400, 405,
420, 481, CANCEL, retransmissions) and hands every new INVITE to a :class:`CallHandler` as an
:class:`IncomingCall`. Outbound calls (:meth:`SipEdge.invite`) leave from the same socket so
the far end's responses and in-dialog requests come back to the listener.

What it does not do (yet): TLS, reliable provisionals (``Require: 100rel`` gets 420), UPDATE,
forked 2xx responses to our INVITE (only the first dialog is kept), strict routers (RFC 2543
route sets), late offers (an INVITE without SDP reaches the handler with ``sdp_offer=None``;
an SDP answer in the ACK is not read), and re-INVITE glare (491).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import socket
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from trunkline.sip.call import ACCEPT, ALLOW, DialogCall
from trunkline.sip.dialog import Dialog, SipUri
from trunkline.sip.edge_transport import (
    EdgeChannel,
    StreamConnection,
    UdpEndpoint,
    hostport,
    salvage_request,
)
from trunkline.sip.errors import SipParseError, SipTransportError
from trunkline.sip.incoming import CallHandler, IncomingCall
from trunkline.sip.message import (
    BRANCH_MAGIC,
    SipRequest,
    SipResponse,
    parse_message,
    split_list,
)
from trunkline.sip.outgoing import OutgoingCall, place_call
from trunkline.sip.resolve import ResolvedAddress, resolve
from trunkline.sip.sdp import SdpError, SessionDescription, parse_sdp
from trunkline.sip.server_transaction import (
    ServerTransaction,
    TopVia,
    build_response,
    header_tag,
    parse_top_via,
    response_address,
    stamp_via,
)
from trunkline.sip.transaction import NonInviteClientTransaction
from trunkline.sip.transport import Dispatcher

if TYPE_CHECKING:
    from trunkline.sip.client import Target
    from trunkline.sip.register import Credentials

log = logging.getLogger(__name__)

SUPPORTED_OPTIONS: frozenset[str] = frozenset()  # option tags we implement (none: no 100rel)
_MANDATORY = ("from", "to", "call-id", "cseq")  # plus Via, checked first (RFC 3261 §8.1.1)
TxKey = tuple[str, str, str]  # (branch, sent-by, method) -- RFC 3261 §17.2.3


class SipEdge:
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

    # -- receiving ---------------------------------------------------------------------------

    def on_message(
        self,
        data: bytes,
        source: tuple[str, int],
        transport: str,
        conn: StreamConnection | None,
    ) -> None:
        """Every datagram or framed TCP message; never raises."""
        try:
            msg = parse_message(data)
        except SipParseError:
            # RFC 3261 §18.3: e.g. a body shorter than Content-Length on UDP gets a 400.
            salvaged = salvage_request(data)
            if salvaged is not None:
                self._reply_bad(salvaged, source, transport, conn, "Bad Request")
            return
        try:
            if isinstance(msg, SipResponse):
                self._on_response(msg, data)
            else:
                self._on_request(msg, source, transport, conn)
        except Exception:
            # The listener must keep serving whatever it is fed.
            log.exception("SIP edge failed on a %d-byte message from %s", len(data), source)

    def _on_response(self, response: SipResponse, data: bytes) -> None:
        try:
            key = (response.top_via_branch or "", response.cseq[1])
        except SipParseError:
            return
        waiter = self.dispatcher.waiters.get(key)
        if waiter is not None:
            waiter.receive(response, data)

    def _responder(
        self, via: TopVia, source: tuple[str, int], transport: str, conn: StreamConnection | None
    ) -> Callable[[bytes], None]:
        if conn is not None:
            return conn.send  # RFC 3261 §18.2.2: reliable transports answer on the connection
        address = response_address(via, source)
        return lambda data: self.send_udp(data, address)

    def _reply_bad(
        self,
        request: SipRequest,
        source: tuple[str, int],
        transport: str,
        conn: StreamConnection | None,
        reason: str,
    ) -> None:
        via = parse_top_via(request.get("via") or "")
        if via is None:
            return
        stamp_via(request, source)
        response = build_response(request, 400, reason, to_tag=secrets.token_hex(4))
        self._responder(via, source, transport, conn)(response.to_bytes())

    def _on_request(
        self,
        request: SipRequest,
        source: tuple[str, int],
        transport: str,
        conn: StreamConnection | None,
    ) -> None:
        via = parse_top_via(request.get("via") or "")
        if via is None:
            return  # nowhere to send a response (RFC 3261 §18.2.2 needs the Via)
        if any(request.get(name) is None for name in _MANDATORY):
            return  # a response must echo these (§8.2.6.2): without them none can be built
        try:
            cseq_number, cseq_method = request.cseq
            call_id = request.call_id
        except SipParseError:
            self._reply_bad(request, source, transport, conn, "Bad CSeq or Call-ID")
            return
        method = request.method.upper()
        if cseq_method != method:  # RFC 3261 §8.1.1.5: CSeq method matches the request
            self._reply_bad(request, source, transport, conn, "CSeq Method Mismatch")
            return
        stamp_via(request, source)
        send = self._responder(via, source, transport, conn)
        from_tag = header_tag(request.get("from") or "") or ""
        branch = via.params.get("branch") or f"{call_id}|{cseq_number}|{from_tag}"
        if method == "ACK":
            self._on_ack(request, (branch, via.sent_by, "INVITE"), call_id, from_tag)
            return
        key: TxKey = (branch, via.sent_by, method)
        existing = self._transactions.get(key)
        if existing is not None:
            existing.retransmitted()
            return
        tx = ServerTransaction(
            request,
            send,
            reliable=transport != "udp",
            t1_s=self.t1_s,
            t2_s=self.t2_s,
            on_terminated=functools.partial(self._forget_transaction, key),
        )
        self._transactions[key] = tx
        if method == "CANCEL":
            self._on_cancel(request, tx, (branch, via.sent_by, "INVITE"))
            return
        if method not in ALLOW.split(", "):
            tx.respond(
                build_response(request, 405, "Method Not Allowed", headers=[("Allow", ALLOW)])
            )
            return
        unsupported = [
            tag
            for value in request.get_all("require")
            for tag in split_list(value)
            if tag.lower() not in SUPPORTED_OPTIONS
        ]
        if unsupported:
            # RFC 3261 §8.2.2.3: 420 listing what we do not support (e.g. 100rel, RFC 3262).
            headers = [("Unsupported", ", ".join(unsupported))]
            tx.respond(
                build_response(
                    request, 420, "Bad Extension", to_tag=secrets.token_hex(4), headers=headers
                )
            )
            return
        to_tag = header_tag(request.get("to") or "")
        if to_tag:
            # RFC 3261 §12.2.2: in-dialog requests are matched by Call-ID and both tags.
            call = self._dialogs.get((call_id, to_tag, from_tag))
            if call is None:
                tx.respond(build_response(request, 481, "Call/Transaction Does Not Exist"))
            else:
                call.handle_in_dialog(request, tx)
            return
        if method == "INVITE" and not request.get("contact"):
            # RFC 3261 §8.1.1.8: an INVITE must carry a Contact, or no dialog can be formed.
            tx.respond(build_response(request, 400, "Missing Contact", to_tag=secrets.token_hex(4)))
        elif method == "INVITE":
            self._on_invite(request, tx, key, source, transport, conn)
        elif method == "OPTIONS":
            headers = [("Allow", ALLOW), ("Accept", ACCEPT), ("User-Agent", self.user_agent)]
            tx.respond(
                build_response(request, 200, "OK", to_tag=secrets.token_hex(4), headers=headers)
            )
        else:  # BYE, INFO outside any dialog
            response = build_response(
                request, 481, "Call/Transaction Does Not Exist", to_tag=secrets.token_hex(4)
            )
            tx.respond(response)

    def _on_ack(self, request: SipRequest, invite_key: TxKey, call_id: str, from_tag: str) -> None:
        tx = self._transactions.get(invite_key)
        if tx is not None and tx.last_response is not None and tx.last_response.status >= 300:
            tx.ack()  # RFC 3261 §17.2.1: ACK of a non-2xx final belongs to the transaction
            return
        to_tag = header_tag(request.get("to") or "")
        call = self._dialogs.get((call_id, to_tag or "", from_tag))
        if call is not None:
            call.handle_in_dialog(request, None)  # ACK of a 2xx: a dialog matter (§13.3.1.4)

    def _on_cancel(self, request: SipRequest, tx: ServerTransaction, invite_key: TxKey) -> None:
        # RFC 3261 §9.2: CANCEL matches the INVITE server transaction with the same branch.
        invite_tx = self._transactions.get(invite_key)
        call = self._invite_calls.get(invite_key)
        if invite_tx is None or call is None:
            response = build_response(
                request, 481, "Call/Transaction Does Not Exist", to_tag=secrets.token_hex(4)
            )
            tx.respond(response)
            return
        # §9.2: the 200 to CANCEL carries the same To tag as the responses to the INVITE.
        tx.respond(build_response(request, 200, "OK", to_tag=call.local_tag))
        call.cancelled()

    def _on_invite(
        self,
        request: SipRequest,
        tx: ServerTransaction,
        key: TxKey,
        source: tuple[str, int],
        transport: str,
        conn: StreamConnection | None,
    ) -> None:
        offer: SessionDescription | None = None
        tag = secrets.token_hex(4)
        if request.body:
            content_type = (request.get("content-type") or "").split(";")[0].strip().lower()
            if content_type != "application/sdp":
                headers = [("Accept", "application/sdp")]
                tx.respond(
                    build_response(
                        request, 415, "Unsupported Media Type", to_tag=tag, headers=headers
                    )
                )
                return
            try:
                offer = parse_sdp(request.body)
            except SdpError:
                tx.respond(build_response(request, 400, "Malformed SDP", to_tag=tag))
                return
        # RFC 3261 §17.2.1: 100 Trying at once, so the client stops retransmitting (Timer A).
        tx.respond(build_response(request, 100, "Trying"))
        call = IncomingCall(
            self, request, tx, source=source, transport=transport, conn=conn, sdp_offer=offer
        )
        self._invite_calls[key] = call
        self.spawn(self._run_handler(call))

    async def _run_handler(self, call: IncomingCall) -> None:
        try:
            await self.handler.on_invite(call)
        except Exception:
            log.exception("call handler failed for %s", call.call_id)
            if not call.final_sent:
                call.reject(500, "Server Internal Error")

    def _forget_transaction(self, key: TxKey, tx: ServerTransaction) -> None:
        if self._transactions.get(key) is tx:
            del self._transactions[key]
            self._invite_calls.pop(key, None)
