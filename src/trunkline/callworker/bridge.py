"""What inbound and outbound calls share: the call record's writes, the agent bridge until
someone hangs up, the media figures a call record keeps, and SIP INFO digits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from trunkline.call.rules import CallStatus, EndReason, EventKind
from trunkline.call.service import call_service
from trunkline.db import session_scope
from trunkline.kit.clock import utcnow
from trunkline.media.agent_stream import AgentStream
from trunkline.media.dtmf import parse_dtmf_relay
from trunkline.media.session import RtpSession
from trunkline.media.twilio import StreamWriter

# How long the agent stream's events may wait to be written together (a call's timeline is
# complete once the call has ended: its end writes whatever still waits, in its transaction).
EVENT_BATCH_S = 1.0


class CallRecord:
    """What the worker writes of one call it carries: timeline events and the call's end.

    The agent stream's events are kept and written in batches (at most ``EVENT_BATCH_S`` late,
    in the background, so the media never waits on the database), the last batch with the
    call's end: a call of a few seconds costs one transaction for its end and its events."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        call_id: uuid.UUID,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._spawn = spawn
        self.call_id = call_id
        self._waiting: list[tuple[EventKind, dict[str, object], datetime]] = []
        self._ended = False

    async def event(self, kind: EventKind, detail: Mapping[str, object]) -> None:
        async with session_scope(self._sessionmaker) as session:
            await call_service.record_event(session, self.call_id, kind, dict(detail))

    def on_stream_event(self, kind: str, detail: dict[str, object]) -> None:
        """The agent stream's events that are timeline kinds (connected, dtmf, mark, clear…)."""
        try:
            event = EventKind(kind)
        except ValueError:
            return
        if self._ended:  # after the end (a late mark): on its own
            self._spawn(self.event(event, detail))
            return
        self._waiting.append((event, detail, utcnow()))
        if len(self._waiting) == 1:
            self._spawn(self._write_batch_soon())

    async def _write_batch_soon(self) -> None:
        await asyncio.sleep(EVENT_BATCH_S)
        if self._waiting:
            async with session_scope(self._sessionmaker) as session:
                await self._take_waiting(session)

    async def _take_waiting(self, session: AsyncSession) -> None:
        batch, self._waiting = self._waiting, []
        for kind, detail, at in batch:
            await call_service.record_event(session, self.call_id, kind, detail, at=at, flush=False)

    async def end(
        self,
        status: CallStatus,
        end_reason: EndReason | None,
        *,
        sip_code: int | None = None,
        sip_reason: str | None = None,
        media: RtpSession | None = None,
    ) -> None:
        self._ended = True
        async with session_scope(self._sessionmaker) as session:
            await self._take_waiting(session)
            await call_service.mark_ended(
                session,
                self.call_id,
                status=status,
                end_reason=end_reason,
                sip_code=sip_code,
                sip_reason=sip_reason,
                media=media_figures(media) if media is not None else None,
            )


class CallLeg(Protocol):
    """The telephone side of a call (an IncomingCall or an OutgoingCall of the SIP edge)."""

    @property
    def ended(self) -> asyncio.Future[str]: ...

    async def hangup(self) -> None: ...


# How the agent stream's own endings map to a call's end_reason.
_STREAM_ENDS = {
    "agent_hangup": EndReason.agent_hangup,
    "media_timeout": EndReason.media_timeout,
    "caller_hangup": EndReason.caller_hangup,
}


async def bridge_until_end(
    leg: CallLeg,
    media: RtpSession,
    stream: AgentStream,
    writer: StreamWriter,
    hangup_requested: asyncio.Event,
    on_event: Callable[[str, dict[str, object]], None],
) -> EndReason:
    """Bridge caller ↔ agent until someone hangs up; then hang up the other side the way it
    expects: the phone side's BYE → ``stop`` and close the WebSocket (``caller_hangup`` — the
    telephone party, the callee of an outbound call); the agent closing, or media stopping →
    BYE; an API hang-up → both."""
    bridge = asyncio.ensure_future(stream.run(media, writer, on_event))
    api = asyncio.ensure_future(hangup_requested.wait())
    try:
        racing: set[asyncio.Future[Any]] = {bridge, leg.ended, api}
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        if leg.ended.done() and not bridge.done():
            await stream.stop()
            await bridge
            return EndReason.caller_hangup
        if api.done() and not bridge.done():
            await stream.stop()
            await leg.hangup()
            await bridge
            return EndReason.api_hangup
        result = bridge.result()
        await leg.hangup()
        return _STREAM_ENDS.get(result, EndReason.error)
    finally:
        api.cancel()


def media_figures(media: RtpSession) -> dict[str, object]:
    """What a call record keeps of its media (docs/calls.md §5): the digits are events."""
    stats = media.stats
    return {
        "codec": stats.codec,
        "packets_in": stats.packets_in,
        "packets_out": stats.packets_out,
        "dtmf": len(stats.dtmf),
    }


def info_dtmf(stream: AgentStream) -> Callable[[str, str], None]:
    """SIP INFO DTMF (``application/dtmf-relay``) → the same ``dtmf`` frame as RFC 4733."""

    def on_info(content_type: str, body: str) -> None:
        if "dtmf" in content_type.lower():
            digit = parse_dtmf_relay(body)
            if digit:
                stream.on_dtmf(digit)

    return on_info
