"""One outbound call, from the API's ``queued`` record to its end: INVITE through the line's
gateway (digest on 401/407 with its stored credentials), ringing, failover, answer, the agent
bridge, hang-up (docs/calls.md §4).

Failover to the secondary gateway happens only when the primary gave no answer (ring
timeout, Timer B, transport failure), 408 or a 5xx — never after a final 4xx/6xx such as
404, 486 or 603, which are the callee's answer, not the gateway's failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from trunkline.call.control import OutboundPlan
from trunkline.call.rules import CallStatus, EndReason, EventKind
from trunkline.call.service import call_service
from trunkline.callworker.bridge import CallRecord, bridge_until_end, info_dtmf
from trunkline.db import session_scope
from trunkline.kit.sip_status import TargetKind
from trunkline.media.agent_stream import AgentStream, AgentUnreachable
from trunkline.media.session import Codec, RtpSession
from trunkline.media.twilio import StreamWriter, new_sid
from trunkline.monitor.service import load_spec
from trunkline.sip import Credentials, OutgoingCall, Target
from trunkline.sip.sdp import build_offer, negotiate_answer, parse_sdp

if TYPE_CHECKING:
    from trunkline.callworker.worker import CallWorker

log = logging.getLogger(__name__)

# RFC 3261 §21.4.7 (486), §21.6.1 (600), §21.6.2 (603): the callee is busy or declines.
BUSY = frozenset({486, 600, 603})


def fails_over(code: int | None) -> bool:
    """Whether the next gateway is tried: no final answer at all, 408 or a 5xx."""
    return code is None or code == 408 or 500 <= code <= 599


def outcome_of(code: int) -> CallStatus:
    """A final non-2xx answer's call status."""
    return CallStatus.busy if code in BUSY else CallStatus.failed


