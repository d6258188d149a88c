"""Trunkline's media library: RTP, G.711, RFC 4733 DTMF and the agent stream (Twilio protocol).

Layers, bottom-up (each only imports the ones above it in this list):

* ``g711``         -- μ-law/A-law/PCM16 conversion by lookup tables (no ``audioop``).
* ``rtp``          -- pure RTP packet parse/serialize (RFC 3550 §5.1).
* ``dtmf``         -- RFC 4733 telephone-event digits; SIP INFO ``dtmf-relay`` bodies.
* ``ports``        -- the even-port RTP range (RFC 3550 §11).
* ``playout``      -- ``PlayQueue``: agent audio and marks waiting for their 20 ms slots (pure).
* ``session_types`` -- ``Codec``, ``MediaListener``, ``MediaStats`` and the 20 ms frame constants.
* ``receive``      -- ``RtpReceiver``: a session's receive path (latching, order, re-cut, digits).
* ``session``      -- ``RtpSession``: one call's RTP, paced at 20 ms, symmetric (RFC 4961).
* ``twilio``       -- pure Twilio Media Streams frames (what agents speak).
* ``agent_stream`` -- ``AgentStream``: the WebSocket client bridging a session and an agent.

Like ``trunkline.sip`` it knows nothing of settings, models or the database (a test walks its
imports to keep it so); ``callworker`` is the adapter that joins it to calls.
"""

from trunkline.media.agent_stream import AgentStream, AgentUnreachable, EndReason
from trunkline.media.dtmf import DtmfReceiver, parse_dtmf_relay
from trunkline.media.playout import PlayQueue
from trunkline.media.ports import PortPool, PortsExhausted
from trunkline.media.rtp import RtpError, RtpPacket
from trunkline.media.session import Codec, MediaListener, MediaStats, RtpSession
from trunkline.media.twilio import (
    AgentClear,
    AgentMark,
    AgentMedia,
    ProtocolError,
    StreamWriter,
    new_sid,
    parse_agent_message,
)

__all__ = [
    "AgentClear",
    "AgentMark",
    "AgentMedia",
    "AgentStream",
    "AgentUnreachable",
    "Codec",
    "DtmfReceiver",
    "EndReason",
    "MediaListener",
    "MediaStats",
    "PlayQueue",
    "PortPool",
    "PortsExhausted",
    "ProtocolError",
    "RtpError",
    "RtpPacket",
    "RtpSession",
    "StreamWriter",
    "new_sid",
    "parse_agent_message",
    "parse_dtmf_relay",
]
