"""One inbound call, start to end: route → lease → agent → answer → bridge → hang-up.

The only place where the SIP edge (``sip/``), media (``media/``) and the database (through the
call and routing services) meet for an inbound call. Every step is written to the call's
timeline; every way the call can end is recorded with its ``end_reason``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.call.leases import lease_service
from trunkline.call.rules import CallDirection, CallStatus, EndReason, RejectedBy
from trunkline.call.service import call_service
from trunkline.callworker.bridge import CallRecord, bridge_until_end, info_dtmf
from trunkline.db import session_scope
from trunkline.media.agent_stream import AgentStream, AgentUnreachable
from trunkline.media.session import Codec, RtpSession
from trunkline.media.twilio import StreamWriter, new_sid
from trunkline.routing.rules import (
    SIP_ANSWER,
    Check,
    CheckResult,
    Decision,
    Direction,
    Route,
    Verdict,
)
from trunkline.routing.service import InboundRequest, routing_service
from trunkline.sip.incoming import IncomingCall
from trunkline.sip.sdp import SdpError, answer

if TYPE_CHECKING:
    from trunkline.callworker.worker import CallWorker

log = logging.getLogger(__name__)


def reason_header(code: int, rejected_by: RejectedBy) -> str:
    """RFC 3326 §2: ``Reason: SIP ;cause=404 ;text="unknown_number"`` names the check."""
    return f'SIP ;cause={code} ;text="{rejected_by.value}"'


def offered_codecs(call: IncomingCall) -> tuple[str, ...]:
    offer = call.sdp_offer
    if offer is None or not offer.audio_port:
        return ()
    return tuple(offer.codecs[pt].name for pt in offer.payload_types if pt in offer.codecs)


class InboundCall:
    def __init__(self, worker: CallWorker, sip: IncomingCall) -> None:
        self.worker = worker
        self.sip = sip
        self.call_id: uuid.UUID | None = None
        self._record: CallRecord | None = None
        self.hangup_requested = asyncio.Event()

    @property
    def _sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.worker.sessionmaker

    @property
    def record(self) -> CallRecord:
        assert self._record is not None, "the call has no record yet"
        return self._record

    async def _reject(self, decision: Decision, route: Route | None) -> None:
        """Answer the INVITE with the decision's code and Reason; keep a ``rejected`` call."""
        async with session_scope(self._sessions) as session:
            await self._reject_in(session, decision, route)

    async def _reject_in(
        self, session: AsyncSession, decision: Decision, route: Route | None
    ) -> None:
        """``_reject`` in the caller's transaction (the routing read's, for a refused INVITE)."""
        why = decision.rejected_by
        assert why is not None
        code, text = SIP_ANSWER[why]
        self.sip.reject(code, text, reason_header=reason_header(code, why))
        if self.call_id is not None:
            await call_service.mark_ended(
                session,
                self.call_id,
                status=CallStatus.rejected,
                rejected_by=why,
                sip_code=code,
                sip_reason=text,
                end_reason=EndReason.agent_unreachable
                if why is RejectedBy.agent_unreachable
                else None,
            )
            return
        await call_service.reject(
            session,
            direction=CallDirection.inbound,
            workspace_id=route.workspace_id if route else None,
            from_number=self.sip.from_user or "",
            to_number=decision.dialled or self.sip.request_uri_user or "",
            rejected_by=why,
            sip_code=code,
            reason=text,
            phone_number_id=route.phone_number_id if route else None,
            agent_id=route.agent_id if route else None,
            via=(route.via, route.via_id) if route else None,
            sip_call_id=self.sip.call_id,
            worker_id=self.worker.worker_id,
            checks=decision.check_records(),
        )

    async def run(self) -> None:
        try:
            await self._run()
        except Exception:
            log.exception("inbound call %s failed", self.sip.call_id)
            with contextlib.suppress(Exception):
                await self.sip.hangup()
            if self.call_id is not None:
                with contextlib.suppress(Exception):
                    await self.record.end(CallStatus.failed, EndReason.error)
        finally:
            if self.call_id is not None:
                self.worker.forget(self.call_id)

    async def _run(self) -> None:
        worker, sip = self.worker, self.sip
        request = InboundRequest(
            source_ip=worker.caller(sip).ip,
            request_uri_user=sip.request_uri_user,
            to_user=sip.to_user,
            offered_codecs=offered_codecs(sip),
            registration_source_id=worker.registration_source(sip.request_uri_user),
        )
        # One transaction per INVITE: the facts read, the decision with the line's live calls
        # counted under its lock (check 5, authoritative), then the call record and its lease
        # — or the rejected call. (The lock is held from the count to the commit.)
        async with session_scope(self._sessions) as session:
            decision = await routing_service.inbound(
                session,
                request,
                resolver=worker.resolver,
                lease_counts=lease_service.locked_lease_counts,
            )
            route = decision.route
            if not decision.accepted or route is None:
                await self._reject_in(session, decision, route)
                return
            assert route.agent_id is not None
            call = await call_service.open_inbound(
                session,
                workspace_id=route.workspace_id,
                from_number=sip.from_user or "",
                to_number=route.number,
                phone_number_id=route.phone_number_id,
                agent_id=route.agent_id,
                via=(route.via, route.via_id),
                sip_call_id=sip.call_id,
                worker_id=worker.worker_id,
                checks=decision.check_records(),
            )
            self.call_id = call.id
            leased = await lease_service.acquire_lease(
                session,
                line_id=route.line_id,
                call_id=call.id,
                direction=CallDirection.inbound,
                worker_id=worker.worker_id,
                ttl_s=worker.settings.calls.lease_ttl_s,
                inbound_limit=route.inbound_limit,
                total_limit=route.total_limit,
                counted=(route.active_inbound, route.active_total),
            )
            if not leased:  # the decision saw the same count: only if the two rules disagree
                await self._reject_in(session, _limit_decision(), route)
                return
        self._record = CallRecord(self._sessions, worker.spawn, call.id)
        worker.track(call.id, self)

        sip.ringing()
        connected = await self._connect_agent(route)
        if connected is None:
            return
        stream = connected
        await self._bridge(route, stream)

    async def _connect_agent(self, route: Route) -> AgentStream | None:
        """Check 7: the agent's WebSocket opens in time — else 480 ``agent_unreachable``. A
        CANCEL meanwhile ends the call as ``canceled``."""
        worker, sip = self.worker, self.sip
        assert route.agent_id is not None
        target = worker.route_stream_target(route)
        if target is None:  # routing checked it: only a route without its agent's URL
            await self._reject(_unreachable_decision("the agent has no stream_url"), route)
            return None
        refused = await worker.refused_stream(target.url)
        if refused is not None:
            await self._reject(_unreachable_decision(refused), route)
            return None
        connect = asyncio.ensure_future(
            AgentStream.connect(
                target.url,
                auth_token=target.token,
                timeout_s=worker.settings.calls.agent_connect_timeout_s,
            )
        )
        pending: set[asyncio.Future[Any]] = {connect, sip.ended}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if sip.ended.done():
            connect.cancel()
            with contextlib.suppress(BaseException):
                stream = await connect
                await stream.stop()
            await self.record.end(CallStatus.canceled, EndReason.caller_hangup, sip_code=487)
            return None
        try:
            return connect.result()
        except AgentUnreachable as exc:
            decision = _unreachable_decision(exc.reason)
            await self._reject(decision, route)
            return None

    async def _bridge(self, route: Route, stream: AgentStream) -> None:
        worker, sip = self.worker, self.sip
        assert self.call_id is not None
        offer = sip.sdp_offer
        assert offer is not None
        media = await RtpSession.open(worker.media_host, worker.ports)
        try:
            try:
                sdp = answer(
                    offer,
                    local_ip=worker.media_public_ip,
                    local_port=media.local_port,
                    session_id=str(uuid.uuid4().int % 10**12),
                    version=1,
                )
            except SdpError:
                sdp = None
            if sdp is None:  # the routing check saw G.711; a mangled offer still fails here
                await stream.stop()
                await self._reject(_codec_decision(), route)
                return
            negotiated = sdp.media
            media.start(
                remote=(negotiated.remote_ip, negotiated.remote_port),
                codec=Codec(negotiated.codec.name),
                dtmf_payload_type=negotiated.telephone_event_pt,
                listener=stream,
                media_timeout_s=worker.settings.calls.media_timeout_s,
            )
            sip.on_info = info_dtmf(stream)
            if not await sip.answer(sdp.sdp):
                await stream.stop()
                reason = sip.ended.result() if sip.ended.done() else "ack_timeout"
                if reason == "cancel":
                    await self.record.end(
                        CallStatus.canceled, EndReason.caller_hangup, sip_code=487
                    )
                else:
                    await self.record.end(CallStatus.failed, EndReason.error, sip_reason="no ACK")
                return
            async with session_scope(self._sessions) as session:
                await call_service.mark_answered(session, self.call_id, codec=negotiated.codec.name)
            writer = StreamWriter(
                account_sid=f"AC{route.workspace_id.hex}",
                call_sid=f"CA{self.call_id.hex}",
                stream_sid=new_sid("MZ"),
                custom_parameters=self._custom_parameters(route),
            )
            end = await bridge_until_end(
                sip, media, stream, writer, self.hangup_requested, self.record.on_stream_event
            )
            await self.record.end(CallStatus.completed, end, media=media)
        finally:
            await media.close()

    def _custom_parameters(self, route: Route) -> dict[str, str]:
        """What Pipecat-style agents read from ``start.customParameters`` (docs/calls.md §2)."""
        assert self.call_id is not None
        caller = self.sip.from_user or ""
        return {
            "call_uuid": str(self.call_id),
            "direction": "inbound",
            "from": caller,
            "to": route.number,
            "from_number": caller,
            "to_number": route.number,
            "phone_number_uuid": str(route.phone_number_id or ""),
            "agent_uuid": str(route.agent_id),
        }


def _decision(why: RejectedBy, detail: str) -> Decision:
    check = {
        RejectedBy.channel_limit_reached: Check.channel_limit,
        RejectedBy.codec_unsupported: Check.codec,
        RejectedBy.agent_unreachable: Check.agent_reachable,
    }[why]
    code, text = SIP_ANSWER[why]
    return Decision(
        Direction.inbound,
        Verdict.reject,
        (CheckResult(check, False, detail),),
        rejected_by=why,
        sip_code=code,
        sip_reason=text,
    )


def _limit_decision() -> Decision:
    return _decision(RejectedBy.channel_limit_reached, "the last channel was taken meanwhile")


def _codec_decision() -> Decision:
    return _decision(RejectedBy.codec_unsupported, "no usable G.711 stream in the offer")


def _unreachable_decision(reason: str) -> Decision:
    return _decision(RejectedBy.agent_unreachable, reason)
