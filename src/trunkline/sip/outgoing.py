"""The UAC half of an INVITE dialog: :class:`OutgoingCall` and :func:`place_call` (issue 12)."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from trunkline.sip.call import ALLOW, DialogCall
from trunkline.sip.client import Target
from trunkline.sip.dialog import SipUri, uac_dialog
from trunkline.sip.digest import build_authorization, select_challenge
from trunkline.sip.errors import SipError
from trunkline.sip.invite_transaction import InviteClientTransaction
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.register import Credentials
from trunkline.sip.sdp import SdpError, SessionDescription, parse_sdp
from trunkline.sip.transaction import NonInviteClientTransaction

if TYPE_CHECKING:
    from trunkline.sip.edge import SipEdge
    from trunkline.sip.edge_transport import EdgeChannel

log = logging.getLogger(__name__)

ProvisionalCallback = Callable[[int, str], None]


class Final(NamedTuple):
    """The final outcome of an outbound INVITE."""

    code: int
    reason: str
    answer: SessionDescription | None


class OutgoingCall(DialogCall):
    """An INVITE we sent. ``final`` resolves with :class:`Final`; ``ended`` as for every call,
    plus ``"timeout"`` (no final response, Timer B) and ``"failed"`` (no answer we could use).
    """

    def __init__(
        self,
        edge: SipEdge,
        target: Target,
        invite: SipRequest,
        *,
        credentials: Credentials | None,
        on_provisional: ProvisionalCallback | None,
    ) -> None:
        super().__init__(edge, target.transport, None)
        loop = asyncio.get_running_loop()
        self.target = target
        self.invite_request = invite
        self.call_id = invite.call_id
        self.final: asyncio.Future[Final] = loop.create_future()
        self.credentials = credentials
        self.on_provisional = on_provisional
        self.offer: SessionDescription | None = None
        self.invites_sent = 0
        self._channel: EdgeChannel | None = None
        self._tx: InviteClientTransaction | None = None
        self._provisional = asyncio.Event()
        self._cancel_wanted = False
        self._cancel_task: asyncio.Task[None] | None = None
        self._ack_bytes: bytes | None = None
        self._ack_channel: EdgeChannel | None = None
        self._responses: asyncio.Queue[SipResponse | None] = asyncio.Queue()

    async def run(self) -> None:
        """Open the channel and send the first INVITE; the rest continues in the background."""
        hop = SipUri(None, self.target.host, self.target.port, {"transport": self.target.transport})
        try:
            channel = await self.edge.channel(hop, None)
        except SipError as exc:
            self._finish(503, f"Service Unavailable ({exc})", None, "failed")
            return
        self._channel = channel
        if channel.reliable:
            self._conn = channel.conn  # in-dialog requests reuse this connection
        self._send_invite(self.invite_request)
        self.edge.spawn(self._process())

    def _send_invite(self, request: SipRequest) -> None:
        assert self._channel is not None
        self.edge.add_via(request, self._channel)
        self.invite_request = request
        self.invites_sent += 1
        self._tx = InviteClientTransaction(
            self._channel,
            self.edge.dispatcher,
            request,
            t1_s=self.edge.t1_s,
            on_response=self._on_response,
        )
        self._tx.start()

    def _on_response(self, response: SipResponse | None) -> None:
        if response is not None and 200 <= response.status < 300 and self._ack_bytes is not None:
            # A retransmitted 2xx: our ACK was lost; send it again (RFC 3261 §13.2.2.4).
            if self._ack_channel is not None:
                self._ack_channel.send(self._ack_bytes)
            return
        self._responses.put_nowait(response)

    async def _process(self) -> None:
        authenticated = False
        while True:
            response = await self._responses.get()
            if response is None:
                why = "cancel" if self._cancel_wanted else "timeout"
                self._finish(408, "Request Timeout", None, why)
                return
            if response.status < 200:
                if response.status > 100 and self.on_provisional is not None:
                    try:
                        self.on_provisional(response.status, response.reason)
                    except Exception:  # a caller's bug must not strand the call
                        log.exception("on_provisional callback failed")
                self._provisional.set()
                if self._cancel_wanted:
                    self._start_cancel()
                continue
            if response.status < 300:
                await self._on_2xx(response)
                return
            if response.status in (401, 407) and not authenticated and self._retry_auth(response):
                # RFC 3261 §22.2: exactly one retry with credentials; a second challenge is final.
                authenticated = True
                continue
            reason = "cancel" if self._cancel_wanted else "rejected"
            self._finish(response.status, response.reason, None, reason)
            return

    def _retry_auth(self, response: SipResponse) -> bool:
        if self.credentials is None or self._cancel_wanted:
            return False
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = select_challenge(response.get_all(header))
        if challenge is None:
            return False
        old = self.invite_request
        auth_name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        value = build_authorization(
            challenge,
            username=self.credentials.username,
            password=self.credentials.password,
            method="INVITE",
            uri=old.uri,
        )
        # RFC 3261 §22.2: same Call-ID, From tag; CSeq one higher; a new branch (new transaction).
        number = old.cseq[0] + 1
        headers = [
            (n, f"{number} INVITE" if n.lower() == "cseq" else v)
            for n, v in old.headers
            if n.lower() not in ("via", "v", "authorization", "proxy-authorization")
        ]
        headers.append((auth_name, value))
        self._provisional.clear()
        self._send_invite(SipRequest(method="INVITE", uri=old.uri, headers=headers, body=old.body))
        return True

    async def _on_2xx(self, response: SipResponse) -> None:
        dialog = uac_dialog(self.invite_request, response)
        self.dialog = dialog
        self.edge.register_dialog(dialog.key, self)
        # RFC 3261 §13.2.2.4: the ACK of a 2xx is a new transaction-less request in the dialog,
        # same CSeq number, with the INVITE's credentials.
        ack = dialog.request("ACK", cseq=self.invite_request.cseq[0])
        for name in ("Authorization", "Proxy-Authorization"):
            value = self.invite_request.get(name)
            if value:
                ack.headers.append((name, value))
        try:
            channel = await self.edge.channel(dialog.next_hop(), self._conn)
            self.edge.add_via(ack, channel)
            self._ack_channel, self._ack_bytes = channel, ack.to_bytes()
            channel.send(self._ack_bytes)
        except SipError as exc:
            log.debug("ACK for %s failed: %s", self.call_id, exc)
        answer: SessionDescription | None = None
        problem = None
        if response.body:
            try:
                answer = parse_sdp(response.body)
            except SdpError:
                problem = "Malformed SDP answer"
        if self._cancel_wanted or self.ended.done() or problem:
            # RFC 3261 §9.1: a 2xx despite our CANCEL (or unusable) is ACKed, then ended by BYE.
            code, reason = (488, problem) if problem else (response.status, response.reason)
            self._finish(code, reason, answer, "failed" if problem else "cancel")
            await self._bye()
            return
        self.local_sdp = self.invite_request.body.decode("utf-8", "replace")
        if not self.final.done():
            self.final.set_result(Final(response.status, response.reason, answer))

    def _finish(self, code: int, reason: str, answer: SessionDescription | None, why: str) -> None:
        if not self.final.done():
            self.final.set_result(Final(code, reason, answer))
        self._end(why)

    def _start_cancel(self) -> None:
        if self._cancel_task is None:
            self._cancel_task = self.edge.spawn(self._send_cancel())

    async def _send_cancel(self) -> None:
        # RFC 3261 §9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via as the
        # INVITE, method CANCEL; it is its own non-INVITE transaction on the same branch.
        inv = self.invite_request
        headers = [("Via", inv.get("via") or "")]
        headers += [(n, v) for n, v in inv.headers if n.lower() in ("route", "max-forwards")]
        headers += [
            ("From", inv.get("from") or ""),
            ("To", inv.get("to") or ""),
            ("Call-ID", inv.call_id),
            ("CSeq", f"{inv.cseq[0]} CANCEL"),
            ("User-Agent", self.edge.user_agent),
        ]
        cancel = SipRequest(method="CANCEL", uri=inv.uri, headers=headers)
        assert self._channel is not None
        tx = NonInviteClientTransaction(
            self._channel, self.edge.dispatcher, cancel, t1_s=self.edge.t1_s, t2_s=self.edge.t2_s
        )
        # RFC 3261 §9.1: without a final response 64*T1 after the CANCEL, give the INVITE up.
        give_up = asyncio.get_running_loop().call_later(64 * self.edge.t1_s, self._give_up)
        self.final.add_done_callback(lambda _: give_up.cancel())
        try:
            await tx.run()
        except SipError as exc:
            log.debug("CANCEL for %s failed: %s", self.call_id, exc)

    def _give_up(self) -> None:
        if self._tx is not None:
            self._tx.fail(SipError("no final response after CANCEL"))  # reports None

    async def cancel(self) -> None:
        """CANCEL the INVITE (RFC 3261 §9.1): now if a provisional came, else once one comes.

        Returns once the CANCEL was answered (or is queued); ``final`` then resolves with the
        INVITE's final response, normally 487.
        """
        if self.final.done():
            return
        self._cancel_wanted = True
        if self._provisional.is_set():
            self._start_cancel()
            assert self._cancel_task is not None
            await asyncio.shield(self._cancel_task)

    async def hangup(self) -> None:
        """BYE once answered; before the final response, CANCEL (``ended`` says "hangup")."""
        if self.ended.done():
            return
        if self.dialog is None:
            self._end("hangup")
            await self.cancel()
            return
        await self._wait_pending_acks()
        self._end("hangup")
        await self._bye()


def build_invite(
    edge: SipEdge,
    target: Target,
    *,
    request_uri: str,
    from_uri: str,
    from_display: str | None,
    to_uri: str,
    sdp: str,
    headers: dict[str, str] | None,
) -> SipRequest:
    display = ""
    if from_display:
        escaped = from_display.replace("\\", "\\\\").replace('"', '\\"')
        display = f'"{escaped}" '
    host = edge.public_address[0]
    request_headers = [
        ("Max-Forwards", "70"),
        ("From", f"{display}<{from_uri}>;tag={secrets.token_hex(6)}"),
        ("To", f"<{to_uri}>"),
        ("Call-ID", f"{secrets.token_hex(12)}@{host}"),
        ("CSeq", "1 INVITE"),
        ("Contact", edge.contact(target.transport)),
        ("Allow", ALLOW),
        ("User-Agent", edge.user_agent),
        *((headers or {}).items()),
        ("Content-Type", "application/sdp"),
    ]
    return SipRequest(method="INVITE", uri=request_uri, headers=request_headers, body=sdp.encode())


async def place_call(
    edge: SipEdge,
    target: Target,
    *,
    request_uri: str,
    from_uri: str,
    to_uri: str,
    sdp: str,
    from_display: str | None = None,
    headers: dict[str, str] | None = None,
    credentials: Credentials | None = None,
    on_provisional: ProvisionalCallback | None = None,
) -> OutgoingCall:
    """Send an INVITE to ``target``; returns once it is sent (or failed to be).

    Raises ValueError for a TLS target: the edge listens and connects over UDP and TCP only.
    """
    if target.transport == "tls":
        raise ValueError("SipEdge places calls over udp or tcp; tls is not supported yet")
    invite = build_invite(
        edge,
        target,
        request_uri=request_uri,
        from_uri=from_uri,
        from_display=from_display,
        to_uri=to_uri,
        sdp=sdp,
        headers=headers,
    )
    call = OutgoingCall(
        edge, target, invite, credentials=credentials, on_provisional=on_provisional
    )
    try:
        call.offer = parse_sdp(sdp)
    except SdpError:
        call.offer = None
    await call.run()
    return call
