"""What every INVITE dialog does, whichever side created it (RFC 3261 §12-§15).

:class:`DialogCall` answers the far end's in-dialog requests (BYE, INFO, OPTIONS, re-INVITE and
the ACK of our 2xx), retransmits our 2xx responses until their ACK (§13.3.1.4) and sends our
BYE. :class:`~trunkline.sip.incoming.IncomingCall` and :class:`~trunkline.sip.outgoing.OutgoingCall`
add the INVITE-specific halves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trunkline.sip.dialog import Dialog
from trunkline.sip.errors import SipError
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.sdp import SdpError, SessionDescription, parse_sdp
from trunkline.sip.server_transaction import ServerTransaction, build_response

if TYPE_CHECKING:
    from trunkline.sip.edge import SipEdge
    from trunkline.sip.edge_transport import StreamConnection

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
ACCEPT = "application/sdp, application/dtmf-relay"
InfoCallback = Callable[[str, str], None]
ReinviteCallback = Callable[[SessionDescription], str]


class DialogCall:
    """Shared dialog behaviour. ``ended`` resolves once with why the call ended:
    ``"bye"`` (the far end hung up), ``"hangup"`` (we did), ``"cancel"``, ``"ack_timeout"``,
    ``"rejected"`` (a final non-2xx), or ``"error"`` (the edge closed under a live call).
    """

    def __init__(self, edge: SipEdge, transport: str, conn: StreamConnection | None) -> None:
        self.edge = edge
        self.transport = transport
        self.dialog: Dialog | None = None
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.on_info: InfoCallback | None = None
        self.on_reinvite: ReinviteCallback | None = None
        self.local_sdp: str | None = None
        self._conn = conn  # TCP: in-dialog requests reuse the connection (RFC 5923 spirit)
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._bye_sent = False

    @property
    def answered(self) -> bool:
        return self.dialog is not None

    def _end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)
        if self.dialog is not None:
            self.edge.forget_dialog(self.dialog.key)

    def _contact_headers(self) -> list[tuple[str, str]]:
        return [
            ("Contact", self.edge.contact(self.transport)),
            ("Allow", ALLOW),
            ("User-Agent", self.edge.user_agent),
        ]

    async def _send_2xx_until_ack(self, tx: ServerTransaction, response: SipResponse) -> bool:
        """RFC 3261 §13.3.1.4: resend the 2xx at T1, doubling to T2, until the ACK or 64*T1.

        The UAS core does this even over TCP: a proxy between us may forward over UDP.
        """
        loop = asyncio.get_running_loop()
        cseq = response.cseq[0]
        acked: asyncio.Future[None] = loop.create_future()
        self._acks[cseq] = acked
        data = response.to_bytes()
        tx.respond(response)
        interval = self.edge.t1_s
        deadline = loop.time() + 64 * self.edge.t1_s
        try:
            while True:
                wait = min(interval, deadline - loop.time())
                if wait <= 0:
                    return False
                waiters: set[asyncio.Future[Any]] = {acked, self.ended}
                done, _ = await asyncio.wait(waiters, timeout=wait)
                if acked in done:
                    return True
                if done:  # ended first (e.g. the far end's BYE before its ACK)
                    return False
                tx.send(data)
                interval = min(2 * interval, self.edge.t2_s)
        finally:
            self._acks.pop(cseq, None)

    def handle_in_dialog(self, request: SipRequest, tx: ServerTransaction | None) -> None:
        """A request of the far end that matched this dialog (tx is None for ACK)."""
        method = request.method.upper()
        cseq = request.cseq[0]
        if method == "ACK":
            waiter = self._acks.get(cseq)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return  # a retransmitted ACK, or one for a 2xx we no longer track: absorb it
        assert tx is not None
        assert self.dialog is not None
        if not self.dialog.accepts_remote_cseq(cseq):
            tx.respond(build_response(request, 500, "Server Internal Error"))
            return
        if method == "BYE":
            tx.respond(build_response(request, 200, "OK"))
            self._end("bye")
        elif method == "INFO":
            self._on_info(request, tx)
        elif method == "OPTIONS":
            headers = [("Allow", ALLOW), ("Accept", ACCEPT)]
            tx.respond(build_response(request, 200, "OK", headers=headers))
        elif method == "INVITE":
            self._on_reinvite(request, tx)
        else:  # the edge only routes allowed methods here
            tx.respond(
                build_response(request, 405, "Method Not Allowed", headers=[("Allow", ALLOW)])
            )

    def _on_info(self, request: SipRequest, tx: ServerTransaction) -> None:
        content_type = (request.get("content-type") or "").strip()
        if self.on_info is not None:
            try:
                self.on_info(content_type, request.body.decode("utf-8", "replace"))
            except Exception:
                log.exception("on_info callback failed")
        tx.respond(build_response(request, 200, "OK"))

    def _on_reinvite(self, request: SipRequest, tx: ServerTransaction) -> None:
        if any(not acked.done() for acked in self._acks.values()):
            # RFC 3261 §14.2: a re-INVITE while our previous INVITE 2xx awaits its ACK.
            headers = [("Retry-After", "1")]
            tx.respond(build_response(request, 500, "Server Internal Error", headers=headers))
            return
        sdp = self.local_sdp or ""
        if request.body:
            try:
                offer = parse_sdp(request.body)
            except SdpError:
                tx.respond(build_response(request, 488, "Not Acceptable Here"))
                return
            if self.on_reinvite is not None:
                try:
                    sdp = self.on_reinvite(offer)
                except Exception:
                    log.exception("on_reinvite callback failed")
                    tx.respond(build_response(request, 488, "Not Acceptable Here"))
                    return
        # No offer (RFC 3261 §14.2 allows it) or no callback: our current session description.
        self.local_sdp = sdp
        headers = self._contact_headers()
        if sdp:
            headers.append(("Content-Type", "application/sdp"))
        response = build_response(request, 200, "OK", headers=headers, body=sdp.encode())
        self.edge.spawn(self._send_2xx_until_ack(tx, response))

    async def _bye(self) -> SipResponse | None:
        """Send our BYE (RFC 3261 §15.1.1); the answer (or None on timeout) is informational."""
        if self.dialog is None or self._bye_sent:
            return None
        self._bye_sent = True
        request = self.dialog.request("BYE", user_agent=self.edge.user_agent)
        try:
            return await self.edge.send_in_dialog(self.dialog, request, self._conn)
        except SipError as exc:
            log.debug("BYE for %s failed: %s", self.dialog.call_id, exc)
            return None
        finally:
            self.edge.forget_dialog(self.dialog.key)

    async def _wait_pending_acks(self) -> None:
        """RFC 3261 §15: no BYE before the ACK of our 2xx arrived or its wait timed out."""
        pending = [f for f in self._acks.values() if not f.done()]
        if pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(pending, timeout=64 * self.edge.t1_s)
