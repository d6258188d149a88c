"""The receiving half of a SipEdge: every message its sockets read, parsed and dispatched.

Responses go to the client transaction waiting on their Via branch. Requests are checked (Via,
the headers a response must echo, CSeq) and matched to their server transaction, so that
retransmissions are absorbed (RFC 3261 §17.2.3); then they are answered here (400, 405, 420,
481, OPTIONS, CANCEL), handed to their dialog (in-dialog requests, the ACK of a 2xx), or, for a
new INVITE, given to the edge's :class:`~trunkline.sip.incoming.CallHandler` as an
:class:`~trunkline.sip.incoming.IncomingCall`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

from trunkline.sip.call import ACCEPT, ALLOW, DialogCall
from trunkline.sip.edge_transport import StreamConnection, salvage_request
from trunkline.sip.errors import SipParseError
from trunkline.sip.incoming import CallHandler, IncomingCall
from trunkline.sip.message import SipRequest, SipResponse, parse_message, split_list
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
from trunkline.sip.transport import Dispatcher

if TYPE_CHECKING:
    from trunkline.sip.edge import SipEdge

log = logging.getLogger(__name__)

SUPPORTED_OPTIONS: frozenset[str] = frozenset()  # option tags we implement (none: no 100rel)
_MANDATORY = ("from", "to", "call-id", "cseq")  # plus Via, checked first (RFC 3261 §8.1.1)
TxKey = tuple[str, str, str]  # (branch, sent-by, method) -- RFC 3261 §17.2.3


class EdgeDispatch:
    """The receiving half of :class:`~trunkline.sip.edge.SipEdge`, which inherits it.

    The state it shares with the edge is declared here and set up by ``SipEdge.__init__``.
    """

    handler: CallHandler
    user_agent: str
    t1_s: float
    t2_s: float
    dispatcher: Dispatcher
    _transactions: dict[TxKey, ServerTransaction]
    _invite_calls: dict[TxKey, IncomingCall]
    _dialogs: dict[tuple[str, str, str], DialogCall]

    if TYPE_CHECKING:  # defined by SipEdge

        def send_udp(self, data: bytes, address: tuple[str, int]) -> None: ...

        def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

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
        edge = cast("SipEdge", self)  # this mixin only ever exists as part of a SipEdge
        call = IncomingCall(
            edge, request, tx, source=source, transport=transport, conn=conn, sdp_offer=offer
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
