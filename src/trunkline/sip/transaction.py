"""The non-INVITE client transaction (RFC 3261 §17.1.2), used for OPTIONS and REGISTER."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from trunkline.sip.errors import SipError, SipTimeout
from trunkline.sip.message import SipRequest, SipResponse
from trunkline.sip.trace import TraceEntry, redact_text
from trunkline.sip.transport import Channel, Dispatcher


class NonInviteClientTransaction:
    """Sends one request and waits for its final response.

    States (RFC 3261 Figure 6): Trying -> Proceeding (after a 1xx) -> Completed/Terminated.
    ``timer_f_s`` defaults to 64*T1; callers may pass a shorter overall timeout instead.
    """

    def __init__(
        self,
        channel: Channel,
        dispatcher: Dispatcher,
        request: SipRequest,
        *,
        t1_s: float,
        t2_s: float,
        timer_f_s: float | None = None,
        trace: list[TraceEntry] | None = None,
    ) -> None:
        branch = request.top_via_branch
        if not branch:
            raise ValueError("request needs a Via with a branch")
        self.key = (branch, request.method.upper())
        self.channel = channel
        self.dispatcher = dispatcher
        self.data = request.to_bytes()
        self.t1_s, self.t2_s = t1_s, t2_s
        self.timer_f_s = 64 * t1_s if timer_f_s is None else timer_f_s
        self.trace = trace
        self.proceeding = False
        self.transmissions = 0
        self.rtt_ms: float | None = None
        self._interval = t1_s
        self._future: asyncio.Future[SipResponse] | None = None
        self._timer_e: asyncio.TimerHandle | None = None
        self._started = 0.0

    async def run(self) -> SipResponse:
        """Return the final response; raise SipTimeout when Timer F fires."""
        loop = asyncio.get_running_loop()
        self._future = loop.create_future()
        if self.key in self.dispatcher.waiters:
            raise SipError("duplicate branch")
        self.dispatcher.waiters[self.key] = self
        self._started = time.perf_counter()
        timer_f = loop.call_later(self.timer_f_s, self._on_timer_f)
        try:
            self._transmit()
            if not self.channel.reliable:
                # RFC 3261 §17.1.2.2: Timer E starts at T1 on unreliable transports only.
                self._timer_e = loop.call_later(self._interval, self._on_timer_e)
            return await self._future
        finally:
            # RFC 3261 §17.1.2.2 would keep the transaction Completed for Timer K (T4) to absorb
            # retransmitted responses; removing it has the same effect: they become strays.
            timer_f.cancel()
            if self._timer_e is not None:
                self._timer_e.cancel()
            self.dispatcher.waiters.pop(self.key, None)

    def _transmit(self) -> None:
        self.transmissions += 1
        self._record("sent", self.data)
        self.channel.send(self.data)

    def _on_timer_e(self) -> None:
        if self._future is None or self._future.done():
            return
        try:
            self._transmit()
        except SipError as exc:
            self.fail(exc)
            return
        # RFC 3261 §17.1.2.2: Trying doubles the interval up to T2; Proceeding uses T2.
        self._interval = self.t2_s if self.proceeding else min(2 * self._interval, self.t2_s)
        self._timer_e = asyncio.get_running_loop().call_later(self._interval, self._on_timer_e)

    def _on_timer_f(self) -> None:
        self.fail(SipTimeout(f"no final response within {self.timer_f_s:.3g}s"))

    def receive(self, response: SipResponse, raw: bytes) -> None:
        self._record("received", raw)
        if self._future is None or self._future.done():
            return
        if response.status < 200:
            self.proceeding = True  # RFC 3261 §17.1.2.2: 1xx moves Trying -> Proceeding
            return
        self.rtt_ms = (time.perf_counter() - self._started) * 1000.0
        self._future.set_result(response)

    def fail(self, error: Exception) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_exception(error)

    def _record(self, direction: str, raw: bytes) -> None:
        if self.trace is not None:
            text = redact_text(raw.decode("utf-8", "replace"))
            now = datetime.now(UTC)
            remote = self.channel.remote.hostport
            entry = TraceEntry("sent" if direction == "sent" else "received", now, remote, text)
            self.trace.append(entry)
