"""The INVITE client transaction (RFC 3261 §17.1.1, with the RFC 6026 Accepted state)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from trunkline.sip.errors import SipError
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.transport import Channel, Dispatcher

log = logging.getLogger(__name__)

TIMER_D_S = 32.0  # RFC 3261 §17.1.1.2: at least 32 s over unreliable transports


class InviteClientTransaction:
    """RFC 3261 Figure 5 (with the RFC 6026 Accepted state).

    Timer A retransmits the INVITE over UDP (T1, doubling) until a response; Timer B gives up
    after 64*T1 and reports ``None``. A non-2xx final is ACKed here with the INVITE's branch
    (§17.1.1.3), also each retransmission of it; 2xx responses go to the TU, which ACKs them.
    """

    def __init__(
        self,
        channel: Channel,
        dispatcher: Dispatcher,
        request: SipRequest,
        *,
        t1_s: float,
        on_response: Callable[[SipResponse | None], None],
    ) -> None:
        branch = request.top_via_branch or ""
        self.key = (branch, "INVITE")
        self.channel, self.dispatcher, self.request = channel, dispatcher, request
        self.t1_s = t1_s
        self.on_response = on_response
        self.data = request.to_bytes()
        self.transmissions = 0
        self.state = "calling"
        self._ack: bytes | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._interval = t1_s

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.dispatcher.waiters[self.key] = self
        self._send(self.data)
        if not self.channel.reliable:
            self._timers.append(loop.call_later(self._interval, self._on_timer_a))
        self._timer_b = loop.call_later(64 * self.t1_s, self._on_timer_b)

    def _send(self, data: bytes) -> None:
        try:
            self.transmissions += data is self.data
            self.channel.send(data)
        except SipError as exc:
            self.fail(exc)

    def _on_timer_a(self) -> None:
        if self.state != "calling":
            return
        self._send(self.data)
        self._interval *= 2  # RFC 3261 §17.1.1.2: Timer A doubles (bounded by Timer B)
        self._timers.append(asyncio.get_running_loop().call_later(self._interval, self._on_timer_a))

    def _on_timer_b(self) -> None:
        # RFC 3261 §17.1.1.2: Timer B only ends a transaction still Calling; once a provisional
        # came, the TU decides (ring timeout -> CANCEL).
        if self.state == "calling":
            self._terminate()
            self.on_response(None)

    def receive(self, response: SipResponse, raw: bytes) -> None:
        if self.state == "terminated":
            return
        if response.status < 200:
            if self.state == "calling":
                self.state = "proceeding"
                self._cancel_timer_a()
            if self.state == "proceeding":
                self.on_response(response)
            return
        if response.status < 300:
            first = self.state in ("calling", "proceeding")
            if first:
                # RFC 6026 §7.2: Accepted state; 2xx retransmissions still reach the TU.
                self.state = "accepted"
                self._cancel_timer_a()
                self._timer_b.cancel()
                self._timers.append(
                    asyncio.get_running_loop().call_later(64 * self.t1_s, self._terminate)
                )
            self.on_response(response)
            return
        if self.state in ("calling", "proceeding"):
            self.state = "completed"
            self._cancel_timer_a()
            self._timer_b.cancel()
            self._ack = self._non_2xx_ack(response).to_bytes()
            self._send(self._ack)
            linger = 0.0 if self.channel.reliable else TIMER_D_S
            self._timers.append(asyncio.get_running_loop().call_later(linger, self._terminate))
            self.on_response(response)
        elif self.state == "completed" and self._ack is not None:
            self._send(self._ack)  # a retransmitted final: ACK it again, tell nobody

    def _non_2xx_ack(self, response: SipResponse) -> SipRequest:
        # RFC 3261 §17.1.1.3: same Request-URI, Call-ID, From, CSeq number, top Via and Route;
        # To from the response (it carries the tag).
        req = self.request
        headers = [("Via", req.get("via") or "")]
        headers += [(n, v) for n, v in req.headers if n.lower() in ("route", "max-forwards")]
        headers += [
            ("From", req.get("from") or ""),
            ("To", response.get("to") or ""),
            ("Call-ID", req.call_id),
            ("CSeq", f"{req.cseq[0]} ACK"),
        ]
        return SipRequest(method="ACK", uri=req.uri, headers=headers)

    def _cancel_timer_a(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def fail(self, error: Exception) -> None:
        if self.state in ("calling", "proceeding"):
            log.debug("INVITE transaction failed: %s", error)
            self._terminate()
            self.on_response(None)

    def _terminate(self) -> None:
        self.state = "terminated"
        self._cancel_timer_a()
        self._timer_b.cancel()
        if self.dispatcher.waiters.get(self.key) is self:
            del self.dispatcher.waiters[self.key]