class OutboundCall:
    def __init__(self, worker: CallWorker, plan: OutboundPlan) -> None:
        self.worker = worker
        self.plan = plan
        self.call_id = plan.call_id
        self.record = CallRecord(worker.sessionmaker, worker.spawn, plan.call_id)
        self.hangup_requested = asyncio.Event()
        self._ringing_task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        self.worker.track(self.call_id, self)
        try:
            await self._run()
        except Exception:
            log.exception("outbound call %s failed", self.call_id)
            with contextlib.suppress(Exception):
                await self._end(CallStatus.failed, EndReason.error)
        finally:
            self.worker.forget(self.call_id)

    async def _targets(self) -> tuple[list[Target], Credentials | None]:
        async with session_scope(self.worker.sessionmaker) as session:
            spec = await load_spec(
                session, self.worker.secret_box, TargetKind(self.plan.via_kind), self.plan.via_id
            )
        if spec is None:
            return [], None
        targets = [spec.primary] + ([spec.secondary] if spec.secondary else [])
        return targets, spec.credentials

    async def _run(self) -> None:
        targets, credentials = await self._targets()
        if not targets:
            await self._end(CallStatus.failed, EndReason.error, sip_reason="the line is gone")
            return
        for index, target in enumerate(targets):
            last = index == len(targets) - 1
            media = await RtpSession.open(self.worker.media_host, self.worker.ports)
            try:
                done = await self._attempt(target, credentials, media, last=last)
            finally:
                await media.close()
            if done:
                return

    async def _attempt(
        self, target: Target, credentials: Credentials | None, media: RtpSession, *, last: bool
    ) -> bool:
        """One INVITE to one gateway; True when the call is settled (False: try the next)."""
        plan, worker = self.plan, self.worker
        offer = build_offer(
            worker.media_public_ip, media.local_port, session_id=str(uuid.uuid4().int % 10**12)
        )
        sip = await worker.edge.invite(
            target,
            request_uri=plan.request_uri,
            from_uri=plan.from_uri,
            to_uri=plan.to_uri,
            sdp=offer,
            headers={"P-Asserted-Identity": plan.p_asserted_identity},
            credentials=credentials,
            on_provisional=self._on_provisional,
        )
        async with session_scope(worker.sessionmaker) as session:
            await call_service.note_sip_call_id(
                session, self.call_id, sip.call_id, f"{target.host}:{target.port}"
            )
        outcome = await self._until_final(sip)
        if outcome == "api_hangup":
            await sip.cancel()
            await self._end(CallStatus.canceled, EndReason.api_hangup)
            return True
        if outcome == "ring_timeout":
            await sip.cancel()
            await self.record.event(
                EventKind.sip_response, {"gateway": target.host, "outcome": "no answer"}
            )
            if last:
                await self._end(CallStatus.no_answer, EndReason.ring_timeout)
            return last
        final = sip.final.result() if sip.final.done() else None
        code = final.code if final else None
        if final is None or not 200 <= final.code <= 299:
            reason = (
                final.reason if final else (sip.ended.result() if sip.ended.done() else "no answer")
            )
            await self.record.event(
                EventKind.sip_response, {"gateway": target.host, "sip_code": code, "reason": reason}
            )
            if fails_over(code) and not last:
                return False
            status = outcome_of(code) if code else CallStatus.failed
            await self._end(status, None, sip_code=code, sip_reason=reason)
            return True
        await self._answered(sip, final.answer, offer, media)
        return True

    async def _until_final(self, sip: OutgoingCall) -> str:
        """Wait for the final answer, the ring timeout or an API hang-up, whichever is first."""
        api = asyncio.ensure_future(self.hangup_requested.wait())
        try:
            racing: set[asyncio.Future[Any]] = {sip.final, sip.ended, api}
            done, _ = await asyncio.wait(
                racing, timeout=self.plan.ring_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            api.cancel()
        if sip.final.done() or sip.ended.done():
            return "final"
        return "api_hangup" if api in done else "ring_timeout"

    def _on_provisional(self, code: int, reason: str) -> None:
        """180/183 → ``ringing`` (once). Written in its own task, which every later status
        write awaits first: two transactions on the call row must never race (a late
        ``ringing`` would overwrite ``in_progress``)."""
        if code >= 180 and self._ringing_task is None:
            self._ringing_task = asyncio.ensure_future(self._ringing(code, reason))

    async def _rung(self) -> None:
        if self._ringing_task is not None:
            await asyncio.gather(self._ringing_task, return_exceptions=True)

    async def _ringing(self, code: int, reason: str) -> None:
        async with session_scope(self.worker.sessionmaker) as session:
            await call_service.mark_ringing(session, self.call_id, sip_code=code, sip_reason=reason)

    async def _answered(
        self, sip: OutgoingCall, answer: Any, offer: str, media: RtpSession
    ) -> None:
        """200 OK (ACKed by the edge): bridge to the agent exactly as an inbound call."""
        negotiated = negotiate_answer(parse_sdp(offer), answer) if answer is not None else None
        if negotiated is None:  # RFC 3264 §7: no common codec: hang up
            await sip.hangup()
            await self._end(
                CallStatus.failed, EndReason.error, sip_code=488, sip_reason="no common codec"
            )
            return
        await self._rung()
        async with session_scope(self.worker.sessionmaker) as session:
            await call_service.mark_answered(session, self.call_id, codec=negotiated.codec.name)
            target = await self.worker.stream_target(session, self.plan.agent_id)
        refused = await self.worker.refused_stream(target.url) if target else "no stream_url"
        try:
            if refused is not None or target is None:
                raise AgentUnreachable(refused or "no stream_url")
            stream = await AgentStream.connect(
                target.url,
                auth_token=target.token,
                timeout_s=self.worker.settings.calls.agent_connect_timeout_s,
            )
        except AgentUnreachable as exc:
            await sip.hangup()  # BYE: the agent will not take the answered call
            await self._end(
                CallStatus.completed, EndReason.agent_unreachable, sip_reason=exc.reason
            )
            return
        media.start(
            remote=(negotiated.remote_ip, negotiated.remote_port),
            codec=Codec(negotiated.codec.name),
            dtmf_payload_type=negotiated.telephone_event_pt,
            listener=stream,
            media_timeout_s=self.worker.settings.calls.media_timeout_s,
        )
        sip.on_info = info_dtmf(stream)
        writer = StreamWriter(
            account_sid=f"AC{self.plan.workspace_id.hex}",
            call_sid=f"CA{self.call_id.hex}",
            stream_sid=new_sid("MZ"),
            custom_parameters=self._custom_parameters(),
        )
        end = await bridge_until_end(
            sip, media, stream, writer, self.hangup_requested, self.record.on_stream_event
        )
        await self._end(CallStatus.completed, end, media=media)

    def _custom_parameters(self) -> dict[str, str]:
        plan = self.plan
        return {
            **plan.custom_parameters,
            "call_uuid": str(self.call_id),
            "direction": "outbound",
            "from": plan.from_number,
            "to": plan.to,
            "from_number": plan.from_number,
            "to_number": plan.to,
            "phone_number_uuid": str(plan.phone_number_id or ""),
            "agent_uuid": str(plan.agent_id),
        }

    async def _end(
        self,
        status: CallStatus,
        end_reason: EndReason | None,
        *,
        sip_code: int | None = None,
        sip_reason: str | None = None,
        media: RtpSession | None = None,
    ) -> None:
        await self._rung()
        await self.record.end(
            status, end_reason, sip_code=sip_code, sip_reason=sip_reason, media=media
        )
