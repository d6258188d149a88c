"""What inbound and outbound calls share once answered: the agent bridge until someone hangs
up, the media figures a call record keeps, and SIP INFO digits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from trunkline.call.rules import EndReason
from trunkline.media.agent_stream import AgentStream
from trunkline.media.dtmf import parse_dtmf_relay
from trunkline.media.session import RtpSession
from trunkline.media.twilio import StreamWriter


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
