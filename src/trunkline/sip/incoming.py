"""The UAS half of an INVITE dialog: one :class:`IncomingCall` per new INVITE (RFC 3261 §13.3)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Protocol

from trunkline.sip.call import DialogCall
from trunkline.sip.dialog import display_name_of, uas_dialog, uri_of, user_of
from trunkline.sip.errors import SipParseError
from trunkline.sip.message import SipRequest
from trunkline.sip.sdp import SessionDescription
from trunkline.sip.server_transaction import ServerTransaction, build_response

if TYPE_CHECKING:
    from trunkline.sip.edge import SipEdge
    from trunkline.sip.edge_transport import StreamConnection


class CallHandler(Protocol):
    async def on_invite(self, call: IncomingCall) -> None:
        """Called once per new INVITE (never for retransmissions); 100 Trying is already sent."""


def _uri_or_empty(value: str) -> str:
    try:
        return uri_of(value)
    except SipParseError:
        return ""


class IncomingCall(DialogCall):
    """An INVITE we received. Answer, ring, reject or hang up; watch ``ended``."""

    def __init__(
        self,
        edge: SipEdge,
        request: SipRequest,
        tx: ServerTransaction,
        *,
        source: tuple[str, int],
        transport: str,
        conn: StreamConnection | None,
        sdp_offer: SessionDescription | None,
    ) -> None:
        super().__init__(edge, transport, conn)
        self.request = request
        self.source = source
        self.call_id = request.call_id
        self.sdp_offer = sdp_offer
        self._tx = tx
        # RFC 3261 §8.2.6.2 / §12.1.1: one To tag for every response of this dialog.
        self.local_tag = secrets.token_hex(8)
        to_header, from_header = request.get("to") or "", request.get("from") or ""
        self.request_uri = request.uri
        self.to_uri = _uri_or_empty(to_header)
        self.from_uri = _uri_or_empty(from_header)
        self.request_uri_user = user_of(f"<{request.uri}>")
        self.to_user = user_of(to_header)
        self.from_user = user_of(from_header)
        self.from_display = display_name_of(from_header)
        # RFC 3261 §12.1.1: dialog-creating responses copy the request's Record-Route values.
        self._record_route = [("Record-Route", v) for v in request.get_all("record-route")]

    @property
    def final_sent(self) -> bool:
        return self._tx.final_sent

    def ringing(self) -> None:
        """180 Ringing (with our To tag and Contact), unless a final response went out."""
        if not self._tx.final_sent:
            headers = self._record_route + self._contact_headers()
            response = build_response(
                self.request, 180, "Ringing", to_tag=self.local_tag, headers=headers
            )
            self._tx.respond(response)

    async def answer(self, sdp: str) -> bool:
        """200 OK with ``sdp``; True once the ACK arrives, False if it never does (64*T1).

        RFC 3261 §13.3.1.4: without an ACK the UAS confirms and then ends the dialog with BYE,
        resolving ``ended`` with ``"ack_timeout"``. Returns False at once if the call already
        got a final response (e.g. it was cancelled).
        """
        if self._tx.final_sent or self.ended.done():
            return False
        to_with_tag = f"{self.request.get('to') or ''};tag={self.local_tag}"
        self.dialog = uas_dialog(self.request, self.local_tag, to_with_tag=to_with_tag)
        self.edge.register_dialog(self.dialog.key, self)
        self.local_sdp = sdp
        headers = [*self._record_route, *self._contact_headers()]
        headers.append(("Content-Type", "application/sdp"))
        response = build_response(
            self.request, 200, "OK", to_tag=self.local_tag, headers=headers, body=sdp.encode()
        )
        acked = await self._send_2xx_until_ack(self._tx, response)
        if not acked and not self.ended.done():
            self._end("ack_timeout")
            self.edge.spawn(self._bye())  # answer() reports now; the BYE finishes on its own
        return acked

    def reject(
        self,
        code: int,
        reason: str,
        *,
        reason_header: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """A final non-2xx (300-699); the transaction resends it on Timer G until the ACK."""
        if not 300 <= code <= 699:
            raise ValueError(f"reject needs a 3xx-6xx code, not {code}")
        if self._tx.final_sent:
            return
        extra = [("User-Agent", self.edge.user_agent)]
        if reason_header:
            extra.append(("Reason", reason_header))  # RFC 3326
        extra += list((headers or {}).items())
        self._tx.respond(
            build_response(self.request, code, reason, to_tag=self.local_tag, headers=extra)
        )
        self._end("rejected")

    async def hangup(self) -> None:
        """We hang up: BYE once answered; before that, 480 Temporarily Unavailable.

        480 (not 486/603) because hanging up an unanswered call says nothing about the
        callee being busy or declining; RFC 3261 §21.4.18 fits "not reachable right now".
        """
        if self.ended.done():
            return  # already over (their BYE, a CANCEL, our reject or an earlier hangup)
        if self.dialog is None:
            if not self._tx.final_sent:
                self._tx.respond(
                    build_response(
                        self.request, 480, "Temporarily Unavailable", to_tag=self.local_tag
                    )
                )
            self._end("hangup")
            return
        await self._wait_pending_acks()
        self._end("hangup")
        await self._bye()

    def cancelled(self) -> None:
        """CANCEL matched our INVITE before a final response: 487 (RFC 3261 §9.2)."""
        if self._tx.final_sent:
            return
        self._tx.respond(
            build_response(self.request, 487, "Request Terminated", to_tag=self.local_tag)
        )
        self._end("cancel")
